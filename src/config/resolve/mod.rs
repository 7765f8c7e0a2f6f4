//! A profile name -> its effective settings and its chain of credential sources.
//!
//! Effective settings: the profile's own, then its `include_profile` chain, then `[default]`
//! for a fixed list of keys, with environment and flag overrides on the selected profile.
//! The chain follows the cross-SDK rules (`tests/data/assume-role-tests.json`), where a
//! profile's static keys are the ones stored in the vault under its name or, failing that,
//! the ones written in the plaintext files. No I/O: the store is asked through a closure.

use std::cell::OnceCell;
use std::collections::BTreeMap;

mod chain;
mod settings;

pub use chain::{Base, Chain};
pub use settings::{From, Overrides, ResolvedProfile, Value};

use super::parse::is_secret_key;
use super::profiles::{Origin, Place, ProfileSet};
use crate::error::Error;

/// Keys a profile inherits from `[default]` when neither it nor its includes set them.
pub const DEFAULT_FALLBACK_KEYS: &[&str] = &[
    "region",
    "mfa_serial",
    "mfa_process",
    "duration_seconds",
    "role_session_name",
    "endpoint_url",
    "sts_regional_endpoints",
];

/// The most profiles one `source_profile` or `include_profile` chain may pass through. Real
/// chains are a handful long; the bound keeps resolution linear in the size of the config
/// (`list` resolves every profile) and every later step (planning, one STS call a role)
/// bounded, whatever a config says.
pub const MAX_CHAIN: usize = 64;

/// The config, with the vault's entry names, ready to resolve profiles.
pub struct Resolver<'a> {
    profiles: &'a ProfileSet,
    /// Whether the vault holds keys under this name.
    stored: &'a dyn Fn(&str) -> bool,
    /// `[default]`'s settings that other profiles inherit, worked out once.
    defaults: OnceCell<BTreeMap<String, Value>>,
}

