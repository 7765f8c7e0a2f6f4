//! The next step for each error, shown as `hint:` under it: a command to run, a setting to
//! change. Wording only; it must not hold a secret or do I/O.

use std::io;

use super::Error;

impl Error {
    /// The next step to suggest, printed as `hint: ...` under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::ProfileNotFound {
                suggestion: Some(name),
                ..
            } => Some(format!("did you mean `{name}`?")),
            Error::ProfileNotFound {
                none_defined: true,
                profile,
                ..
            } => Some(format!(
                "no profiles are defined; add `[profile {profile}]` to the config file or store keys with `vault add {profile}`"
            )),
            Error::ProfileNotFound { .. } => {
                Some("`vault list --profiles` shows the profiles there are".to_string())
            }
            Error::NoCredentials { profile, .. } => Some(format!(
                "store its keys with `vault add {profile}`, or give it a `source_profile`"
            )),
            Error::RoleWithoutSource { profile } => Some(format!(
                "add `source_profile = NAME` to `[profile {profile}]`, naming the profile whose keys assume the role"
            )),
            Error::PartialKeys { profile, .. } => Some(format!(
                "move the keys into the vault with `vault add {profile}` and delete them from the file"
            )),
            Error::ProfileLoop { key, .. } => {
                Some(format!("change one `{key}` so that the chain ends"))
            }
            Error::ChainTooLong { key, limit, .. } => Some(format!(
                "vault follows at most {limit} profiles through `{key}`; shorten the chain"
            )),
            Error::NoTerminal { question, .. } => Some(
                if question.contains("passphrase") {
                    "set AWS_VAULT_FILE_PASSPHRASE for unattended use, or run vault in a terminal"
                } else if question.contains("MFA") {
                    "pass the code with --mfa-token, or set `mfa_process` in the profile"
                } else if question.contains("Access Key") {
                    "use `vault add --env` with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set"
                } else if question.starts_with("Delete") {
                    "use -f to delete without asking"
                } else {
                    "run vault in a terminal"
                }
                .to_string(),
            ),
            Error::Unsupported { .. } => {
                Some("run `vault show PROFILE` to see the chain; other profiles still work".to_string())
            }
            Error::ConfigSetting { hint, .. } => hint.clone(),
            Error::SsoTokenFile { .. } => Some(
                "sign in again (`vault sso login PROFILE` or `aws sso login`), which replaces the file".to_string(),
            ),
            Error::SsoCacheFolder {
                path, owner, user, ..
            } if owner != user => Some(format!(
                "if it should be yours, have root run `chown {user} {}`; otherwise remove it (vault and the AWS CLI make it again)",
                shell_quote(path)
            )),
            Error::SsoCacheFolder { path, .. } => Some(format!(
                "run `chmod go-w {}` (0755 or 0700 is fine), and check that no file in it was put there by someone else",
                shell_quote(path)
            )),
            Error::SsoEndpoint { variable, .. } => Some(format!(
                "set `{variable}` to an https URL, or to http://127.0.0.1:PORT for a local emulator; unset, AWS's endpoint is used"
            )),
            Error::SsoLogin { profile, .. } => Some(format!("run `vault sso login {profile}`")),
            Error::LoginSession { hint, .. } => Some(hint.clone()),
            Error::SsoLoginFailed { .. } => {
                Some("try again with `vault sso login PROFILE` (`--use-device-code` without a browser)".to_string())
            }
            Error::Sso { code, .. } if code == "ForbiddenException" => Some(
                "the role is not assigned to you in that account; `vault sso populate --sso-session NAME` lists the ones that are".to_string(),
            ),
            Error::BadMfaCode { .. } => Some("codes are 6 digits, like 123456".to_string()),
            Error::MfaRefused { .. } => Some(
                "codes can be used once; wait for the next code and try again".to_string(),
            ),
            Error::RoleRefused {
                role,
                caller,
                has_external_id,
                profile,
            } => Some(if *has_external_id {
                format!("the trust policy of `{role}` must trust `{caller}`; check it, the MFA requirement and `external_id` in `[profile {profile}]`")
            } else {
                format!("the trust policy of `{role}` must trust `{caller}`; if it requires an ExternalId, set `external_id` in `[profile {profile}]`")
            }),
            Error::ChainingLimit { .. } => Some(
                "ask for 1h or less (-d 1h), or assume the role straight from long-lived keys".to_string(),
            ),
            Error::DurationTooLong { profile, .. } => Some(format!(
                "ask for less with -d or `duration_seconds` in `[profile {profile}]`, or raise the role's maximum session duration"
            )),
            Error::KeysRefused { source, .. } => Some(format!(
                "the keys are wrong, inactive or deleted; store working ones with `vault add {source}`"
            )),
            Error::SessionExpired { profile } => Some(format!(
                "`vault clear {profile}` deletes the cached sessions; then try again"
            )),
            Error::StsUnreachable { .. } => Some(
                "check the network, and AWS_ENDPOINT_URL or `endpoint_url` if set".to_string(),
            ),
            Error::Io {
                action,
                path,
                source,
            } => io_hint(action, path, source),
            Error::StsBadResponse { .. } => Some(
                "something other than STS may be answering there: check AWS_ENDPOINT_URL or `endpoint_url` if set, and any proxy; if it is STS, try again later".to_string(),
            ),
            Error::Nested { .. } => Some(
                "'exit' from the subshell, or unset AWS_VAULT to force".to_string(),
            ),
            Error::Recursion { .. } => Some(
                "point `credential_process` at a profile with its own keys, not at itself".to_string(),
            ),
            Error::AddToSourcedProfile { source, .. } => {
                Some(format!("add the keys to the source instead: `vault add {source}`"))
            }
            Error::ConfigEdit { hint, .. } => hint.clone(),
            Error::NotIamUser { profile, stored, .. } => Some(if *stored {
                format!(
                    "vault setup is for an IAM user's long-lived keys; replace them with `vault remove {profile}` and `vault setup {profile}`"
                )
            } else {
                "nothing was stored; create an access key for your IAM user (IAM, Users, your user, Security credentials) and run setup again".to_string()
            }),
            Error::ImportSource { hint, .. } => Some(hint.clone()),
            Error::Pass { hint, .. } => Some(hint.clone()),
            Error::AwsVaultStore { path } => Some(format!(
                "import its keys with `vault import aws-vault --from file --dir {}`, and keep vault's own store elsewhere (unset AWS_VAULT_FILE_DIR or point it at another folder)",
                crate::paths::display_path(path)
            )),
            Error::Importable { command, .. } => Some(format!("import them with `{command}`")),
            Error::CredentialsFileChanged { .. } => Some(
                "the keys are in the vault now; run `vault import credentials-file` again to take them out of the file".to_string(),
            ),
            Error::ImportIncomplete { .. } => Some(
                "everything else was imported; the lines above say why each was not".to_string(),
            ),
            Error::NoKeys { .. } => {
                Some("`vault list --credentials` shows the entries there are".to_string())
            }
            Error::WrongPassphrase { .. } => {
                Some("nothing was changed; try again with the passphrase this vault was made with".to_string())
            }
            Error::StoreCorrupt { .. } => Some(
                "other entries are unaffected; remove the damaged file, or restore it from a backup"
                    .to_string(),
            ),
            Error::BackendUnavailable { problem, .. }
                if problem.contains("prompt was dismissed") || problem.contains("is locked") =>
            {
                Some(
                    "unlock the keyring (in your desktop session, or in its keyring manager such as Seahorse), then try again"
                        .to_string(),
                )
            }
            Error::BackendUnavailable { .. } => Some(
                "choose another backend with --backend or AWS_VAULT_BACKEND (`file` works anywhere)"
                    .to_string(),
            ),
            Error::RecordedBackend {
                path,
                backend: Some(_),
                ..
            } => Some(format!(
                "run vault where that backend is (your desktop session, say), or name one with --backend or AWS_VAULT_BACKEND; to have vault choose again, remove it: `rm {}`",
                shell_quote(path)
            )),
            Error::RecordedBackend { path, .. } => Some(format!(
                "remove it to have vault choose again (`rm {}`), or name a backend with --backend or AWS_VAULT_BACKEND",
                shell_quote(path)
            )),
            Error::UnsafeFolder {
                path, owner, user, ..
            } if owner != user => Some(format!(
                "use a folder of your own (AWS_VAULT_FILE_DIR or `file_dir` in config.toml); if this one should be yours, have root run `chown {user} {0}`, then `chmod 700 {0}`",
                shell_quote(path)
            )),
            Error::UnsafeFolder { path, .. } => Some(format!(
                "make it private with `chmod 700 {}`, and check that nothing in it was put there by someone else",
                shell_quote(path)
            )),
            Error::UnsafeFile { path, .. } => Some(format!(
                "vault keeps only regular files there and follows no links: remove `{}`, and check who put it there",
                path.display()
            )),
            Error::StoreHeader { .. } => Some(
                "vault did not write this; restore `vault.json` from a backup (without it no entry can be opened)"
                    .to_string(),
            ),
            Error::Iam { code, .. } => iam_hint(code),
            Error::ServiceUnreachable { service, .. } => Some(format!(
                "check the network, and the endpoint variables for {service} if set"
            )),
            Error::ServiceBadResponse { .. } => Some(
                "something else may be answering there: check the endpoint variables if set, and any proxy".to_string(),
            ),
            Error::RotateAborted {
                user,
                new_key,
                cleanup: Some(_),
                ..
            } => Some(format!(
                "delete the new key `{new_key}` of `{user}` yourself (`aws iam list-access-keys --user-name {user}` lists the keys), then try again"
            )),
            Error::RotateAborted { profile, cause, .. } => Some(
                cause
                    .hint()
                    .unwrap_or_else(|| format!("nothing changed; try again with `vault rotate {profile}`")),
            ),
            Error::OldKeyNotDeleted { user, old_key, .. } => Some(format!(
                "delete `{old_key}` yourself: `aws iam list-access-keys --user-name {user}` lists the keys, `aws iam delete-access-key --user-name {user} --access-key-id ID` deletes one"
            )),
            Error::Signin { .. } => Some(
                "the endpoint takes role sessions and GetFederationToken credentials that have not expired; check AWS_VAULT_FEDERATION_URL if set, or `vault clear PROFILE` and try again".to_string(),
            ),
            Error::SigninTaken { .. } => Some(
                "if your browser did not open the console, another program may have signed in as you (the token works for 15 minutes): for a role, revoke its active sessions in IAM; then run `vault login` again".to_string(),
            ),
            _ => None,
        }
    }
}

