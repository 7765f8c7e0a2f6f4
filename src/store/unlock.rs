//! The unlock cache: after one unlock, the file store's key is kept for
//! `AWS_VAULT_UNLOCK_TTL` so that later commands in the same login session neither prompt
//! nor run the KDF; a keychain backend's session key (`Slot::SessionKey`, `sessions.rs`) is
//! kept the same way, so that they ask the keychain nothing. It must not make the key readable outside that session, nor outlive
//! the TTL.
//!
//! On Linux the key lives in the kernel's keyring, linked into the session keyring (or, for
//! a process that has none, the user-session keyring, which every process of the user
//! without a session keyring shares), with that timeout: the kernel drops it, and nothing is
//! written to disk. Only the possessor has rights, and only to view, read and search it: a
//! process of the same user in another session keyring (another login, a cron job under
//! `pam_keyinit`, `keyctl session -`) cannot find or read it, and nobody can change it or
//! its timeout. Elsewhere, or where the kernel keyring refuses, there is no cache and vault
//! asks again.
//!
//! What is cached is the data key itself, not something narrower: the cache exists so that
//! the second command, including one that must make a new session from the long-lived keys,
//! does not ask again, and a key that opened only sessions would bring the question back
//! whenever a session must be made or refreshed. What a process in the unlocking session
//! could do with the key it can also do by waiting for the passphrase to be typed (it can
//! wrap `vault` in that session's PATH). A session key opens less: only that backend's
//! session files, since its long-lived keys never leave the keychain.
//! `AWS_VAULT_UNLOCK_TTL=0` turns the cache off, for both.

use std::time::Duration;

use super::crypto::Key;

/// What a cached key opens. Both are cached alike, by the same code, with the same rights, in
/// the same keyring, for the same `AWS_VAULT_UNLOCK_TTL`: only the description differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The file store's data key (`vault:file-store:<store id>`).
    FileStore,
    /// The session key of a keychain backend's session files (`vault:session-key:<id>`):
    /// the key kept in that keychain, cached so that a warm command asks the keychain
    /// nothing.
    SessionKey,
}

/// The cached key of the store with this id, if any.
pub fn get(slot: Slot, store_id: &str) -> Option<Key> {
    imp::get(&description(slot, store_id))
}

/// Caches the key for `ttl`; a zero `ttl` caches nothing. Failures are only logged.
pub fn put(slot: Slot, store_id: &str, key: &Key, ttl: Duration) {
    if ttl.is_zero() {
        return;
    }
    imp::put(&description(slot, store_id), key, ttl);
}

/// Drops a cached key (after it turned out not to fit the store).
pub fn forget(slot: Slot, store_id: &str) {
    imp::forget(&description(slot, store_id));
}

fn description(slot: Slot, store_id: &str) -> String {
    match slot {
        Slot::FileStore => format!("vault:file-store:{store_id}"),
        Slot::SessionKey => format!("vault:session-key:{store_id}"),
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    use linux_keyutils::{
        Key as KernelKey, KeyError, KeyPermissions, KeyPermissionsBuilder, KeyRing,
        KeyRingIdentifier, KeySerialId, Permission,
    };
    use zeroize::Zeroizing;

    use crate::store::crypto::{KEY_LEN, Key};

    /// Possessor-only, and only what `get` needs: no WRITE (an update would clear the
    /// timeout), no SETATTR (nor could anyone change the timeout or these rights), no LINK
    /// (nor link it where other sessions could reach it).
    fn cached_perms() -> KeyPermissions {
        KeyPermissionsBuilder::builder()
            .posessor(Permission::VIEW | Permission::READ | Permission::SEARCH)
            .build()
    }

    /// The session keyring; for a process with none, the kernel answers with the
    /// user-session keyring (without creating a session keyring).
    fn session_keyring() -> Option<KeyRing> {
        KeyRing::from_special_id(KeyRingIdentifier::Session, false).ok()
    }

    fn which_keyring(ring: KeyRing) -> &'static str {
        match KeyRing::from_special_id(KeyRingIdentifier::UserSession, false) {
            Ok(user_session) if user_session == ring => {
                "user-session keyring (this process has no session keyring: every process of this user without one shares it)"
            }
            _ => "session keyring",
        }
    }

    pub fn get(description: &str) -> Option<Key> {
        let key = session_keyring()?.search(description).ok()?;
        // Only a key with the rights `put` gives: not one an older vault left readable by
        // every process of the user, nor one planted with other rights.
        let perms = key.metadata().ok()?.get_perms();
        if perms.bits() != cached_perms().bits() {
            crate::debug!(
                "unlock cache: a key with other rights ({:08x}); dropped",
                perms.bits()
            );
            let _ = key.invalidate();
            return None;
        }
        // Read straight into the key: `read_to_vec` would allocate (and, wiped on drop,
        // zero) 64 KiB for 32 bytes. The kernel returns the payload's whole length, so a
        // payload of another length is seen, and refused.
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        if key.read(&mut *out).ok()? != KEY_LEN {
            return None;
        }
        crate::debug!("unlock cache: hit in the kernel keyring");
        Some(out)
    }

    pub fn put(description: &str, key: &Key, ttl: Duration) {
        let Some(ring) = session_keyring() else {
            crate::debug!("unlock cache: no kernel session keyring; nothing cached");
            return;
        };
        let added = ring.add_key(description, key.as_ref()).or_else(|e| {
            // A key of this name that cannot be updated (none can: no WRITE) is one that
            // has expired and waits for the kernel's collector, or a live one that another
            // vault has just cached. Dead keys are unlinked; a live one stays.
            if e != KeyError::AccessDenied || unlink_expired(ring) == 0 {
                return Err(e);
            }
            ring.add_key(description, key.as_ref())
        });
        let restricted = added.and_then(|k| {
            // Timeout first, rights second: the rights take SETATTR away.
            let result = k
                .set_timeout(ttl.as_secs().max(1) as usize)
                .and_then(|()| k.set_perms(cached_perms()));
            if result.is_err() {
                let _ = k.invalidate();
            }
            result
        });
        match restricted {
            Ok(()) => crate::debug!(
                "unlock cache: key kept for {}s in the {}",
                ttl.as_secs(),
                which_keyring(ring)
            ),
            Err(e) => crate::debug!("unlock cache: kernel keyring refused ({e:?}); nothing cached"),
        }
    }

    /// Unlinks the expired keys linked into `ring`, returning how many. Their description
    /// can no longer be read, so every expired one goes: no one can use an expired key, and
    /// the kernel would unlink it at its next collection anyway.
    fn unlink_expired(ring: KeyRing) -> usize {
        let Ok(serials) =
            KernelKey::from_id(KeySerialId::new(KeyRingIdentifier::Session as i32)).read_to_vec()
        else {
            return 0;
        };
        serials
            .chunks_exact(4)
            .map(|raw| {
                KernelKey::from_id(KeySerialId::new(i32::from_ne_bytes(
                    raw.try_into().expect("chunks of 4 bytes"),
                )))
            })
            .filter(|k| matches!(k.metadata(), Err(KeyError::KeyExpired)))
            .filter(|k| ring.unlink_key(*k).is_ok())
            .count()
    }

    pub fn forget(description: &str) {
        if let Some(key) = session_keyring().and_then(|r| r.search(description).ok()) {
            let _ = key.invalidate();
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::time::Duration;

    use crate::store::crypto::Key;

    pub fn get(_: &str) -> Option<Key> {
        None
    }

    pub fn put(_: &str, _: &Key, _: Duration) {
        crate::debug!("unlock cache: not available on this platform");
    }

    pub fn forget(_: &str) {}
}