impl<'a> Resolver<'a> {
    pub fn new(profiles: &'a ProfileSet, stored: &'a dyn Fn(&str) -> bool) -> Resolver<'a> {
        Resolver {
            profiles,
            stored,
            defaults: OnceCell::new(),
        }
    }

    fn defaults(&self) -> Result<&BTreeMap<String, Value>, Error> {
        if let Some(defaults) = self.defaults.get() {
            return Ok(defaults);
        }
        let mut all = BTreeMap::new();
        if self.profiles.get("default").is_some() {
            self.include_chain("default", &mut all)?;
        }
        all.retain(|key, _| DEFAULT_FALLBACK_KEYS.contains(&key.as_str()));
        Ok(self.defaults.get_or_init(|| all))
    }

    /// Whether `name` is a profile at all: a section of either file or a vault entry.
    pub fn exists(&self, name: &str) -> bool {
        self.profiles.get(name).is_some() || (self.stored)(name)
    }

    /// Effective settings of a profile, with `overrides` applied on top.
    pub fn profile(&self, name: &str, overrides: &Overrides) -> Result<ResolvedProfile, Error> {
        if !self.exists(name) {
            return Err(self.not_found(name, None));
        }
        let mut settings = BTreeMap::new();
        self.include_chain(name, &mut settings)?;
        if name != "default" {
            for (key, value) in self.defaults()? {
                if !settings.contains_key(key) {
                    settings.insert(key.clone(), value.clone());
                }
            }
        }
        for (key, value, from) in &overrides.settings {
            settings.insert(
                key.to_string(),
                Value {
                    value: value.clone(),
                    from: from.clone(),
                },
            );
        }
        Ok(ResolvedProfile {
            name: name.to_string(),
            origin: self.profiles.get(name).map(|p| p.origin),
            settings,
        })
    }

    /// Fills `settings` from `name` and then the profiles it includes, nearest first.
    fn include_chain(
        &self,
        name: &str,
        settings: &mut BTreeMap<String, Value>,
    ) -> Result<(), Error> {
        let mut visited: Vec<String> = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(current) = next.take() {
            if visited.len() == MAX_CHAIN {
                return Err(Error::ChainTooLong {
                    key: "include_profile",
                    profile: name.to_string(),
                    limit: MAX_CHAIN,
                });
            }
            if visited.contains(&current) {
                visited.push(current);
                return Err(Error::ProfileLoop {
                    key: "include_profile",
                    path: visited,
                });
            }
            let Some(section) = self.profiles.get(&current) else {
                if visited.is_empty() {
                    // A profile known only to the vault has no settings of its own.
                    return Ok(());
                }
                return Err(self.not_found(&current, visited.last().cloned()));
            };
            for (key, setting) in section.settings() {
                settings.entry(key.to_string()).or_insert_with(|| Value {
                    value: setting.value.clone(),
                    from: From::File {
                        profile: current.clone(),
                        file: setting.origin.file,
                        line: setting.origin.line,
                    },
                });
            }
            next = section.get("include_profile").map(str::to_string);
            visited.push(current);
        }
        Ok(())
    }

    /// The selected profile's chain of credential sources.
    pub fn chain(&self, selected: &str, overrides: &Overrides) -> Result<Chain, Error> {
        let mut top = self.profile(selected, overrides)?;
        // A role named by `AWS_ROLE_ARN` on a profile with its own keys is assumed with them.
        let role_from_override = matches!(
            top.settings.get("role_arn").map(|v| &v.from),
            Some(From::Env { .. } | From::Flag { .. })
        );
        if role_from_override
            && top.get("source_profile").is_none()
            && top.get("credential_source").is_none()
        {
            let from = top.settings["role_arn"].from.clone();
            top.settings.insert(
                "source_profile".to_string(),
                Value {
                    value: selected.to_string(),
                    from,
                },
            );
        }

        let mut visited: Vec<String> = Vec::new();
        let mut roles: Vec<ResolvedProfile> = Vec::new();
        let mut current = top;
        let base = loop {
            if visited.len() == MAX_CHAIN {
                return Err(Error::ChainTooLong {
                    key: "source_profile",
                    profile: selected.to_string(),
                    limit: MAX_CHAIN,
                });
            }
            if visited.contains(&current.name) {
                visited.push(current.name.clone());
                return Err(Error::ProfileLoop {
                    key: "source_profile",
                    path: visited,
                });
            }
            visited.push(current.name.clone());
            // After the first profile, a source's own keys win over its role.
            if visited.len() > 1
                && let Some(base) = self.static_keys(&current)?
            {
                break base;
            }
            let is_role = current.get("role_arn").is_some()
                && current.get("web_identity_token_file").is_none();
            if !is_role {
                let needed_by = (visited.len() > 1).then(|| visited[visited.len() - 2].clone());
                break self.base(current, needed_by)?;
            }
            let source_profile = current.get("source_profile").map(str::to_string);
            let credential_source = current.get("credential_source").map(str::to_string);
            let next = match (source_profile, credential_source) {
                (Some(_), Some(_)) => {
                    return Err(Error::BothSources {
                        profile: current.name,
                    });
                }
                (None, None) => {
                    return Err(Error::RoleWithoutSource {
                        profile: current.name,
                    });
                }
                (None, Some(source)) => {
                    roles.push(current.clone());
                    break Base::NamedSource {
                        profile: current,
                        source,
                    };
                }
                (Some(source), None) if source == current.name => {
                    roles.push(current.clone());
                    break self.base(current, None)?;
                }
                (Some(source), None) => source,
            };
            if !self.exists(&next) {
                return Err(self.not_found(&next, Some(current.name)));
            }
            let next = self.profile(&next, &Overrides::default())?;
            roles.push(current);
            current = next;
        };
        roles.reverse();
        Ok(Chain { base, roles })
    }

    /// The profile's static keys: the vault's entry, else keys in the plaintext files.
    /// `Ok(None)` when it has neither.
    fn static_keys(&self, profile: &ResolvedProfile) -> Result<Option<Base>, Error> {
        if (self.stored)(&profile.name) {
            return Ok(Some(Base::StoredKeys {
                profile: profile.clone(),
            }));
        }
        let id = profile.get("aws_access_key_id");
        let secret = profile.get("aws_secret_access_key");
        let token = profile.get("aws_session_token");
        match (id, secret) {
            (None, None) if token.is_none() => Ok(None),
            (Some(id), Some(_)) => Ok(Some(Base::PlaintextKeys {
                profile: profile.clone(),
                access_key_id: id.to_string(),
            })),
            (id, _) => Err(Error::PartialKeys {
                profile: profile.name.clone(),
                missing: if id.is_none() {
                    "aws_access_key_id"
                } else {
                    "aws_secret_access_key"
                },
            }),
        }
    }

    /// A profile that assumes no role: where do its credentials come from?
    fn base(&self, profile: ResolvedProfile, needed_by: Option<String>) -> Result<Base, Error> {
        if let Some(source) = profile.get("credential_source") {
            let source = source.to_string();
            return Ok(Base::NamedSource { profile, source });
        }
        if let Some(token_file) = profile.get("web_identity_token_file") {
            let Some(role_arn) = profile.role_arn() else {
                return Err(Error::WebIdentityWithoutRole {
                    profile: profile.name,
                });
            };
            return Ok(Base::WebIdentity {
                role_arn: role_arn.to_string(),
                token_file: token_file.to_string(),
                session_name: profile.get("role_session_name").map(str::to_string),
                profile,
            });
        }
        if let Some(sso) = self.sso(&profile)? {
            return Ok(sso);
        }
        // After SSO and before `credential_process`, as the Rust SDK orders them.
        if let Some(session) = profile.get("login_session").map(str::trim)
            && !session.is_empty()
        {
            let session = session.to_string();
            return Ok(Base::LoginSession { profile, session });
        }
        // Keys in the vault beat `credential_process`: a profile whose process is
        // `vault export` of itself (so that the AWS CLI can use it) must not recurse.
        if let Some(command) = profile.get("credential_process")
            && !(self.stored)(&profile.name)
        {
            let command = command.to_string();
            return Ok(Base::CredentialProcess { profile, command });
        }
        match self.static_keys(&profile)? {
            Some(base) => Ok(base),
            None => Err(Error::NoCredentials {
                profile: profile.name,
                needed_by,
            }),
        }
    }

    fn sso(&self, profile: &ResolvedProfile) -> Result<Option<Base>, Error> {
        let owned = |key| profile.get(key).map(str::to_string);
        let session = owned("sso_session");
        let mut region = owned("sso_region");
        let mut start_url = owned("sso_start_url");
        let account_id = owned("sso_account_id");
        let role_name = owned("sso_role_name");
        if [&session, &region, &start_url, &account_id, &role_name]
            .iter()
            .all(|v| v.is_none())
        {
            return Ok(None);
        }
        // Where each value and section was written, for errors: "`~/.aws/config` line 3".
        let mut places: BTreeMap<&str, Place> = BTreeMap::new();
        if let Some(origin) = profile.origin {
            places.insert(PROFILE_HEADER, self.profiles.place(origin));
        }
        for key in [
            "sso_session",
            "sso_region",
            "sso_start_url",
            "sso_account_id",
            "sso_role_name",
        ] {
            if let Some(From::File { file, line, .. }) = profile.settings.get(key).map(|v| &v.from)
            {
                let origin = Origin {
                    file: *file,
                    line: *line,
                };
                places.insert(key, self.profiles.place(origin));
            }
        }
        let mut scopes = None;
        if let Some(name) = &session {
            let Some(section) = self.profiles.sso_session(name) else {
                let names = self.profiles.sso_sessions().iter().map(|s| s.name.as_str());
                let hint = match closest(name, names) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!(
                        "add `[sso-session {name}]` with `sso_start_url` and `sso_region` to the config"
                    ),
                };
                return Err(config_error(
                    places.get("sso_session"),
                    &profile.name,
                    format!(
                        "`sso_session`: sso-session named `{name}` (referenced by profile `{}`) was not found",
                        profile.name
                    ),
                    Some(hint),
                ));
            };
            for (key, slot) in [
                ("sso_region", &mut region),
                ("sso_start_url", &mut start_url),
            ] {
                if slot.is_some() {
                    return Err(config_error(
                        places.get(key),
                        &profile.name,
                        format!(
                            "`{key}` can only be specified in the [sso-session] config when a session name is given (profile `{}` names `{name}`)",
                            profile.name
                        ),
                        Some(format!(
                            "remove it from `[profile {}]`; `[sso-session {name}]` holds it",
                            profile.name
                        )),
                    ));
                }
                if let Some(setting) = section.setting(key) {
                    *slot = Some(setting.value.clone());
                    places.insert(key, self.profiles.place(setting.origin));
                }
            }
            places.insert(SESSION_HEADER, self.profiles.place(section.origin));
            scopes = section.get("sso_registration_scopes").map(str::to_string);
        }
        let pair = |set: &str, missing: &str| {
            config_error(
                places.get(set),
                &profile.name,
                format!(
                    "if `{set}` is set, then `{missing}` must also be set (profile `{}`)",
                    profile.name
                ),
                Some(format!("add `{missing}` to `[profile {}]`", profile.name)),
            )
        };
        match (&account_id, &role_name) {
            (Some(_), None) => return Err(pair("sso_account_id", "sso_role_name")),
            (None, Some(_)) => return Err(pair("sso_role_name", "sso_account_id")),
            _ => {}
        }
        Ok(Some(Base::Sso {
            profile: profile.clone(),
            session,
            account_id,
            role_name,
            region,
            start_url,
            scopes,
            places: places
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }))
    }

    fn not_found(&self, name: &str, referenced_from: Option<String>) -> Error {
        let candidates = self.profiles.profiles().iter().map(|p| p.name.as_str());
        Error::ProfileNotFound {
            profile: name.to_string(),
            referenced_from,
            suggestion: closest(name, candidates).map(str::to_string),
            none_defined: self.profiles.is_empty(),
        }
    }
}

