//! The `pass` backend: entries as `.gpg` files of a password store, through the `pass`
//! command (or a compatible one, e.g. gopass), under a prefix (default `vault`): keys at
//! `<prefix>/keys/<profile>`, each session at `<prefix>/sessions/<digest>`. `list` reads file
//! names (and, for sessions, an index of names, kinds and expiry times) and decrypts nothing.
//! Every call runs with stdin given or null, output captured, and a time limit, so that a
//! gpg-agent that cannot ask for a passphrase never hangs vault. It must not put a secret in
//! argv or the environment.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use blake2::{Blake2s256, Digest};

use super::fs::{MAX_INDEX, check_dir, lock, private_dir, read_file, write_atomic};
use super::{Credentials, EntryId, EntryMeta, Listing, Store};
use crate::error::{Error, Result};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// How long one `pass` call may take: gpg-agent may be showing a passphrase prompt.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Why a `pass` call gave no output.
#[derive(Debug)]
pub enum RunError {
    /// The program is not on PATH.
    NotFound(String),
    TimedOut,
    Other(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NotFound(cmd) => write!(f, "`{cmd}` is not installed (not found on PATH)"),
            RunError::TimedOut => write!(
                f,
                "`pass` did not finish within {} s (gpg-agent may be waiting for a passphrase no one can type)",
                TIMEOUT.as_secs()
            ),
            RunError::Other(problem) => f.write_str(problem),
        }
    }
}

/// `cmd ARGS` on the store at `dir` (`PASSWORD_STORE_DIR`), `input` on stdin (else
/// /dev/null), stdout and stderr captured, stopped after `timeout`.
pub fn run(
    cmd: &str,
    dir: &Path,
    args: &[&str],
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, RunError> {
    let mut command = crate::process::command(cmd);
    command
        .args(args)
        .env("PASSWORD_STORE_DIR", dir)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = crate::process::with_child_limits(|| command.spawn()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RunError::NotFound(cmd.to_string())
        } else {
            RunError::Other(format!("could not start `{cmd}`: {e}"))
        }
    })?;
    let writer = child.stdin.take().map(|mut stdin| {
        let bytes = zeroize::Zeroizing::new(input.unwrap_or_default().to_vec());
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        })
    });
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut);
            }
            Err(e) => return Err(RunError::Other(format!("`{cmd}` failed: {e}"))),
        }
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The first line of a failed call's stderr, for a message.
pub fn first_line(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    format!("{line} ({})", output.status)
}

/// vault's entries in a password store.
pub struct PassStore {
    cmd: String,
    dir: PathBuf,
    prefix: String,
    index_dir: PathBuf,
}

impl PassStore {
    pub fn new(cmd: String, dir: PathBuf, prefix: String, index_dir: PathBuf) -> PassStore {
        let prefix = prefix.trim_matches('/').to_string();
        PassStore {
            cmd,
            dir,
            prefix,
            index_dir,
        }
    }

