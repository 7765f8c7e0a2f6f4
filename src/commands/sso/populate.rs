//! `vault sso populate`: one profile per account and role the portal lists, printed or
//! appended to the config. What the portal sends is outside text: only 12-digit account IDs
//! and AWS's role-name characters get through, the text is built from those checked values
//! alone, and it is parsed back before anyone sees it. Must not: write a value the portal
//! chose without that check, or change a config byte other than appending.

use std::cell::Cell;
use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::cli::SsoPopulateArgs;
use crate::config::Config;
use crate::config::parse::{RawSection, parse};
use crate::config::profiles::is_valid_name;
use crate::error::{Error, Result};
use crate::sso::{self, aws, login};
use crate::store;
use crate::text::{printable, warn};

/// An account ID as AWS makes them: 12 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(text: &str) -> Option<AccountId> {
        (text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| AccountId(text.to_string()))
    }
}

/// A role (permission set) name as AWS allows it: `^[\w+=,.@-]{1,64}$`, `\w` being ASCII.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(text: &str) -> Option<RoleName> {
        let ok = (1..=64).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        ok.then(|| RoleName(text.to_string()))
    }
}

/// A value from outside shown on one line: newlines and tabs written as `\n` and `\t`,
/// then every other control character escaped by [`printable`].
fn quoted(text: &str) -> String {
    let one_line = text.replace('\n', "\\n").replace('\t', "\\t");
    printable(&one_line).into_owned()
}

/// `Dev Account` -> `dev-account`: a profile-name-safe form of an account or role name.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "_.".contains(c) {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// One profile to add: its name and its settings in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProfile {
    pub name: String,
    pub settings: Vec<(&'static str, String)>,
}

/// A checked (account, account name, role): the account name only ever reaches a profile
/// name through [`slug`].
pub type Pair = (AccountId, String, RoleName);

/// The profiles to add: one per (account, role) whose name has no section yet.
pub fn new_profiles(
    config: &Config,
    session: &str,
    pairs: &[Pair],
    prefix: &str,
    region: Option<&str>,
) -> Vec<NewProfile> {
    let mut out: Vec<NewProfile> = Vec::new();
    for (AccountId(account_id), account_name, RoleName(role)) in pairs {
        let name_part = match slug(account_name).as_str() {
            "" => account_id.clone(),
            slug => slug.to_string(),
        };
        let role_part = match slug(role).as_str() {
            "" => "role".to_string(),
            slug => slug.to_string(),
        };
        let name = format!("{prefix}{name_part}-{role_part}");
        if config.profiles.get(&name).is_some() || out.iter().any(|p| p.name == name) {
            continue;
        }
        let mut settings = vec![
            ("sso_session", session.to_string()),
            ("sso_account_id", account_id.clone()),
            ("sso_role_name", role.clone()),
        ];
        if let Some(region) = region {
            settings.push(("region", region.to_string()));
        }
        out.push(NewProfile { name, settings });
    }
    out
}

/// The config text of `profiles`, each after a blank line. Every value is one of the checked
/// kinds above, so none holds white space, `#`, `;`, `[` or a line end, and the parser's
/// rules (`config::parse`) read it back as written: no escaping is needed, and none exists.
pub fn render(profiles: &[NewProfile]) -> String {
    let mut text = String::new();
    for profile in profiles {
        text.push_str(&format!("\n[profile {}]\n", profile.name));
        for (key, value) in &profile.settings {
            text.push_str(&format!("{key} = {value}\n"));
        }
    }
    text
}

/// Parses `text` and checks that it holds exactly `profiles`: the same sections in order,
/// each with exactly its settings.
pub fn check_round_trip(text: &str, profiles: &[NewProfile]) -> std::result::Result<(), String> {
    let sections = parse(text).map_err(|e| e.to_string())?;
    let got: Vec<(String, Vec<(String, String)>)> = sections
        .iter()
        .map(|s: &RawSection| {
            let props = s
                .properties
                .iter()
                .map(|p| (p.key.clone(), p.value.clone()))
                .collect();
            (s.header.clone(), props)
        })
        .collect();
    let want: Vec<(String, Vec<(String, String)>)> = profiles
        .iter()
        .map(|p| {
            let props = p
                .settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            (format!("profile {}", p.name), props)
        })
        .collect();
    if got.len() != want.len() {
        return Err(format!(
            "it reads back as {} sections, not {}",
            got.len(),
            want.len()
        ));
    }
    for (got, want) in got.iter().zip(&want) {
        if got != want {
            return Err(format!("`[{}]` does not read back as written", want.0));
        }
    }
    Ok(())
}

