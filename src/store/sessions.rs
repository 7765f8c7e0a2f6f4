//! A keychain backend's cached sessions, in entry files like the file store's: a folder
//! per backend (0700, `sessions/<backend>` in vault's data folder), sealed with a random
//! session key that is kept in that keychain and cached in the kernel keyring like the
//! file store's data key (`unlock::Slot::SessionKey`), so that a warm command reads the
//! kernel keyring and one entry file and asks the keychain nothing.
//!
//! `sessions.json` names the folder (a random id) and proves a key is its key (nothing,
//! sealed under it). The key is kept in the keychain under that id (`session-key:<id>`).
//! When the keychain has no key for the id (deleted), or one that does not open the folder,
//! the sessions in it cannot be opened: reading finds them absent, and the next write makes
//! a new key and id and removes them. Long-lived keys never come here: `split.rs` keeps them
//! in the keychain. Asking the keychain is `KeySlot`'s job; where there is none (the warm
//! path), only the kernel keyring is read.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::crypto::{self, Key, Sealed};
use super::file::{FileStore, INDEX, KeyFrom, is_entry_file_name};
use super::fs::{MAX_FILE, private_dir, read_file};
use super::unlock::{self, Slot};
use crate::error::{Error, Result};

const HEADER: &str = "sessions.json";

/// Where a session key is kept: in the backend's keychain, under the session files' id.
pub trait KeySlot {
    /// The key kept for `id`; `None` when the keychain has none.
    fn get(&mut self, id: &str) -> Result<Option<Key>>;
    fn put(&mut self, id: &str, key: &Key) -> Result<()>;
}

/// How session files get their key.
pub struct SessionUnlock {
    /// The keychain; `None` on the warm path, which reads only the kernel keyring.
    pub slot: Option<Box<dyn KeySlot>>,
    /// How long the key stays in the kernel keyring; zero: it is neither read there nor put.
    pub ttl: Duration,
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    /// Random; names the key in the keychain and in the kernel keyring, and binds the
    /// entries' sealed values.
    store_id: String,
    /// Nothing, sealed under the session key.
    key_check: Sealed,
}

fn check_context(store_id: &str) -> Vec<u8> {
    format!("vault session key check v1 {store_id}").into_bytes()
}

fn opens(header: &Header, key: &Key) -> bool {
    crypto::open(key, &header.key_check, &check_context(&header.store_id)).is_some()
}

/// The text a key is kept as in a keychain (the keychain tools show it as text).
pub fn key_text(key: &Key) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(crypto::hex(key.as_ref()))
}

/// A key read back from its text; `None` when it is not one vault wrote.
pub fn key_from_text(text: &[u8]) -> Option<Key> {
    let text = std::str::from_utf8(text).ok()?.trim();
    let bytes = zeroize::Zeroizing::new(crypto::unhex(text)?);
    let array: [u8; crypto::KEY_LEN] = bytes.as_slice().try_into().ok()?;
    Some(zeroize::Zeroizing::new(array))
}

impl FileStore {
    /// The session files in `dir`.
    pub fn sessions(dir: std::path::PathBuf, unlock: SessionUnlock) -> FileStore {
        FileStore {
            dir,
            unlock: KeyFrom::SessionKey(unlock),
            key: None,
        }
    }

    fn session_unlock(&mut self) -> &mut SessionUnlock {
        match &mut self.unlock {
            KeyFrom::SessionKey(unlock) => unlock,
            KeyFrom::Passphrase(_) => unreachable!("only session files have a session key"),
        }
    }

