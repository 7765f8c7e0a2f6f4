//! The role profiles vault writes: `vault config add-role`'s section and its defaults, and
//! `vault config sync`'s team list (AWS config `[profile NAME]` sections) turned into the
//! sections of one managed block, with what was added, changed and removed. Pure: the
//! caller reads the files and the store, and writes through `editor`.
//!
//! Must not: let a team list make a person's vault run a program or reach another
//! credential source (`FORBIDDEN`), or take a personal setting (`mfa_serial`) from it.

use std::collections::HashMap;
use std::fmt;

use super::editor::{self, check_value};
use super::parse;
use super::profiles::is_valid_name;

/// Keys a team list may not set: each would make vault run a program (`credential_process`,
/// `mfa_process`), take credentials from somewhere other than the person's base profile
/// (`source_profile`, `credential_source`, `web_identity_token_file`, `sso_*`, and
/// `include_profile`, which can pull any of them in from another profile), or send the
/// person's signed requests elsewhere (`endpoint_url`).
const FORBIDDEN: &[&str] = &[
    "credential_process",
    "mfa_process",
    "source_profile",
    "credential_source",
    "include_profile",
    "web_identity_token_file",
    "endpoint_url",
];

/// Personal keys a team list should leave out; vault takes them from the base profile.
const PERSONAL: &[&str] = &["mfa_serial"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleError {
    NoKeyedProfile,
    SeveralKeyedProfiles(Vec<String>),
    BadArn {
        arn: String,
        problem: &'static str,
    },
    BadName {
        name: String,
    },
    BadValue {
        key: String,
        problem: String,
    },
    /// A profile of that name already exists: where it was written (`~/.aws/config`, 1-based).
    Exists {
        name: String,
        file: String,
        line: usize,
    },
    /// The team list: `file` as it is shown, a 1-based line.
    Team {
        file: String,
        line: usize,
        problem: String,
    },
    Forbidden {
        file: String,
        line: usize,
        key: String,
    },
}

impl fmt::Display for RoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleError::NoKeyedProfile => write!(f, "no profile has keys stored in vault"),
            RoleError::SeveralKeyedProfiles(names) => write!(
                f,
                "several profiles have keys stored in vault ({}), so the source profile must be named",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            RoleError::BadArn { arn, problem } => {
                write!(f, "`{arn}` is not a role ARN: {problem}")
            }
            RoleError::BadName { name } => write!(
                f,
                "`{name}` is not a valid profile name (letters, digits and -/.%@_:+ only)"
            ),
            RoleError::BadValue { key, problem } => write!(f, "`{key}`: {problem}"),
            RoleError::Exists { name, file, line } => {
                write!(f, "profile `{name}` already exists: `{file}` line {line}")
            }
            RoleError::Team {
                file,
                line,
                problem,
            } => write!(f, "`{file}` line {line}: {problem}"),
            RoleError::Forbidden { file, line, key } => write!(
                f,
                "`{file}` line {line} sets `{key}`, which a team list may not set; nothing was synced"
            ),
        }
    }
}

