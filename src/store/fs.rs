//! The file-system steps every store file goes through: private folders (0700), private
//! files (0600), exclusive locks, and atomic writes (temp file, fsync, rename, fsync folder).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::Error;

/// Temp files start with this; a lock holder may remove ones left by a killed vault.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Turns an I/O error about `path` into vault's, naming what was being done.
pub fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// Creates `dir` (and its parents) as 0700 where missing.
pub fn private_dir(dir: &Path) -> Result<(), Error> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error("create the folder", dir))
}

/// An exclusive lock on `path` (made 0600 if missing), held until the file is dropped.
pub fn lock(path: &Path) -> Result<File, Error> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error("open", path))?;
    file.lock().map_err(io_error("lock", path))?;
    Ok(file)
}

/// Writes `path` (0600) so that readers see the old or the new bytes, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let suffix = super::crypto::hex(&super::crypto::random::<8>());
    let temp = dir.join(format!("{TEMP_PREFIX}{suffix}"));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("write", path)(e)
    })
}
