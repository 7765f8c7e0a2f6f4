//! Where SSO tokens live: vault's store (encrypted, the default) and the AWS CLI's shared
//! cache `~/.aws/sso/cache/<sha1(session name or start URL)>.json` (read always, written
//! only when the person opts in), and the per-session lock files. Must not: know SDK
//! types, decide when to refresh or log in (that is `mod.rs`), write a token in plaintext
//! anywhere but the opted-in shared cache (0600, atomic), or read or write that cache
//! unless its folder is the user's and closed to others' writes, nor open there anything
//! but a regular file (no links, no FIFOs, at most `store::fs::MAX_FILE`).

use std::fs::File;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};

use super::Session;
use super::token::{self, Token};
use crate::error::{Error, Result};
use crate::store::{self, Credentials, EntryId, SessionKey, Store};

/// The `source` of the store entries of a sign-in (token, client registration): `clear`
/// leaves them, `list` does not show them as a profile's sessions.
/// It must pass the store's name rules (entries whose names do not are never listed), so it
/// is a name no one gives a profile by chance.
pub const SIGN_IN_SOURCE: &str = "vault:sso-sign-in";

/// How vault's store names a session's token entry (`list` shows it under this kind).
pub const TOKEN_KIND: &str = "sso.Token";

/// `~/.aws/sso/cache`, from `HOME` each time (tests set it), as the Rust SDK finds it.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| PathBuf::from("/"))
        .join(".aws/sso/cache")
}

/// The AWS CLI's file name for a token: lowercase hex SHA-1 of the key, exactly as
/// configured (no normalisation: a trailing `/` is another file).
pub fn file_name(key: &str) -> String {
    format!("{}.json", store::crypto::hex(&Sha1::digest(key.as_bytes())))
}

pub fn shared_path(session: &Session) -> PathBuf {
    shared_dir().join(file_name(session.key()))
}

/// Whether the shared cache folder may be used: missing (`false`), or owned by the user vault
/// runs as and writable by no one else (`true`). Unlike the store's folders it may be
/// readable by others: the AWS CLI makes it 0755, and the token files in it 0600. A link to
/// a folder is followed: what is checked is the folder used.
pub fn check_shared_dir(dir: &Path) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(store::fs::io_error("read", dir)(e)),
    };
    if !meta.is_dir() {
        // Not a folder: using it fails, naming the file vault wanted in it.
        return Ok(true);
    }
    let user = nix::unistd::geteuid().as_raw();
    if !usable(meta.uid(), meta.mode(), user) {
        return Err(Error::SsoCacheFolder {
            path: dir.to_path_buf(),
            owner: meta.uid(),
            mode: meta.mode(),
            user,
        });
    }
    Ok(true)
}

/// A shared cache folder of `owner` with permission bits `mode` may be used by `user`.
fn usable(owner: u32, mode: u32, user: u32) -> bool {
    owner == user && mode & 0o022 == 0
}

/// The token the AWS CLI (or botocore, or vault) left in the shared cache, if any: read
/// with the store's file rules, so that a FIFO, a link or a huge file is an error at once.
pub fn read_shared(session: &Session) -> Result<Option<Token>> {
    let dir = shared_dir();
    if !check_shared_dir(&dir)? {
        return Ok(None);
    }
    let path = dir.join(file_name(session.key()));
    let Some(bytes) = store::fs::read_file(&path, store::fs::MAX_FILE)? else {
        return Ok(None);
    };
    let bytes = zeroize::Zeroizing::new(bytes);
    token::parse(&bytes, &session.start_url, &session.region)
        .map(Some)
        .map_err(|problem| Error::SsoTokenFile { path, problem })
}

/// Writes the token in the AWS CLI's format: 0600, atomic, `Z` times, client fields. A
/// missing folder is made 0700; an existing one must pass [`check_shared_dir`].
pub fn write_shared(session: &Session, token: &Token) -> Result<()> {
    let dir = shared_dir();
    if !check_shared_dir(&dir)? {
        store::fs::private_dir(&dir)?;
    }
    store::fs::write_atomic(&dir.join(file_name(session.key())), &token::to_json(token))
}

/// Removes the shared file; whether there was one.
pub fn remove_shared(session: &Session) -> Result<bool> {
    let path = shared_path(session);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(store::fs::io_error("remove", &path)(e)),
    }
}

/// The store entry of a session's token: one per session name or start URL.
pub fn entry(session: &Session) -> EntryId {
    EntryId::Session(SessionKey {
        kind: TOKEN_KIND.to_string(),
        profile: session.store_label(),
        mfa_serial: None,
        source: SIGN_IN_SOURCE.to_string(),
        params: session.digest(),
    })
}

