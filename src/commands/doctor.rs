//! `vault doctor [PROFILE] [--json] [--offline]`: gathers the facts `crate::doctor` judges
//! (files and modes, the store, every profile, SSO tokens, `vault-full`, and unless
//! `--offline` one STS and two IAM calls per base profile, with its stored keys and no MFA
//! prompt), prints the report, and exits 1 when a check fails.
//! Must not: print a secret, ask for an MFA code, or make more than one STS and two IAM
//! calls per base profile.

use std::cell::Cell;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::config::resolve::{Overrides, Resolver, closest};
use crate::doctor::{self as checks, Answer, Backend, Check, Online, PathKind, PathMode};
use crate::error::{Error, Result};
use crate::prompt::Prompt;
use crate::store::{EntryId, Listing, Store};
use crate::sts::iam::{self, Iam};

use super::{Context, display_path};

pub fn run(context: &Context, args: &DoctorArgs) -> Result<u8> {
    let config = super::load_config()?;
    let settings = context.settings()?;
    let asked = Rc::new(Cell::new(false));
    let prompt = Watched {
        inner: context.asker(&settings),
        asked: asked.clone(),
    };
    let backend_name = settings
        .backend
        .map(|b| b.name().to_string())
        .unwrap_or_else(|| "default".to_string());
    let mut store = crate::store::open(&settings, Box::new(prompt));
    let listing = match &mut store {
        Ok(store) => store.list().map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let empty = Listing::default();
    let keyed = listing.as_ref().unwrap_or(&empty);
    let wanted = |name: &str| args.profile.as_deref().is_none_or(|p| p == name);
    if let Some(profile) = &args.profile
        && !keyed.has_keys(profile)
    {
        let stored = |_: &str| false;
        // A name that exists nowhere: the resolver's error and its "did you mean".
        Resolver::new(&config.profiles, &stored).profile(profile, &Overrides::default())?;
    }

    // Before the online checks, which may unlock it.
    let locked = store.as_ref().ok().and_then(|store| store.locked());
    let mut report: Vec<Check> = Vec::new();
    report.extend(checks::plaintext_keys(
        &display_path(&config.credentials_path),
        &plaintext(&config, &wanted),
    ));
    report.extend(checks::aws_vault_stores(&aws_vault_stores(&config, keyed)));
    report.extend(checks::modes(&modes(&config, &settings.file_dir)));
    report.extend(checks::profiles(&profile_facts(&config, keyed, &wanted)));
    report.extend(checks::sso_sessions(
        &sso_facts(&config, keyed),
        SystemTime::now(),
    ));
    report.push(checks::vault_full(
        vault_full().as_ref().map(|(p, b)| (p.as_str(), *b)),
    ));

    if !args.offline
        && let Ok(store) = &mut store
    {
        for profile in base_profiles(&config, keyed, args.profile.as_deref()) {
            let facts = online(store.as_mut(), &config, &profile)?;
            report.extend(checks::online(&facts, SystemTime::now()));
        }
    }
    let state = match (&store, &listing) {
        (Err(e), _) => Backend::Unavailable(e.to_string()),
        (Ok(_), Err(e)) => Backend::Unavailable(e.clone()),
        _ if asked.get() || locked == Some(true) => Backend::Locked,
        _ => Backend::Answers,
    };
    report.insert(0, checks::backend(&backend_name, &state));

    super::print(&if args.json {
        checks::render_json(&report)
    } else {
        checks::render_text(&report)
    })?;
    Ok(if checks::passed(&report) { 0 } else { 1 })
}

/// The asker, noting whether the store had to ask (it was locked).
struct Watched {
    inner: Box<dyn Prompt>,
    asked: Rc<Cell<bool>>,
}

impl Prompt for Watched {
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>> {
        self.asked.set(true);
        self.inner.ask(question, hidden)
    }
}

/// Profiles with `aws_access_key_id` written in a plaintext file.
fn plaintext(config: &Config, wanted: &dyn Fn(&str) -> bool) -> Vec<String> {
    config
        .profiles
        .profiles()
        .iter()
        .filter(|p| wanted(&p.name) && p.setting("aws_access_key_id").is_some())
        .map(|p| p.name.clone())
        .collect()
}

/// Every aws-vault store found here (by name only: nothing decrypted, no daemon started)
/// and the credentials in it that vault's store lacks. In a store aws-vault shares with
/// other secrets (a whole password store), only profiles' names count.
fn aws_vault_stores(config: &Config, listing: &Listing) -> Vec<checks::AwsVaultStore> {
    crate::import::inventory::holdings()
        .into_iter()
        .map(|holding| {
            let missing = holding.names.map(|names| {
                names
                    .into_iter()
                    .filter(|name| !listing.has_keys(name))
                    .filter(|name| !holding.shared || config.profiles.get(name).is_some())
                    .collect()
            });
            checks::AwsVaultStore {
                backend: holding.from.to_string(),
                location: holding.location,
                flags: holding.flags,
                missing,
            }
        })
        .collect()
}

fn modes(config: &Config, store_dir: &Path) -> Vec<PathMode> {
    let mut paths = Vec::new();
    let mut add = |path: &Path, kind| {
        if let Ok(meta) = std::fs::metadata(path) {
            paths.push(PathMode {
                path: display_path(path),
                is_dir: meta.is_dir(),
                mode: meta.mode() & 0o7777,
                owned_by_me: meta.uid() == nix::unistd::geteuid().as_raw(),
                kind,
            });
        }
    };
    if let Some(dir) = config.config_path.parent() {
        add(dir, PathKind::AwsConfig);
    }
    add(&config.config_path, PathKind::AwsConfig);
    add(&config.credentials_path, PathKind::Credentials);
    add(store_dir, PathKind::Store);
    paths
}

/// Every profile (or the one asked about) resolved, and the keys nobody reads.
fn profile_facts(
    config: &Config,
    listing: &Listing,
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<checks::ProfileFacts> {
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    config
        .profiles
        .profiles()
        .iter()
        .filter(|p| wanted(&p.name))
        .map(|p| {
            let problem = resolver
                .chain(&p.name, &Overrides::default())
                .err()
                .map(|e| e.to_string().replace('\n', " "));
            let unknown = p
                .settings()
                .filter(|(key, _)| !checks::KNOWN_KEYS.contains(key))
                .map(|(key, setting)| {
                    let file = display_path(config.path(setting.origin.file));
                    let line = setting.origin.line;
                    (
                        key.to_string(),
                        format!("`{file}` line {line}"),
                        closest(key, checks::KNOWN_KEYS.iter().copied()).map(str::to_string),
                    )
                })
                .collect();
            checks::ProfileFacts {
                name: p.name.clone(),
                problem,
                unknown,
            }
        })
        .collect()
}

/// Each `[sso-session]` and when its sign-in ends: the later of its token in vault's store
/// (read from the listing: no passphrase) and the AWS CLI's in `~/.aws/sso/cache`. No secret
/// is printed.
fn sso_facts(config: &Config, listing: &Listing) -> Vec<checks::SsoFacts> {
    config
        .profiles
        .sso_sessions()
        .iter()
        .map(|s| {
            let session = match (s.get("sso_start_url"), s.get("sso_region")) {
                (Some(url), Some(region)) => Some(crate::sso::Session {
                    name: Some(s.name.clone()),
                    start_url: url.to_string(),
                    region: region.to_string(),
                    scopes: crate::sso::parse_scopes(s.get("sso_registration_scopes")),
                }),
                _ => None,
            };
            let ends = session.as_ref().and_then(|session| {
                let id = crate::sso::cache::entry(session);
                let stored = listing
                    .entries
                    .iter()
                    .find(|e| e.id == id)
                    .and_then(|e| e.expiration);
                // The AWS CLI's own token for it, which vault also uses: until its
                // registration ends when it can be refreshed, else until it expires.
                let now = crate::store::now();
                let shared = crate::sso::cache::read_shared(session)
                    .ok()
                    .flatten()
                    .map(|token| match token.registration_expires_at {
                        Some(until) if token.refreshable(now) => until,
                        _ => token.expires_at,
                    });
                stored
                    .max(shared)
                    .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            });
            checks::SsoFacts {
                name: s.name.clone(),
                login: format!("--sso-session {}", s.name),
                ends,
            }
        })
        .collect()
}

/// The first `vault` on PATH and whether `vault-full` is beside it; `None` when vault is
/// not on PATH (run from a build folder).
fn vault_full() -> Option<(String, bool)> {
    let path = std::env::var_os("PATH")?;
    let dir = std::env::split_paths(&path).find(|dir| dir.join("vault").is_file())?;
    let full = dir.join("vault-full");
    Some((display_path(&full), full.is_file()))
}

/// The profiles whose keys are stored (or the one asked about, when it is one).
/// The profiles whose keys are stored; with a profile named, the one whose keys its chain
/// uses (a role's base profile).
fn base_profiles(config: &Config, listing: &Listing, profile: Option<&str>) -> Vec<String> {
    let Some(profile) = profile else {
        return listing.keys().map(str::to_string).collect();
    };
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    match resolver.chain(profile, &Overrides::default()) {
        Ok(chain) => chain
            .stored_keys()
            .map(str::to_string)
            .into_iter()
            .collect(),
        Err(_) if listing.has_keys(profile) => vec![profile.to_string()],
        Err(_) => Vec::new(),
    }
}

fn answer<T>(result: Result<T>) -> Answer<T> {
    match result {
        Ok(value) => Answer::Got(value),
        Err(Error::KeysRefused { code, .. }) => Answer::KeysRefused(code),
        Err(Error::Iam { code, .. }) if code == "AccessDenied" => Answer::NeedsMfa,
        Err(e) => Answer::Failed(e.to_string().replace('\n', " ")),
    }
}

/// One STS call (GetCallerIdentity, for the user and the clock), then two IAM calls
/// (ListAccessKeys, ListMFADevices), all with the stored keys and no MFA.
fn online(store: &mut dyn Store, config: &Config, profile: &str) -> Result<Online> {
    let id = EntryId::Keys {
        profile: profile.to_string(),
    };
    let keys = store.get(&id)?.ok_or_else(|| Error::NoKeys {
        profile: profile.to_string(),
        store: store.describe(),
    })?;
    let section = config.profiles.get(profile);
    let get = |key: &str| section.and_then(|p| p.get(key));
    let region = get("region");
    let sts = crate::sts::aws::sts_endpoint(
        get("endpoint_url"),
        get("sts_regional_endpoints"),
        super::var,
    );
    let identity = answer(
        iam::caller_identity_dated(&keys, region, sts.as_deref(), profile).map(|i| (i.arn, i.date)),
    );
    let user = match &identity {
        Answer::Got((arn, _)) => super::setup::user_name(arn).map(str::to_string),
        _ => None,
    };
    let (access_keys, devices) = match &user {
        Some(user) => {
            let endpoint = iam::endpoint(get("endpoint_url"), super::var);
            let client = Iam::new(&keys, region, endpoint.as_deref(), profile)?;
            let access_keys = answer(client.access_keys(Some(user)).map(|keys| {
                keys.into_iter()
                    .filter(|k| k.active)
                    .map(|k| (k.id, k.created))
                    .collect()
            }));
            (
                Some(access_keys),
                Some(answer(client.mfa_devices(Some(user)))),
            )
        }
        None => (None, None),
    };
    Ok(Online {
        profile: profile.to_string(),
        key_id: keys.access_key_id.clone(),
        mfa_serial: get("mfa_serial").map(str::to_string),
        identity,
        keys: access_keys,
        devices,
    })
}
