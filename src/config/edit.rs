//! Writing `~/.aws/config`: the room that owns every change vault makes to the AWS config
//! file. Today that is appending a section (`vault add`, `import credentials-file`); every
//! existing byte stays as it was. It must not rewrite or reorder what is there, nor name
//! `commands/` or `cli.rs`, the rooms above it.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Appends `[profile NAME]` to the config file, leaving every existing byte as it was.
/// Whatever the umask, a folder it creates is 0700 and a file it creates 0600, as `aws
/// configure` makes them: anyone who can write the config can run code as its owner
/// (`credential_process`). An existing file keeps its mode.
pub fn append_section(path: &Path, profile: &str) -> Result<()> {
    let io = |action| {
        move |source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let existing = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(io("create the folder of"))?;
            }
            Vec::new()
        }
        Err(e) => return Err(io("read")(e)),
    };
    let mut text = String::new();
    if !existing.is_empty() {
        if !existing.ends_with(b"\n") {
            text.push('\n');
        }
        text.push('\n');
    }
    if profile == "default" {
        text.push_str("[default]\n");
    } else {
        text.push_str(&format!("[profile {profile}]\n"));
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(io("open"))?;
    file.write_all(text.as_bytes()).map_err(io("write"))?;
    crate::debug!("added `[profile {profile}]` to `{}`", path.display());
    Ok(())
}
