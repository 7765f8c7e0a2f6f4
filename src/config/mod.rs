//! The AWS shared config and credentials files: where they are, and reading them.
//!
//! `parse` turns text into sections, `profiles` merges them, `resolve` turns a profile name
//! into settings and a chain. Only `load` here reads the file system; `edit` writes the
//! config file. No room here imports from `commands/` or `cli.rs`, the rooms above it.

pub mod edit;
pub mod editor;
pub mod parse;
pub mod profiles;
pub mod resolve;
pub mod roles;

use std::io;
use std::path::{Path, PathBuf};

use crate::error::Error;
pub use profiles::{FileKind, ProfileSet};

/// The two shared files and what they hold.
#[derive(Debug)]
pub struct Config {
    pub config_path: PathBuf,
    pub credentials_path: PathBuf,
    pub profiles: ProfileSet,
}

impl Config {
    pub fn path(&self, file: FileKind) -> &Path {
        match file {
            FileKind::Config => &self.config_path,
            FileKind::Credentials => &self.credentials_path,
        }
    }

    /// `credential_source` takes the SDKs' three values; another is named with its file and
    /// line.
    pub fn check_credential_source(&self, chain: &resolve::Chain) -> Result<(), Error> {
        use resolve::{Base, From};
        let Base::NamedSource { profile, source } = &chain.base else {
            return Ok(());
        };
        if matches!(
            source.as_str(),
            "Environment" | "Ec2InstanceMetadata" | "EcsContainer"
        ) {
            return Ok(());
        }
        match profile.settings.get("credential_source").map(|v| &v.from) {
            Some(From::File { file, line, .. }) => Err(Error::UnknownCredentialSource {
                path: self.path(*file).to_path_buf(),
                line: *line,
                value: source.clone(),
            }),
            _ => Err(Error::BadSetting {
                profile: profile.name.clone(),
                key: "credential_source",
                problem: format!(
                    "`{source}` is not one of Environment, Ec2InstanceMetadata, EcsContainer"
                ),
            }),
        }
    }
}

/// `AWS_CONFIG_FILE` or `~/.aws/config`, as the AWS CLI finds it.
pub fn config_path(var: impl Fn(&str) -> Option<String>) -> PathBuf {
    file_path(&var, "AWS_CONFIG_FILE", "config")
}

/// `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
pub fn credentials_path(var: impl Fn(&str) -> Option<String>) -> PathBuf {
    file_path(&var, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

fn file_path(var: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> PathBuf {
    match var(name).filter(|v| !v.is_empty()) {
        Some(path) => expand_home(&path),
        None => home_dir().join(".aws").join(default),
    }
}

fn home_dir() -> PathBuf {
    dirs::home_dir().unwrap_or_else(|| PathBuf::from("/"))
}

/// `~/x` -> `$HOME/x`, as the AWS CLI does for these variables.
fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home_dir().join(rest),
        None if path == "~" => home_dir(),
        None => PathBuf::from(path),
    }
}

/// The two files the environment names (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`,
/// else under `~/.aws`), read and merged.
pub fn load_from_env() -> Result<Config, Error> {
    load(crate::env::var)
}

/// Reads and merges both files. A missing file is an empty one.
pub fn load(var: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
    let config_path = config_path(&var);
    let credentials_path = credentials_path(&var);
    let config = read_sections(&config_path)?;
    let credentials = read_sections(&credentials_path)?;
    crate::debug!(
        "read `{}` ({} sections) and `{}` ({} sections)",
        config_path.display(),
        config.len(),
        credentials_path.display(),
        credentials.len()
    );
    let mut profiles = ProfileSet::new(&config, &credentials);
    profiles.paths = Some((config_path.clone(), credentials_path.clone()));
    for (origin, header) in &profiles.ignored {
        crate::debug!(
            "ignored section `[{header}]` at line {} of the {:?} file",
            origin.line,
            origin.file
        );
    }
    Ok(Config {
        config_path,
        credentials_path,
        profiles,
    })
}

fn read_sections(path: &Path) -> Result<Vec<parse::RawSection>, Error> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| Error::ConfigParse {
            path: path.to_path_buf(),
            line: line_of(e.as_bytes(), e.utf8_error().valid_up_to()),
            message: "the file is not valid UTF-8 text",
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse::parse(&text).map_err(|e| Error::ConfigParse {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count()
}