/// After appending, the whole file must give the profiles it had, unchanged, plus exactly
/// the new ones.
fn check_appended(
    config: &Config,
    combined: &str,
    profiles: &[NewProfile],
) -> std::result::Result<(), String> {
    let sections = parse(combined).map_err(|e| e.to_string())?;
    let after = crate::config::ProfileSet::new(&sections, &[]);
    let before = parse_existing(config)?;
    for old in before.profiles() {
        let new = after.get(&old.name);
        let same = new.is_some_and(|new| {
            new.settings()
                .map(|(k, s)| (k, &s.value))
                .eq(old.settings().map(|(k, s)| (k, &s.value)))
        });
        if !same {
            return Err(format!("`[profile {}]` would change", old.name));
        }
    }
    for profile in profiles {
        let Some(section) = after.get(&profile.name) else {
            return Err(format!("`[profile {}]` is missing", profile.name));
        };
        let got: Vec<(&str, &str)> = section
            .settings()
            .map(|(k, s)| (k, s.value.as_str()))
            .collect();
        let want: Vec<(&str, &str)> = profile
            .settings
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        if got != want {
            return Err(format!(
                "`[profile {}]` does not read back as written",
                profile.name
            ));
        }
    }
    let expected = before.profiles().len() + profiles.len();
    if after.profiles().len() != expected
        || after.sso_sessions().len() != before.sso_sessions().len()
    {
        return Err("it would add other sections".to_string());
    }
    Ok(())
}

/// The config file's own sections (without the credentials file), as `--write` found them.
fn parse_existing(config: &Config) -> std::result::Result<crate::config::ProfileSet, String> {
    let text = read_config(&config.config_path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(text).map_err(|e| e.to_string())?;
    let sections = parse(&text).map_err(|e| e.to_string())?;
    Ok(crate::config::ProfileSet::new(&sections, &[]))
}

fn read_config(path: &std::path::Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(store::fs::io_error("read", path)(e)),
    }
}

/// `--prefix` and `--region` go into the file too: they must be as plain as the rest.
fn check_args(args: &SsoPopulateArgs) -> Result<()> {
    if !args.prefix.is_empty() && !is_valid_name(&args.prefix) {
        return Err(Error::BadValue {
            name: "--prefix",
            problem: format!(
                "`{}` can only hold letters, digits and `-/.%@_:+`",
                quoted(&args.prefix)
            ),
        });
    }
    if let Some(region) = &args.region
        && (region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Err(Error::BadValue {
            name: "--region",
            problem: format!(
                "`{}` is not a region name (like `eu-west-1`)",
                quoted(region)
            ),
        });
    }
    Ok(())
}

/// Prints `listed roles of N of M accounts` now and then: first after a few seconds, then at
/// most every five, and once at the end if anything was printed or the portal throttled.
struct Progress {
    total: usize,
    started: Instant,
    last: Cell<Option<Instant>>,
}

impl Progress {
    const FIRST: Duration = Duration::from_secs(3);
    const EVERY: Duration = Duration::from_secs(5);

    fn tell(&self, done: usize, throttled: u64, last: bool) {
        let now = Instant::now();
        let due = match self.last.get() {
            None => now - self.started >= Self::FIRST,
            Some(at) => now - at >= Self::EVERY,
        };
        if !(due || (last && (self.last.get().is_some() || throttled > 0))) {
            return;
        }
        self.last.set(Some(now));
        let slowed = match throttled {
            0 => String::new(),
            1 => " (the portal throttled 1 request; slowed down)".to_string(),
            n => format!(" (the portal throttled {n} requests; slowed down)"),
        };
        eprintln!("listed roles of {done} of {} accounts{slowed}", self.total);
    }
}

