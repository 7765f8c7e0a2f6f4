//! Every failure a person can see: data in the variants, wording in `Display`, the next
//! step in `hint`. Nothing here may hold or print a secret.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// A config or credentials file that cannot be read as text or parsed.
    ConfigParse {
        path: PathBuf,
        line: usize,
        message: &'static str,
    },
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    ProfileNotFound {
        profile: String,
        /// The profile whose `source_profile` or `include_profile` names it.
        referenced_from: Option<String>,
        suggestion: Option<String>,
        none_defined: bool,
    },
    ProfileLoop {
        key: &'static str,
        /// Names in order, the first repeated at the end.
        path: Vec<String>,
    },
    ChainTooLong {
        key: &'static str,
        profile: String,
    },
    BothSources {
        profile: String,
    },
    RoleWithoutSource {
        profile: String,
    },
    PartialKeys {
        profile: String,
        missing: &'static str,
    },
    NoCredentials {
        profile: String,
        needed_by: Option<String>,
    },
    WebIdentityWithoutRole {
        profile: String,
    },
    SsoSessionMissing {
        profile: String,
        session: String,
    },
    SsoSetting {
        profile: String,
        problem: String,
    },
    BadSetting {
        profile: String,
        key: &'static str,
        problem: String,
    },
    /// `credential_source` with a value the SDKs do not know, where it is written.
    UnknownCredentialSource {
        path: PathBuf,
        line: usize,
        value: String,
    },
    /// `credential_source` named a provider that gave no credentials.
    CredentialSource {
        profile: String,
        source: String,
        problem: String,
    },
    /// An SSO token file (the AWS CLI's cache) that cannot be used.
    SsoTokenFile {
        path: PathBuf,
        problem: String,
    },
    /// No usable SSO token and no person to sign in.
    SsoLogin {
        session: String,
        profile: String,
        problem: String,
    },
    /// A sign-in that did not finish (denied, expired, timed out).
    SsoLoginFailed {
        session: String,
        problem: String,
    },
    /// A sign-in session (`login_session`, `vault signin`) that cannot be used or made:
    /// `src/signin/` words the problem and the next step.
    LoginSession {
        problem: String,
        hint: String,
    },
    /// Any IAM Identity Center (SSO, SSO OIDC) error, as AWS worded it.
    Sso {
        operation: String,
        code: String,
        message: String,
    },
    /// vault's own `config.toml`.
    Settings {
        path: PathBuf,
        problem: String,
    },
    /// A question needs a terminal and there is none.
    NoTerminal {
        question: String,
        problem: String,
    },
    /// The terminal reached end of input (Ctrl-D) before an answer.
    NoAnswer {
        question: String,
    },
    /// SIGINT, SIGTERM or SIGHUP while a question was open: the terminal is restored, a
    /// newline printed, and vault exits 128 + the signal, printing nothing else.
    Interrupted {
        signal: i32,
    },
    PromptCancelled {
        driver: &'static str,
        question: String,
    },
    PromptProgramMissing {
        driver: &'static str,
        program: &'static str,
        package: &'static str,
    },
    PromptFailed {
        driver: &'static str,
        problem: String,
    },
    PromptTimeout {
        driver: &'static str,
        after: String,
    },
    WrongPassphrase {
        store: String,
    },
    PassphraseMismatch,
    EmptyPassphrase,
    /// A store file that cannot be read as vault wrote it.
    StoreCorrupt {
        path: PathBuf,
        problem: String,
    },
    BackendUnavailable {
        backend: &'static str,
        problem: String,
    },
    /// A store, locks or index folder that is not the user's own and private.
    UnsafeFolder {
        path: PathBuf,
        /// Owner and permission bits as found.
        owner: u32,
        mode: u32,
        /// The effective uid vault runs as.
        user: u32,
    },
    /// A store file that vault will not open: a link, a FIFO, a device, or too large.
    UnsafeFile {
        path: PathBuf,
        problem: String,
    },
    /// `vault.json` asks for something vault never writes (key derivation out of bounds).
    StoreHeader {
        path: PathBuf,
        problem: String,
    },
    AddToSourcedProfile {
        profile: String,
        source: String,
    },
    NoKeys {
        profile: String,
        store: String,
    },
    /// An import source that cannot be read at all.
    ImportSource {
        source: String,
        problem: String,
        hint: String,
    },
    /// The pass backend: `pass` missing, failing, or gpg unable to ask for a passphrase.
    Pass {
        problem: String,
        hint: String,
    },
    /// vault's file store folder holds aws-vault's file store.
    AwsVaultStore {
        path: PathBuf,
    },
    /// An error about a profile that aws-vault's store (or the plaintext file) could fill.
    Importable {
        error: Box<Error>,
        command: String,
    },
    /// `vault import` printed its report and some profiles were not imported.
    ImportIncomplete {
        failed: usize,
    },
    /// Something vault does not do yet, said plainly.
    Unsupported {
        profile: String,
        what: String,
    },
    BadMfaCode {
        serial: String,
    },
    MfaProcess {
        serial: String,
        problem: String,
    },
    MfaRefused {
        serial: String,
    },
    RoleRefused {
        role: String,
        caller: String,
        profile: String,
        has_external_id: bool,
    },
    ChainingLimit {
        profile: String,
    },
    DurationTooLong {
        role: String,
        profile: String,
    },
    /// STS refused the keys a chain starts from (`source` names them).
    KeysRefused {
        source: String,
        code: String,
    },
    SessionExpired {
        profile: String,
    },
    /// Any other STS error, as AWS worded it.
    Sts {
        operation: String,
        code: String,
        message: String,
    },
    StsUnreachable {
        endpoint: String,
        problem: String,
    },
    /// An answer that is not an STS response (no error code): a proxy, a wrong endpoint.
    StsBadResponse {
        endpoint: String,
        problem: String,
    },
    Nested {
        profile: String,
    },
    Recursion {
        profile: String,
    },
    CredentialProcess {
        profile: String,
        problem: String,
    },
    Exec {
        program: String,
        source: io::Error,
    },
    /// The `exec --server` endpoint.
    Server {
        problem: String,
    },
    /// Writing to stdout failed (a closed pipe ends the program quietly).
    Output(io::Error),
    /// A value from a variable or flag that vault cannot use.
    BadValue {
        name: &'static str,
        problem: String,
    },
    /// Any IAM error, as AWS worded it.
    Iam {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// A service other than STS (IAM, the console sign-in endpoint) that cannot be reached.
    ServiceUnreachable {
        service: &'static str,
        endpoint: String,
        problem: String,
    },
    /// An answer that is not the service's (no error code): a proxy, a wrong endpoint.
    ServiceBadResponse {
        service: &'static str,
        endpoint: String,
        problem: String,
    },
    /// `rotate` failed after creating the new key and before storing it: the old key is
    /// still in the vault. `cleanup` is why the new key could not be deleted, if it could not.
    RotateAborted {
        profile: String,
        user: String,
        /// Masked.
        new_key: String,
        step: &'static str,
        cause: Box<Error>,
        cleanup: Option<String>,
    },
    /// `rotate` stored the new key but could not delete the old one.
    OldKeyNotDeleted {
        profile: String,
        user: String,
        /// Masked.
        old_key: String,
        cause: Box<Error>,
    },
    /// The console federation endpoint gave no sign-in token.
    Signin {
        endpoint: String,
        problem: String,
    },
    /// `login`'s one-shot sign-in page was asked for again after it was sent (local ports):
    /// the first to ask may not have been the browser.
    SigninTaken {
        served_to: u16,
        asked_by: u16,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
            Error::ChainTooLong { key, .. } => Some(format!(
                "vault follows at most {} profiles through `{key}`; shorten the chain",
                crate::config::resolve::MAX_CHAIN
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
            Error::SsoTokenFile { .. } => Some(
                "sign in again (`vault sso login PROFILE` or `aws sso login`), which replaces the file".to_string(),
            ),
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
            Error::ImportSource { hint, .. } => Some(hint.clone()),
            Error::Pass { hint, .. } => Some(hint.clone()),
            Error::AwsVaultStore { path } => Some(format!(
                "import its keys with `vault import aws-vault --from file --dir {}`, and keep vault's own store elsewhere (unset AWS_VAULT_FILE_DIR or point it at another folder)",
                crate::paths::display_path(path)
            )),
            Error::Importable { command, .. } => Some(format!("import them with `{command}`")),
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
            Error::BackendUnavailable { .. } => Some(
                "choose another backend with --backend or AWS_VAULT_BACKEND (`file` works anywhere)"
                    .to_string(),
            ),
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

impl Error {
    /// The exit status for this error: 127 and 126 for a command that cannot be run (as
    /// shells do), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Exec { source, .. } if source.kind() == io::ErrorKind::NotFound => 127,
            Error::Exec { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => 126,
            Error::Interrupted { signal } => u8::try_from(128 + signal).unwrap_or(1),
            Error::Importable { error, .. } => error.exit_code(),
            _ => 1,
        }
    }
}

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
            Error::ChainTooLong { key, profile } => write!(
                f,
                "the `{key}` chain of profile `{profile}` is longer than {} profiles",
                crate::config::resolve::MAX_CHAIN
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
            Error::SsoSessionMissing { profile, session } => write!(
                f,
                "sso-session named `{session}` (referenced by profile `{profile}`) was not found"
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
            Error::ImportSource {
                source, problem, ..
            } => {
                write!(f, "cannot import from {source}: {problem}")
            }
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

impl std::error::Error for Error {}
