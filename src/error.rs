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
    AddToSourcedProfile {
        profile: String,
        source: String,
    },
    NoKeys {
        profile: String,
        store: String,
    },
    /// Writing to stdout failed (a closed pipe ends the program quietly).
    Output(io::Error),
    /// A value from a variable or flag that vault cannot use.
    BadValue {
        name: &'static str,
        problem: String,
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
            Error::AddToSourcedProfile { source, .. } => {
                Some(format!("add the keys to the source instead: `vault add {source}`"))
            }
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
            _ => None,
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
            Error::Settings { path, problem } => write!(f, "`{}`: {problem}", path.display()),
            Error::BadValue { name, problem } => write!(f, "`{name}`: {problem}"),
            Error::Output(e) => write!(f, "could not write the output: {e}"),
            Error::NoTerminal { question, problem } => {
                write!(f, "cannot ask `{question}`: no terminal ({problem})")
            }
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
            Error::PassphraseMismatch => write!(f, "the two passphrases differ"),
            Error::EmptyPassphrase => write!(f, "the passphrase is empty"),
            Error::StoreCorrupt { path, problem } => {
                write!(f, "store file `{}` is damaged: {problem}", path.display())
            }
            Error::BackendUnavailable { backend, problem } => {
                write!(f, "the {backend} backend failed: {problem}")
            }
        }
    }
}

impl std::error::Error for Error {}
