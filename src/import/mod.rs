//! `vault import`: bring long-lived keys in from aws-vault's stores, a plaintext credentials
//! file, or another vault backend. This module owns the flow (read the source, filter,
//! write, read back, compare, and the report of it) and aws-vault's payload and key formats;
//! each source is one file. It is given what it needs (the store, a prompt, the names
//! wanted) and returns what happened; the command line, printing and the exit code are
//! `commands/import.rs`'s. It must not change or delete anything in a source (but for the
//! credentials file's key lines, and `import vault --delete-source`), nor write anything
//! under `--dry-run`, nor import from `commands/` or `cli.rs`, the rooms above it.

pub mod aws_vault_file;
pub mod aws_vault_keychain;
#[cfg(target_os = "linux")]
pub mod aws_vault_keyctl;
#[cfg(target_os = "linux")]
pub mod aws_vault_kwallet;
pub mod aws_vault_pass;
#[cfg(target_os = "linux")]
pub mod aws_vault_secret_service;
pub mod aws_vault_wincred;
pub mod by_name;
pub mod credentials_file;
pub mod inventory;
pub mod vault;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::config::profiles::is_valid_name;
use crate::error::{Error, Result};
use crate::prompt::Prompt;
use crate::store::{Credentials, EntryId, Store};

/// One credential a source holds: its name (the profile) and its keys, or why they could
/// not be read.
pub struct Found {
    pub name: String,
    pub keys: std::result::Result<Credentials, String>,
}

impl Found {
    pub fn keys(name: &str, keys: Credentials) -> Found {
        Found {
            name: name.to_string(),
            keys: Ok(keys),
        }
    }

    pub fn failed(name: &str, why: &str) -> Found {
        Found {
            name: name.to_string(),
            keys: Err(why.to_string()),
        }
    }
}

/// What an aws-vault key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Credential,
    Session,
    Oidc,
}

fn is_b64url(text: &str) -> bool {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .is_ok()
}

/// aws-vault's own classification (`vault/sessionkeyring.go`, `oidctokenkeyring.go`):
/// `oidc:` tokens, sessions in today's and older key formats, and everything else a
/// credential.
pub fn kind(key: &str) -> Kind {
    if key.starts_with("oidc:") {
        return Kind::Oidc;
    }
    let digits = |t: &str, min: usize| t.len() >= min && t.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = key.split(',').collect();
    if let [kind, profile, serial, expiry] = parts[..]
        && !kind.is_empty()
        && !profile.is_empty()
        && digits(expiry, 1)
        && ((is_b64url(profile) && is_b64url(serial)) || (kind == "session" && digits(expiry, 2)))
    {
        return Kind::Session;
    }
    // `^session:(?P<profile>[^ ]+):(?P<mfaSerial>[^ ]*):(?P<expiration>[^:]+)$`
    if let Some(rest) = key.strip_prefix("session:")
        && let Some((head, expiry)) = rest.rsplit_once(':')
        && !expiry.is_empty()
        && !head.contains(' ')
        && head.find(':').is_some_and(|i| i > 0)
    {
        return Kind::Session;
    }
    if let Some(head) = key.strip_suffix(')')
        && let Some((name, number)) = head.rsplit_once(" session (")
        && !name.is_empty()
        && digits(number, 1)
    {
        return Kind::Session;
    }
    Kind::Credential
}

/// aws-sdk-go-v2 `aws.Credentials` (and SDK v1's `credentials.Value`, before aws-vault 6.4).
#[derive(Deserialize)]
struct CredentialJson {
    #[serde(
        rename = "AccessKeyID",
        alias = "AccessKeyId",
        alias = "aws_access_key_id"
    )]
    access_key_id: String,
    #[serde(rename = "SecretAccessKey", alias = "aws_secret_access_key")]
    secret_access_key: String,
    #[serde(rename = "SessionToken", alias = "aws_session_token", default)]
    session_token: Option<String>,
}

