//! Every failure a person can see: data in the variants (here), wording in `Display`
//! (`display.rs`), the next step in `hint` (`hint.rs`), and the exit code. Nothing here may
//! hold or print a secret, nor reach into the rooms whose failures it words: what a message
//! needs (a path, a limit) is in its variant.

mod display;
mod hint;

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
        /// The most profiles a chain may pass through (the resolver's bound).
        limit: usize,
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
    /// A setting of the config that cannot be used, named with its file, line and key.
    ConfigSetting {
        path: PathBuf,
        line: usize,
        /// Names the key: "`sso_start_url` must use https: ...".
        problem: String,
        hint: Option<String>,
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
    /// `~/.aws/sso/cache` belongs to another user or others may change it (owner and
    /// permission bits as found; `user` is the effective uid vault runs as).
    SsoCacheFolder {
        path: PathBuf,
        owner: u32,
        mode: u32,
        user: u32,
    },
    /// An SSO endpoint override that IAM Identity Center tokens must not be sent to.
    SsoEndpoint {
        variable: &'static str,
        url: String,
        problem: String,
    },
    /// No usable SSO token and no person to sign in.
    SsoLogin {
        session: String,
        profile: String,
        problem: String,
    },
    /// A sign-in session (`login_session`, `vault signin`) that cannot be used or made:
    /// `src/signin/` words the problem and the next step.
    LoginSession {
        problem: String,
        hint: String,
    },
    /// A sign-in that did not finish (denied, expired, timed out).
    SsoLoginFailed {
        session: String,
        problem: String,
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
    /// The profile picker was closed with Esc or Ctrl-D.
    PickCancelled,
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
    /// The recorded backend (`store::recorded`): a record that names none (`backend: None`),
    /// or a backend that is not there any more.
    RecordedBackend {
        path: PathBuf,
        backend: Option<&'static str>,
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
    /// `setup`, `config add-role`, `config sync`: the config was not edited (a link, a
    /// read-only file, a value that would add a line, a team list refused). `problem` is
    /// the whole sentence, with the file and line where known.
    ConfigEdit {
        problem: String,
        hint: Option<String>,
    },
    /// `setup`: the keys are not an IAM user's (root, a session), so there is no user to
    /// find an MFA device for.
    NotIamUser {
        profile: String,
        arn: String,
        stored: bool,
    },
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
    /// `import credentials-file`: another program wrote the file while vault imported it.
    CredentialsFileChanged {
        path: PathBuf,
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

impl std::error::Error for Error {}