/// The token kept in vault's store: the AWS CLI's JSON sealed as an entry's secret.
pub fn read_stored(store: &mut dyn Store, session: &Session) -> Result<Option<Token>> {
    let id = entry(session);
    let found = match store.get(&id) {
        Ok(found) => found,
        Err(e @ Error::StoreCorrupt { .. }) => {
            crate::text::warn(&e);
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let Some(entry) = found else {
        return Ok(None);
    };
    let Some(json) = unhex(entry.secret_access_key.expose_secret()) else {
        crate::debug!("the stored SSO token cannot be read; ignoring it");
        return Ok(None);
    };
    match token::parse(&json, &session.start_url, &session.region) {
        Ok(token) => Ok(Some(token)),
        Err(problem) => {
            crate::debug!("the stored SSO token cannot be read ({problem}); ignoring it");
            Ok(None)
        }
    }
}

pub fn write_stored(store: &mut dyn Store, session: &Session, token: &Token) -> Result<()> {
    // Hex: the store keeps the secret as a JSON string that must need no escapes.
    let secret = store::crypto::hex(&token::to_json(token));
    // The entry lives as long as the token can be used or refreshed, so that removing
    // expired sessions never throws away a refresh token that still works.
    let until = match token.registration_expires_at {
        Some(registration) if token.refresh_token.is_some() => registration.max(token.expires_at),
        _ => token.expires_at,
    };
    let credentials = Credentials {
        access_key_id: "sso-token".to_string(),
        secret_access_key: SecretString::from(secret),
        session_token: None,
        expiration: Some(until),
    };
    store.put(&entry(session), &credentials)
}

fn unhex(text: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(bytes.len() / 2));
    for pair in bytes.chunks(2) {
        out.push(digit(pair[0])? << 4 | digit(pair[1])?);
    }
    Some(out)
}

pub fn remove_stored(store: &mut dyn Store, session: &Session) -> Result<bool> {
    store.remove(&entry(session))
}

/// Whether a token is cached and for how long, for `show`: read without a passphrase
/// (the store's listing, the shared file's expiry), never printing a secret.
pub fn describe(session: &Session, listing: &store::Listing, now: u64) -> String {
    let left = |until: u64| {
        humantime::format_duration(std::time::Duration::from_secs(until.saturating_sub(now)))
            .to_string()
    };
    let mut parts = Vec::new();
    let id = entry(session);
    if let Some(meta) = listing.entries.iter().find(|e| e.id == id) {
        match meta.expiration {
            Some(until) if until > now => parts.push(format!(
                "a token in vault's store, usable or refreshable for {}",
                left(until)
            )),
            _ => parts.push("an expired token in vault's store".to_string()),
        }
    }
    match read_shared(session) {
        Ok(Some(token)) if token.expires_at > now => parts.push(format!(
            "a token in `~/.aws/sso/cache/{}` that expires in {}{}",
            file_name(session.key()),
            left(token.expires_at),
            if token.refreshable(now) {
                " (refreshable)"
            } else {
                ""
            }
        )),
        Ok(Some(_)) => parts.push(format!(
            "an expired token in `~/.aws/sso/cache/{}`",
            file_name(session.key())
        )),
        Ok(None) => {}
        Err(e) => parts.push(e.to_string()),
    }
    if parts.is_empty() {
        "no token cached; the next use signs in".to_string()
    } else {
        parts.join("; ")
    }
}

/// An exclusive lock for one session's token, held until dropped: one login or refresh
/// at a time, across every vault process of this user.
pub fn lock(dir: &Path, session: &Session) -> Result<File> {
    store::fs::private_dir(dir)?;
    store::fs::lock(&dir.join(format!("sso-{}.lock", session.digest())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples in the SSO notes, from botocore and the AWS CLI.
    #[test]
    fn hex_round_trips() {
        let bytes = b"{\"a\": \"\\\"\"}";
        assert_eq!(&*unhex(&store::crypto::hex(bytes)).unwrap(), bytes);
        assert!(unhex("abc").is_none() && unhex("zz").is_none());
    }

    #[test]
    fn the_shared_folder_is_yours_and_closed_to_others_writes() {
        for (owner, mode, user, ok) in [
            (1000, 0o40700, 1000, true),
            (1000, 0o40755, 1000, true),
            (1000, 0o40555, 1000, true),
            (1000, 0o40775, 1000, false),
            (1000, 0o40757, 1000, false),
            (1000, 0o41777, 1000, false),
            (1001, 0o40700, 1000, false),
            (0, 0o40755, 1000, false),
        ] {
            assert_eq!(usable(owner, mode, user), ok, "{owner} {mode:o} {user}");
        }
    }

    #[test]
    fn file_names_are_the_cli_s() {
        assert_eq!(
            file_name("my-sso"),
            "0ad374308c5a4e22f723adf10145eafad7c4031c.json"
        );
        assert_eq!(
            file_name("https://d-1234567890.awsapps.com/start"),
            "7487b5b67d5fa1132cf33fa93ae51ef38cc37752.json"
        );
    }
}