pub fn run(context: &crate::commands::Context, args: &SsoPopulateArgs) -> Result<()> {
    check_args(args)?;
    let config = crate::commands::load_config()?;
    let settings = context.settings()?;
    let mut store = context.store()?;
    let session = super::named(&config, &args.sso_session)?;
    let login = login::person_present(&crate::commands::var).then(login::Options::default);
    let hint = format!("--sso-session {}", args.sso_session);
    let mut sso = super::sso_context(store.as_mut(), settings.sso_shared_cache, hint, login);
    let token = sso.token(&session, None)?;
    let url = sso::endpoint_url("AWS_ENDPOINT_URL_SSO", &crate::commands::var);
    let endpoint = aws::Endpoint {
        region: &session.region,
        url: url.as_deref(),
    };
    let portal = aws::Portal::paced(&endpoint)?;
    let mut accounts = Vec::new();
    for (id, name) in portal
        .accounts(&token.access_token)
        .map_err(|e| e.into_error("sso.ListAccounts", &endpoint, "portal.sso"))?
    {
        match AccountId::parse(&id) {
            Some(id) => accounts.push((id, name)),
            None => warn(format_args!(
                "skipped account `{}` (`{}`): an account ID is 12 digits",
                quoted(&id),
                quoted(&name)
            )),
        }
    }
    accounts.sort();
    accounts.dedup_by(|a, b| a.0 == b.0);
    let ids: Vec<String> = accounts
        .iter()
        .map(|(AccountId(id), _)| id.clone())
        .collect();
    let progress = Progress {
        total: ids.len(),
        started: Instant::now(),
        last: Cell::new(None),
    };
    let roles = portal
        .roles(&token.access_token, &ids, &|done| {
            progress.tell(done, portal.throttled(), false)
        })
        .map_err(|e| e.into_error("sso.ListAccountRoles", &endpoint, "portal.sso"))?;
    progress.tell(ids.len(), portal.throttled(), true);
    let mut pairs: Vec<Pair> = Vec::new();
    for ((account_id, account_name), roles) in accounts.iter().zip(roles) {
        let mut checked = Vec::new();
        for role in roles {
            match RoleName::parse(&role) {
                Some(role) => checked.push(role),
                None => warn(format_args!(
                    "skipped role `{}` of account `{}`: a role name is 1 to 64 letters, digits and `_+=,.@-`",
                    quoted(&role),
                    account_id.0
                )),
            }
        }
        checked.sort();
        checked.dedup();
        for role in checked {
            pairs.push((account_id.clone(), account_name.clone(), role));
        }
    }
    let profiles = new_profiles(
        &config,
        &args.sso_session,
        &pairs,
        &args.prefix,
        args.region.as_deref(),
    );
    let text = render(&profiles);
    let refuse = |problem: String| Error::BadValue {
        name: "sso populate",
        problem: format!(
            "the profiles it made did not read back as made ({problem}); nothing was written"
        ),
    };
    check_round_trip(&text, &profiles).map_err(refuse)?;
    if !args.write {
        return crate::commands::print(text.trim_start_matches('\n'));
    }
    if !profiles.is_empty() {
        append(&config, &text, &profiles).map_err(|e| match e {
            Appended::Refused(problem) => refuse(problem),
            Appended::Failed(e) => e,
        })?;
    }
    let added = profiles.len();
    eprintln!(
        "Added {added} profile{} to `{}` ({} already there)",
        if added == 1 { "" } else { "s" },
        crate::text::printable(&crate::commands::display_path(&config.config_path)),
        pairs.len() - added
    );
    Ok(())
}

enum Appended {
    Refused(String),
    Failed(Error),
}

