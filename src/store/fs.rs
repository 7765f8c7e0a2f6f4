//! The file-system steps every store file goes through: private folders (0700; an existing
//! one is checked before it is trusted), private files (0600) opened without following links
//! or blocking, exclusive locks, and atomic writes (temp file, fsync, rename, fsync folder).
//! It must not decide what the files mean.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::error::Error;

/// Temp files start with this; a lock holder may remove ones left by a killed vault.
pub const TEMP_PREFIX: &str = ".tmp-";

/// The most an entry, `vault.json` or a lock may hold; vault writes a few hundred bytes.
pub const MAX_FILE: u64 = 1 << 20;

/// The most an index may hold (about 50,000 entries).
pub const MAX_INDEX: u64 = 16 << 20;

/// Every store file is opened so that a planted link is not followed (`O_NOFOLLOW`), a FIFO
/// or device does not block the open (`O_NONBLOCK`), and a terminal does not become vault's
/// controlling terminal (`O_NOCTTY`).
const OPEN_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;

/// Turns an I/O error about `path` into vault's, naming what was being done.
pub fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// Creates `dir` (and its parents) as 0700 where missing; an existing `dir` must pass
/// [`check_dir`].
pub fn private_dir(dir: &Path) -> Result<(), Error> {
    if check_dir(dir)? {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error("create the folder", dir))?;
    // Another process may have made it in the meantime, with other rights.
    check_dir(dir).map(|_| ())
}

/// Whether `dir` exists. An existing folder must be owned by the user vault runs as,
/// with no permission at all for group or others: vault makes its folders 0700, and a
/// folder others can change lets them plant links, FIFOs and entries, while one others can
/// read tells them which profiles have keys (entry names are digests of profile names).
/// A link to such a folder is followed: what is checked is the folder used.
pub fn check_dir(dir: &Path) -> Result<bool, Error> {
    let meta = match fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_error("read", dir)(e)),
    };
    if !meta.is_dir() {
        // Not a folder: using it fails, naming the file vault wanted in it.
        return Ok(true);
    }
    let user = nix::unistd::geteuid().as_raw();
    if !is_private(meta.uid(), meta.mode(), user) {
        return Err(Error::UnsafeFolder {
            path: dir.to_path_buf(),
            owner: meta.uid(),
            mode: meta.mode(),
            user,
        });
    }
    Ok(true)
}

/// A folder (or file) of `owner` with permission bits `mode` is private to `user`.
pub fn is_private(owner: u32, mode: u32, user: u32) -> bool {
    owner == user && mode & 0o077 == 0
}

/// The bytes of the store file at `path`, or `None` when there is none. Only a regular file
/// of at most `max` bytes is read; a link, FIFO, device or larger file is an error, found
/// without waiting.
pub fn read_file(path: &Path, max: u64) -> Result<Option<Vec<u8>>, Error> {
    match fs::symlink_metadata(path) {
        Ok(meta) => check_kind(path, &meta, max)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path)(e)),
    }
    // Checked again on what was opened: the file may have been swapped since.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(OPEN_FLAGS)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_error(path, e)),
    };
    let meta = file.metadata().map_err(io_error("read", path))?;
    check_kind(path, &meta, max)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error("read", path))?;
    if bytes.len() as u64 > max {
        return Err(too_large(path, max));
    }
    Ok(Some(bytes))
}

/// An exclusive lock on `path` (made 0600 if missing), held until the file is dropped.
pub fn lock(path: &Path) -> Result<File, Error> {
    match fs::symlink_metadata(path) {
        Ok(meta) => check_kind(path, &meta, MAX_FILE)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("open", path)(e)),
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(OPEN_FLAGS)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let meta = file.metadata().map_err(io_error("open", path))?;
    check_kind(path, &meta, MAX_FILE)?;
    file.lock().map_err(io_error("lock", path))?;
    Ok(file)
}

/// Refuses anything but a regular file of at most `max` bytes.
fn check_kind(path: &Path, meta: &Metadata, max: u64) -> Result<(), Error> {
    if let Some(problem) = kind_problem(meta) {
        return Err(unsafe_file(path, problem));
    }
    if meta.len() > max {
        return Err(too_large(path, max));
    }
    Ok(())
}

fn kind_problem(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    Some(if kind.is_file() {
        return None;
    } else if kind.is_symlink() {
        "it is a symbolic link"
    } else if kind.is_fifo() {
        "it is a FIFO, not a regular file"
    } else if kind.is_char_device() || kind.is_block_device() {
        "it is a device, not a regular file"
    } else if kind.is_socket() {
        "it is a socket, not a regular file"
    } else if kind.is_dir() {
        "it is a folder, not a regular file"
    } else {
        "it is not a regular file"
    })
}

/// An error from opening a store file: a link (`ELOOP` under `O_NOFOLLOW`) and a FIFO or
/// socket with no reader (`ENXIO`) are named as such.
fn open_error(path: &Path, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) => unsafe_file(path, "it is a symbolic link"),
        Some(libc::ENXIO) => unsafe_file(path, "it is not a regular file"),
        _ => io_error("open", path)(e),
    }
}

fn unsafe_file(path: &Path, problem: &str) -> Error {
    Error::UnsafeFile {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

fn too_large(path: &Path, max: u64) -> Error {
    unsafe_file(
        path,
        &format!(
            "it is larger than {} KiB, more than vault ever writes",
            max / 1024
        ),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_may_have_any_access() {
        let cases = [
            (1000, 0o40700, 1000, true),
            (1000, 0o40500, 1000, true),
            (0, 0o40700, 0, true),
            (1000, 0o40750, 1000, false),
            (1000, 0o40705, 1000, false),
            (1000, 0o40770, 1000, false),
            (1000, 0o41777, 1000, false),
            (1001, 0o40700, 1000, false),
            // root's store must be root's own too: a folder another user owns is theirs to
            // change.
            (1000, 0o40700, 0, false),
        ];
        for (owner, mode, user, private) in cases {
            assert_eq!(
                is_private(owner, mode, user),
                private,
                "{owner} {mode:o} {user}"
            );
        }
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = lock(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!target.exists(), "the link was followed");
        let err = read_file(Path::new("/dev/null"), MAX_FILE)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a device"), "{err}");
        assert!(
            read_file(&dir.path().join("none"), MAX_FILE)
                .unwrap()
                .is_none()
        );
        let big = dir.path().join("big");
        fs::write(&big, vec![b'x'; 2048]).unwrap();
        let err = read_file(&big, 1024).unwrap_err().to_string();
        assert!(err.contains("larger than 1 KiB"), "{err}");
        assert_eq!(read_file(&big, 2048).unwrap().unwrap().len(), 2048);
    }
}
