//! What aws-vault's stores hold, by name only, for `vault doctor`: its file store, its pass
//! store, and on Linux its Secret Service collection, kernel keyring and KWallet wallet,
//! each where aws-vault itself would look (`AWS_VAULT_FILE_DIR`,
//! `AWS_VAULT_PASS_PASSWORD_STORE_DIR`, `AWS_VAULT_PASS_PREFIX`, else its defaults).
//! Must not: read or decrypt a secret, run `pass` or gpg, start a bus or a daemon, unlock a
//! collection or open a wallet that is closed, or wait on any of them without a bound.

use std::path::PathBuf;

/// One aws-vault store that exists here, and the credential names it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The `--from` name of `vault import aws-vault`.
    pub from: &'static str,
    /// Where it is, as shown.
    pub location: String,
    /// What `vault import aws-vault --from FROM` also needs to find it: ` --dir …`,
    /// ` --pass-prefix …`, or nothing.
    pub flags: String,
    /// Its credential names (sessions and SSO tokens left out), or why they cannot be read
    /// without unlocking it.
    pub names: Result<Vec<String>, String>,
    /// The store is not aws-vault's alone (a whole password store with no prefix): only the
    /// names that are also profiles are aws-vault's.
    pub shared: bool,
}

fn home() -> PathBuf {
    dirs::home_dir().unwrap_or_default()
}

fn var(name: &str) -> Option<String> {
    crate::env::var(name).filter(|v| !v.is_empty())
}

/// `~/` at the start, as aws-vault expands it.
fn expand(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None => PathBuf::from(path),
    }
}

/// aws-vault's file store: the names of its files, unescaped.
fn file() -> Option<Holding> {
    let (dir, flags) = match var("AWS_VAULT_FILE_DIR") {
        Some(dir) => {
            let dir = expand(&dir);
            let flags = format!(" --dir {}", crate::paths::display_path(&dir));
            (dir, flags)
        }
        None => (home().join(".awsvault/keys"), String::new()),
    };
    let entries = std::fs::read_dir(&dir).ok()?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .filter_map(|name| super::aws_vault_file::unescape(&name))
        .filter(|name| super::kind(name) == super::Kind::Credential)
        .collect();
    names.sort();
    Some(Holding {
        from: "file",
        location: format!("file store `{}`", crate::paths::display_path(&dir)),
        flags,
        names: Ok(names),
        shared: false,
    })
}

/// aws-vault's pass store. With no prefix set, a password store's `aws-vault` folder is taken
/// for it (the prefix most people give); else the whole store, where only profiles' names
/// count.
fn pass() -> Option<Holding> {
    let dir = var("AWS_VAULT_PASS_PASSWORD_STORE_DIR")
        .or_else(|| var("PASSWORD_STORE_DIR"))
        .map(|d| expand(&d))
        .unwrap_or_else(|| home().join(".password-store"));
    let mut flags = String::new();
    if var("AWS_VAULT_PASS_PASSWORD_STORE_DIR").is_some() {
        flags.push_str(&format!(" --dir {}", crate::paths::display_path(&dir)));
    }
    let prefix = match var("AWS_VAULT_PASS_PREFIX") {
        Some(prefix) => Some(prefix.trim_matches('/').to_string()),
        None if dir.join("aws-vault").is_dir() => Some("aws-vault".to_string()),
        None => None,
    };
    let names = super::aws_vault_pass::names_in(&dir, prefix.as_deref().unwrap_or_default())?;
    let mut location = format!("pass store `{}`", crate::paths::display_path(&dir));
    if let Some(prefix) = prefix.as_deref().filter(|p| !p.is_empty()) {
        flags.push_str(&format!(" --pass-prefix {prefix}"));
        location.push_str(&format!(" (prefix `{prefix}`)"));
    }
    Some(Holding {
        from: "pass",
        location,
        flags,
        shared: prefix.is_none_or(|p| p.is_empty()),
        names,
    })
}

/// Every aws-vault store found here, in the order `--from` lists them.
pub fn holdings() -> Vec<Holding> {
    let mut found: Vec<Holding> = Vec::new();
    found.extend(file());
    #[cfg(target_os = "linux")]
    {
        let on_linux = |from: &'static str, location: &str, names| Holding {
            from,
            location: location.to_string(),
            flags: String::new(),
            names,
            shared: false,
        };
        found.extend(super::aws_vault_secret_service::names().map(|names| {
            on_linux(
                "secret-service",
                "Secret Service collection `awsvault`",
                names,
            )
        }));
        found.extend(pass());
        found.extend(
            super::aws_vault_keyctl::names()
                .map(|names| on_linux("keyctl", "kernel keyring `aws-vault`", names)),
        );
        found.extend(
            super::aws_vault_kwallet::names()
                .map(|names| on_linux("kwallet", "KWallet wallet `aws-vault`", names)),
        );
    }
    #[cfg(not(target_os = "linux"))]
    found.extend(pass());
    found
}
