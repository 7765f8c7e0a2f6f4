//! The file store's cryptography: Argon2id to turn a passphrase into a key-encryption key,
//! XChaCha20-Poly1305 for everything encrypted. Keys live in zeroizing buffers.

use argon2::{Algorithm, Argon2, Block, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// Bounds on the Argon2id costs read from `vault.json` (see `Kdf::check`).
pub const MAX_MEMORY_KIB: u32 = 4 << 20;
pub const MAX_ITERATIONS: u32 = 100;
pub const MAX_PARALLELISM: u32 = 16;
/// Memory times iterations: 8 GiB-passes, a few seconds of work (64 MiB x 3 is 192 MiB).
pub const MAX_WORK_KIB: u64 = 8 << 20;

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

    /// Why vault will not run these parameters, if it will not: they come from `vault.json`,
    /// which anyone who can write the store can edit, and Argon2 would otherwise run (or
    /// allocate) whatever they ask. The bounds hold the default 16 times over in memory and
    /// RFC 9106's first option (2 GiB, 1 pass, 4 lanes); lower costs are Argon2's own
    /// minimums, since lowering them only derives a key that fails to unwrap the data key.
    pub fn check(&self) -> Result<(), String> {
        let work = u64::from(self.memory_kib) * u64::from(self.iterations);
        let salt_len = unhex(&self.salt).map(|salt| salt.len());
        if self.algorithm != "argon2id" {
            Err(format!(
                "unknown key derivation `{}`",
                self.algorithm.escape_debug()
            ))
        } else if !(1..=MAX_PARALLELISM).contains(&self.parallelism) {
            Err(format!(
                "parallelism {} is outside 1..={MAX_PARALLELISM}",
                self.parallelism
            ))
        } else if !(8 * self.parallelism..=MAX_MEMORY_KIB).contains(&self.memory_kib) {
            Err(format!(
                "memory of {} KiB is outside {}..={MAX_MEMORY_KIB} KiB",
                self.memory_kib,
                8 * self.parallelism
            ))
        } else if !(1..=MAX_ITERATIONS).contains(&self.iterations) {
            Err(format!(
                "{} iterations is outside 1..={MAX_ITERATIONS}",
                self.iterations
            ))
        } else if work > MAX_WORK_KIB {
            Err(format!(
                "memory times iterations is {work} KiB, over the limit of {MAX_WORK_KIB} KiB"
            ))
        } else if !salt_len.is_some_and(|len| (8..=64).contains(&len)) {
            Err("the salt is not 8 to 64 bytes of hex".to_string())
        } else {
            Ok(())
        }
    }

    /// The key-encryption key for `passphrase`; `Err` says why not (see `check`). The
    /// memory is asked for, not assumed: a machine without it gets an error, not an abort.
    pub fn derive(&self, passphrase: &[u8]) -> Result<Key, String> {
        self.check()?;
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .map_err(|e| e.to_string())?;
        let salt = unhex(&self.salt).ok_or("the salt is not hex")?;
        let mut blocks: Vec<Block> = Vec::new();
        blocks
            .try_reserve_exact(params.block_count())
            .map_err(|_| format!("cannot allocate {} MiB", self.memory_kib / 1024))?;
        blocks.resize(params.block_count(), Block::default());
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let result = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(passphrase, &salt, key.as_mut(), &mut blocks);
        blocks.iter_mut().for_each(Zeroize::zeroize);
        result.map_err(|e| e.to_string())?;
        Ok(key)
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
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    // Digits only: no sign, no space (`from_str_radix` would take `+f`).
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
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
    fn kdf_costs_are_bounded() {
        type Change = fn(&mut Kdf);
        let with = |change: Change| {
            let mut kdf = Kdf::new();
            change(&mut kdf);
            kdf.check()
        };
        assert_eq!(with(|_| {}), Ok(()), "the default");
        let fine: [Change; 5] = [
            |k| k.memory_kib = 8,
            |k| k.iterations = 100,
            |k| (k.memory_kib, k.iterations, k.parallelism) = (2 << 20, 1, 4),
            |k| (k.memory_kib, k.iterations) = (MAX_MEMORY_KIB, 2),
            |k| k.parallelism = 16,
        ];
        for change in fine {
            assert_eq!(with(change), Ok(()));
        }
        let refused: [(Change, &str); 10] = [
            (|k| k.memory_kib = u32::MAX, "memory of 4294967295 KiB"),
            (|k| k.memory_kib = MAX_MEMORY_KIB + 1, "memory of"),
            (|k| k.memory_kib = 7, "memory of 7 KiB"),
            (|k| k.iterations = 4_000_000_000, "4000000000 iterations"),
            (|k| k.iterations = 0, "0 iterations"),
            (|k| k.parallelism = 0, "parallelism 0"),
            (|k| k.parallelism = 0xFF_FFFF, "parallelism 16777215"),
            (
                |k| (k.memory_kib, k.iterations) = (1 << 20, 9),
                "over the limit",
            ),
            (|k| k.salt = "00".into(), "salt"),
            (
                |k| k.algorithm = "scrypt\u{1b}".into(),
                "unknown key derivation `scrypt\\u{1b}`",
            ),
        ];
        for (change, problem) in refused {
            let err = with(change).unwrap_err();
            assert!(err.contains(problem), "{err} lacks {problem}");
        }
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])).unwrap(), [0, 1, 254, 255]);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
        // Found by fuzzing (store_decode): a sign was accepted as a digit.
        assert!(unhex("+f").is_none());
        assert_eq!(unhex("00Ff7a").unwrap(), [0, 255, 122]);
        assert_eq!(hex(&(0..=255).collect::<Vec<u8>>()).len(), 512);
        assert!(unhex("0g").is_none());
    }
}
