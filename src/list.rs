//! What `vault list` shows: the table of profiles, the vault entries their chains use and
//! their cached sessions, or one column of it. It reads only what the store keeps in the
//! clear, so it never needs the passphrase. Shared by `vault-full` and the warm path; it must
//! not import from `commands/` or `cli.rs`, the rooms above it.

use std::collections::{HashMap, HashSet};

use crate::config::resolve::{Base, Overrides, Resolver};
use crate::config::{self, ProfileSet};
use crate::error::Result;
use crate::store::{self, Listing, SessionKey, now};

/// Which listing: the whole table, or one of its columns (`--credentials`, `--sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Table,
    Credentials,
    Sessions,
}

/// Profiles worth listing, in file order: all but an empty `[default]`.
pub fn listed_profiles(profiles: &config::ProfileSet) -> impl Iterator<Item = &str> {
    profiles
        .profiles()
        .iter()
        .filter(|p| !(p.name == "default" && p.is_empty()))
        .map(|p| p.name.as_str())
}

/// The SSO role session each SSO profile (one with no role on top) is served by, keyed by
/// that session: profiles naming the same sign-in, account and role share one, so `list`
/// shows it on each of their rows and `clear PROFILE` finds it by any of them. The same for
/// a sign-in session's (`login_session`) credentials, shared by the profiles naming it.
pub fn sso_role_sessions<'a>(
    profiles: &'a config::ProfileSet,
    stored: &dyn Fn(&str) -> bool,
) -> std::collections::HashMap<store::SessionKey, Vec<&'a str>> {
    use crate::config::resolve::{Overrides, Resolver};
    use crate::sts::plan::{Options, Ttls, plan};
    let resolver = Resolver::new(profiles, stored);
    let mut served: std::collections::HashMap<store::SessionKey, Vec<&str>> = Default::default();
    for name in listed_profiles(profiles) {
        let Ok(chain) = resolver.chain(name, &Overrides::default()) else {
            continue;
        };
        if !chain.roles.is_empty()
            || !matches!(chain.base, Base::Sso { .. } | Base::LoginSession { .. })
        {
            continue;
        }
        // The SSO step's key depends on the sign-in, account and role only, not on
        // durations or `AWS_*_TTL`.
        if let Some(step) = plan(&chain, Options::default(), Ttls::default())
            .ok()
            .and_then(|plan| plan.steps.into_iter().next())
        {
            served.entry(step.cache_key).or_default().push(name);
        }
    }
    served
}

/// Prints the listing: the table, or with `--credentials` or `--sessions` those alone.
pub fn show(profiles: &ProfileSet, listing: &Listing, view: View) -> Result<()> {
    crate::debug!("store listed: {} entries", listing.entries.len());
    for problem in &listing.problems {
        crate::text::warn(problem);
    }
    let now = now();
    let text = match view {
        View::Credentials => listing.keys().map(|k| format!("{k}\n")).collect(),
        View::Sessions => live_sessions(listing, now)
            .map(|(key, expiration)| format!("{}\n", session_label(key, expiration, now)))
            .collect(),
        View::Table => table(profiles, listing, now),
    };
    // Names come from the store's files, which another program may have written.
    crate::output::print(&crate::text::printable(&text))
}

/// `list --profiles`.
pub fn show_profiles(profiles: &ProfileSet) -> Result<()> {
    crate::output::print(&profile_names(profiles))
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
    let served = sso_role_sessions(profiles, &stored);
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
                    Base::LoginSession { session, .. } => Some(format!("signin:{session}")),
                    _ => None,
                })
        });
        if let Some(keys) = credentials
            .as_ref()
            .filter(|c| !c.starts_with("sso:") && !c.starts_with("signin:"))
        {
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