    fn root(&self) -> PathBuf {
        if self.prefix.is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(&self.prefix)
        }
    }

    /// The pass name of an entry (a path under the store, without `.gpg`).
    fn name(&self, id: &EntryId) -> String {
        let inner = match id {
            EntryId::Keys { profile } => format!("keys/{profile}"),
            EntryId::Session(_) => {
                let digest = Blake2s256::digest(id.text().as_bytes());
                format!("sessions/{}", super::crypto::hex(&digest[..16]))
            }
        };
        if self.prefix.is_empty() {
            inner
        } else {
            format!("{}/{inner}", self.prefix)
        }
    }

    fn file(&self, id: &EntryId) -> PathBuf {
        self.dir.join(format!("{}.gpg", self.name(id)))
    }

    fn index_path(&self) -> PathBuf {
        self.index_dir.join("pass-index.json")
    }

    fn read_index(&self) -> Result<Vec<EntryMeta>> {
        if !check_dir(&self.index_dir)? {
            return Ok(Vec::new());
        }
        let path = self.index_path();
        match read_file(&path, MAX_INDEX)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::StoreCorrupt {
                path,
                problem: e.to_string(),
            }),
            None => Ok(Vec::new()),
        }
    }

    fn update_index(&self, change: impl FnOnce(&mut Vec<EntryMeta>)) -> Result<()> {
        private_dir(&self.index_dir)?;
        let _lock = lock(&self.index_dir.join(".pass-index.lock"))?;
        let mut index = self.read_index()?;
        change(&mut index);
        let json = serde_json::to_vec_pretty(&index).expect("the index serializes");
        write_atomic(&self.index_path(), &json)
    }

    /// Runs `pass ARGS`, turning a failure into a plain error with a hint.
    fn pass(&self, args: &[&str], input: Option<&[u8]>) -> Result<Output> {
        let output = run(&self.cmd, &self.dir, args, input, TIMEOUT).map_err(|e| match e {
            RunError::NotFound(cmd) => Error::Pass {
                problem: format!("`{cmd}` is not installed (not found on PATH)"),
                hint: "install pass (Debian: `apt install pass`), name another command with AWS_VAULT_PASS_CMD or --pass-cmd, or choose another backend".into(),
            },
            RunError::TimedOut => Error::Pass {
                problem: RunError::TimedOut.to_string(),
                hint: "unlock your gpg key first (e.g. `pass show` once in a terminal), then try again".into(),
            },
            RunError::Other(problem) => Error::Pass {
                problem,
                hint: "check that `pass` works in a terminal".into(),
            },
        })?;
        if output.status.success() {
            return Ok(output);
        }
        let line = first_line(&output);
        let hint = if line.contains("No secret key")
            || line.contains("ioctl")
            || line.contains("pinentry")
            || line.contains("agent")
            || line.contains("decryption failed")
        {
            "gpg-agent could not ask for the key's passphrase (no agent, or no terminal for pinentry), or the key is not in this keyring: unlock it in a terminal first (`pass show` once), or run vault where pinentry can show"
        } else if line.contains("not in the password store") || line.contains("is not initialized")
        {
            "initialise the store with `pass init GPG-ID` (or name it with AWS_VAULT_PASS_PASSWORD_STORE_DIR or --pass-dir)"
        } else {
            "check that `pass` works in a terminal"
        };
        Err(Error::Pass {
            problem: format!("`{} {}` failed: {line}", self.cmd, args[0]),
            hint: hint.into(),
        })
    }

    fn keys_under(root: &Path, relative: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            match entry.file_type() {
                Ok(t) if t.is_dir() => Self::keys_under(&entry.path(), &path, out),
                Ok(t) if t.is_file() => {
                    if let Some(profile) = path.strip_suffix(".gpg") {
                        out.push(profile.to_string());
                    }
                }
                _ => {}
            }
        }
    }
}

impl Store for PassStore {
    fn describe(&self) -> String {
        format!(
            "the pass store at `{}` (prefix `{}`)",
            crate::paths::display_path(&self.dir),
            self.prefix
        )
    }

    fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        let mut profiles = Vec::new();
        Self::keys_under(&self.root().join("keys"), "", &mut profiles);
        for profile in profiles {
            let meta = EntryMeta {
                id: EntryId::Keys { profile },
                expiration: None,
                source: None,
            };
            if meta.is_valid() {
                listing.entries.push(meta);
            }
        }
        // Sessions: the index names them, the files make them exist.
        for meta in self.read_index()? {
            if meta.is_valid()
                && matches!(meta.id, EntryId::Session(_))
                && std::fs::symlink_metadata(self.file(&meta.id)).is_ok_and(|m| m.is_file())
            {
                listing.entries.push(meta);
            }
        }
        listing.entries.sort_by_cached_key(|e| e.id.text());
        Ok(listing)
    }

    fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        if !std::fs::symlink_metadata(self.file(id)).is_ok_and(|m| m.is_file()) {
            return Ok(None);
        }
        let output = self.pass(&["show", "--", &self.name(id)], None)?;
        let bytes = zeroize::Zeroizing::new(output.stdout);
        let expiration = match id {
            EntryId::Keys { .. } => None,
            EntryId::Session(_) => self
                .read_index()?
                .into_iter()
                .find(|m| m.id == *id)
                .and_then(|m| m.expiration),
        };
        Credentials::from_secret_json(bytes.trim_ascii_end(), expiration)
            .map(Some)
            .ok_or_else(|| Error::Pass {
                problem: format!("`{}` is not an entry vault wrote", self.name(id)),
                hint: "remove it with `pass rm`, or store the keys again with `vault add`".into(),
            })
    }

    fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
        let json = credentials.to_secret_json();
        self.pass(&["insert", "-m", "-f", "--", &self.name(id)], Some(&json))?;
        if let EntryId::Session(key) = id {
            let meta = EntryMeta {
                id: id.clone(),
                expiration: credentials.expiration,
                source: Some(key.source.clone()),
            };
            self.update_index(|index| {
                index.retain(|m| m.id != *id);
                index.push(meta);
            })?;
        }
        Ok(())
    }

    fn remove(&mut self, id: &EntryId) -> Result<bool> {
        let existed = std::fs::symlink_metadata(self.file(id)).is_ok_and(|m| m.is_file());
        if existed {
            self.pass(&["rm", "-f", "--", &self.name(id)], None)?;
        }
        if matches!(id, EntryId::Session(_)) {
            self.update_index(|index| index.retain(|m| m.id != *id))?;
        }
        Ok(existed)
    }
}
