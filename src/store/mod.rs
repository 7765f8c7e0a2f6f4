//! The vault: long-lived keys and cached sessions behind one `Store` interface.
//!
//! Backends: `file` (encrypted files, works anywhere), the OS keychains through the
//! `keyring` crate, and `pass`. A keychain or `pass` backend keeps long-lived keys in the
//! keychain and cached sessions in session files (`split`, `sessions`). Which backend is in
//! use: the one named, else the one recorded (`recorded`), else the platform's default.
//! Listing never needs a secret; reading or writing a secret may unlock.

pub mod crypto;
pub mod file;
pub mod fs;
pub mod index;
pub mod keychain;
pub mod pass;
pub mod recorded;
pub mod sessions;
pub mod split;
pub mod unlock;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::prompt::Prompt;

/// AWS credentials: long-lived keys (no token, no expiry) or a temporary session.
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
    /// Seconds since the Unix epoch.
    pub expiration: Option<u64>,
}

impl Clone for Credentials {
    fn clone(&self) -> Credentials {
        Credentials {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            session_token: self.session_token.clone(),
            expiration: self.expiration,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// The JSON that is encrypted (or handed to a keychain) for one entry.
#[derive(Serialize, Deserialize)]
struct CredentialsJson<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
}

impl Credentials {
    pub fn keys(access_key_id: String, secret_access_key: SecretString) -> Credentials {
        Credentials {
            access_key_id,
            secret_access_key,
            session_token: None,
            expiration: None,
        }
    }

    /// The secret part of an entry, as bytes that are wiped when dropped.
    fn to_secret_json(&self) -> Zeroizing<Vec<u8>> {
        let json = CredentialsJson {
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose_secret(),
            session_token: self.session_token.as_ref().map(|t| t.expose_secret()),
        };
        Zeroizing::new(serde_json::to_vec(&json).expect("credentials serialize"))
    }

    fn from_secret_json(bytes: &[u8], expiration: Option<u64>) -> Option<Credentials> {
        let json: CredentialsJson = serde_json::from_slice(bytes).ok()?;
        Some(Credentials {
            access_key_id: json.access_key_id.to_string(),
            secret_access_key: SecretString::from(json.secret_access_key),
            session_token: json.session_token.map(SecretString::from),
            expiration,
        })
    }

    /// Seconds left before expiry (negative once expired); `None` for keys that never expire.
    pub fn seconds_left(&self, now: u64) -> Option<i64> {
        self.expiration.map(|e| e as i64 - now as i64)
    }
}

/// What identifies a cached session: how it was made, for which profile, with which MFA
/// device, from which vault entry, and a digest of the parameters that shaped it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKey {
    /// `sts.GetSessionToken`, `sts.AssumeRole`, ... as aws-vault names them.
    pub kind: String,
    pub profile: String,
    pub mfa_serial: Option<String>,
    /// The vault entry whose keys the session was made from.
    pub source: String,
    pub params: String,
}

/// What an entry is, readable without the passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum EntryId {
    Keys { profile: String },
    Session(SessionKey),
}

impl EntryId {
    /// A stable text form, used to name the entry in a keychain and to derive file names.
    pub fn text(&self) -> String {
        match self {
            EntryId::Keys { profile } => format!("keys:{profile}"),
            EntryId::Session(key) => format!(
                "session:{}:{}:{}:{}:{}",
                key.kind,
                key.profile.len(),
                key.profile,
                key.mfa_serial.as_deref().unwrap_or(""),
                key.params
            ),
        }
    }
}

/// An entry as listed: what it is and, for sessions, when it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    pub id: EntryId,
    pub expiration: Option<u64>,
    pub source: Option<String>,
}

impl EntryMeta {
    /// Whether this is metadata vault could have written: profile names follow the config's
    /// rules, and nothing else holds a control character. Metadata is read in the clear from
    /// files others may have changed, and `list` prints it.
    pub fn is_valid(&self) -> bool {
        let name = crate::config::profiles::is_valid_name;
        let text = |t: &str| !t.is_empty() && t.len() <= 512 && !t.chars().any(char::is_control);
        let id_ok = match &self.id {
            EntryId::Keys { profile } => name(profile),
            EntryId::Session(key) => {
                !key.kind.is_empty()
                    && key
                        .kind
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._".contains(c))
                    && name(&key.profile)
                    && name(&key.source)
                    && key.mfa_serial.as_deref().is_none_or(text)
                    && text(&key.params)
            }
        };
        id_ok && self.source.as_deref().is_none_or(name)
    }
}