impl RoleError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RoleError::NoKeyedProfile => Some(
                "store the base account's keys first: `vault setup PROFILE` (or `vault add PROFILE`)"
                    .to_string(),
            ),
            RoleError::SeveralKeyedProfiles(names) => Some(format!(
                "add `--source-profile {}` (or another of them)",
                names[0]
            )),
            RoleError::BadArn { .. } => Some(
                "a role ARN looks like `arn:aws:iam::123456789012:role/NAME` (copy it from the role's page in IAM)"
                    .to_string(),
            ),
            RoleError::Exists { name, .. } => Some(format!(
                "choose another name, or edit `[profile {name}]` there by hand"
            )),
            RoleError::Forbidden { .. } => Some(
                "a team list must not make vault run a program or use another credential source: ask whoever keeps the list to remove that line"
                    .to_string(),
            ),
            RoleError::Team { .. } => Some(
                "the list must be AWS config text: `[profile NAME]` sections of `key = value` lines"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

impl From<RoleError> for crate::error::Error {
    fn from(error: RoleError) -> crate::error::Error {
        crate::error::Error::ConfigEdit {
            problem: error.to_string(),
            hint: error.hint(),
        }
    }
}

type Result<T> = std::result::Result<T, RoleError>;

/// Checks the shape of a role ARN: `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
pub fn check_role_arn(arn: &str) -> Result<()> {
    let bad = |problem| {
        Err(RoleError::BadArn {
            arn: crate::text::printable(arn).into_owned(),
            problem,
        })
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return bad("it has fewer than six `:`-separated parts");
    };
    if prefix != "arn" {
        return bad("it does not start with `arn:`");
    }
    let partition_ok = partition == "aws"
        || partition.strip_prefix("aws-").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        });
    if !partition_ok {
        return bad("the partition is not `aws` (or `aws-cn`, `aws-us-gov`, ...)");
    }
    if service != "iam" {
        return bad("the service is not `iam`");
    }
    if !region.is_empty() {
        return bad("IAM ARNs have no region (`arn:aws:iam::`)");
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return bad("the account is not 12 digits");
    }
    let Some(path) = resource.strip_prefix("role/") else {
        return bad("the resource does not start with `role/`");
    };
    let name = path.rsplit('/').next().unwrap_or_default();
    if name.is_empty() || name.len() > 64 {
        return bad("the role name is empty or longer than 64 characters");
    }
    if !path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
    {
        return bad("the role's path or name has a character IAM does not allow");
    }
    Ok(())
}

/// Which profile the roles are assumed from: the one given, else the one profile whose keys
/// vault stores (`keyed`).
pub fn source_profile(given: Option<&str>, keyed: &[String]) -> Result<String> {
    match (given, keyed) {
        (Some(given), _) => {
            if !is_valid_name(given) {
                return Err(RoleError::BadName {
                    name: given.to_string(),
                });
            }
            Ok(given.to_string())
        }
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err(RoleError::NoKeyedProfile),
        (None, several) => Err(RoleError::SeveralKeyedProfiles(several.to_vec())),
    }
}

/// The base profile's settings that role profiles copy (as the profile resolves them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base {
    pub profile: String,
    pub mfa_serial: Option<String>,
    pub region: Option<String>,
}

/// `--mfa-serial ARN`, `--no-mfa`, or neither (the source profile's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mfa {
    FromSource,
    Given(String),
    None,
}

/// A profile to write: its name and settings, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleProfile {
    pub name: String,
    pub settings: Vec<(String, String)>,
}

impl RoleProfile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The section as text (`\n` line endings).
    pub fn text(&self) -> String {
        let keys: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        editor::section_text(&self.name, &keys, "\n")
    }
}

fn checked(key: &str, value: &str) -> Result<()> {
    check_value(key, value).map_err(|e| RoleError::BadValue {
        key: key.to_string(),
        problem: e.to_string(),
    })
}

/// `vault config add-role`'s section, in the guide's order: `source_profile`, `region`,
/// `role_arn`, `mfa_serial`. `exists` says where a profile of that name is already written.
pub fn add_role(
    name: &str,
    role_arn: &str,
    base: &Base,
    region: Option<&str>,
    mfa: &Mfa,
    exists: impl Fn(&str) -> Option<(String, usize)>,
) -> Result<RoleProfile> {
    if !is_valid_name(name) {
        return Err(RoleError::BadName {
            name: name.to_string(),
        });
    }
    if let Some((file, line)) = exists(name) {
        return Err(RoleError::Exists {
            name: name.to_string(),
            file,
            line,
        });
    }
    check_role_arn(role_arn)?;
    let mut settings = vec![("source_profile".to_string(), base.profile.clone())];
    if let Some(region) = region.or(base.region.as_deref()) {
        settings.push(("region".to_string(), region.to_string()));
    }
    settings.push(("role_arn".to_string(), role_arn.to_string()));
    let mfa_serial = match mfa {
        Mfa::FromSource => base.mfa_serial.clone(),
        Mfa::Given(serial) => Some(serial.clone()),
        Mfa::None => None,
    };
    if let Some(serial) = mfa_serial {
        settings.push(("mfa_serial".to_string(), serial));
    }
    for (key, value) in &settings {
        checked(key, value)?;
    }
    Ok(RoleProfile {
        name: name.to_string(),
        settings,
    })
}

