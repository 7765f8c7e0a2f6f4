//! vault's own settings: flags beat environment beat `config.toml` (under the platform
//! config folder, e.g. `~/.config/vault/config.toml`) beat defaults. It turns them into
//! values the store takes (`store::Options`); the store does not depend on this module.
//! It also reads aws-vault's session-duration variables (`ttls`). It must not name
//! `commands/` or `cli.rs`, the rooms above it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::prompt::Driver;
use crate::store::{self, Backend};
use crate::sts::plan::Ttls;

/// The optional settings file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    backend: Option<String>,
    prompt: Option<String>,
    unlock_ttl: Option<String>,
    file_dir: Option<String>,
    sso_token_cache: Option<String>,
    sso_use_device_code: Option<bool>,
    login_token_cache: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `None`: pick the platform's keychain when one answers, else the file store.
    pub backend: Option<Backend>,
    /// The prompt driver named (`AWS_VAULT_PROMPT`, `config.toml`); `None`: chosen
    /// automatically (`prompt::choose`).
    pub prompt: Option<Driver>,
    /// How long an unlocked file store stays unlocked; zero disables the unlock cache.
    pub unlock_ttl: Duration,
    pub file_dir: PathBuf,
    /// secret-service: the label of the collection new entries go in; `None` the default one.
    pub collection: Option<String>,
    /// The pass backend: `AWS_VAULT_PASS_CMD` (`pass`), `AWS_VAULT_PASS_PASSWORD_STORE_DIR`
    /// else `PASSWORD_STORE_DIR` else `~/.password-store`, `AWS_VAULT_PASS_PREFIX` (`vault`).
    pub pass_cmd: String,
    pub pass_dir: PathBuf,
    pub pass_prefix: String,
    /// `sso_token_cache = shared`: SSO tokens are also written to `~/.aws/sso/cache`.
    pub sso_shared_cache: bool,
    /// `login_token_cache = shared`: sign-in sessions `vault signin` makes live in the AWS
    /// CLI's `~/.aws/login/cache` (plaintext, as the AWS CLI keeps them) instead of vault's store.
    pub login_shared_cache: bool,
}

pub const DEFAULT_UNLOCK_TTL: Duration = Duration::from_secs(15 * 60);

/// `~/.config/vault/config.toml` or the platform's equivalent.
pub fn settings_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("vault").join("config.toml"))
}

/// The file store's default folder: `vault` under the platform data folder.
pub fn default_file_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".local/share"))
        .join("vault")
}

impl From<&Settings> for store::Options {
    fn from(settings: &Settings) -> store::Options {
        store::Options {
            backend: settings.backend,
            file_dir: settings.file_dir.clone(),
            index_dir: default_file_dir().join("index"),
            unlock_ttl: settings.unlock_ttl,
            collection: settings.collection.clone(),
            pass_cmd: settings.pass_cmd.clone(),
            pass_dir: settings.pass_dir.clone(),
            pass_prefix: settings.pass_prefix.clone(),
        }
    }
}

impl Settings {
    pub fn load(
        flag_backend: Option<&str>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings> {
        let file = match settings_path() {
            Some(path) => read_file(&path)?,
            None => FileSettings::default(),
        };
        let backend = match (flag_backend, var("AWS_VAULT_BACKEND"), file.backend) {
            (Some(name), _, _) => Some(Backend::parse(name, "--backend")?),
            (None, Some(name), _) => Some(Backend::parse(&name, "AWS_VAULT_BACKEND")?),
            (None, None, Some(name)) => Some(Backend::parse(&name, "backend in config.toml")?),
            (None, None, None) => None,
        };
        let prompt = match (var("AWS_VAULT_PROMPT"), file.prompt) {
            (Some(name), _) => Some(parse_driver(&name, "AWS_VAULT_PROMPT")?),
            (None, Some(name)) => Some(parse_driver(&name, "prompt in config.toml")?),
            (None, None) => None,
        };
        let unlock_ttl = match (var("AWS_VAULT_UNLOCK_TTL"), file.unlock_ttl) {
            (Some(text), _) => parse_duration(&text, "AWS_VAULT_UNLOCK_TTL")?,
            (None, Some(text)) => parse_duration(&text, "unlock_ttl in config.toml")?,
            (None, None) => DEFAULT_UNLOCK_TTL,
        };
        let file_dir = var("AWS_VAULT_FILE_DIR")
            .or(file.file_dir)
            .map(|d| expand_home(&d))
            .unwrap_or_else(default_file_dir);
        let pass_dir = var("AWS_VAULT_PASS_PASSWORD_STORE_DIR")
            .or_else(|| var("PASSWORD_STORE_DIR"))
            .map(|d| expand_home(&d))
            .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".password-store"));
        let sso_shared_cache = match (var("AWS_VAULT_SSO_TOKEN_CACHE"), file.sso_token_cache) {
            (Some(text), _) => parse_token_cache(&text, "AWS_VAULT_SSO_TOKEN_CACHE")?,
            (None, Some(text)) => parse_token_cache(&text, "sso_token_cache in config.toml")?,
            (None, None) => false,
        };
        let login_shared_cache = match (var("AWS_VAULT_LOGIN_TOKEN_CACHE"), file.login_token_cache)
        {
            (Some(text), _) => parse_token_cache(&text, "AWS_VAULT_LOGIN_TOKEN_CACHE")?,
            (None, Some(text)) => parse_token_cache(&text, "login_token_cache in config.toml")?,
            (None, None) => false,
        };
        Ok(Settings {
            backend,
            prompt,
            unlock_ttl,
            file_dir,
            collection: None,
            pass_cmd: var("AWS_VAULT_PASS_CMD").unwrap_or_else(|| "pass".to_string()),
            pass_dir,
            pass_prefix: var("AWS_VAULT_PASS_PREFIX").unwrap_or_else(|| "vault".to_string()),
            sso_shared_cache,
            login_shared_cache,
        })
    }

    /// aws-vault's global flags: `--file-dir` beats AWS_VAULT_FILE_DIR and config.toml;
    /// `--secret-service-collection` (or its variable) names the secret-service collection.
    pub fn with_flags(mut self, file_dir: Option<&str>, collection: Option<&str>) -> Settings {
        if let Some(dir) = file_dir.filter(|d| !d.is_empty()) {
            self.file_dir = expand_home(dir);
        }
        self.collection = collection.filter(|c| !c.is_empty()).map(str::to_string);
        self
    }
}