/// Listing that goes on past a broken entry: the good ones, and what was wrong.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<EntryMeta>,
    pub problems: Vec<Error>,
}

impl Listing {
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match &e.id {
            EntryId::Keys { profile } => Some(profile.as_str()),
            EntryId::Session(_) => None,
        })
    }

    pub fn sessions(&self) -> impl Iterator<Item = (&SessionKey, Option<u64>)> {
        self.entries.iter().filter_map(|e| match &e.id {
            EntryId::Session(key) => Some((key, e.expiration)),
            EntryId::Keys { .. } => None,
        })
    }

    pub fn has_keys(&self, profile: &str) -> bool {
        self.keys().any(|p| p == profile)
    }
}

/// One backend. Methods that read or write secrets may unlock the store (and so prompt).
pub trait Store {
    /// For messages: "the file store at `~/.local/share/vault`".
    fn describe(&self) -> String;

    /// Every entry, without unlocking.
    fn list(&self) -> Result<Listing>;

    fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>>;

    fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()>;

    /// Whether there was such an entry.
    fn remove(&mut self, id: &EntryId) -> Result<bool>;

    /// Unlocks now (asking for a passphrase if it must) rather than at the first read or
    /// write: for a caller that must not read its other input before the question is
    /// answered. A backend that holds no key of its own has nothing to do.
    fn unlock(&mut self) -> Result<()> {
        Ok(())
    }

    /// Whether the next read of a secret would first ask (a passphrase, the keychain's
    /// unlock), found without asking anything: `None` when only asking would tell.
    fn locked(&self) -> Option<bool> {
        None
    }
}