/// One profile of a team list, as written there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamProfile {
    /// With `--prefix`.
    pub name: String,
    pub line: usize,
    pub settings: Vec<(String, String)>,
}

/// What reading a team list found, beyond its profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamList {
    pub profiles: Vec<TeamProfile>,
    /// Personal settings the list had, which vault left out: one line each.
    pub warnings: Vec<String>,
}

/// Reads a team list (`file` is its name as shown). Any line vault cannot take, and any
/// forbidden key, refuses the whole list, naming the line.
pub fn read_team(text: &str, file: &str, prefix: &str) -> Result<TeamList> {
    let team = |line, problem: String| RoleError::Team {
        file: file.to_string(),
        line,
        problem,
    };
    let sections = parse::parse(text).map_err(|e| team(e.line, e.message.to_string()))?;
    let mut list = TeamList::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for section in &sections {
        let header = &section.header;
        let name = match header.strip_prefix("profile") {
            Some(rest) if rest.starts_with(char::is_whitespace) => rest.trim(),
            _ if header == "default" => {
                return Err(team(
                    section.line,
                    "a team list cannot set `[default]`, which is personal".to_string(),
                ));
            }
            _ if header.starts_with("sso-session") => {
                return Err(team(
                    section.line,
                    "`[sso-session]` sections are not synced; `vault sso populate` writes IAM Identity Center profiles".to_string(),
                ));
            }
            _ => {
                return Err(team(
                    section.line,
                    format!(
                        "`[{}]` is not a `[profile NAME]` section",
                        crate::text::printable(header)
                    ),
                ));
            }
        };
        let full = format!("{prefix}{name}");
        if !is_valid_name(name) || !is_valid_name(&full) {
            return Err(team(
                section.line,
                format!(
                    "`{}` is not a valid profile name (letters, digits and -/.%@_:+ only)",
                    crate::text::printable(&full)
                ),
            ));
        }
        if let Some(first) = seen.insert(full.clone(), section.line) {
            return Err(team(
                section.line,
                format!("profile `{full}` is also defined on line {first}"),
            ));
        }
        let mut settings: Vec<(String, String)> = Vec::new();
        for property in &section.properties {
            let key = property.key.as_str();
            if FORBIDDEN.contains(&key) || key.starts_with("sso_") {
                return Err(RoleError::Forbidden {
                    file: file.to_string(),
                    line: property.line,
                    key: key.to_string(),
                });
            }
            if PERSONAL.contains(&key) {
                list.warnings.push(format!(
                    "`{file}` line {}: `{key}` is personal; vault uses the base profile's instead",
                    property.line
                ));
                continue;
            }
            check_value(key, &property.value).map_err(|e| team(property.line, e.to_string()))?;
            // A key set twice: the last wins, as when the file is read.
            settings.retain(|(k, _)| k != key);
            settings.push((key.to_string(), property.value.clone()));
        }
        let Some(arn) = settings
            .iter()
            .find(|(k, _)| k == "role_arn")
            .map(|(_, v)| v)
        else {
            return Err(team(
                section.line,
                format!("profile `{full}` has no `role_arn`"),
            ));
        };
        check_role_arn(arn).map_err(|e| {
            let line = section
                .properties
                .iter()
                .rfind(|p| p.key == "role_arn")
                .map_or(section.line, |p| p.line);
            team(line, e.to_string())
        })?;
        list.profiles.push(TeamProfile {
            name: full,
            line: section.line,
            settings,
        });
    }
    Ok(list)
}