/// keyring's `Item` wrapper: `Data` is the credential JSON, base64.
#[derive(Deserialize)]
struct ItemJson {
    #[serde(rename = "Key", default)]
    key: Option<String>,
    #[serde(rename = "Data")]
    data: String,
}

/// Keys from aws-vault's credential JSON; `None` when it is not that.
pub fn credentials_from_json(bytes: &[u8]) -> Option<Credentials> {
    let json: CredentialJson = serde_json::from_slice(bytes).ok()?;
    let secret = SecretString::from(json.secret_access_key);
    let token = json.session_token.map(SecretString::from);
    let id = json.access_key_id.trim();
    if id.is_empty() || secret.expose_secret().is_empty() {
        return None;
    }
    Some(Credentials {
        access_key_id: id.to_string(),
        secret_access_key: secret,
        session_token: token.filter(|t| !t.expose_secret().is_empty()),
        expiration: None,
    })
}

/// One item of a store that holds aws-vault's credential JSON itself (keyctl, keychain,
/// wincred): `None` for a cached session, an `oidc:` token or a payload that is not
/// aws-vault's credential JSON.
pub fn raw_found(name: &str, bytes: &[u8]) -> Option<Found> {
    if kind(name) != Kind::Credential {
        crate::debug!("import: skipping the cached session or token `{name}`");
        return None;
    }
    match credentials_from_json(bytes) {
        Some(keys) => Some(Found::keys(name, keys)),
        None => {
            crate::debug!("import: `{name}` is not an aws-vault credential; left out");
            None
        }
    }
}

/// Keys from a keyring `Item` whose `Data` is aws-vault's credential JSON.
pub fn credentials_from_item(bytes: &[u8]) -> Option<Credentials> {
    item_credentials(bytes).map(|(_, keys)| keys)
}

/// The `Item`'s own `Key` (the name aws-vault gave it) and its keys.
pub fn item_credentials(bytes: &[u8]) -> Option<(Option<String>, Credentials)> {
    let item: ItemJson = serde_json::from_slice(bytes).ok()?;
    let key = item.key;
    let data = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(item.data.as_bytes())
            .ok()?,
    );
    credentials_from_json(&data).map(|keys| (key, keys))
}

/// How each profile went.
#[derive(Default)]
struct Report {
    lines: String,
    imported: usize,
    skipped: usize,
    failed: usize,
}

impl Report {
    /// One profile's line, escaped whole: names and reasons both quote the source (file
    /// names from an aws-vault folder, a helper's message).
    fn line(&mut self, name: &str, outcome: &str) {
        let line = format!("{name}: {outcome}");
        self.lines
            .push_str(&format!("{}\n", crate::text::printable(&line)));
    }

    fn fail(&mut self, name: &str, why: &str) {
        self.failed += 1;
        self.line(name, &format!("not imported: {why}"));
    }
}

/// What every import shares.
pub struct Target<'a> {
    pub dry_run: bool,
    pub overwrite: bool,
    pub profiles: &'a [String],
    /// For messages: "aws-vault's file store".
    pub source: String,
}

/// Where `import aws-vault` reads: aws-vault's backend and where it keeps its keys.
pub struct AwsVault<'a> {
    /// `--from`, else aws-vault's default for this platform.
    pub from: Option<&'a str>,
    /// `--dir`: the file store's folder, or the password store.
    pub dir: Option<std::path::PathBuf>,
    /// `--profile`s: the names wanted, all when empty.
    pub profiles: &'a [String],
    /// `--pass-prefix`: aws-vault's folder in the password store.
    pub pass_prefix: &'a str,
}