/// Appends `text` to the config file: the existing bytes are not touched (a newline is
/// added first only when the file does not end with one). The file as it would be is
/// parsed first, and nothing is written unless it gives exactly the old profiles and the
/// new ones.
fn append(
    config: &Config,
    text: &str,
    profiles: &[NewProfile],
) -> std::result::Result<(), Appended> {
    let path = &config.config_path;
    let existing = read_config(path).map_err(Appended::Failed)?;
    let mut text = text.to_string();
    if existing.is_empty() {
        text = text.trim_start_matches('\n').to_string();
    } else if !existing.ends_with(b"\n") {
        text.insert(0, '\n');
    }
    let mut combined = String::from_utf8_lossy(&existing).into_owned();
    combined.push_str(&text);
    check_appended(config, &combined, profiles).map_err(Appended::Refused)?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| Appended::Failed(store::fs::io_error("open", path)(e)))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Appended::Failed(store::fs::io_error("write", path)(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Dev Account"), "dev-account");
        assert_eq!(slug("  Prod (EU)! "), "prod-eu");
        assert_eq!(slug("ünï"), "n");
    }

    #[test]
    fn only_what_aws_can_send_gets_through() {
        assert!(AccountId::parse("123456789012").is_some());
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "١٢٣٤٥٦٧٨٩٠١٢",
            "123456789012\n",
        ] {
            assert!(AccountId::parse(bad).is_none(), "{bad:?}");
        }
        for good in ["ReadOnly", "a", "AWS_Admin+x=y,z.w@q-r", &"r".repeat(64)] {
            assert!(RoleName::parse(good).is_some(), "{good:?}");
        }
        for bad in [
            "",
            &"r".repeat(65),
            "Read Only",
            "ReadOnly\n[default]",
            "a#b",
            "a;b",
            "[x]",
            "é",
            "a\u{1b}]0;t\u{7}",
        ] {
            assert!(RoleName::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(quoted("a\nb\t\u{1b}c"), "a\\nb\\t\\u{1b}c");
    }

    fn empty_config() -> Config {
        Config {
            config_path: "/nonexistent/config".into(),
            credentials_path: "/nonexistent/credentials".into(),
            profiles: Default::default(),
        }
    }

    /// A small deterministic generator: no new dependency for a property-style test.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, from: &'a [char]) -> &'a char {
            &from[(self.next() % from.len() as u64) as usize]
        }
    }

    #[test]
    fn whatever_the_portal_sends_the_output_reads_back_as_exactly_its_profiles() {
        // Role names and account names drawn from AWS's characters and from the ones that
        // mean something to the parser; what fails the checks is dropped, as `run` does.
        let role_chars: Vec<char> = "aZ9_+=,.@-".chars().collect();
        let nasty: Vec<char> = "aZ9_+=,.@- \n\t#;[]=\u{1b}\r\u{0}é".chars().collect();
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let config = empty_config();
        for round in 0..300 {
            let mut pairs = Vec::new();
            for n in 0..(g.next() % 8) {
                let chars = if g.next().is_multiple_of(3) {
                    &nasty
                } else {
                    &role_chars
                };
                let role: String = (0..1 + g.next() % 70).map(|_| *g.pick(chars)).collect();
                let name: String = (0..g.next() % 12).map(|_| *g.pick(&nasty)).collect();
                let id = format!("{:012}", (round * 10 + n) % 1_000_000_000_000);
                if let (Some(id), Some(role)) = (AccountId::parse(&id), RoleName::parse(&role)) {
                    pairs.push((id, name, role));
                }
            }
            let region = ["eu-west-1", "us-east-1"][round as usize % 2];
            let profiles = new_profiles(&config, "my-sso", &pairs, "corp-", Some(region));
            let text = render(&profiles);
            check_round_trip(&text, &profiles).unwrap_or_else(|e| panic!("{e}:\n{text}"));
            // And through the whole pipeline the commands use: exactly these profiles.
            let set = crate::config::ProfileSet::new(&parse(&text).unwrap(), &[]);
            assert_eq!(set.profiles().len(), profiles.len(), "{text}");
            assert!(set.sso_sessions().is_empty());
            for p in &profiles {
                let got: Vec<(&str, &str)> = set
                    .get(&p.name)
                    .unwrap()
                    .settings()
                    .map(|(k, s)| (k, s.value.as_str()))
                    .collect();
                let want: Vec<(&str, &str)> =
                    p.settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn a_text_that_reads_back_otherwise_is_refused() {
        let profiles = vec![NewProfile {
            name: "a-readonly".to_string(),
            settings: vec![("sso_role_name", "ReadOnly".to_string())],
        }];
        assert!(
            check_round_trip(
                "[profile a-readonly]\nsso_role_name = ReadOnly\n",
                &profiles
            )
            .is_ok()
        );
        for bad in [
            "[profile a-readonly]\nsso_role_name = ReadOnly\n[default]\ncredential_process = x\n",
            "[profile a-readonly]\nsso_role_name = ReadOnly\ncredential_process = x\n",
            "[profile a-readonly]\nsso_role_name = ReadOnly2\n",
            "[profile a-readonly]\nsso_role_name = ReadOnly\n  more\n",
        ] {
            assert!(check_round_trip(bad, &profiles).is_err(), "{bad}");
        }
    }
}
