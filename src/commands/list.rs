//! `vault list`: profiles, the vault entries their chains use, and cached sessions.
//! Never needs the passphrase: it reads only what the store keeps in the clear.

use std::collections::{HashMap, HashSet};

use crate::cli::ListArgs;
use crate::config::ProfileSet;
use crate::config::resolve::{Base, Overrides, Resolver};
use crate::error::Result;
use crate::store::{Listing, SessionKey, now};

pub fn run(context: &super::Context, args: &ListArgs) -> Result<()> {
    let config = super::load_config()?;
    if args.profiles {
        return show_profiles(&config.profiles);
    }
    let listing = context.store()?.list()?;
    show(&config.profiles, &listing, args)
}

/// Prints the listing: the table, or with `--credentials` or `--sessions` those alone.
pub(crate) fn show(profiles: &ProfileSet, listing: &Listing, args: &ListArgs) -> Result<()> {
    crate::debug!("store listed: {} entries", listing.entries.len());
    for problem in &listing.problems {
        crate::text::warn(problem);
    }
    let now = now();
    let text = if args.credentials {
        listing.keys().map(|k| format!("{k}\n")).collect()
    } else if args.sessions {
        live_sessions(listing, now)
            .map(|(key, expiration)| format!("{}\n", session_label(key, expiration, now)))
            .collect()
    } else {
        table(profiles, listing, now)
    };
    // Names come from the store's files, which another program may have written.
    super::print(&crate::text::printable(&text))
}

use super::listed_profiles;

/// `list --profiles`.
pub(crate) fn show_profiles(profiles: &ProfileSet) -> Result<()> {
    super::print(&profile_names(profiles))
}

/// Profile names in file order, one a line.
fn profile_names(profiles: &ProfileSet) -> String {
    listed_profiles(profiles)
        .map(|p| format!("{p}\n"))
        .collect()
}

fn live_sessions(listing: &Listing, now: u64) -> impl Iterator<Item = (&SessionKey, u64)> {
    listing
        .sessions()
        .filter_map(move |(key, expiration)| expiration.filter(|&e| e > now).map(|e| (key, e)))
}

/// `sts.GetSessionToken:7h59m59s`, as aws-vault shows a session.
fn session_label(key: &SessionKey, expiration: u64, now: u64) -> String {
    format!(
        "{}:{}",
        key.kind,
        go_duration(expiration.saturating_sub(now))
    )
}

/// Seconds as Go prints a duration truncated to seconds: `1h2m3s`, `4m0s`, `59s`.
fn go_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn table(profiles: &ProfileSet, listing: &Listing, now: u64) -> String {
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(profiles, &stored);
    let no_overrides = Overrides::default();
    // Session labels by profile, in listing order.
    let mut sessions: HashMap<&str, Vec<String>> = HashMap::new();
    // An SSO role session is shown on the row of every profile it serves.
    let served = super::sso_role_sessions(profiles, &stored);
    // SSO tokens and client registrations are the sign-in's, not a profile's: `show`
    // tells about them.
    for (key, expiration) in live_sessions(listing, now)
        .filter(|(key, _)| key.source != crate::sso::cache::SIGN_IN_SOURCE)
    {
        let label = session_label(key, expiration, now);
        match served.get(key) {
            Some(names) => {
                for name in names {
                    sessions.entry(name).or_default().push(label.clone());
                }
            }
            None => sessions
                .entry(key.profile.as_str())
                .or_default()
                .push(label),
        }
    }
    let mut take_sessions =
        |name: &str| dash_if_empty(sessions.remove(name).unwrap_or_default().join(", "));
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut used_keys = HashSet::new();
    for name in listed_profiles(profiles) {
        let credentials = resolver.chain(name, &no_overrides).ok().and_then(|chain| {
            chain
                .stored_keys()
                .map(str::to_string)
                .or(match &chain.base {
                    Base::Sso {
                        session: Some(session),
                        ..
                    } => Some(format!("sso:{session}")),
                    Base::Sso {
                        start_url: Some(url),
                        ..
                    } => Some(format!("sso:{url}")),
                    _ => None,
                })
        });
        if let Some(keys) = credentials.as_ref().filter(|c| !c.starts_with("sso:")) {
            used_keys.insert(keys.clone());
        }
        rows.push([
            name.to_string(),
            credentials.unwrap_or_else(|| "-".to_string()),
            take_sessions(name),
        ]);
    }
    for keys in listing.keys() {
        if !used_keys.contains(keys) && profiles.get(keys).is_none() {
            rows.push(["-".to_string(), keys.to_string(), take_sessions(keys)]);
        }
    }
    let mut orphans: Vec<String> = sessions.into_values().flatten().collect();
    orphans.sort();
    for label in orphans {
        rows.push(["-".to_string(), "-".to_string(), label]);
    }
    render(&rows)
}

fn dash_if_empty(text: String) -> String {
    if text.is_empty() {
        "-".to_string()
    } else {
        text
    }
}

/// Columns at least 25 wide with two spaces between, as aws-vault's table.
fn render(rows: &[[String; 3]]) -> String {
    let header = [
        ["Profile", "Credentials", "Sessions"],
        ["=======", "===========", "========"],
    ];
    let width = |column: usize| {
        rows.iter()
            .map(|r| r[column].len())
            .chain([header[0][column].len()])
            .max()
            .unwrap_or(0)
            .saturating_add(2)
            .max(25)
    };
    let (first, second) = (width(0), width(1));
    let mut out = String::new();
    let mut line = |a: &str, b: &str, c: &str| {
        out.push_str(&format!("{a:first$}{b:second$}{c}\n"));
    };
    for [a, b, c] in header {
        line(a, b, c);
    }
    for [a, b, c] in rows {
        line(a, b, c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(59), "59s");
        assert_eq!(go_duration(240), "4m0s");
        assert_eq!(go_duration(8 * 3600 - 1), "7h59m59s");
        assert_eq!(go_duration(3600), "1h0m0s");
    }
}
