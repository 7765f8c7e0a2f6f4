//! A resolved profile's settings: each value with where it came from (a file and line, a
//! variable, a flag), the overrides that beat every file, and the typed readings of the
//! settings a chain step needs. No I/O.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::is_secret_key;
use crate::config::profiles::{FileKind, Origin};
use crate::error::Error;

/// Where an effective setting came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum From {
    /// Written in a file, in the section of `profile` (the profile itself, one it includes,
    /// or `default`).
    File {
        profile: String,
        file: FileKind,
        line: usize,
    },
    /// An environment variable.
    Env { variable: &'static str },
    /// A command-line flag.
    Flag { flag: &'static str },
}

#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Value {
    pub value: String,
    pub from: From,
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A `Value` may hold a plaintext secret key; its key is not known here.
        f.debug_struct("Value")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Settings that beat every file: flags, else environment, for the selected profile only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `(key, value, source)`, e.g. `("region", "eu-west-2", Env("AWS_REGION"))`.
    pub settings: Vec<(&'static str, String, From)>,
}

impl Overrides {
    /// The aws-vault environment variables that change a profile, flags applied after.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Overrides {
        let mut settings = Vec::new();
        let vars: [(&str, &'static str); 5] = [
            ("role_arn", "AWS_ROLE_ARN"),
            ("mfa_serial", "AWS_MFA_SERIAL"),
            ("role_session_name", "AWS_ROLE_SESSION_NAME"),
            ("region", "AWS_DEFAULT_REGION"),
            ("region", "AWS_REGION"),
        ];
        for (key, variable) in vars {
            if let Some(value) = get(variable).filter(|v| !v.is_empty()) {
                settings.push((key, value, From::Env { variable }));
            }
        }
        Overrides { settings }
    }

    pub fn flag(&mut self, key: &'static str, value: String, flag: &'static str) {
        self.settings.push((key, value, From::Flag { flag }));
    }
}

/// One profile with every setting that applies to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedProfile {
    pub name: String,
    /// Where its section starts, or `None` for a profile known only to the vault.
    #[serde(skip)]
    pub origin: Option<Origin>,
    #[serde(serialize_with = "serialize_hiding_secrets")]
    pub settings: BTreeMap<String, Value>,
}

/// Settings as JSON, with the values of secret keys replaced by `<hidden>`.
fn serialize_hiding_secrets<S: serde::Serializer>(
    settings: &BTreeMap<String, Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(settings.len()))?;
    for (key, value) in settings {
        let shown = Value {
            value: if is_secret_key(key) {
                "<hidden>".to_string()
            } else {
                value.value.clone()
            },
            from: value.from.clone(),
        };
        map.serialize_entry(key, &shown)?;
    }
    map.end()
}

impl ResolvedProfile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(|v| v.value.as_str())
    }

    pub fn region(&self) -> Option<&str> {
        self.get("region")
    }

    pub fn mfa_serial(&self) -> Option<&str> {
        self.get("mfa_serial").filter(|s| !s.is_empty())
    }

    pub fn role_arn(&self) -> Option<&str> {
        self.get("role_arn")
    }

    /// `duration_seconds` as a number of seconds.
    pub fn duration_seconds(&self) -> Result<Option<u64>, Error> {
        let Some(text) = self.get("duration_seconds") else {
            return Ok(None);
        };
        match text.parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(Some(seconds)),
            _ => Err(Error::BadSetting {
                profile: self.name.clone(),
                key: "duration_seconds",
                problem: format!("`{text}` is not a whole number of seconds"),
            }),
        }
    }

    /// `session_tags = k=v, k2=v2`.
    pub fn session_tags(&self) -> Result<Vec<(String, String)>, Error> {
        let Some(text) = self.get("session_tags") else {
            return Ok(Vec::new());
        };
        let mut tags = Vec::new();
        for item in list_items(text) {
            match item.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    tags.push((k.trim().to_string(), v.trim().to_string()))
                }
                _ => {
                    return Err(Error::BadSetting {
                        profile: self.name.clone(),
                        key: "session_tags",
                        problem: format!("`{item}` is not of the form `key=value`"),
                    });
                }
            }
        }
        Ok(tags)
    }

    /// `transitive_session_tags = k, k2`: each must be a key of `session_tags`.
    pub fn transitive_session_tags(&self) -> Result<Vec<String>, Error> {
        let Some(text) = self.get("transitive_session_tags") else {
            return Ok(Vec::new());
        };
        let tags = self.session_tags()?;
        let mut keys = Vec::new();
        for item in list_items(text) {
            if !tags.iter().any(|(k, _)| k == item) {
                return Err(Error::BadSetting {
                    profile: self.name.clone(),
                    key: "transitive_session_tags",
                    problem: format!("`{item}` is not a key of `session_tags`"),
                });
            }
            keys.push(item.to_string());
        }
        Ok(keys)
    }
}

/// Comma-separated items, trimmed; an empty item is kept so that it can be refused.
fn list_items(text: &str) -> impl Iterator<Item = &str> {
    let text = text.trim();
    text.split(',')
        .map(str::trim)
        .filter(move |_| !text.is_empty())
}