/// The team's profiles, each sourced from the base profile with its MFA device, and its
/// region where the list gives none: `source_profile` first, then the list's settings, then
/// what came from the base.
pub fn team_roles(team: &[TeamProfile], base: &Base) -> Vec<RoleProfile> {
    team.iter()
        .map(|profile| {
            let mut settings = vec![("source_profile".to_string(), base.profile.clone())];
            settings.extend(profile.settings.iter().cloned());
            if !settings.iter().any(|(k, _)| k == "region")
                && let Some(region) = &base.region
            {
                settings.push(("region".to_string(), region.clone()));
            }
            if let Some(serial) = &base.mfa_serial {
                settings.push(("mfa_serial".to_string(), serial.clone()));
            }
            RoleProfile {
                name: profile.name.clone(),
                settings,
            }
        })
        .collect()
}

/// What a sync does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sync {
    /// The block's new text (`\n` line endings).
    pub body: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: Vec<String>,
    /// Team names that clash with a profile outside the block: `(name, file, line)`.
    pub skipped: Vec<(String, String, usize)>,
}

/// The new block for `roles`, against the block as it is (`old_body`): a role whose name is
/// a profile outside the block (`outside`) is skipped.
pub fn plan_sync(
    roles: &[RoleProfile],
    old_body: &str,
    outside: impl Fn(&str) -> Option<(String, usize)>,
) -> Sync {
    // The old block was written by vault; if someone broke it, everything in it is new.
    let old: Vec<(String, Vec<(String, String)>)> = parse::parse(old_body)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| {
            let name = s.header.strip_prefix("profile ")?.trim().to_string();
            let settings = s.properties.into_iter().map(|p| (p.key, p.value)).collect();
            Some((name, settings))
        })
        .collect();
    let mut sync = Sync::default();
    let mut kept = Vec::new();
    for role in roles {
        if let Some((file, line)) = outside(&role.name) {
            sync.skipped.push((role.name.clone(), file, line));
            continue;
        }
        match old.iter().find(|(name, _)| *name == role.name) {
            None => sync.added.push(role.name.clone()),
            Some((_, settings)) if *settings == role.settings => {
                sync.unchanged.push(role.name.clone())
            }
            Some(_) => sync.changed.push(role.name.clone()),
        }
        kept.push(role.text());
    }
    sync.removed = old
        .iter()
        .filter(|(name, _)| !kept_name(roles, &sync.skipped, name))
        .map(|(name, _)| name.clone())
        .collect();
    sync.body = kept.join("\n");
    sync
}

