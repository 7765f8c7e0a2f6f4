//! Where sign-in tokens live, and their locks. Exactly one place holds a given session's
//! token, because its refresh token rotates on every use:
//! - the AWS CLI's cache file (`<cache dir>/<sha256 of login_session>.json`): a session
//!   `aws login` made, or one `vault signin` made with `login_token_cache = shared`. Read
//!   with the store's file rules (no links followed, no blocking, regular files only, a size
//!   cap, a folder that is yours and that no one else can write), written back atomically,
//!   0600, in the AWS CLI's format;
//! - vault's store, sealed, DPoP key included: a session `vault signin` made.
//!
//! Must not: decide when to refresh or sign in (that is `session.rs`), write a token in
//! plaintext anywhere but the AWS CLI's file, or change a file it could not read.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::token::{self, LoginToken};
use crate::error::{Error, Result};
use crate::store::{self, Credentials, EntryId, SessionKey, Store};

/// How vault's store names a session's token entry (`list` shows it under this kind).
pub const TOKEN_KIND: &str = "signin.Token";

/// The `source` of the token entries: that of every sign-in's entries (SSO's too), which
/// `clear` leaves and `list` does not show as a profile's sessions.
pub const SIGN_IN_SOURCE: &str = crate::sso::cache::SIGN_IN_SOURCE;

/// The longest a sign-in session lasts (AWS: "up to 12 hours"): a stored token's entry
/// expires this long after its credentials do, so expired-session cleanup keeps a refresh
/// token that may still work, and not much longer.
pub const SESSION_MAX: u64 = 12 * 3600;

/// `signin:<login_session>` within the store's name rules (an ARN's `=` and `,` are
/// percent-encoded).
pub fn store_label(session: &str) -> String {
    let mut out = String::from("signin:");
    for c in session.trim().chars() {
        if c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c) {
            out.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// A digest of the session's name, for store entries and lock files.
pub fn digest(session: &str) -> String {
    use blake2::{Blake2s256, Digest};
    store::crypto::hex(&Blake2s256::digest(session.trim().as_bytes())[..12])
}

/// The store entry of a session's token.
pub fn entry(session: &str) -> EntryId {
    EntryId::Session(SessionKey {
        kind: TOKEN_KIND.to_string(),
        profile: store_label(session),
        mfa_serial: None,
        source: SIGN_IN_SOURCE.to_string(),
        params: digest(session),
    })
}

/// The home folder the AWS CLI's token files are under: `HOME` when set, else the account's.
/// Every reader and writer of those files (`exec`, `signin`, `show`) finds them through it.
pub fn home(var: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    var("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The AWS CLI's file for `session`.
pub fn shared_path(var: &dyn Fn(&str) -> Option<String>, home: &Path, session: &str) -> PathBuf {
    token::cache_dir(var, home).join(token::file_name(session))
}

/// The error for a file that cannot be used: it names the file and the next step, and
/// says the file was left alone.
pub fn bad_file(path: &Path, problem: &str, profile: &str) -> Error {
    Error::LoginSession {
        problem: format!(
            "the sign-in token file `{}` cannot be used: {problem} (it is left as it is)",
            crate::paths::display_path(path)
        ),
        hint: format!(
            "sign in again with `vault signin {profile}` (or `aws login --profile {profile}`), which replaces the file"
        ),
    }
}

/// The folder must be yours and writable by no one else, as the AWS CLI makes it (it may
/// be readable: the CLI leaves it 0755).
fn check_folder(dir: &Path, profile: &str, path: &Path) -> Result<bool> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(store::fs::io_error("read", dir)(e)),
    };
    let user = nix::unistd::geteuid().as_raw();
    if !meta.is_dir() {
        return Err(bad_file(path, "its folder is not a folder", profile));
    }
    if meta.uid() != user || meta.mode() & 0o022 != 0 {
        return Err(Error::LoginSession {
            problem: format!(
                "the sign-in cache folder `{}` is not safe to use: it belongs to uid {} with mode {:o}, so others could change the tokens in it",
                crate::paths::display_path(dir),
                meta.uid(),
                meta.mode() & 0o7777
            ),
            hint: format!(
                "make it yours and writable only by you (`chmod go-w {}`), or set AWS_LOGIN_CACHE_DIRECTORY to a folder that is",
                crate::paths::display_path(dir)
            ),
        });
    }
    Ok(true)
}

/// The token in the AWS CLI's file, if there is one. A file that cannot be used is an error
/// naming it (FIFOs, links and huge files are found without reading them).
pub fn read_shared(path: &Path, profile: &str) -> Result<Option<LoginToken>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !check_folder(dir, profile, path)? {
        return Ok(None);
    }
    let bytes = match store::fs::read_file(path, token::MAX_FILE) {
        Ok(Some(bytes)) => Zeroizing::new(bytes),
        Ok(None) => return Ok(None),
        Err(Error::UnsafeFile { problem, .. }) => return Err(bad_file(path, &problem, profile)),
        Err(e) => return Err(e),
    };
    token::parse(&bytes)
        .map(Some)
        .map_err(|problem| bad_file(path, &problem, profile))
}

/// Writes the AWS CLI's file: 0600, atomic (a reader sees the old file or the new one), in
/// its format, unknown members kept. A missing folder is made 0700.
pub fn write_shared(path: &Path, token: &LoginToken) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        store::fs::private_dir(dir)?;
    }
    store::fs::write_atomic(path, &token::to_json(token))
}