/// What aws-vault's store holds, and the store's name for messages. The file store's
/// passphrases are asked through `prompt`.
pub fn read_aws_vault(wanted: &AwsVault, prompt: &mut dyn Prompt) -> Result<(String, Vec<Found>)> {
    let from = match wanted.from {
        Some(name) => name.to_string(),
        None => default_source(),
    };
    Ok(match from.as_str() {
        "file" => {
            let dir = wanted
                .dir
                .clone()
                .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".awsvault/keys"));
            let passphrase = std::env::var("AWS_VAULT_FILE_PASSPHRASE")
                .ok()
                .map(SecretString::from);
            (
                format!(
                    "aws-vault's file store `{}`",
                    crate::paths::display_path(&dir)
                ),
                aws_vault_file::read(&dir, wanted.profiles, passphrase, prompt)?,
            )
        }
        #[cfg(target_os = "linux")]
        "secret-service" => (
            "aws-vault's Secret Service collection `awsvault`".to_string(),
            aws_vault_secret_service::read()?,
        ),
        "pass" => {
            let dir = wanted.dir.clone().unwrap_or_else(|| {
                std::env::var_os("PASSWORD_STORE_DIR")
                    .filter(|d| !d.is_empty())
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".password-store"))
            });
            let cmd = crate::env::var("AWS_VAULT_PASS_CMD").unwrap_or_else(|| "pass".into());
            let found = aws_vault_pass::read(&cmd, &dir, wanted.pass_prefix)?;
            (
                format!(
                    "aws-vault's pass store `{}`",
                    crate::paths::display_path(&dir)
                ),
                found,
            )
        }
        #[cfg(target_os = "linux")]
        "keyctl" => (
            "aws-vault's kernel keyring `aws-vault`".to_string(),
            aws_vault_keyctl::read()?,
        ),
        #[cfg(target_os = "linux")]
        "kwallet" => (
            "aws-vault's KWallet wallet `aws-vault`".to_string(),
            aws_vault_kwallet::read()?,
        ),
        "keychain" => (
            aws_vault_keychain::source(),
            aws_vault_keychain::read(wanted.profiles)?,
        ),
        "wincred" => (
            aws_vault_wincred::source(),
            aws_vault_wincred::read(wanted.profiles)?,
        ),
        #[allow(unreachable_patterns)]
        "kwallet" | "keyctl" | "secret-service" => {
            return Err(Error::ImportSource {
                source: format!("aws-vault's `{from}` store"),
                problem: "it exists only on Linux".into(),
                hint: "run the import on the Linux machine that holds aws-vault's keys".into(),
            });
        }
        other => {
            return Err(Error::BadValue {
                name: "--from",
                problem: format!(
                    "unknown aws-vault backend `{other}`; choose one of file, secret-service, pass, keychain, wincred, kwallet, keyctl"
                ),
            });
        }
    })
}

/// `error` with the import command in its hint, when it says a profile has no keys and
/// aws-vault's file or pass store has an item of that name (looked for by file name only:
/// nothing is decrypted, no bus is asked).
pub fn hint_import(error: Error) -> Error {
    let profile = match &error {
        Error::NoCredentials { profile, .. } | Error::NoKeys { profile, .. } => profile.clone(),
        _ => return error,
    };
    match aws_vault_has(&profile) {
        Some(command) => Error::Importable {
            error: Box::new(error),
            command,
        },
        None => error,
    }
}

fn aws_vault_has(profile: &str) -> Option<String> {
    let home = dirs::home_dir()?;
    let escaped: String = profile
        .chars()
        .map(|c| match c {
            '/' => "%2F".to_string(),
            '%' => "%25".to_string(),
            c => c.to_string(),
        })
        .collect();
    if std::fs::symlink_metadata(home.join(".awsvault/keys").join(escaped))
        .is_ok_and(|m| m.is_file())
    {
        return Some(format!(
            "vault import aws-vault --from file --profile {profile}"
        ));
    }
    let pass = std::env::var_os("PASSWORD_STORE_DIR")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.join(".password-store"));
    for prefix in ["", "aws-vault"] {
        let path = pass.join(prefix).join(format!("{profile}.gpg"));
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
            let flag = if prefix.is_empty() {
                String::new()
            } else {
                format!(" --pass-prefix {prefix}")
            };
            return Some(format!(
                "vault import aws-vault --from pass{flag} --profile {profile}"
            ));
        }
    }
    None
}