/// The keys of [`Base::Sso`]'s places for the section headers: the profile's, and its
/// `[sso-session]`'s.
pub const PROFILE_HEADER: &str = "[profile]";
pub const SESSION_HEADER: &str = "[sso-session]";

/// An error at `place` (file, line; the problem names the key), or, for a value that was
/// not written in a file, one about the profile.
pub fn config_error(
    place: Option<&Place>,
    profile: &str,
    problem: String,
    hint: Option<String>,
) -> Error {
    match place {
        Some(place) => Error::ConfigSetting {
            path: place.path.clone(),
            line: place.line,
            problem,
            hint,
        },
        None => Error::SsoSetting {
            profile: profile.to_string(),
            problem,
        },
    }
}

/// The start URL and region a sign-in uses, from `section` (`` `[sso-session s]` `` or
/// `` `[profile p]` ``, written at `header`): a missing one is named with the section to add
/// it to, and the URL must be https.
pub fn sso_start<'a>(
    section: &str,
    header: Option<&Place>,
    start_url: Option<(&'a str, Option<&Place>)>,
    region: Option<&'a str>,
    profile: &str,
) -> Result<(&'a str, &'a str), Error> {
    let missing: Vec<&str> = [
        ("`sso_start_url`", start_url.is_none()),
        ("`sso_region`", region.is_none()),
    ]
    .into_iter()
    .filter(|(_, missing)| *missing)
    .map(|(key, _)| key)
    .collect();
    let (Some((url, url_place)), Some(region)) = (start_url, region) else {
        let keys = missing.join(" and ");
        return Err(config_error(
            header,
            profile,
            format!("{section} is configured to use SSO but is missing {keys}"),
            Some(format!("add {keys} to {section}")),
        ));
    };
    if !url.starts_with("https://") {
        return Err(config_error(
            url_place.or(header),
            profile,
            format!("`sso_start_url` of {section} must use https: `{url}`"),
            Some("start URLs look like `https://d-1234567890.awsapps.com/start`".to_string()),
        ));
    }
    Ok((url, region))
}

