//! Raw sections of the config and credentials files -> one merged set of profiles.
//!
//! Owns the naming rules (`[profile x]` in config, `[x]` in credentials, `[default]`,
//! `[sso-session x]`) and the merge rules of the cross-SDK vectors. No I/O.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use super::parse::{RawSection, redacted};

/// Which of the two shared files a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Config,
    Credentials,
}

/// Where a section or a setting was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub file: FileKind,
    pub line: usize,
}

/// A line of one of the two files, for errors: shown as `` `~/.aws/config` line 3 ``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = crate::paths::display_path(&self.path);
        write!(f, "`{path}` line {}", self.line)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub origin: Origin,
}

/// A profile or an `[sso-session]`: a name and its settings, keys lower-cased, in the order
/// they were first written.
#[derive(Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The first header that named it.
    pub origin: Origin,
    settings: Vec<(String, Setting)>,
}

impl fmt::Debug for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, setting) in &self.settings {
            map.entry(key, &redacted(key, &setting.value));
        }
        map.finish()
    }
}

impl Section {
    fn new(name: &str, origin: Origin) -> Section {
        Section {
            name: name.to_string(),
            origin,
            settings: Vec::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.setting(key).map(|s| s.value.as_str())
    }

    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    pub fn settings(&self) -> impl Iterator<Item = (&str, &Setting)> {
        self.settings.iter().map(|(k, s)| (k.as_str(), s))
    }

    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }

    /// Later writes win, and keep the place of the first.
    fn set(&mut self, key: &str, setting: Setting) {
        match self.settings.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = setting,
            None => self.settings.push((key.to_string(), setting)),
        }
    }
}

/// Every profile and sso-session of both files, merged, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSet {
    profiles: Vec<Section>,
    profile_index: HashMap<String, usize>,
    sso_sessions: Vec<Section>,
    sso_index: HashMap<String, usize>,
    /// Sections passed over (bad names, missing `profile ` prefix), for `--debug`.
    pub ignored: Vec<(Origin, String)>,
    /// Where the config and the credentials file are (`config::load` sets them), so that
    /// errors can name the file: see [`ProfileSet::place`].
    pub paths: Option<(PathBuf, PathBuf)>,
}

impl ProfileSet {
    /// Merges the config file's sections, then the credentials file's over them.
    pub fn new(config: &[RawSection], credentials: &[RawSection]) -> ProfileSet {
        let mut set = ProfileSet::default();
        // `[profile default]` in the config file hides every bare `[default]` there.
        let prefixed_default = config
            .iter()
            .any(|s| profile_name(&s.header) == Some("default"));
        for section in config {
            let origin = Origin {
                file: FileKind::Config,
                line: section.line,
            };
            let target = if section.header == "default" {
                if prefixed_default {
                    set.ignored.push((origin, section.header.clone()));
                    continue;
                }
                Some((false, "default"))
            } else if let Some(name) = profile_name(&section.header) {
                Some((false, name))
            } else {
                prefixed(&section.header, "sso-session").map(|name| (true, name))
            };
            match target {
                Some((sso, name)) if is_valid_name(name) => set.merge(sso, name, origin, section),
                _ => set.ignored.push((origin, section.header.clone())),
            }
        }
        for section in credentials {
            let origin = Origin {
                file: FileKind::Credentials,
                line: section.line,
            };
            if is_valid_name(&section.header) {
                set.merge(false, &section.header, origin, section);
            } else {
                set.ignored.push((origin, section.header.clone()));
            }
        }
        set
    }

    fn merge(&mut self, sso: bool, name: &str, origin: Origin, raw: &RawSection) {
        let (sections, index) = if sso {
            (&mut self.sso_sessions, &mut self.sso_index)
        } else {
            (&mut self.profiles, &mut self.profile_index)
        };
        let at = *index.entry(name.to_string()).or_insert_with(|| {
            sections.push(Section::new(name, origin));
            sections.len() - 1
        });
        let section = &mut sections[at];
        for property in &raw.properties {
            if is_valid_name(&property.key) {
                let setting = Setting {
                    value: property.value.clone(),
                    origin: Origin {
                        file: origin.file,
                        line: property.line,
                    },
                };
                section.set(&property.key, setting);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Section> {
        self.profile_index.get(name).map(|&i| &self.profiles[i])
    }

    pub fn sso_session(&self, name: &str) -> Option<&Section> {
        self.sso_index.get(name).map(|&i| &self.sso_sessions[i])
    }

    /// Profiles in order of first appearance (config file first).
    pub fn profiles(&self) -> &[Section] {
        &self.profiles
    }

    pub fn sso_sessions(&self) -> &[Section] {
        &self.sso_sessions
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// `origin` as a file and line (the files' plain names when no paths were set).
    pub fn place(&self, origin: Origin) -> Place {
        let path = match (&self.paths, origin.file) {
            (Some((config, _)), FileKind::Config) => config.clone(),
            (Some((_, credentials)), FileKind::Credentials) => credentials.clone(),
            (None, FileKind::Config) => PathBuf::from("config"),
            (None, FileKind::Credentials) => PathBuf::from("credentials"),
        };
        Place {
            path,
            line: origin.line,
        }
    }
}

/// `profile NAME` (any white space after the word) -> `NAME`.
fn profile_name(header: &str) -> Option<&str> {
    prefixed(header, "profile")
}

fn prefixed<'a>(header: &'a str, word: &str) -> Option<&'a str> {
    let rest = header.strip_prefix(word)?;
    rest.starts_with(char::is_whitespace).then(|| rest.trim())
}

/// Profile, sso-session and property names: ASCII letters, digits and `-/.%@_:+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse;

    fn set(config: &str, credentials: &str) -> ProfileSet {
        ProfileSet::new(&parse(config).unwrap(), &parse(credentials).unwrap())
    }

    #[test]
    fn keeps_file_order_and_origins() {
        let s = set(
            "[profile b]\nx=1\n[profile a]\n[default]\n",
            "[c]\n[b]\nx=2\n",
        );
        let names: Vec<_> = s.profiles().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "default", "c"]);
        let x = s.get("b").unwrap().setting("x").unwrap();
        assert_eq!(
            (x.value.as_str(), x.origin.file, x.origin.line),
            ("2", FileKind::Credentials, 3)
        );
    }

    #[test]
    fn records_ignored_sections() {
        let s = set("[foo]\n[profile bad name]\n", "");
        assert!(s.is_empty());
        assert_eq!(s.ignored.len(), 2);
    }
}