/// Removes the AWS CLI's file; whether there was one.
pub fn remove_shared(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(store::fs::io_error("remove", path)(e)),
    }
}

/// The token in vault's store: the AWS CLI's JSON (with `signInRegion`), sealed as the
/// entry's secret. An entry that cannot be read is reported, not used.
pub fn read_stored(store: &mut dyn Store, session: &str) -> Result<Option<LoginToken>> {
    let found = match store.get(&entry(session)) {
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
        crate::text::warn("the sign-in token in vault's store cannot be read; ignoring it");
        return Ok(None);
    };
    match token::parse(&json) {
        Ok(token) => Ok(Some(token)),
        Err(problem) => {
            crate::text::warn(format_args!(
                "the sign-in token in vault's store cannot be used ({problem}); ignoring it"
            ));
            Ok(None)
        }
    }
}

pub fn write_stored(store: &mut dyn Store, session: &str, token: &LoginToken) -> Result<()> {
    // Hex: the store keeps the secret as a JSON string that must need no escapes.
    let secret = Zeroizing::new(store::crypto::hex(&token::to_json(token)));
    let credentials = Credentials {
        access_key_id: "signin-token".to_string(),
        secret_access_key: SecretString::from(secret.as_str()),
        session_token: None,
        expiration: Some(token.expires_at + SESSION_MAX),
    };
    store.put(&entry(session), &credentials)
}

pub fn remove_stored(store: &mut dyn Store, session: &str) -> Result<bool> {
    store.remove(&entry(session))
}

fn unhex(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len() / 2));
    for pair in bytes.chunks(2) {
        out.push(digit(pair[0])? << 4 | digit(pair[1])?);
    }
    Some(out)
}

/// Whether a session's token is cached and how long its credentials last, for `show`: read
/// without a passphrase (the store's listing, the AWS CLI's file), never printing a secret.
pub fn describe(
    session: &str,
    listing: &store::Listing,
    shared: &Path,
    profile: &str,
    now: u64,
) -> String {
    let state = |expires_at: u64| {
        if expires_at > now {
            format!(
                "its credentials last {} more (refreshed when 5 minutes or less are left)",
                humantime::format_duration(std::time::Duration::from_secs(expires_at - now))
            )
        } else {
            "its credentials have ended (refreshed on the next use while the session lasts, up to 12 hours from the sign-in)".to_string()
        }
    };
    let mut parts = Vec::new();
    let id = entry(session);
    if let Some(meta) = listing.entries.iter().find(|e| e.id == id) {
        // The entry outlives the credentials by SESSION_MAX (see `write_stored`).
        match meta.expiration {
            Some(until) if until > now => parts.push(format!(
                "a token in vault's store: {}",
                state(until.saturating_sub(SESSION_MAX))
            )),
            _ => parts.push("an expired token in vault's store".to_string()),
        }
    }
    match read_shared(shared, profile) {
        Ok(Some(token)) => parts.push(format!(
            "a token in `{}`: {}",
            crate::paths::display_path(shared),
            state(token.expires_at)
        )),
        Ok(None) => {}
        Err(e) => parts.push(e.to_string()),
    }
    if parts.is_empty() {
        format!("not signed in; `vault signin {profile}` signs in")
    } else {
        parts.join("; ")
    }
}

/// An exclusive lock for one session's token, held until dropped: one sign-in or refresh at
/// a time, across every vault process of this user.
pub fn lock(dir: &Path, session: &str) -> Result<File> {
    store::fs::private_dir(dir)?;
    store::fs::lock(&dir.join(format!("signin-{}.lock", digest(session))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_pass_the_store_rules_and_digests_are_stable() {
        assert_eq!(
            store_label("arn:aws:iam::123456789012:user/a=b,c"),
            "signin:arn:aws:iam::123456789012:user/a%3Db%2Cc"
        );
        assert_eq!(digest(" x "), digest("x"));
        assert_ne!(digest("x"), digest("y"));
        assert_eq!(entry("x"), entry("x"));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(
            &*unhex(&store::crypto::hex(b"{\"a\"}")).unwrap(),
            b"{\"a\"}"
        );
        assert!(unhex("abc").is_none() && unhex("zz").is_none());
    }
}