/// aws-vault's default for this platform. On Linux that is the Secret Service, but when it
/// has no `awsvault` collection (or there is no bus) the file store is tried.
fn default_source() -> String {
    if cfg!(target_os = "macos") {
        return "keychain".into();
    }
    if cfg!(windows) {
        return "wincred".into();
    }
    #[cfg(target_os = "linux")]
    if aws_vault_secret_service::has_collection() {
        return "secret-service".into();
    }
    "file".into()
}

/// What an import did.
pub struct Done {
    pub imported: Vec<String>,
    /// Already in the vault, with the keys the source holds.
    pub skipped: Vec<(String, Credentials)>,
    pub failed: usize,
    /// One line per profile and the counts, for the person.
    pub report: String,
}

/// The names whose keys are in `store` now as the source holds them: those imported, and
/// those skipped because the store already held the same keys. Only these may leave the
/// source.
pub fn moved(store: &mut dyn Store, done: &Done) -> Result<Vec<String>> {
    let mut moved = done.imported.clone();
    for (name, want) in &done.skipped {
        let id = EntryId::Keys {
            profile: name.clone(),
        };
        if store.get(&id)?.is_some_and(|have| same(&have, want)) {
            moved.push(name.clone());
        }
    }
    Ok(moved)
}

/// Whether two sets of keys are the same.
pub fn same(a: &Credentials, b: &Credentials) -> bool {
    let token = |c: &Credentials| {
        c.session_token
            .as_ref()
            .map(|t| t.expose_secret().to_string())
    };
    a.access_key_id == b.access_key_id
        && a.secret_access_key.expose_secret() == b.secret_access_key.expose_secret()
        && token(a) == token(b)
}

/// Writes what was found into `store`, reads each entry back and compares, and reports one
/// line per profile and the counts. Everything that can be imported is, whatever fails.
pub fn import(store: &mut dyn Store, found: Vec<Found>, target: &Target) -> Result<Done> {
    let listing = store.list()?;
    let mut report = Report::default();
    let mut done = Done {
        imported: Vec::new(),
        skipped: Vec::new(),
        failed: 0,
        report: String::new(),
    };
    let wanted =
        |name: &str| target.profiles.is_empty() || target.profiles.iter().any(|p| p == name);
    let mut seen = Vec::new();
    for item in found.into_iter().filter(|f| wanted(&f.name)) {
        seen.push(item.name.clone());
        let name = item.name.as_str();
        let keys = match item.keys {
            Ok(keys) => keys,
            Err(why) => {
                report.fail(name, &why);
                continue;
            }
        };
        if !is_valid_name(name) {
            report.fail(
                name,
                "vault does not take this profile name (letters, digits and -/.%@_:+ only)",
            );
            continue;
        }
        if listing.has_keys(name) && !target.overwrite {
            report.skipped += 1;
            report.line(name, "already in vault (skipped; --overwrite replaces it)");
            done.skipped.push((name.to_string(), keys));
            continue;
        }
        if target.dry_run {
            report.imported += 1;
            report.line(name, "imported (dry run: nothing written)");
            continue;
        }
        match put_and_check(store, name, &keys) {
            Ok(()) => {
                report.imported += 1;
                report.line(name, "imported");
                done.imported.push(name.to_string());
            }
            Err(why) => report.fail(name, &why),
        }
    }
    for name in target.profiles {
        if !seen.contains(name) {
            report.fail(name, &format!("not found in {}", target.source));
        }
    }
    if report.imported + report.skipped + report.failed == 0 {
        report
            .lines
            .push_str(&format!("no credentials found in {}\n", target.source));
    }
    report.lines.push_str(&format!(
        "{} imported, {} already in vault, {} not imported{}\n",
        report.imported,
        report.skipped,
        report.failed,
        if target.dry_run { " (dry run)" } else { "" }
    ));
    done.failed = report.failed;
    done.report = report.lines;
    Ok(done)
}

