//! What each error says: one lowercase line, names in backticks. Wording only; it must not
//! hold a secret or do I/O.

use std::fmt;

use super::Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConfigParse {
                path,
                line,
                message,
            } => write!(f, "`{}` line {line}: {message}", path.display()),
            Error::Io {
                action,
                path,
                source,
            } => write!(f, "could not {action} `{}`: {source}", path.display()),
            Error::ProfileNotFound {
                profile,
                referenced_from,
                ..
            } => {
                write!(f, "profile `{profile}` not found")?;
                if let Some(from) = referenced_from {
                    write!(f, " (referenced from `{from}`)")?;
                }
                Ok(())
            }
            Error::ProfileLoop { key, path } => {
                let path: Vec<String> = path.iter().map(|p| format!("`{p}`")).collect();
                write!(
                    f,
                    "profile formed an infinite loop through `{key}`: {}",
                    path.join(" -> ")
                )
            }
            Error::ChainTooLong {
                key,
                profile,
                limit,
            } => write!(
                f,
                "the `{key}` chain of profile `{profile}` is longer than {limit} profiles"
            ),
            Error::BothSources { profile } => write!(
                f,
                "profile `{profile}` contained both source_profile and credential_source; only one may be set"
            ),
            Error::RoleWithoutSource { profile } => write!(
                f,
                "profile `{profile}` has a `role_arn`, so the profile must contain `source_profile` or `credential_source`"
            ),
            Error::PartialKeys { profile, missing } => write!(
                f,
                "profile `{profile}` has plaintext keys but is missing `{missing}`"
            ),
            Error::NoCredentials { profile, needed_by } => {
                write!(
                    f,
                    "profile `{profile}` did not contain credential information"
                )?;
                if let Some(by) = needed_by {
                    write!(f, " (it is the source of `{by}`)")?;
                }
                Ok(())
            }
            Error::WebIdentityWithoutRole { profile } => write!(
                f,
                "profile `{profile}` has a `web_identity_token_file` but `role_arn` was missing"
            ),
            Error::ConfigSetting {
                path,
                line,
                problem,
                ..
            } => write!(
                f,
                "`{}` line {line}: {problem}",
                crate::paths::display_path(path)
            ),
            Error::SsoSetting { profile, problem } => {
                write!(f, "profile `{profile}`: {problem}")
            }
            Error::BadSetting {
                profile,
                key,
                problem,
            } => write!(f, "profile `{profile}`: `{key}`: {problem}"),
            Error::UnknownCredentialSource { path, line, value } => write!(
                f,
                "`{}` line {line}: credential_source `{value}` is not one of Environment, Ec2InstanceMetadata, EcsContainer",
                path.display()
            ),
            Error::CredentialSource {
                profile,
                source,
                problem,
            } => write!(
                f,
                "profile `{profile}`: credential_source {source} gave no credentials: {problem}"
            ),
            Error::SsoTokenFile { path, problem } => write!(
                f,
                "the SSO token file `{}` cannot be used: {problem}",
                path.display()
            ),
            Error::SsoCacheFolder {
                path,
                owner,
                mode,
                user,
            } => {
                if owner != user {
                    write!(
                        f,
                        "vault will not use the SSO token cache `{}`: it belongs to uid {owner}, not to you (uid {user})",
                        path.display()
                    )
                } else {
                    write!(
                        f,
                        "vault will not use the SSO token cache `{}`: other users can change it (mode {:04o})",
                        path.display(),
                        mode & 0o7777
                    )
                }
            }
            Error::SsoEndpoint {
                variable,
                url,
                problem,
            } => write!(
                f,
                "vault will not send IAM Identity Center tokens to `{}` (`{variable}`): {problem}",
                crate::text::printable(url)
            ),
            Error::SsoLogin {
                session, problem, ..
            } => write!(
                f,
                "no usable IAM Identity Center sign-in for `{session}`: {problem}"
            ),
            Error::LoginSession { problem, .. } => f.write_str(problem),
            Error::SsoLoginFailed { session, problem } => write!(
                f,
                "the IAM Identity Center sign-in for `{session}` did not finish: {problem}"
            ),
            Error::Sso {
                operation,
                code,
                message,
            } => write!(f, "{operation} failed: {code}: {message}"),
            Error::Settings { path, problem } => write!(f, "`{}`: {problem}", path.display()),
            Error::BadValue { name, problem } => write!(f, "`{name}`: {problem}"),
            Error::Output(e) => write!(f, "could not write the output: {e}"),
            Error::NoTerminal { question, problem } => {
                write!(f, "cannot ask `{question}`: no terminal ({problem})")
            }
            Error::NoAnswer { question } => {
                write!(f, "no answer to `{question}`: the terminal's input ended")
            }
            Error::Interrupted { signal } => write!(f, "interrupted by signal {signal}"),
            Error::PromptCancelled { driver, question } => {
                write!(f, "`{question}` was cancelled in the {driver} dialog")
            }
            Error::PickCancelled => write!(f, "no profile was picked: the list was closed"),
            Error::PromptProgramMissing {
                driver,
                program,
                package,
            } => write!(
                f,
                "the `{driver}` prompt driver needs `{program}`, which is not installed (package: {package})"
            ),
            Error::PromptFailed { driver, problem } => {
                write!(f, "the `{driver}` prompt driver failed: {problem}")
            }
            Error::PromptTimeout { driver, after } => write!(
                f,
                "no answer in the {driver} dialog after {after} (AWS_VAULT_PROMPT_TIMEOUT); it was closed"
            ),
            Error::WrongPassphrase { store } => {
                write!(f, "wrong passphrase for the vault at `{store}`")
            }
            Error::AddToSourcedProfile { profile, source } => write!(
                f,
                "profile `{profile}` has a source_profile of `{source}`, so keys added to `{profile}` would never be used"
            ),
            Error::NoKeys { profile, store } => {
                write!(f, "no credentials for profile `{profile}` in {store}")
            }
            Error::AwsVaultStore { path } => write!(
                f,
                "`{}` is aws-vault's file store, not vault's",
                crate::paths::display_path(path)
            ),
            Error::Importable { error, .. } => write!(f, "{error}"),
            Error::Pass { problem, .. } => write!(f, "the pass backend failed: {problem}"),
            Error::ConfigEdit { problem, .. } => write!(f, "{problem}"),
            Error::NotIamUser { profile, arn, .. } => write!(
                f,
                "the keys of `{profile}` are not an IAM user's: AWS says they are `{arn}`"
            ),
            Error::ImportSource {
                source, problem, ..
            } => {
                write!(f, "cannot import from {source}: {problem}")
            }
            Error::CredentialsFileChanged { path } => write!(
                f,
                "`{}` changed while vault was importing its keys, so vault left it as it is",
                crate::paths::display_path(path)
            ),
            Error::ImportIncomplete { failed } => {
                write!(f, "{failed} not imported")
            }
            Error::Unsupported { profile, what } => {
                write!(
                    f,
                    "profile `{profile}` needs {what}, which vault does not support yet"
                )
            }
            Error::BadMfaCode { serial } => {
                write!(f, "the MFA code for `{serial}` must be 6 digits")
            }
            Error::MfaProcess { serial, problem } => {
                write!(f, "could not get an MFA code for `{serial}`: {problem}")
            }
            Error::MfaRefused { serial } => {
                write!(f, "the MFA code for `{serial}` was refused by AWS")
            }
            Error::RoleRefused { role, caller, .. } => {
                write!(f, "`{caller}` may not assume the role `{role}`")
            }
            Error::ChainingLimit { profile } => write!(
                f,
                "profile `{profile}` asked for more than 1h, the limit for a role assumed through another session"
            ),
            Error::DurationTooLong { role, .. } => write!(
                f,
                "the requested duration is over the maximum session duration of `{role}`"
            ),
            Error::KeysRefused { source, code } => {
                write!(f, "AWS refused the keys of `{source}` ({code})")
            }
            Error::SessionExpired { profile } => {
                write!(
                    f,
                    "a session used for `{profile}` has expired or was revoked"
                )
            }
            Error::Sts {
                operation,
                code,
                message,
            } => write!(f, "{operation} failed: {code}: {message}"),
            Error::StsUnreachable { endpoint, problem } => {
                write!(f, "could not reach STS at `{endpoint}`: {problem}")
            }
            Error::StsBadResponse { endpoint, problem } => write!(
                f,
                "STS at `{endpoint}` sent a response vault cannot read: {problem}"
            ),
            Error::Nested { profile } => write!(
                f,
                "running in an existing vault subshell (AWS_VAULT is `{profile}`)"
            ),
            Error::Recursion { profile } => write!(
                f,
                "profile `{profile}` gets its credentials from a credential_process that runs vault for `{profile}` again"
            ),
            Error::CredentialProcess { profile, problem } => {
                write!(
                    f,
                    "the credential_process of profile `{profile}` failed: {problem}"
                )
            }
            Error::Exec { program, source } => write!(f, "could not run `{program}`: {source}"),
            Error::Server { problem } => write!(f, "the credentials server failed: {problem}"),
            Error::PassphraseMismatch => write!(f, "the two passphrases differ"),
            Error::EmptyPassphrase => write!(f, "the passphrase is empty"),
            Error::StoreCorrupt { path, problem } => {
                write!(f, "store file `{}` is damaged: {problem}", path.display())
            }
            Error::BackendUnavailable { backend, problem } => {
                write!(f, "the {backend} backend failed: {problem}")
            }
            Error::RecordedBackend {
                path,
                backend: Some(backend),
                problem,
            } => write!(
                f,
                "your vault is in the {backend} backend (recorded in `{}`), which is not there: {problem}",
                path.display()
            ),
            Error::RecordedBackend {
                path,
                backend: None,
                problem,
            } => write!(
                f,
                "`{}` should name the backend your vault is in: {problem}",
                path.display()
            ),
            Error::UnsafeFolder {
                path,
                owner,
                mode,
                user,
            } => {
                if owner != user {
                    write!(
                        f,
                        "vault will not use `{}`: it belongs to uid {owner}, not to you (uid {user})",
                        path.display()
                    )
                } else {
                    write!(
                        f,
                        "vault will not use `{}`: other users can {} it (mode {:04o}); it must be 0700",
                        path.display(),
                        if mode & 0o022 != 0 {
                            "change"
                        } else if mode & 0o044 != 0 {
                            "read"
                        } else {
                            "enter"
                        },
                        mode & 0o7777
                    )
                }
            }
            Error::UnsafeFile { path, problem } => {
                write!(f, "vault will not open `{}`: {problem}", path.display())
            }
            Error::StoreHeader { path, problem } => {
                write!(
                    f,
                    "store file `{}` is not one vault wrote: {problem}",
                    path.display()
                )
            }
            Error::Iam {
                operation,
                code,
                message,
            } => write!(f, "{operation} failed: {code}: {message}"),
            Error::ServiceUnreachable {
                service,
                endpoint,
                problem,
            } => write!(f, "could not reach {service} at `{endpoint}`: {problem}"),
            Error::ServiceBadResponse {
                service,
                endpoint,
                problem,
            } => write!(
                f,
                "{service} at `{endpoint}` sent a response vault cannot read: {problem}"
            ),
            Error::RotateAborted {
                profile,
                new_key,
                step,
                cause,
                cleanup,
                ..
            } => {
                write!(f, "could not {step} for `{profile}`: {cause}; ")?;
                match cleanup {
                    None => write!(
                        f,
                        "the new access key `{new_key}` was deleted and the old key is still in the vault"
                    ),
                    Some(problem) => write!(
                        f,
                        "the old key is still in the vault, but the new access key `{new_key}` could not be deleted: {problem}"
                    ),
                }
            }
            Error::OldKeyNotDeleted {
                profile,
                old_key,
                cause,
                ..
            } => write!(
                f,
                "the new access key of `{profile}` is stored and works, but deleting the old access key `{old_key}` failed: {cause}"
            ),
            Error::Signin { endpoint, problem } => {
                write!(f, "no console sign-in token from `{endpoint}`: {problem}")
            }
            Error::SigninTaken {
                served_to,
                asked_by,
            } => write!(
                f,
                "the one-shot sign-in page was asked for twice: it went to local port {served_to}, then port {asked_by} asked; the first may not have been your browser"
            ),
        }
    }
}