/// The candidate nearest to `name` by edit distance, if it is near enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse;

    fn profiles(config: &str) -> ProfileSet {
        ProfileSet::new(&parse(config).unwrap(), &[])
    }

    fn resolve(config: &str, stored: &[&str], name: &str) -> Result<Chain, Error> {
        let set = profiles(config);
        let has = |n: &str| stored.contains(&n);
        Resolver::new(&set, &has).chain(name, &Overrides::default())
    }

    /// A chain as `base-kind:profile > role-profile > ...`.
    fn check(config: &str, stored: &[&str], name: &str, expect: &str) {
        let got = match resolve(config, stored, name) {
            Ok(chain) => {
                let base = match &chain.base {
                    Base::StoredKeys { profile } => format!("vault:{}", profile.name),
                    Base::PlaintextKeys { profile, .. } => format!("plain:{}", profile.name),
                    Base::CredentialProcess { profile, .. } => format!("process:{}", profile.name),
                    other => format!("other:{}", other.profile().name),
                };
                let mut out = base;
                for role in &chain.roles {
                    out.push_str(" > ");
                    out.push_str(&role.name);
                }
                out
            }
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect);
    }

    const DAY: &str = "[profile gds-users]\nregion = eu-west-1\n\n[profile target]\nsource_profile = gds-users\nrole_arn = arn:aws:iam::1:role/admin\nmfa_serial = arn:aws:iam::2:mfa/jane\n";

    #[test]
    fn chains() {
        check(DAY, &["gds-users"], "target", "vault:gds-users > target");
        check(DAY, &["gds-users"], "gds-users", "vault:gds-users");
        check(
            DAY,
            &["gds-users", "target"],
            "target",
            "vault:gds-users > target",
        );
        check(DAY, &["solo"], "solo", "vault:solo");
        let exported = "[profile base]\ncredential_process = vault export --format json base\n";
        check(exported, &["base"], "base", "vault:base");
        check(
            "[profile a]\ncredential_process = vault export --format json b\n",
            &[],
            "a",
            "process:a",
        );
    }

    #[test]
    fn errors() {
        check(
            DAY,
            &[],
            "target",
            "error: profile `gds-users` did not contain credential information (it is the source of `target`)",
        );
        check(
            DAY,
            &["gds-users"],
            "targt",
            "error: profile `targt` not found",
        );
        check(
            "[profile a]\nsource_profile = b\nrole_arn = x\n[profile b]\ninclude_profile = c\n[profile c]\ninclude_profile = b\n",
            &[],
            "a",
            "error: profile formed an infinite loop through `include_profile`: `b` -> `c` -> `b`",
        );
    }

    #[test]
    fn includes_and_defaults() {
        let set = profiles(
            "[default]\nregion = eu-west-2\nrole_arn = bad\nmfa_serial = m\n[profile base]\nduration_seconds = 900\nregion = us-east-1\n[profile p]\ninclude_profile = base\nrole_session_name = me\n",
        );
        let none = |_: &str| false;
        let r = Resolver::new(&set, &none);
        let p = r.profile("p", &Overrides::default()).unwrap();
        assert_eq!(p.get("region"), Some("us-east-1"));
        assert_eq!(p.get("duration_seconds"), Some("900"));
        assert_eq!(p.get("mfa_serial"), Some("m"));
        assert_eq!(p.get("role_arn"), None);
        let env = Overrides::from_env(|v| (v == "AWS_REGION").then(|| "ap-south-1".to_string()));
        assert_eq!(r.profile("p", &env).unwrap().region(), Some("ap-south-1"));
    }

    #[test]
    fn session_tags() {
        let set = profiles(
            "[profile p]\nsession_tags = a = 1 , b=2\ntransitive_session_tags = b\n[profile q]\nsession_tags = a=1,,b=2\n[profile r]\nsession_tags=a\n",
        );
        let none = |_: &str| false;
        let r = Resolver::new(&set, &none);
        let p = r.profile("p", &Overrides::default()).unwrap();
        let tags = p.session_tags().unwrap();
        assert_eq!(tags, [("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(p.transitive_session_tags().unwrap(), ["b"]);
        for bad in ["q", "r"] {
            let p = r.profile(bad, &Overrides::default()).unwrap();
            assert!(p.session_tags().is_err(), "{bad}");
        }
    }

    /// No input makes the parser or resolver panic or loop: random files built from the
    /// characters that matter to the format, every profile resolved.
    #[test]
    fn random_configs_never_panic() {
        const PIECES: &[&str] = &[
            "[",
            "]",
            "profile ",
            "default",
            "sso-session ",
            "=",
            "#",
            ";",
            " ",
            "\t",
            "\n",
            "\r\n",
            "a",
            "b",
            "c",
            "source_profile",
            "role_arn",
            "include_profile",
            "credential_source",
            "aws_access_key_id",
            "aws_secret_access_key",
            "web_identity_token_file",
            "sso_session",
            "sso_account_id",
            "sso_role_name",
            "credential_process",
            "login_session",
            "x",
            "\u{e9}",
            "\0",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = next() % 40;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let Ok(sections) = parse(&text) else { continue };
            let set = ProfileSet::new(&sections, &sections);
            let stored = |name: &str| name == "b";
            let resolver = Resolver::new(&set, &stored);
            for name in ["a", "b", "c", "default"] {
                let _ = resolver.chain(name, &Overrides::default());
            }
        }
        // Random bytes, not just the format's pieces.
        for _ in 0..20_000 {
            let bytes: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn closest_names() {
        let names = ["prod-admin", "dev", "target-account"];
        assert_eq!(closest("prod-admn", names.into_iter()), Some("prod-admin"));
        assert_eq!(
            closest("target-acount", names.into_iter()),
            Some("target-account")
        );
        assert_eq!(closest("zzzzzzz", names.into_iter()), None);
    }
}