/// Writes, reads back and compares.
fn put_and_check(
    store: &mut dyn Store,
    name: &str,
    keys: &Credentials,
) -> std::result::Result<(), String> {
    let id = EntryId::Keys {
        profile: name.to_string(),
    };
    store.put(&id, keys).map_err(|e| e.to_string())?;
    let back = store.get(&id).map_err(|e| e.to_string())?;
    let same = back.is_some_and(|b| {
        b.access_key_id == keys.access_key_id
            && b.secret_access_key.expose_secret() == keys.secret_access_key.expose_secret()
            && b.session_token
                .as_ref()
                .map(|t| t.expose_secret().to_string())
                == keys
                    .session_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_string())
    });
    if same {
        Ok(())
    } else {
        Err(format!(
            "{} read back something else than was written",
            store.describe()
        ))
    }
}

/// The D-Bus session bus, for a source that lives on it (Secret Service, KWallet), and which of
/// `names` have an owner there, in order. Asked with `NameHasOwner`, never by calling a name,
/// which would have the bus start its service. `unavailable` words the errors for the source;
/// `no_bus` is the hint when there is no session bus.
#[cfg(target_os = "linux")]
pub(crate) fn session_bus<'a>(
    names: &[&'a str],
    timeout: std::time::Duration,
    unavailable: &dyn Fn(String, &str) -> Error,
    no_bus: &str,
) -> Result<(dbus::blocking::Connection, Vec<&'a str>)> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) {
        return Err(unavailable(
            "there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)".to_string(),
            no_bus,
        ));
    }
    let no_answer = |e: dbus::Error| {
        unavailable(
            format!("the session bus does not answer: {e}"),
            "use `--from file`",
        )
    };
    let connection = dbus::blocking::Connection::new_session().map_err(no_answer)?;
    let bus = connection.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", timeout);
    let mut owned = Vec::new();
    for name in names {
        let (has_owner,): (bool,) = bus
            .method_call("org.freedesktop.DBus", "NameHasOwner", (*name,))
            .map_err(no_answer)?;
        crate::debug!(
            "import: `{name}` is {}running",
            if has_owner { "" } else { "not " }
        );
        if has_owner {
            owned.push(*name);
        }
    }
    Ok((connection, owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_aws_vault() {
        let cases = [
            ("jonsmith", Kind::Credential),
            ("team/dev", Kind::Credential),
            ("oidc:https://x.awsapps.com/start", Kind::Oidc),
            ("sts.GetSessionToken,am9uc21pdGg,,1893456000", Kind::Session),
            (
                "sts.AssumeRole,am9uc21pdGg,YXJuOmF3czppYW06OjEyMzQ1Njc4OTAxMjptZmEvam9uc21pdGg,1893456000",
                Kind::Session,
            ),
            ("session,am9u,,1554491377", Kind::Session),
            ("session:jon:arn:1554491377", Kind::Session),
            ("session:jon::1554491377", Kind::Session),
            ("default session (1554491377)", Kind::Session),
            ("a,b,c", Kind::Credential),
        ];
        for (key, expected) in cases {
            assert_eq!(kind(key), expected, "{key}");
        }
    }

    #[test]
    fn reads_sdk_v1_and_v2_payloads() {
        let v2 = br#"{"AccessKeyID":"AKIAV2","SecretAccessKey":"s","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z","AccountID":""}"#;
        let v1 = br#"{"AccessKeyID":"AKIAV1","SecretAccessKey":"s","SessionToken":"","ProviderName":"StaticProvider"}"#;
        assert_eq!(credentials_from_json(v2).unwrap().access_key_id, "AKIAV2");
        let keys = credentials_from_json(v1).unwrap();
        assert_eq!(keys.access_key_id, "AKIAV1");
        assert!(keys.session_token.is_none());
        assert!(credentials_from_json(br#"{"Token":{}}"#).is_none());
        assert!(credentials_from_json(b"hunter2").is_none());
        let data = base64::engine::general_purpose::STANDARD.encode(v2);
        let item = format!(r#"{{"Key":"k","Data":"{data}","Label":"aws-vault (k)"}}"#);
        assert!(credentials_from_item(item.as_bytes()).is_some());
    }
}
