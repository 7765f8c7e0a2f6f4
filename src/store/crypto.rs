//! The file store's cryptography: Argon2id to turn a passphrase into a key-encryption key,
//! XChaCha20-Poly1305 for everything encrypted. Keys live in zeroizing buffers.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// A 256-bit key, wiped when dropped.
pub type Key = Zeroizing<[u8; KEY_LEN]>;

/// Argon2id parameters, stored in the clear beside the salt so they can be raised later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    pub algorithm: String,
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub salt: String,
}

impl Default for Kdf {
    fn default() -> Kdf {
        Kdf::new()
    }
}

impl Kdf {
    /// RFC 9106's second recommended option (64 MiB, 3 passes, 1 lane), above OWASP's
    /// minimum for Argon2id (19 MiB, 2 passes); a random 16-byte salt.
    pub fn new() -> Kdf {
        Kdf {
            algorithm: "argon2id".to_string(),
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
            salt: hex(&random::<16>()),
        }
    }

    /// The key-encryption key for `passphrase`; `None` for parameters vault does not know.
    pub fn derive(&self, passphrase: &[u8]) -> Option<Key> {
        if self.algorithm != "argon2id" {
            return None;
        }
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .ok()?;
        let salt = unhex(&self.salt)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, &salt, key.as_mut())
            .ok()?;
        Some(key)
    }
}

/// Ciphertext with its nonce, as stored (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub nonce: String,
    pub ciphertext: String,
}

/// Encrypts `plaintext` bound to `context` (authenticated, not encrypted: a sealed value
/// moved to another entry's context fails to open).
pub fn seal(key: &Key, plaintext: &[u8], context: &[u8]) -> Sealed {
    let nonce = random::<NONCE_LEN>();
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let payload = Payload {
        msg: plaintext,
        aad: context,
    };
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), payload)
        .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
    Sealed {
        nonce: hex(&nonce),
        ciphertext: hex(&ciphertext),
    }
}

/// Decrypts; `None` when the key is wrong or anything was changed.
pub fn open(key: &Key, sealed: &Sealed, context: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let nonce = unhex(&sealed.nonce).filter(|n| n.len() == NONCE_LEN)?;
    let ciphertext = unhex(&sealed.ciphertext)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let payload = Payload {
        msg: &ciphertext,
        aad: context,
    };
    cipher
        .decrypt(XNonce::from_slice(&nonce), payload)
        .ok()
        .map(Zeroizing::new)
}

pub fn random_key() -> Key {
    Zeroizing::new(random::<KEY_LEN>())
}

pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    bytes
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    // `from_str_radix` alone would take a sign (`+f`); stored hex is digits only.
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let key = random_key();
        let sealed = seal(&key, b"secret", b"ctx");
        assert_eq!(open(&key, &sealed, b"ctx").unwrap().as_slice(), b"secret");
        assert!(open(&key, &sealed, b"other").is_none());
        assert!(open(&random_key(), &sealed, b"ctx").is_none());
        let mut tampered = sealed.clone();
        tampered.ciphertext.replace_range(0..2, "00");
        if tampered != sealed {
            assert!(open(&key, &tampered, b"ctx").is_none());
        }
    }

    #[test]
    fn kdf_is_deterministic_per_salt() {
        let mut kdf = Kdf::new();
        kdf.memory_kib = 64; // fast for the test
        kdf.iterations = 1;
        let a = kdf.derive(b"pass").unwrap();
        assert_eq!(*a, *kdf.derive(b"pass").unwrap());
        assert_ne!(*a, *kdf.derive(b"other").unwrap());
        kdf.salt = hex(&random::<16>());
        assert_ne!(*a, *kdf.derive(b"pass").unwrap());
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])).unwrap(), [0, 1, 254, 255]);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
        // Found by fuzzing (store_decode): a sign was accepted as a digit.
        assert!(unhex("+f").is_none());
    }
}