/// `sso_use_device_code = true | false` in `config.toml`: SSO sign-ins use the device-code
/// flow (or not) unless a flag or the `[sso-session]` says otherwise. Read when a sign-in
/// starts, not with the other settings: only `sso::login` needs it.
pub fn sso_use_device_code() -> Result<Option<bool>> {
    match settings_path() {
        Some(path) => Ok(read_file(&path)?.sso_use_device_code),
        None => Ok(None),
    }
}

fn parse_driver(name: &str, from: &'static str) -> Result<Driver> {
    Driver::parse(name).map_err(|problem| Error::BadValue {
        name: from,
        problem,
    })
}

/// `vault` (tokens in vault's store only) or `shared` (also the AWS CLI's cache).
fn parse_token_cache(text: &str, name: &'static str) -> Result<bool> {
    match text {
        "vault" => Ok(false),
        "shared" => Ok(true),
        other => Err(Error::BadValue {
            name,
            problem: format!("`{other}` is neither `vault` nor `shared`"),
        }),
    }
}

fn read_file(path: &std::path::Path) -> Result<FileSettings> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| Error::Settings {
            path: path.to_path_buf(),
            problem: e.message().to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileSettings::default()),
        Err(source) => Err(Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None => PathBuf::from(path),
    }
}

/// aws-vault's duration variables, defaults where unset.
pub fn ttls(var: impl Fn(&str) -> Option<String>) -> Result<Ttls> {
    let mut ttls = Ttls::default();
    for (name, slot) in [
        ("AWS_SESSION_TOKEN_TTL", &mut ttls.session_token),
        (
            "AWS_CHAINED_SESSION_TOKEN_TTL",
            &mut ttls.chained_session_token,
        ),
        ("AWS_ASSUME_ROLE_TTL", &mut ttls.assume_role),
        ("AWS_MIN_TTL", &mut ttls.min),
    ] {
        if let Some(text) = var(name) {
            *slot = parse_duration(&text, name)?;
        }
    }
    Ok(ttls)
}

/// `15m`, `1h30m`, `90s`, or a bare number of seconds (`0` included).
pub fn parse_duration(text: &str, name: &'static str) -> Result<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|e| Error::BadValue {
        name,
        problem: format!("`{text}` is not a duration like `15m` or `1h` ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0", "x").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("15m", "x").unwrap(),
            Duration::from_secs(900)
        );
        assert_eq!(
            parse_duration("1h30m", "x").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(parse_duration("90", "x").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("soon", "x").is_err());
    }

    #[test]
    fn flags_beat_environment() {
        let env = |name: &str| (name == "AWS_VAULT_BACKEND").then(|| "keyctl".to_string());
        let s = Settings::load(Some("file"), env).unwrap();
        assert_eq!(s.backend, Some(Backend::File));
        let s = Settings::load(None, env).unwrap();
        assert_eq!(s.backend, Some(Backend::Keyctl));
        let bad = Settings::load(Some("vaultwarden"), env)
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("file, keychain, wincred, secret-service, keyctl, pass"),
            "{bad}"
        );
    }
}
