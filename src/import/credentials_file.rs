//! `vault import credentials-file`: moves the static keys of the plaintext credentials file
//! into the vault. Owns finding the key lines (`keys`) and removing them byte-exactly
//! (`without_keys`, pure), the 0600 timestamped backup and the atomic rewrite, which happens
//! only if the file is still the text that was read. It must not change any other byte of
//! the file, follow a link, rewrite a file with other hard links, touch the file under
//! `--keep` or `--dry-run`, nor import from `commands/` or `cli.rs`, the rooms above it.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{Done, Found};
use crate::config::{Config, FileKind};
use crate::error::{Error, Result};
use crate::paths::display_path;
use crate::store::{Credentials, Store, fs};

const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// A line's key, lower-cased, when it is a `key = value` line at the start of the line.
fn key_of(line: &str) -> Option<(String, &str)> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let (key, value) = line.split_once('=')?;
    let value = value.trim();
    // `#` or `;` after whitespace starts a comment (cross-SDK rule for the credentials file).
    let value = match value.find([' ', '\t']) {
        Some(i) if value[i..].trim_start().starts_with(['#', ';']) => value[..i].trim_end(),
        _ => value,
    };
    Some((key.trim().to_ascii_lowercase(), value))
}

fn header_of(line: &str) -> Option<&str> {
    let line = line.trim();
    let inner = line.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(inner[..end].trim())
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with(['#', ';'])
}

/// Sections (profiles) and the key values each holds, in file order.
pub fn keys(text: &str) -> Vec<(String, [Option<String>; 3])> {
    let mut out: Vec<(String, [Option<String>; 3])> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some(name) = header_of(line) {
            current = match out.iter().position(|(n, _)| n == name) {
                Some(i) => Some(i),
                None => {
                    out.push((name.to_string(), Default::default()));
                    Some(out.len() - 1)
                }
            };
            continue;
        }
        if let (Some(i), Some((key, value))) = (current, key_of(line))
            && let Some(k) = KEYS.iter().position(|&name| name == key)
        {
            out[i].1[k] = Some(value.to_string());
        }
    }
    out
}

/// `text` without the key lines of the sections in `remove` (and the indented lines that
/// continue them); a section with no setting left loses its header, and its blank lines
/// unless it keeps a comment. Every other byte, line endings included, is kept.
pub fn without_keys(text: &str, remove: &[String]) -> String {
    // Split into sections: the lines before the first header, then each header's lines.
    let mut sections: Vec<(Option<&str>, Vec<&str>)> = vec![(None, Vec::new())];
    for line in text.split_inclusive('\n') {
        if let Some(name) = header_of(line) {
            sections.push((Some(name), vec![line]));
        } else {
            sections.last_mut().expect("one section").1.push(line);
        }
    }
    let mut out = String::with_capacity(text.len());
    for (name, lines) in sections {
        if !name.is_some_and(|n| remove.iter().any(|r| r == n)) {
            lines.iter().for_each(|l| out.push_str(l));
            continue;
        }
        let mut kept: Vec<&str> = Vec::new();
        let mut in_removed_key = false;
        for line in &lines[1..] {
            let continuation = line.starts_with([' ', '\t']) && !line.trim().is_empty();
            if in_removed_key && continuation {
                continue;
            }
            in_removed_key =
                key_of(line).is_some_and(|(k, _)| KEYS.contains(&k.as_str())) && !is_comment(line);
            if !in_removed_key {
                kept.push(line);
            }
        }
        let has_setting = kept.iter().any(|l| !l.trim().is_empty() && !is_comment(l));
        let has_comment = kept.iter().any(|l| is_comment(l));
        if has_setting {
            out.push_str(lines[0]);
            kept.iter().for_each(|l| out.push_str(l));
        } else if has_comment {
            kept.iter().for_each(|l| out.push_str(l));
        }
    }
    out
}

/// Where the backup goes: beside the file, named with the time.
fn backup_path(path: &Path) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credentials".into());
    path.with_file_name(format!("{name}.vault-backup-{stamp}"))
}

fn refuse(path: &Path, problem: &str) -> Error {
    Error::ImportSource {
        source: format!("the credentials file `{}`", display_path(path)),
        problem: problem.to_string(),
        hint: "nothing was imported or changed; `--keep` imports the keys and leaves the file as it is"
            .to_string(),
    }
}

/// Refuses, before anything is asked or read, a file vault could not rewrite as it should
/// (`rewrite`: neither `--keep` nor `--dry-run`): missing, a link, read-only, or with other
/// hard links, which would still hold the keys after this name was rewritten.
pub fn check(path: &Path, rewrite: bool) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(path, "there is no such file"));
        }
        Err(e) => return Err(fs::io_error("read", path)(e)),
    };
    if rewrite && meta.file_type().is_symlink() {
        return Err(refuse(
            path,
            "it is a symbolic link, and vault rewrites only a regular file",
        ));
    }
    if rewrite && meta.mode() & 0o200 == 0 {
        return Err(refuse(path, "it is read-only"));
    }
    if rewrite && meta.nlink() > 1 {
        return Err(refuse(
            path,
            &format!(
                "it has {} hard links, and the others would still hold the keys after vault rewrote this one",
                meta.nlink()
            ),
        ));
    }
    Ok(())
}

/// The file as read, and what it holds.
pub struct Source {
    pub path: PathBuf,
    text: String,
    pub found: Vec<Found>,
}

