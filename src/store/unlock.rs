//! The unlock cache: after one unlock, the file store's key is kept for
//! `AWS_VAULT_UNLOCK_TTL` so that later commands neither prompt nor run the KDF.
//!
//! On Linux the key lives in the kernel's user keyring with that timeout (the kernel drops
//! it; nothing is written to disk). Elsewhere, or where the kernel keyring refuses, there is
//! no cache and vault asks again.

use std::time::Duration;

use super::crypto::Key;

/// The cached key of the store with this id, if any.
pub fn get(store_id: &str) -> Option<Key> {
    imp::get(&description(store_id))
}

/// Caches the key for `ttl`; a zero `ttl` caches nothing. Failures are only logged.
pub fn put(store_id: &str, key: &Key, ttl: Duration) {
    if ttl.is_zero() {
        return;
    }
    imp::put(&description(store_id), key, ttl);
}

/// Drops a cached key (after it turned out not to fit the store).
pub fn forget(store_id: &str) {
    imp::forget(&description(store_id));
}

fn description(store_id: &str) -> String {
    format!("vault:file-store:{store_id}")
}

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
    use zeroize::Zeroizing;

    use crate::store::crypto::{KEY_LEN, Key};

    fn user_keyring() -> Option<KeyRing> {
        KeyRing::from_special_id(KeyRingIdentifier::User, false).ok()
    }

    pub fn get(description: &str) -> Option<Key> {
        let key = user_keyring()?.search(description).ok()?;
        let bytes = Zeroizing::new(key.read_to_vec().ok()?);
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        out.copy_from_slice(&bytes);
        crate::debug!("unlock cache: hit in the kernel user keyring");
        Some(out)
    }

    pub fn put(description: &str, key: &Key, ttl: Duration) {
        let Some(ring) = user_keyring() else {
            crate::debug!("unlock cache: no kernel user keyring; nothing cached");
            return;
        };
        let result = ring.add_key(description, key.as_ref()).and_then(|k| {
            // Readable by this user's other processes (which may not possess the user
            // keyring, e.g. under a fresh session keyring), by no one else.
            let perms = KeyPermissionsBuilder::builder()
                .posessor(Permission::ALL)
                .user(
                    Permission::VIEW
                        | Permission::READ
                        | Permission::SEARCH
                        | Permission::SETATTR
                        | Permission::WRITE,
                )
                .build();
            k.set_perms(perms)?;
            k.set_timeout(ttl.as_secs().max(1) as usize)
        });
        match result {
            Ok(()) => crate::debug!("unlock cache: key kept for {}s", ttl.as_secs()),
            Err(e) => crate::debug!("unlock cache: kernel keyring refused ({e:?}); nothing cached"),
        }
    }

    pub fn forget(description: &str) {
        if let Some(key) = user_keyring().and_then(|r| r.search(description).ok()) {
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
