//! Running a command with credentials: the child's environment (a pure function of the
//! parent's) and, on Unix, replacing vault with the command.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use secrecy::ExposeSecret;

use crate::error::Error;
use crate::store::Credentials;

/// Variables vault removes from the child: ways to name another profile or other keys.
pub const REMOVED: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_FILE",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_DEFAULT_PROFILE",
    "AWS_PROFILE",
    "AWS_SDK_LOAD_CONFIG",
    // vault's own secret: the command has its credentials and needs no passphrase.
    "AWS_VAULT_FILE_PASSPHRASE",
];

/// The variables that carry the credentials themselves.
pub const CREDENTIAL_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// The child's environment: the parent's, less `REMOVED`, plus `AWS_VAULT`, the
/// credentials, their expiry (RFC 3339, UTC) and the region when one is known.
pub fn child_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    profile: &str,
    credentials: &Credentials,
    region: Option<&str>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = parent
        .into_iter()
        .filter(|(key, _)| {
            let key = key.to_string_lossy();
            !REMOVED.contains(&key.as_ref())
                && !(region.is_some() && (key == "AWS_REGION" || key == "AWS_DEFAULT_REGION"))
                && key != "AWS_VAULT"
        })
        .collect();
    let mut set = |key: &str, value: &str| env.push((key.into(), value.into()));
    set("AWS_VAULT", profile);
    if let Some(region) = region {
        set("AWS_REGION", region);
        set("AWS_DEFAULT_REGION", region);
    }
    set("AWS_ACCESS_KEY_ID", &credentials.access_key_id);
    set(
        "AWS_SECRET_ACCESS_KEY",
        credentials.secret_access_key.expose_secret(),
    );
    if let Some(token) = &credentials.session_token {
        set("AWS_SESSION_TOKEN", token.expose_secret());
    }
    if let Some(expiration) = credentials.expiration {
        set("AWS_CREDENTIAL_EXPIRATION", &rfc3339(expiration));
    }
    env
}

/// Seconds since the epoch as `2026-11-28T12:00:00Z`.
pub fn rfc3339(seconds: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// The command to run: the one given, else `$SHELL`, else `/bin/sh`.
pub fn command_line(given: &[OsString], shell: Option<OsString>) -> (OsString, Vec<OsString>) {
    match given.split_first() {
        Some((program, args)) => (program.clone(), args.to_vec()),
        None => (
            shell
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| OsString::from("/bin/sh")),
            Vec::new(),
        ),
    }
}

/// Replaces this process with `program` (Unix): signals and the exit status are then the
/// command's own. Returns only on failure.
#[cfg(unix)]
pub fn replace_with(program: &OsStr, args: &[OsString], env: Vec<(OsString, OsString)>) -> Error {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    command.args(args).env_clear().envs(env);
    let error = crate::process::with_child_limits(|| command.exec());
    Error::Exec {
        program: program.to_string_lossy().into_owned(),
        source: error,
    }
}

/// Elsewhere: runs `program`, waits, and returns its exit status.
#[cfg(not(unix))]
pub fn replace_with(program: &OsStr, args: &[OsString], env: Vec<(OsString, OsString)>) -> Error {
    match Command::new(program)
        .args(args)
        .env_clear()
        .envs(env)
        .status()
    {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(source) => Error::Exec {
            program: program.to_string_lossy().into_owned(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn sets_and_removes() {
        let credentials = Credentials {
            access_key_id: "ASIA".into(),
            secret_access_key: SecretString::from("secret"),
            session_token: Some(SecretString::from("token")),
            expiration: Some(1_893_456_000),
        };
        let parent = env(&[
            ("PATH", "/bin"),
            ("AWS_PROFILE", "other"),
            ("AWS_ACCESS_KEY_ID", "old"),
            ("AWS_SECURITY_TOKEN", "old"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_VAULT_FILE_PASSPHRASE", "pw"),
        ]);
        let got = child_env(parent, "p", &credentials, Some("eu-west-1"));
        assert_eq!(
            got,
            env(&[
                ("PATH", "/bin"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_VAULT", "p"),
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DEFAULT_REGION", "eu-west-1"),
                ("AWS_ACCESS_KEY_ID", "ASIA"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_SESSION_TOKEN", "token"),
                ("AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z"),
            ])
        );
    }

    #[test]
    fn long_lived_keys_have_no_token_or_expiry() {
        let keys = Credentials::keys("AKIA".into(), SecretString::from("s"));
        let got = child_env(env(&[("AWS_REGION", "x")]), "p", &keys, None);
        assert_eq!(
            got,
            env(&[
                ("AWS_REGION", "x"),
                ("AWS_VAULT", "p"),
                ("AWS_ACCESS_KEY_ID", "AKIA"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ])
        );
    }

    #[test]
    fn default_command() {
        let (p, a) = command_line(&[], Some("/bin/zsh".into()));
        assert_eq!((p, a.len()), ("/bin/zsh".into(), 0));
        assert_eq!(command_line(&[], None).0, OsString::from("/bin/sh"));
        let (p, a) = command_line(&["aws".into(), "s3".into()], None);
        assert_eq!((p, a), ("aws".into(), vec![OsString::from("s3")]));
    }
}