impl Source {
    /// Whether any profile has keys to import (so that the store is worth unlocking).
    pub fn has_keys(&self) -> bool {
        self.found.iter().any(|f| f.keys.is_ok())
    }
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read_file(path, fs::MAX_FILE)?.unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| refuse(path, "it is not UTF-8 text"))
}

/// Reads the file and finds each profile's keys.
pub fn read(path: &Path) -> Result<Source> {
    let text = read_text(path)?;
    let mut found = Vec::new();
    for (name, [id, secret, token]) in keys(&text) {
        match (id, secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                found.push(Found::keys(
                    &name,
                    Credentials {
                        access_key_id: id,
                        secret_access_key: SecretString::from(secret),
                        session_token: token.filter(|t| !t.is_empty()).map(SecretString::from),
                        expiration: None,
                    },
                ));
            }
            (None, None) => {}
            (Some(_), _) => found.push(Found::failed(
                &name,
                "it has `aws_access_key_id` but no `aws_secret_access_key`; left in the file",
            )),
            (None, Some(_)) => found.push(Found::failed(
                &name,
                "it has `aws_secret_access_key` but no `aws_access_key_id`; left in the file",
            )),
        }
    }
    Ok(Source {
        path: path.to_path_buf(),
        text,
        found,
    })
}

/// What the rewrite did.
pub struct Rewritten {
    /// How many profiles' keys left the file.
    pub moved: usize,
    /// The file as it was, keys included (0600).
    pub backup: PathBuf,
}

/// Takes the keys now in the vault (and those it already held, unchanged) out of the file:
/// each such profile gets a config section if it has none, the old text goes to a backup,
/// and the new text replaces the file. `None`: no key left the file. If the file is no
/// longer the text `source` read (another program wrote it meanwhile), nothing is written
/// and the error says so; the keys stay in the vault.
pub fn rewrite(
    store: &mut dyn Store,
    config: &Config,
    source: &Source,
    done: &Done,
) -> Result<Option<Rewritten>> {
    let moved = super::moved(store, done)?;
    if moved.is_empty() {
        return Ok(None);
    }
    let path = &source.path;
    unchanged(source)?;
    for name in &moved {
        let in_config = config
            .profiles
            .get(name)
            .is_some_and(|p| p.origin.file == FileKind::Config);
        if !in_config {
            crate::config::edit::append_section(&config.config_path, name)?;
        }
    }
    let new = without_keys(&source.text, &moved);
    let backup = backup_path(path);
    write_backup(&backup, source.text.as_bytes())?;
    // Just before the rename: what another program wrote since the read is not lost.
    if let Err(e) = unchanged(source) {
        let _ = std::fs::remove_file(&backup);
        return Err(e);
    }
    fs::write_atomic(path, new.as_bytes())?;
    Ok(Some(Rewritten {
        moved: moved.len(),
        backup,
    }))
}

/// The file is still the one `source` read: the same text, one link, not a link itself.
fn unchanged(source: &Source) -> Result<()> {
    let path = &source.path;
    let changed = || Error::CredentialsFileChanged {
        path: path.to_path_buf(),
    };
    let meta = std::fs::symlink_metadata(path).map_err(|_| changed())?;
    if !meta.file_type().is_file() || meta.nlink() > 1 {
        return Err(changed());
    }
    match fs::read_file(path, fs::MAX_FILE)? {
        Some(bytes) if bytes == source.text.as_bytes() => Ok(()),
        _ => Err(changed()),
    }
}

/// The backup: a new file, 0600, fsynced; removed again if it could not be written whole.
fn write_backup(path: &Path, bytes: &[u8]) -> Result<()> {
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    result.map_err(|e| {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(path);
        }
        fs::io_error("write the backup", path)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_with_comments_and_case() {
        let text = "[default]\nAWS_Access_Key_ID = AKIA1 ; mine\naws_secret_access_key=s1\n\n[other]\nregion = x\n";
        let found = keys(text);
        assert_eq!(found[0].0, "default");
        assert_eq!(found[0].1[0].as_deref(), Some("AKIA1"));
        assert_eq!(found[0].1[1].as_deref(), Some("s1"));
        assert_eq!(found[1].1, [None, None, None]);
    }

    #[test]
    fn removes_only_key_lines_byte_exactly() {
        let cases = [
            (
                "# top\r\n[a]\r\naws_access_key_id = A\r\nregion = eu\r\naws_secret_access_key = S\r\n\r\n[b]\r\naws_access_key_id = B\r\n",
                vec!["a"],
                "# top\r\n[a]\r\nregion = eu\r\n\r\n[b]\r\naws_access_key_id = B\r\n",
            ),
            (
                "[a]\naws_access_key_id = A\naws_secret_access_key = S\naws_session_token = T\n  more\n\n[b]\nregion = x",
                vec!["a"],
                "[b]\nregion = x",
            ),
            (
                "[a]\n# work keys\naws_access_key_id = A\naws_secret_access_key = S\n",
                vec!["a"],
                "# work keys\n",
            ),
            (
                "[a]\naws_access_key_id=A\naws_secret_access_key=S\n[b]\naws_access_key_id=B\naws_secret_access_key=S\n",
                vec!["a", "b"],
                "",
            ),
        ];
        for (text, remove, expected) in cases {
            let remove: Vec<String> = remove.into_iter().map(String::from).collect();
            assert_eq!(without_keys(text, &remove), expected, "{text:?}");
        }
        let text = "[a]\nregion = x\n";
        assert_eq!(without_keys(text, &["b".to_string()]), text);
    }
}