/// Removes the sessions that `matches` selects, returning how many were removed.
pub fn remove_sessions(
    store: &mut dyn Store,
    matches: impl Fn(&SessionKey) -> bool,
) -> Result<usize> {
    let listing = store.list()?;
    let mut removed = 0;
    for (key, _) in listing.sessions().filter(|(key, _)| matches(key)) {
        if store.remove(&EntryId::Session(key.clone()))? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes every session that has expired.
pub fn remove_expired_sessions(store: &mut dyn Store) -> Result<usize> {
    let now = now();
    let listing = store.list()?;
    let expired: Vec<SessionKey> = listing
        .sessions()
        .filter(|(_, expiration)| expiration.is_some_and(|e| e <= now))
        .map(|(key, _)| key.clone())
        .collect();
    let mut removed = 0;
    for key in expired {
        if store.remove(&EntryId::Session(key))? {
            removed += 1;
        }
    }
    Ok(removed)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What `open` needs: the backend, where the file store and the keychain index are kept,
/// and how long an unlock is cached. `settings` builds it from flags, environment and
/// `config.toml` (`From<&Settings>`); the store does not know where the values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `None`: the recorded backend, else the platform's keychain when one answers, else the
    /// file store.
    pub backend: Option<Backend>,
    /// vault's data folder: the recorded backend (`backend`), keychain indexes' default
    /// folder's parent, keychain backends' session files (`sessions/<backend>`).
    pub data_dir: PathBuf,
    pub file_dir: PathBuf,
    /// Where a keychain backend keeps its index.
    pub index_dir: PathBuf,
    /// Zero disables the unlock cache.
    pub unlock_ttl: Duration,
    /// secret-service: the label of the collection new entries are created in (keyring's
    /// `target`); `None` the default collection.
    pub collection: Option<String>,
    /// The pass backend: the command, the password store, the folder in it.
    pub pass_cmd: String,
    pub pass_dir: PathBuf,
    pub pass_prefix: String,
}

/// How the backend in use was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chosen {
    /// Named by flag, variable or `config.toml`.
    Named,
    /// Read from the record (`recorded`).
    Recorded,
    /// Chosen now (the platform's default), to be recorded at the first write.
    Now,
}

/// Opens the store that the options name, else the recorded one, else the platform's
/// default: the OS keychain when one answers, else the file store.
pub fn open(options: impl Into<Options>, prompt: Box<dyn Prompt>) -> Result<Box<dyn Store>> {
    let options = options.into();
    let record = recorded::path(&options.data_dir);
    let (backend, chosen) = match options.backend {
        Some(backend) => (backend, Chosen::Named),
        None => match recorded::read(&record)? {
            Some(backend) => {
                crate::debug!("store: recorded in `{}`", record.display());
                (backend, Chosen::Recorded)
            }
            None => (default_backend(), Chosen::Now),
        },
    };
    crate::debug!("store: {} backend", backend.name());
    let gate = (chosen == Chosen::Recorded)
        .then(|| recorded::Gate::new(record.clone(), backend, options.clone()));
    let store: Box<dyn Store> = match backend {
        Backend::File => Box::new(open_file(options, prompt)),
        other => Box::new(open_split(other, &options, gate)),
    };
    Ok(match chosen {
        Chosen::Now => Box::new(recorded::Recording {
            inner: store,
            path: record,
            backend,
            recorded: false,
        }),
        Chosen::Named | Chosen::Recorded => store,
    })
}

/// A keychain or `pass` backend: its keys there, its sessions in session files whose key it
/// keeps; both behind the gate of a recorded backend.
fn open_split(backend: Backend, options: &Options, gate: Option<recorded::Gate>) -> split::Split {
    let (keychain, slot): (Box<dyn Store>, Box<dyn sessions::KeySlot>) = match backend {
        Backend::Pass => {
            let pass = pass::PassStore::new(
                options.pass_cmd.clone(),
                options.pass_dir.clone(),
                options.pass_prefix.clone(),
                options.index_dir.clone(),
            );
            (Box::new(pass.clone()), Box::new(pass))
        }
        other => {
            let keychain = keychain::KeychainStore::new(other, options.index_dir.clone())
                .in_collection(options.collection.clone());
            (Box::new(keychain.clone()), Box::new(keychain))
        }
    };
    let (keychain, slot): (Box<dyn Store>, Box<dyn sessions::KeySlot>) = match gate {
        Some(gate) => (
            Box::new(recorded::Gated {
                inner: keychain,
                gate: gate.clone(),
            }),
            Box::new(recorded::GatedSlot { inner: slot, gate }),
        ),
        None => (keychain, slot),
    };
    let sessions = file::FileStore::sessions(
        sessions_dir(options, backend),
        sessions::SessionUnlock {
            slot: Some(slot),
            ttl: options.unlock_ttl,
        },
    );
    split::Split::new(keychain, sessions)
}

/// Where a keychain or `pass` backend's session files are kept.
pub fn sessions_dir(options: &Options, backend: Backend) -> PathBuf {
    options.data_dir.join("sessions").join(backend.name())
}

/// The backend in use, when no D-Bus call (nor any other) is needed to know it: the one
/// named, else the one recorded, else the platform's default where that needs no asking.
/// `None` when only asking tells, or the record cannot be read (`open` says why).
pub fn backend_unasked(options: &Options) -> Option<Backend> {
    if let Some(backend) = options.backend {
        return Some(backend);
    }
    match recorded::read(&recorded::path(&options.data_dir)) {
        Ok(Some(backend)) => Some(backend),
        Ok(None) => default_backend_unasked(),
        Err(_) => None,
    }
}

/// The store as the warm path may read it: the file store, or a keychain backend's session
/// files and what tells, without a keychain call, which profiles have keys.
pub enum Warm {
    File(file::FileStore),
    Split {
        keys: WarmKeys,
        sessions: file::FileStore,
    },
}

/// A keychain backend's keys as the warm path sees them: its index, or `pass`'s files.
pub enum WarmKeys {
    Keychain(index::Index),
    Pass(pass::PassStore),
}

/// The store `open` would open, as the warm path reads it: nothing asked of a keychain or
/// of D-Bus, no prompt (`prompt` is only for the file store, which then says it cannot ask),
/// the session key only from the kernel keyring. `None` when the backend is not known
/// without asking.
pub fn open_warm(options: Options, prompt: Box<dyn Prompt>) -> Option<Warm> {
    let backend = backend_unasked(&options)?;
    Some(match backend {
        Backend::File => Warm::File(open_file(options, prompt)),
        other => Warm::Split {
            keys: match other {
                Backend::Pass => WarmKeys::Pass(pass::PassStore::new(
                    options.pass_cmd.clone(),
                    options.pass_dir.clone(),
                    options.pass_prefix.clone(),
                    options.index_dir.clone(),
                )),
                keychain => {
                    WarmKeys::Keychain(index::Index::keychain(keychain, &options.index_dir))
                }
            },
            sessions: file::FileStore::sessions(
                sessions_dir(&options, other),
                sessions::SessionUnlock {
                    slot: None,
                    ttl: options.unlock_ttl,
                },
            ),
        },
    })
}

impl Warm {
    /// Whether `profile`'s keys are stored, as `list` would say; `None` when that cannot be
    /// told without more (the warm path then steps aside).
    pub fn keys_stored(&self, profile: &str) -> Option<bool> {
        match self {
            Warm::File(store) => store.keys_stored(profile),
            Warm::Split {
                keys: WarmKeys::Keychain(index),
                ..
            } => Some(index.listing().ok()?.has_keys(profile)),
            Warm::Split {
                keys: WarmKeys::Pass(pass),
                ..
            } => pass.keys_stored(profile),
        }
    }

    /// What `list` shows, as `open`'s store lists it.
    pub fn list(&self) -> Result<Listing> {
        match self {
            Warm::File(store) => store.list(),
            Warm::Split { keys, sessions } => {
                let keychain = match keys {
                    WarmKeys::Keychain(index) => index.listing()?,
                    WarmKeys::Pass(pass) => pass.list()?,
                };
                Ok(split::merge(keychain, sessions.list()?))
            }
        }
    }

    /// A cached session, from the file store or the session files; `None` also where a
    /// keychain may still hold it (an older vault's layout), which the warm path leaves to
    /// `vault-full`.
    pub fn session(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        match self {
            Warm::File(store) => store.get(id),
            Warm::Split { sessions, .. } => sessions.get(id),
        }
    }
}

/// The file store the options name, unlocked by AWS_VAULT_FILE_PASSPHRASE or by asking
/// `prompt` when its key is not in the unlock cache.
pub fn open_file(options: Options, prompt: Box<dyn Prompt>) -> file::FileStore {
    file::FileStore::new(
        options.file_dir,
        file::Unlock {
            passphrase: std::env::var("AWS_VAULT_FILE_PASSPHRASE")
                .ok()
                .filter(|p| !p.is_empty())
                .map(SecretString::from),
            prompt,
            ttl: options.unlock_ttl,
            new_kdf: crypto::Kdf::new,
        },
    )
}

/// macOS Keychain, Windows Credential Manager, or on Linux the Secret Service when a session
/// bus is there and a Secret Service already owns its name (asking never starts one).
fn default_backend() -> Backend {
    default_backend_unasked().unwrap_or_else(|| {
        if secret_service_running() {
            Backend::SecretService
        } else {
            Backend::File
        }
    })
}

/// `default_backend`'s answer when it needs no D-Bus call: `None` on Linux with a session
/// bus, where only asking the bus tells.
pub fn default_backend_unasked() -> Option<Backend> {
    if cfg!(target_os = "macos") {
        Some(Backend::Keychain)
    } else if cfg!(windows) {
        Some(Backend::Wincred)
    } else if cfg!(target_os = "linux")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
    {
        None
    } else {
        Some(Backend::File)
    }
}

#[cfg(target_os = "linux")]
pub(crate) fn secret_service_running() -> bool {
    use std::time::Duration;
    // With no bus address, libdbus could try to launch a bus: never ask then.
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) {
        return false;
    }
    let Ok(connection) = dbus::blocking::Connection::new_session() else {
        return false;
    };
    let proxy = connection.with_proxy(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        Duration::from_millis(500),
    );
    let owned: Result<(bool,), _> = proxy.method_call(
        "org.freedesktop.DBus",
        "NameHasOwner",
        ("org.freedesktop.secrets",),
    );
    matches!(owned, Ok((true,)))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn secret_service_running() -> bool {
    false
}

/// Store backends by name, as `--backend` and `AWS_VAULT_BACKEND` spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    File,
    Keychain,
    Wincred,
    SecretService,
    Keyctl,
    Pass,
}

