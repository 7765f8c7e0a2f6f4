//! OS keychains through the `keyring` crate: macOS Keychain, Windows Credential Manager,
//! Linux Secret Service and kernel keyring (keyctl).
//!
//! `keyring` cannot enumerate entries, so vault keeps an index beside them: a JSON file of
//! entry metadata (names, kinds, expiry; never a secret), 0600 in a 0700 folder, written
//! atomically under a lock, so that `list` works without touching the keychain. The folder
//! is checked like the file store's, and records with names vault would not write are not
//! listed.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::crypto::Key;
use super::index::Index;
use super::sessions::{KeySlot, key_from_text, key_text};
use super::{Backend, Credentials, EntryId, EntryMeta, Listing, Store};
use crate::error::{Error, Result};

/// The keychain service under which vault's items are stored.
const SERVICE: &str = "vault-aws";

#[derive(Clone)]
pub struct KeychainStore {
    backend: Backend,
    index_dir: PathBuf,
    /// secret-service only: the collection label new items go in (`None`: the default).
    collection: Option<String>,
}

/// What the keychain holds for one entry.
#[derive(Serialize, Deserialize)]
struct Item {
    meta: EntryMeta,
    access_key_id: String,
    secret_access_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
}

impl KeychainStore {
    /// `index_dir` is where the index of this backend's entries is kept.
    pub fn new(backend: Backend, index_dir: PathBuf) -> KeychainStore {
        KeychainStore {
            backend,
            index_dir,
            collection: None,
        }
    }

    /// secret-service: create new items in the collection with this label (keyring's
    /// `target`: made when missing; items are found in every collection).
    pub fn in_collection(mut self, collection: Option<String>) -> KeychainStore {
        self.collection = collection;
        self
    }

    fn index(&self) -> Index {
        Index::keychain(self.backend, &self.index_dir)
    }

    fn unavailable(&self, e: impl std::fmt::Display) -> Error {
        Error::BackendUnavailable {
            backend: self.backend.name(),
            problem: e.to_string(),
        }
    }

    fn entry(&self, id: &EntryId) -> Result<keyring::Entry> {
        credential(self.backend, self.collection.as_deref(), &id.text())
            .map_err(|e| self.unavailable(e))
    }

    /// Changes the index under its lock.
    fn update_index(&self, change: impl FnOnce(&mut Vec<EntryMeta>)) -> Result<()> {
        self.index().update(".index.lock", change)
    }

    /// The keychain item that keeps the session key of the session files `id`.
    fn session_key_entry(&self, id: &str) -> Result<keyring::Entry> {
        credential(
            self.backend,
            self.collection.as_deref(),
            &format!("session-key:{id}"),
        )
        .map_err(|e| self.unavailable(e))
    }
}

/// The session key of this backend's session files, kept as an item of its own (hex text),
/// never listed in the index.
impl KeySlot for KeychainStore {
    fn get(&mut self, id: &str) -> Result<Option<Key>> {
        let secret = match self.session_key_entry(id)?.get_secret() {
            Ok(secret) => Zeroizing::new(secret),
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(self.unavailable(e)),
        };
        key_from_text(&secret).map(Some).ok_or_else(|| {
            self.unavailable(format!(
                "the item `session-key:{id}` is not a session key vault wrote"
            ))
        })
    }

    fn put(&mut self, id: &str, key: &Key) -> Result<()> {
        self.session_key_entry(id)?
            .set_secret(key_text(key).as_bytes())
            .map_err(|e| self.unavailable(e))
    }
}

impl Store for KeychainStore {
    fn describe(&self) -> String {
        format!("the {} backend", self.backend.name())
    }

    fn list(&self) -> Result<Listing> {
        self.index().listing()
    }

    fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        let secret = match self.entry(id)?.get_secret() {
            Ok(secret) => Zeroizing::new(secret),
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(self.unavailable(e)),
        };
        let item: Item =
            serde_json::from_slice(&secret).map_err(|_| Error::BackendUnavailable {
                backend: self.backend.name(),
                problem: format!("the item for `{}` is not one vault wrote", id.text()),
            })?;
        let credentials = Credentials {
            access_key_id: item.access_key_id,
            secret_access_key: SecretString::from(item.secret_access_key),
            session_token: item.session_token.map(SecretString::from),
            expiration: item.meta.expiration,
        };
        Ok(Some(credentials))
    }

    fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
        let meta = EntryMeta {
            id: id.clone(),
            expiration: credentials.expiration,
            source: match id {
                EntryId::Session(key) => Some(key.source.clone()),
                EntryId::Keys { .. } => None,
            },
        };
        let item = Item {
            meta: meta.clone(),
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.expose_secret().to_string(),
            session_token: credentials
                .session_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
        };
        let json = Zeroizing::new(serde_json::to_vec(&item).expect("an item serializes"));
        drop(item);
        self.entry(id)?
            .set_secret(&json)
            .map_err(|e| self.unavailable(e))?;
        self.update_index(|index| {
            index.retain(|m| m.id != *id);
            index.push(meta);
        })
    }

    /// The Secret Service is locked when one of vault's items is in a locked collection
    /// (its `SearchItems` answer, which unlocks nothing); the kernel keyring never is.
    fn locked(&self) -> Option<bool> {
        match self.backend {
            #[cfg(target_os = "linux")]
            Backend::SecretService => secret_service_locked(),
            Backend::Keyctl => Some(false),
            _ => None,
        }
    }

    fn remove(&mut self, id: &EntryId) -> Result<bool> {
        let existed = match self.entry(id)?.delete_credential() {
            Ok(()) => true,
            Err(keyring::Error::NoEntry) => false,
            Err(e) => return Err(self.unavailable(e)),
        };
        self.update_index(|index| index.retain(|m| m.id != *id))?;
        Ok(existed)
    }
}

/// Whether a Secret Service that already runs keeps one of vault's items locked; `None`
/// when there is no bus or no Secret Service (asking never starts one).
#[cfg(target_os = "linux")]
fn secret_service_locked() -> Option<bool> {
    use std::time::Duration;
    if !super::secret_service_running() {
        return None;
    }
    let connection = dbus::blocking::Connection::new_session().ok()?;
    let service = connection.with_proxy(
        "org.freedesktop.secrets",
        "/org/freedesktop/secrets",
        Duration::from_secs(5),
    );
    let attributes = std::collections::HashMap::from([("service", SERVICE)]);
    let (_, locked): (Vec<dbus::Path<'static>>, Vec<dbus::Path<'static>>) = service
        .method_call(
            "org.freedesktop.Secret.Service",
            "SearchItems",
            (attributes,),
        )
        .ok()?;
    Some(!locked.is_empty())
}

/// A keyring entry in the named backend, where this platform has it.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn credential(
    backend: Backend,
    collection: Option<&str>,
    user: &str,
) -> keyring::Result<keyring::Entry> {
    let not_here = || {
        keyring::Error::Invalid(
            "backend".to_string(),
            format!("{} is not available on this platform", backend.name()),
        )
    };
    let credential: Box<keyring::credential::Credential> = match backend {
        #[cfg(target_os = "linux")]
        Backend::SecretService => Box::new(keyring::secret_service::SsCredential::new_with_target(
            collection, SERVICE, user,
        )?),
        #[cfg(target_os = "linux")]
        Backend::Keyctl => Box::new(keyring::keyutils::KeyutilsCredential::new_with_target(
            None, SERVICE, user,
        )?),
        #[cfg(target_os = "macos")]
        Backend::Keychain => Box::new(keyring::macos::MacCredential::new_with_target(
            None, SERVICE, user,
        )?),
        #[cfg(windows)]
        Backend::Wincred => Box::new(keyring::windows::WinCredential::new_with_target(
            None, SERVICE, user,
        )?),
        _ => return Err(not_here()),
    };
    Ok(keyring::Entry::new_with_credential(credential))
}