/// `path` as one shell word, for a command to copy.
fn shell_quote(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@%:,=".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The next step after an IAM refusal.
fn iam_hint(code: &str) -> Option<String> {
    match code {
        // Keys the vault holds are reported as `KeysRefused`; this is a session's refusal.
        "InvalidClientTokenId" => Some(
            "IAM refuses sessions made without MFA: set `mfa_serial` in the profile, or use -n to call IAM with the long-lived keys".to_string(),
        ),
        "LimitExceeded" => Some(
            "a user may have 2 access keys: delete the one not in use (`aws iam list-access-keys` lists them), then try again".to_string(),
        ),
        "AccessDenied" => Some(
            "the user needs iam:GetUser, iam:CreateAccessKey and iam:DeleteAccessKey on itself".to_string(),
        ),
        _ => None,
    }
}

/// The next step after a failed read or write: room on the disk, or permissions.
fn io_hint(action: &str, path: &std::path::Path, source: &io::Error) -> Option<String> {
    let folder = path.parent().unwrap_or(path).display();
    match source.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            Some(format!(
                "free some space on the disk that holds `{folder}`, then try again"
            ))
        }
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem if action != "read" => {
            Some(format!(
                "vault must be able to write in `{folder}`: check its owner, permissions and mount"
            ))
        }
        io::ErrorKind::PermissionDenied => Some(format!(
            "check the owner and permissions of `{}`",
            path.display()
        )),
        _ => None,
    }
}