impl Backend {
    pub const NAMES: &'static [&'static str] = &[
        "file",
        "keychain",
        "wincred",
        "secret-service",
        "keyctl",
        "pass",
    ];

    pub fn parse(name: &str, source: &'static str) -> Result<Backend> {
        Ok(match name {
            "file" => Backend::File,
            "keychain" => Backend::Keychain,
            "wincred" => Backend::Wincred,
            "secret-service" => Backend::SecretService,
            "keyctl" => Backend::Keyctl,
            "pass" => Backend::Pass,
            other => {
                return Err(Error::BadValue {
                    name: source,
                    problem: format!(
                        "unknown backend `{other}`; choose one of {}",
                        Backend::NAMES.join(", ")
                    ),
                });
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::Keychain => "keychain",
            Backend::Wincred => "wincred",
            Backend::SecretService => "secret-service",
            Backend::Keyctl => "keyctl",
            Backend::Pass => "pass",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: SecretString::from("s3cr3t"),
            session_token: Some(SecretString::from("t0k3n")),
            expiration: Some(1),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("AKIAEXAMPLE") && shown.contains("<redacted>"));
        assert!(!shown.contains("s3cr3t") && !shown.contains("t0k3n"));
    }

    /// Regression: `SessionKey` has a `kind` field, which once clashed with the tag of
    /// `EntryId` and made every session entry unreadable.
    #[test]
    fn session_metadata_round_trips() {
        let meta = EntryMeta {
            id: EntryId::Session(SessionKey {
                kind: "sts.GetSessionToken".into(),
                profile: "p".into(),
                mfa_serial: Some("arn:aws:iam::1:mfa/u".into()),
                source: "p".into(),
                params: "x".into(),
            }),
            expiration: Some(5),
            source: Some("p".into()),
        };
        let json = serde_json::to_string(&meta).unwrap();
        assert_eq!(serde_json::from_str::<EntryMeta>(&json).unwrap(), meta);
    }

    #[test]
    fn only_names_vault_writes_are_valid_metadata() {
        let session = |profile: &str, kind: &str, serial: Option<&str>| EntryMeta {
            id: EntryId::Session(SessionKey {
                kind: kind.into(),
                profile: profile.into(),
                mfa_serial: serial.map(str::to_string),
                source: "gds-users".into(),
                params: "0a1b2c".into(),
            }),
            expiration: Some(1),
            source: Some("gds-users".into()),
        };
        let keys = |profile: &str| EntryMeta {
            id: EntryId::Keys {
                profile: profile.into(),
            },
            expiration: None,
            source: None,
        };
        let serial = Some("arn:aws:iam::123456789012:mfa/jane");
        assert!(keys("team/prod-admin@x:1+2%.y_z").is_valid());
        assert!(session("p", "sts.GetSessionToken", serial).is_valid());
        assert!(session("p", "credential_process", Some("GAHT12345678")).is_valid());
        assert!(!keys("shared\u{1b}]0;owned\u{7}\u{1b}[31mFAKE").is_valid());
        assert!(!keys("").is_valid());
        assert!(!keys("two words").is_valid());
        assert!(!session("p\r", "sts.AssumeRole", None).is_valid());
        assert!(!session("p", "sts.Assume\u{1b}[2KRole", None).is_valid());
        assert!(!session("p", "sts.AssumeRole", Some("arn\u{9b}31m")).is_valid());
        let mut bad_source = session("p", "sts.AssumeRole", None);
        bad_source.source = Some("x\ny".into());
        assert!(!bad_source.is_valid());
    }

    #[test]
    fn entry_text_is_unambiguous() {
        let key = |profile: &str, serial: Option<&str>| {
            EntryId::Session(SessionKey {
                kind: "sts.AssumeRole".into(),
                profile: profile.into(),
                mfa_serial: serial.map(str::to_string),
                source: "s".into(),
                params: "p".into(),
            })
            .text()
        };
        assert_ne!(key("a:b", None), key("a", Some("b")));
    }
}
