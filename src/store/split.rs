//! A keychain or `pass` backend as vault uses it: long-lived keys (and SSO sign-ins, whose
//! refresh tokens last as long as a working day's keys) stay in the keychain; cached STS
//! and role sessions live in session files (`sessions.rs`), which a warm command reads
//! without asking the keychain anything.
//!
//! Sessions an older vault cached in the keychain are still found there: a fresh one is
//! moved to the session files when it is read, an expired one stays until it is cleared,
//! and `list`, `clear`, `remove` and `rotate` see both places. It must not copy a
//! long-lived key out of the keychain.

use super::file::FileStore;
use super::{Credentials, EntryId, Listing, Store};
use crate::error::Result;

pub struct Split {
    /// The keychain (or password store): keys, sign-ins, and sessions of the old layout.
    keychain: Box<dyn Store>,
    sessions: FileStore,
}

/// Whether an entry is kept in the session files: a cached session that is not an SSO
/// sign-in (a token or a client registration).
pub fn in_session_files(id: &EntryId) -> bool {
    matches!(id, EntryId::Session(key) if key.source != crate::sso::cache::SIGN_IN_SOURCE)
}

/// What `list` shows: the keychain's entries and the session files', each once (the
/// session files' copy where both have one), sorted as each backend sorts.
pub fn merge(keychain: Listing, sessions: Listing) -> Listing {
    // Only sessions count from the session files: an entry of another kind there was not
    // put there by vault.
    let mut listing = Listing {
        entries: sessions
            .entries
            .into_iter()
            .filter(|e| in_session_files(&e.id))
            .collect(),
        problems: keychain.problems,
    };
    listing.problems.extend(sessions.problems);
    for entry in keychain.entries {
        if !listing.entries.iter().any(|e| e.id == entry.id) {
            listing.entries.push(entry);
        }
    }
    listing.entries.sort_by_cached_key(|e| e.id.text());
    listing
}

impl Split {
    pub fn new(keychain: Box<dyn Store>, sessions: FileStore) -> Split {
        Split { keychain, sessions }
    }

    /// Whether the keychain's index names `id` (so that it is worth a keychain call): a
    /// session of the old layout.
    fn in_keychain(&self, id: &EntryId) -> bool {
        self.keychain
            .list()
            .map_or(true, |listing| listing.entries.iter().any(|e| e.id == *id))
    }

    /// A fresh session found in the keychain goes to the session files; a failure to move
    /// it leaves it where it was.
    fn move_to_files(&mut self, id: &EntryId, credentials: &Credentials) {
        let moved = self
            .sessions
            .put(id, credentials)
            .and_then(|()| self.keychain.remove(id));
        match moved {
            Ok(_) => crate::debug!("moved a cached session from the keychain to the session files"),
            Err(e) => crate::debug!("a cached session stays in the keychain: {e}"),
        }
    }
}

impl Store for Split {
    fn describe(&self) -> String {
        self.keychain.describe()
    }

    fn list(&self) -> Result<Listing> {
        Ok(merge(self.keychain.list()?, self.sessions.list()?))
    }

    fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        if !in_session_files(id) {
            return self.keychain.get(id);
        }
        if let Some(found) = self.sessions.get(id)? {
            return Ok(Some(found));
        }
        if !self.in_keychain(id) {
            return Ok(None);
        }
        let found = self.keychain.get(id)?;
        if let Some(credentials) = &found
            && credentials
                .seconds_left(super::now())
                .is_some_and(|left| left > 0)
        {
            self.move_to_files(id, credentials);
        }
        Ok(found)
    }

    fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
        if !in_session_files(id) {
            return self.keychain.put(id, credentials);
        }
        self.sessions.put(id, credentials)?;
        if self.in_keychain(id)
            && let Err(e) = self.keychain.remove(id)
        {
            crate::debug!("an older copy of the session stays in the keychain: {e}");
        }
        Ok(())
    }

    fn remove(&mut self, id: &EntryId) -> Result<bool> {
        if !in_session_files(id) {
            return self.keychain.remove(id);
        }
        let in_files = self.sessions.remove(id)?;
        let in_keychain = self.in_keychain(id) && self.keychain.remove(id)?;
        Ok(in_files || in_keychain)
    }

    /// What is written after an early unlock is keys (`import`): the keychain's to unlock.
    fn unlock(&mut self) -> Result<()> {
        self.keychain.unlock()
    }

    /// Sessions are read with a key cached for them; the keys are the keychain's.
    fn locked(&self) -> Option<bool> {
        self.keychain.locked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sessions::{KeySlot, SessionUnlock};
    use crate::store::{EntryMeta, SessionKey, crypto::Key};
    use secrecy::{ExposeSecret, SecretString};
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;
    use std::time::Duration;

    /// A keychain in memory: entries by id text, and session keys.
    #[derive(Clone, Default)]
    struct Keychain {
        entries: Rc<RefCell<BTreeMap<String, (EntryMeta, Credentials)>>>,
        keys: Rc<RefCell<BTreeMap<String, Key>>>,
    }

    impl Store for Keychain {
        fn describe(&self) -> String {
            "the memory keychain".into()
        }
        fn list(&self) -> Result<Listing> {
            let entries = self.entries.borrow();
            Ok(Listing {
                entries: entries.values().map(|(m, _)| m.clone()).collect(),
                problems: Vec::new(),
            })
        }
        fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
            Ok(self
                .entries
                .borrow()
                .get(&id.text())
                .map(|(_, c)| c.clone()))
        }
        fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
            let meta = EntryMeta {
                id: id.clone(),
                expiration: credentials.expiration,
                source: None,
            };
            self.entries
                .borrow_mut()
                .insert(id.text(), (meta, credentials.clone()));
            Ok(())
        }
        fn remove(&mut self, id: &EntryId) -> Result<bool> {
            Ok(self.entries.borrow_mut().remove(&id.text()).is_some())
        }
    }

    impl KeySlot for Keychain {
        fn get(&mut self, id: &str) -> Result<Option<Key>> {
            Ok(self.keys.borrow().get(id).cloned())
        }
        fn put(&mut self, id: &str, key: &Key) -> Result<()> {
            self.keys.borrow_mut().insert(id.to_string(), key.clone());
            Ok(())
        }
    }

    fn split(dir: &std::path::Path, keychain: &Keychain) -> Split {
        let sessions = FileStore::sessions(
            dir.join("sessions"),
            SessionUnlock {
                slot: Some(Box::new(keychain.clone())),
                ttl: Duration::ZERO,
            },
        );
        Split::new(Box::new(keychain.clone()), sessions)
    }

    fn session(profile: &str, source: &str, left: i64) -> (EntryId, Credentials) {
        let id = EntryId::Session(SessionKey {
            kind: "sts.GetSessionToken".into(),
            profile: profile.into(),
            mfa_serial: None,
            source: source.into(),
            params: "p".into(),
        });
        let credentials = Credentials {
            access_key_id: format!("ASIA{profile}"),
            secret_access_key: SecretString::from(format!("secret-{profile}")),
            session_token: Some(SecretString::from("token")),
            expiration: Some((crate::store::now() as i64 + left) as u64),
        };
        (id, credentials)
    }

    #[test]
    fn keys_stay_in_the_keychain_and_sessions_go_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = Keychain::default();
        let mut store = split(dir.path(), &keychain);
        let keys = EntryId::Keys {
            profile: "base".into(),
        };
        let long_lived = Credentials::keys("AKIAEXAMPLE".into(), SecretString::from("long-lived"));
        store.put(&keys, &long_lived).unwrap();
        let (id, credentials) = session("base", "base", 3600);
        store.put(&id, &credentials).unwrap();
        let sign_in = EntryId::Session(SessionKey {
            kind: "sso.Token".into(),
            profile: "corp".into(),
            mfa_serial: None,
            source: crate::sso::cache::SIGN_IN_SOURCE.into(),
            params: "d".into(),
        });
        store.put(&sign_in, &credentials).unwrap();
        // In the keychain: the keys and the sign-in, and no session.
        let held: Vec<String> = keychain.entries.borrow().keys().cloned().collect();
        assert_eq!(held, [keys.text(), sign_in.text()]);
        assert_eq!(keychain.keys.borrow().len(), 1, "one session key");
        let listed = store.list().unwrap();
        assert_eq!(listed.entries.len(), 3, "{listed:?}");
        assert!(listed.has_keys("base"));
        let got = split(dir.path(), &keychain).get(&id).unwrap().unwrap();
        assert_eq!(got.access_key_id, "ASIAbase");
        let got = store.get(&keys).unwrap().unwrap();
        assert_eq!(got.secret_access_key.expose_secret(), "long-lived");
    }

    #[test]
    fn sessions_of_the_old_layout_are_used_moved_listed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut keychain = Keychain::default();
        // What an older vault left in the keychain: a fresh session and an expired one.
        let (fresh, fresh_credentials) = session("fresh", "base", 3600);
        let (expired, expired_credentials) = session("expired", "base", -60);
        Store::put(&mut keychain, &fresh, &fresh_credentials).unwrap();
        Store::put(&mut keychain, &expired, &expired_credentials).unwrap();
        let mut store = split(dir.path(), &keychain);
        let listed = store.list().unwrap();
        assert_eq!(listed.sessions().count(), 2, "{listed:?}");
        // The fresh one is used, and moved to the session files.
        let got = store.get(&fresh).unwrap().unwrap();
        assert_eq!(got.access_key_id, "ASIAfresh");
        assert!(!keychain.entries.borrow().contains_key(&fresh.text()));
        let got = split(dir.path(), &keychain).get(&fresh).unwrap().unwrap();
        assert_eq!(got.access_key_id, "ASIAfresh");
        // The expired one is still read (and left) where it is; both are listed once.
        assert!(store.get(&expired).unwrap().is_some());
        assert!(keychain.entries.borrow().contains_key(&expired.text()));
        assert_eq!(store.list().unwrap().sessions().count(), 2);
        // Removing sessions (clear, remove, rotate) takes them from both places.
        let removed = crate::store::remove_sessions(&mut store, |key| key.source == "base");
        assert_eq!(removed.unwrap(), 2);
        assert_eq!(store.list().unwrap().entries.len(), 0);
        assert!(keychain.entries.borrow().is_empty());
    }

    #[test]
    fn only_sessions_are_listed_from_the_session_files() {
        let keys = |profile: &str| EntryMeta {
            id: EntryId::Keys {
                profile: profile.into(),
            },
            expiration: None,
            source: None,
        };
        let merged = merge(
            Listing {
                entries: vec![keys("kept")],
                problems: Vec::new(),
            },
            Listing {
                entries: vec![keys("planted")],
                problems: Vec::new(),
            },
        );
        assert!(merged.has_keys("kept") && !merged.has_keys("planted"));
    }
}