    fn read_session_header(&self) -> Result<Option<Header>> {
        if !super::fs::check_dir(&self.dir)? {
            return Ok(None);
        }
        let path = self.dir.join(HEADER);
        let Some(bytes) = read_file(&path, MAX_FILE)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::StoreHeader {
                path,
                problem: e.to_string(),
            })
    }

    /// The key that opens these session files, from the kernel keyring or else the keychain
    /// (then cached); `None` when there are none yet, or the keychain no longer has their key.
    pub(super) fn session_key_to_read(&mut self) -> Result<Option<(String, Key)>> {
        let Some(header) = self.read_session_header()? else {
            return Ok(None);
        };
        let ttl = self.session_unlock().ttl;
        if !ttl.is_zero()
            && let Some(key) = unlock::get(Slot::SessionKey, &header.store_id)
        {
            if opens(&header, &key) {
                return Ok(Some((header.store_id, key)));
            }
            unlock::forget(Slot::SessionKey, &header.store_id);
        }
        let Some(slot) = self.session_unlock().slot.as_mut() else {
            // The warm path asks no keychain: `vault-full` does.
            return Err(Error::Unsupported {
                profile: String::new(),
                what: "reading the session key from the keychain on the warm path".to_string(),
            });
        };
        match slot.get(&header.store_id)? {
            Some(key) if opens(&header, &key) => {
                unlock::put(Slot::SessionKey, &header.store_id, &key, ttl);
                Ok(Some((header.store_id, key)))
            }
            Some(_) => {
                crate::debug!(
                    "session files: the keychain's session key does not open them; they are absent"
                );
                Ok(None)
            }
            None => {
                crate::debug!(
                    "session files: the keychain has no session key for them (deleted?); they are absent"
                );
                Ok(None)
            }
        }
    }

    /// The key to write with: the one there is, else a new one, kept in the keychain first,
    /// and a new id; session files the old key sealed are removed (they can no longer open).
    pub(super) fn session_key_to_write(&mut self) -> Result<(String, Key)> {
        if let Some(found) = self.session_key_to_read()? {
            return Ok(found);
        }
        private_dir(&self.dir)?;
        let _lock = self.lock()?;
        // Another vault may have made one while this one looked.
        if let Some(found) = self.session_key_to_read()? {
            return Ok(found);
        }
        let store_id = crypto::hex(&crypto::random::<16>());
        let key = crypto::random_key();
        let unlock = self.session_unlock();
        let ttl = unlock.ttl;
        unlock
            .slot
            .as_mut()
            .expect("session_key_to_read asked the keychain")
            .put(&store_id, &key)?;
        let removed = self.remove_sealed_entries();
        if removed > 0 {
            crate::debug!("session files: removed {removed} that the old session key sealed");
        }
        let header = Header {
            version: 1,
            key_check: crypto::seal(&key, b"", &check_context(&store_id)),
            store_id: store_id.clone(),
        };
        let json = serde_json::to_vec_pretty(&header).expect("the header serializes");
        self.write_atomic(&self.dir.join(HEADER), &json)?;
        crate::debug!("session files: a new session key, kept in the keychain");
        unlock::put(Slot::SessionKey, &store_id, &key, ttl);
        Ok((store_id, key))
    }

    /// Removes every entry file and the index; the caller holds the lock.
    fn remove_sealed_entries(&self) -> usize {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let _ = std::fs::remove_file(self.dir.join(INDEX));
        dir.flatten()
            .filter(|e| is_entry_file_name(&e.file_name().to_string_lossy()))
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Credentials, EntryId, SessionKey, Store};
    use secrecy::{ExposeSecret, SecretString};
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    /// A keychain in memory, shared with the test; `calls` counts what was asked of it.
    #[derive(Clone, Default)]
    struct Keychain {
        keys: Rc<RefCell<BTreeMap<String, Key>>>,
        calls: Rc<RefCell<usize>>,
    }

    impl KeySlot for Keychain {
        fn get(&mut self, id: &str) -> Result<Option<Key>> {
            *self.calls.borrow_mut() += 1;
            Ok(self.keys.borrow().get(id).cloned())
        }
        fn put(&mut self, id: &str, key: &Key) -> Result<()> {
            *self.calls.borrow_mut() += 1;
            self.keys.borrow_mut().insert(id.to_string(), key.clone());
            Ok(())
        }
    }

    /// The session files in `dir/sessions` (a tempdir is not private; vault makes its own).
    fn store(dir: &std::path::Path, keychain: Option<&Keychain>) -> FileStore {
        FileStore::sessions(
            dir.join("sessions"),
            SessionUnlock {
                slot: keychain.map(|k| Box::new(k.clone()) as Box<dyn KeySlot>),
                // The kernel keyring is left out: these tests are about the keychain.
                ttl: Duration::ZERO,
            },
        )
    }

    fn session(profile: &str) -> (EntryId, Credentials) {
        let id = EntryId::Session(SessionKey {
            kind: "sts.AssumeRole".into(),
            profile: profile.into(),
            mfa_serial: None,
            source: "base".into(),
            params: "p".into(),
        });
        let credentials = Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: SecretString::from("session-secret"),
            session_token: Some(SecretString::from("session-token")),
            expiration: Some(crate::store::now() + 3600),
        };
        (id, credentials)
    }

    #[test]
    fn sessions_are_sealed_with_a_key_kept_in_the_keychain() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = Keychain::default();
        let (id, credentials) = session("role");
        let mut first = store(dir.path(), Some(&keychain));
        assert!(first.get(&id).unwrap().is_none());
        assert_eq!(
            *keychain.calls.borrow(),
            0,
            "a miss asks the keychain nothing"
        );
        first.put(&id, &credentials).unwrap();
        assert_eq!(keychain.keys.borrow().len(), 1);
        let got = store(dir.path(), Some(&keychain))
            .get(&id)
            .unwrap()
            .unwrap();
        assert_eq!(got.secret_access_key.expose_secret(), "session-secret");
        // Nothing in the folder holds the secret or the key in the clear.
        let key = crypto::hex(keychain.keys.borrow().values().next().unwrap().as_ref());
        for entry in std::fs::read_dir(dir.path().join("sessions")).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("session-secret") && !text.contains(&key),
                "{text}"
            );
        }
        // Without a keychain (the warm path) and without the kernel keyring: no answer, an
        // error, not "absent".
        assert!(store(dir.path(), None).get(&id).is_err());
    }

    #[test]
    fn a_deleted_session_key_makes_the_sessions_absent_not_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = Keychain::default();
        let (id, credentials) = session("role");
        store(dir.path(), Some(&keychain))
            .put(&id, &credentials)
            .unwrap();
        let old_id = keychain.keys.borrow().keys().next().unwrap().clone();
        keychain.keys.borrow_mut().clear();
        let mut after = store(dir.path(), Some(&keychain));
        assert!(after.get(&id).unwrap().is_none(), "absent, not an error");
        assert_eq!(after.list().unwrap().problems.len(), 0);
        // The next write makes a new key and removes what the old one sealed.
        let (other, other_credentials) = session("other");
        after.put(&other, &other_credentials).unwrap();
        let ids: Vec<String> = keychain.keys.borrow().keys().cloned().collect();
        assert_eq!(ids.len(), 1);
        assert_ne!(ids[0], old_id);
        let listed = after.list().unwrap();
        assert_eq!(listed.entries.len(), 1, "{listed:?}");
        assert_eq!(listed.entries[0].id, other);
        assert!(
            store(dir.path(), Some(&keychain))
                .get(&other)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_key_that_does_not_open_the_folder_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = Keychain::default();
        let (id, credentials) = session("role");
        store(dir.path(), Some(&keychain))
            .put(&id, &credentials)
            .unwrap();
        for key in keychain.keys.borrow_mut().values_mut() {
            *key = crypto::random_key();
        }
        assert!(
            store(dir.path(), Some(&keychain))
                .get(&id)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn key_text_round_trips() {
        let key = crypto::random_key();
        assert_eq!(
            *key_from_text(format!("{}\n", key_text(&key).as_str()).as_bytes()).unwrap(),
            *key
        );
        assert!(key_from_text(b"abcd").is_none());
        assert!(key_from_text(b"not hex").is_none());
    }
}
