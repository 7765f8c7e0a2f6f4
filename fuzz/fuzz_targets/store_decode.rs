//! Any bytes as a file of the file store. Entry files go through the store's own decoder
//! (`vault::store::file::decode_entry`, what `get` and `list` call); what decodes must fail
//! to open under a key that is not the store's, and its metadata must survive the round
//! trip through JSON that the index and the entry's associated data rely on. The same bytes
//! are tried as the header's parts (`Kdf`, `Sealed`) and as hex.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vault::store::EntryMeta;
use vault::store::crypto::{self, Kdf, Sealed};
use vault::store::file::decode_entry;

/// The header's shape (`vault.json`), from its public parts.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Header {
    version: u32,
    store_id: String,
    kdf: Kdf,
    wrapped_key: Sealed,
    key_check: Sealed,
}

const KEY: [u8; crypto::KEY_LEN] = [7; crypto::KEY_LEN];

fn open_must_fail(sealed: &Sealed, context: &[u8]) {
    let key = zeroize::Zeroizing::new(KEY);
    assert!(crypto::open(&key, sealed, context).is_none());
}

fn kdf(kdf: &Kdf) {
    // Only parameters cheap enough to derive inside the fuzzer; `derive` refuses costs out of
    // its bounds (tested in `store::crypto`), and those within them cost what they say.
    if kdf.memory_kib <= 64 && kdf.iterations <= 2 && kdf.parallelism <= 4 {
        let _ = kdf.derive(b"passphrase");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok((meta, sealed)) = decode_entry(data) {
        let json = serde_json::to_string(&meta).expect("metadata serializes");
        let again: EntryMeta = serde_json::from_str(&json).expect("metadata reads back");
        assert_eq!(again, meta);
        let _ = meta.id.text();
        open_must_fail(&sealed, json.as_bytes());
    }
    if let Ok(header) = serde_json::from_slice::<Header>(data) {
        open_must_fail(&header.wrapped_key, header.store_id.as_bytes());
        open_must_fail(&header.key_check, b"");
        kdf(&header.kdf);
    }
    if let Ok(sealed) = serde_json::from_slice::<Sealed>(data) {
        open_must_fail(&sealed, b"");
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(bytes) = crypto::unhex(text)
    {
        assert_eq!(bytes.len() * 2, text.len());
    }
});