fn kept_name(roles: &[RoleProfile], skipped: &[(String, String, usize)], name: &str) -> bool {
    roles.iter().any(|r| r.name == name) && !skipped.iter().any(|(s, _, _)| s == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:iam::123456789012:role/admin";
    const SERIAL: &str = "arn:aws:iam::111111111111:mfa/jane";

    fn base() -> Base {
        Base {
            profile: "gds-users".into(),
            mfa_serial: Some(SERIAL.into()),
            region: Some("eu-west-1".into()),
        }
    }

    #[test]
    fn role_arns_are_checked_for_shape() {
        for good in [
            ARN,
            "arn:aws-cn:iam::123456789012:role/path/to/Role+=,.@_-",
            "arn:aws-us-gov:iam::123456789012:role/x",
        ] {
            check_role_arn(good).unwrap();
        }
        let bad = [
            ("admin", "fewer than six"),
            ("arn:aws:iam::123456789012:user/jane", "`role/`"),
            ("arn:aws:sts::123456789012:role/x", "not `iam`"),
            ("arn:aws:iam:eu-west-1:123456789012:role/x", "no region"),
            ("arn:aws:iam::12345:role/x", "12 digits"),
            ("arn:aws:iam::123456789012:role/", "empty"),
            ("arn:aws:iam::123456789012:role/a b", "character"),
            ("arn:gcp:iam::123456789012:role/x", "partition"),
            ("urn:aws:iam::123456789012:role/x", "`arn:`"),
        ];
        for (arn, problem) in bad {
            let err = check_role_arn(arn).unwrap_err().to_string();
            assert!(err.contains(problem), "{arn}: {err}");
        }
    }

    #[test]
    fn the_source_profile_is_the_one_with_keys() {
        let keyed = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(source_profile(None, &keyed(&["a"])).unwrap(), "a");
        assert_eq!(source_profile(Some("b"), &keyed(&["a", "c"])).unwrap(), "b");
        assert_eq!(
            source_profile(None, &keyed(&[])).unwrap_err(),
            RoleError::NoKeyedProfile
        );
        let several = source_profile(None, &keyed(&["a", "c"])).unwrap_err();
        assert_eq!(
            several.to_string(),
            "several profiles have keys stored in vault (`a`, `c`), so the source profile must be named"
        );
        assert_eq!(
            several.hint().unwrap(),
            "add `--source-profile a` (or another of them)"
        );
    }

    #[test]
    fn add_role_takes_mfa_and_region_from_the_source() {
        let none = |_: &str| None;
        let role = add_role("target-account", ARN, &base(), None, &Mfa::FromSource, none).unwrap();
        assert_eq!(
            role.text(),
            format!(
                "[profile target-account]\nsource_profile = gds-users\nregion = eu-west-1\nrole_arn = {ARN}\nmfa_serial = {SERIAL}\n"
            )
        );
        let role = add_role("t", ARN, &base(), Some("us-east-1"), &Mfa::None, none).unwrap();
        assert_eq!(role.get("region"), Some("us-east-1"));
        assert_eq!(role.get("mfa_serial"), None);
        let bare = Base {
            profile: "b".into(),
            ..Base::default()
        };
        let role = add_role("t", ARN, &bare, None, &Mfa::Given("m".into()), none);
        let role = role.unwrap();
        assert_eq!(role.get("region"), None);
        assert_eq!(role.get("mfa_serial"), Some("m"));

        let exists = |name: &str| (name == "t").then(|| ("~/.aws/config".to_string(), 7));
        let err = add_role("t", ARN, &base(), None, &Mfa::FromSource, exists).unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile `t` already exists: `~/.aws/config` line 7"
        );
        assert!(add_role("t", "arn:x", &base(), None, &Mfa::FromSource, none).is_err());
        assert!(add_role("a b", ARN, &base(), None, &Mfa::FromSource, none).is_err());
        let injected = add_role(
            "t",
            ARN,
            &base(),
            Some("eu\ncredential_process = x"),
            &Mfa::None,
            none,
        );
        assert!(
            matches!(injected, Err(RoleError::BadValue { .. })),
            "{injected:?}"
        );
    }

    #[test]
    fn a_team_list_is_read_with_its_lines() {
        let text = format!(
            "# our accounts\n[profile target-account]\nrole_arn = {ARN}\nregion = eu-west-2\n\n[profile ro] ; read only\nrole_arn = {ARN}\nmfa_serial = someone-elses\n"
        );
        let list = read_team(&text, "team.ini", "gds-").unwrap();
        let names: Vec<_> = list
            .profiles
            .iter()
            .map(|p| (p.name.as_str(), p.line))
            .collect();
        assert_eq!(names, [("gds-target-account", 2), ("gds-ro", 6)]);
        assert_eq!(
            list.warnings,
            ["`team.ini` line 8: `mfa_serial` is personal; vault uses the base profile's instead"]
        );
        let roles = team_roles(&list.profiles, &base());
        assert_eq!(
            roles[0].text(),
            format!(
                "[profile gds-target-account]\nsource_profile = gds-users\nrole_arn = {ARN}\nregion = eu-west-2\nmfa_serial = {SERIAL}\n"
            )
        );
        assert_eq!(roles[1].get("region"), Some("eu-west-1"));
    }

    #[test]
    fn a_bad_team_list_names_its_line() {
        let cases = [
            (
                "[profile a]\nrole_arn = x\n[profile b\n",
                "`t` line 3: Profile definition must end with ']'",
            ),
            (
                "[profile a]\nno equals here\n",
                "`t` line 2: Expected an '=' sign defining a property",
            ),
            (
                "[a]\n",
                "`t` line 1: `[a]` is not a `[profile NAME]` section",
            ),
            (
                "[default]\n",
                "`t` line 1: a team list cannot set `[default]`, which is personal",
            ),
            (
                "[profile a]\nregion = r\n",
                "`t` line 1: profile `a` has no `role_arn`",
            ),
            (
                "[profile a]\nregion = r\nrole_arn = nope\n",
                "`t` line 3: `nope` is not a role ARN",
            ),
            (
                &format!("[profile a]\nrole_arn = {ARN}\n[profile a]\nrole_arn = {ARN}\n"),
                "`t` line 3: profile `a` is also defined on line 1",
            ),
        ];
        for (text, expect) in cases {
            let err = read_team(text, "t", "").unwrap_err().to_string();
            assert!(err.starts_with(expect), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_team_list_may_not_run_programs_or_pick_credentials() {
        for key in [
            "credential_process",
            "mfa_process",
            "source_profile",
            "credential_source",
            "include_profile",
            "endpoint_url",
            "sso_start_url",
            "Credential_Process",
        ] {
            let text = format!(
                "[profile ok]\nrole_arn = {ARN}\n[profile bad]\nrole_arn = {ARN}\n{key} = x\n"
            );
            let err = read_team(&text, "team.ini", "").unwrap_err();
            assert_eq!(
                err,
                RoleError::Forbidden {
                    file: "team.ini".into(),
                    line: 5,
                    key: key.to_ascii_lowercase()
                },
                "{key}"
            );
        }
    }

    #[test]
    fn a_sync_says_what_it_added_changed_and_removed() {
        let role = |name: &str, region: &str| RoleProfile {
            name: name.into(),
            settings: vec![
                ("source_profile".into(), "base".into()),
                ("role_arn".into(), ARN.into()),
                ("region".into(), region.into()),
            ],
        };
        let old = [role("same", "r"), role("edited", "r"), role("gone", "r")]
            .iter()
            .map(RoleProfile::text)
            .collect::<Vec<_>>()
            .join("\n");
        let new = [
            role("same", "r"),
            role("edited", "s"),
            role("new", "r"),
            role("mine", "r"),
        ];
        let outside = |name: &str| (name == "mine").then(|| ("~/.aws/config".to_string(), 3));
        let sync = plan_sync(&new, &old, outside);
        assert_eq!(sync.added, ["new"]);
        assert_eq!(sync.changed, ["edited"]);
        assert_eq!(sync.removed, ["gone"]);
        assert_eq!(sync.unchanged, ["same"]);
        assert_eq!(
            sync.skipped,
            [("mine".to_string(), "~/.aws/config".to_string(), 3)]
        );
        assert_eq!(
            sync.body,
            [role("same", "r"), role("edited", "s"), role("new", "r")]
                .iter()
                .map(RoleProfile::text)
                .collect::<Vec<_>>()
                .join("\n")
        );
        // Again with the new block: nothing to do.
        let again = plan_sync(&new, &sync.body, outside);
        assert!(again.added.is_empty() && again.changed.is_empty() && again.removed.is_empty());
        assert_eq!(again.body, sync.body);
    }
}
