//! The recorded backend: which backend holds this person's vault, written to a small file
//! (`backend` in vault's data folder) when vault first writes to a backend it chose by
//! itself, so that later commands know it without asking D-Bus (the warm path asks
//! nothing). A backend named by flag, variable or `config.toml` always wins, and is not
//! recorded. Reading the record never starts a daemon; a recorded backend that is not there
//! any more is an error naming the file and the fix, found before vault's first call to it.
//! It must not hold anything but a backend's name.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::crypto::Key;
use super::fs::{MAX_FILE, check_dir, private_dir, read_file, write_atomic};
use super::sessions::KeySlot;
use super::{Backend, Credentials, EntryId, Listing, Options, Store};
use crate::error::{Error, Result};

/// The record's file in vault's data folder.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("backend")
}

/// The recorded backend, if there is a record.
pub fn read(path: &Path) -> Result<Option<Backend>> {
    let bad = |problem: String| Error::RecordedBackend {
        path: path.to_path_buf(),
        backend: None,
        problem,
    };
    if let Some(dir) = path.parent()
        && !check_dir(dir)?
    {
        return Ok(None);
    }
    let Some(bytes) = read_file(path, MAX_FILE)? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("it is not text".to_string()))?;
    let name = text.trim();
    Backend::parse(name, "the recorded backend")
        .map(Some)
        .map_err(|_| {
            bad(format!(
                "`{}` is not one of {}",
                name.escape_debug(),
                Backend::NAMES.join(", ")
            ))
        })
}

/// Records `backend` where there is no record yet (vault's first write).
pub fn write_once(path: &Path, backend: Backend) -> Result<()> {
    if read_file(path, MAX_FILE)?.is_some() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    write_atomic(path, format!("{}\n", backend.name()).as_bytes())?;
    crate::debug!(
        "store: recorded the {} backend in `{}`",
        backend.name(),
        path.display()
    );
    Ok(())
}

/// Why `backend` cannot be reached here, if it cannot: asked without starting anything (a
/// bus's NameHasOwner, a look along PATH).
pub fn missing(backend: Backend, options: &Options) -> Option<String> {
    let elsewhere = |platform: &str| Some(format!("it exists only on {platform}"));
    match backend {
        Backend::File => None,
        Backend::Keychain if !cfg!(target_os = "macos") => elsewhere("macOS"),
        Backend::Wincred if !cfg!(windows) => elsewhere("Windows"),
        Backend::Keyctl if !cfg!(target_os = "linux") => elsewhere("Linux"),
        Backend::SecretService if !cfg!(target_os = "linux") => elsewhere("Linux"),
        Backend::SecretService
            if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) =>
        {
            Some("there is no D-Bus session bus here (DBUS_SESSION_BUS_ADDRESS is not set)".into())
        }
        Backend::SecretService if !super::secret_service_running() => Some(
            "no Secret Service (gnome-keyring, KeePassXC) is running on the session bus".into(),
        ),
        Backend::Pass if !on_path(&options.pass_cmd) => Some(format!(
            "`{}` is not installed (not found on PATH)",
            options.pass_cmd
        )),
        Backend::Pass if !options.pass_dir.is_dir() => Some(format!(
            "the password store `{}` is not there",
            crate::paths::display_path(&options.pass_dir)
        )),
        _ => None,
    }
}

fn on_path(command: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        return runnable(Path::new(command));
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| runnable(&dir.join(command))))
}

/// A recorded backend, checked once, before the first call that needs it.
#[derive(Clone)]
pub struct Gate(Rc<GateState>);

struct GateState {
    path: PathBuf,
    backend: Backend,
    options: Options,
    missing: OnceCell<Option<String>>,
}

impl Gate {
    pub fn new(path: PathBuf, backend: Backend, options: Options) -> Gate {
        Gate(Rc::new(GateState {
            path,
            backend,
            options,
            missing: OnceCell::new(),
        }))
    }

    fn check(&self) -> Result<()> {
        let state = &self.0;
        let missing = state
            .missing
            .get_or_init(|| missing(state.backend, &state.options));
        match missing {
            None => Ok(()),
            Some(problem) => Err(Error::RecordedBackend {
                path: state.path.clone(),
                backend: Some(state.backend.name()),
                problem: problem.clone(),
            }),
        }
    }
}

/// A store reached only through the gate; listing reads vault's own files and passes.
pub struct Gated {
    pub inner: Box<dyn Store>,
    pub gate: Gate,
}

impl Store for Gated {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn list(&self) -> Result<Listing> {
        self.inner.list()
    }

    fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        self.gate.check()?;
        self.inner.get(id)
    }

    fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
        self.gate.check()?;
        self.inner.put(id, credentials)
    }

    fn remove(&mut self, id: &EntryId) -> Result<bool> {
        self.gate.check()?;
        self.inner.remove(id)
    }

    fn unlock(&mut self) -> Result<()> {
        self.gate.check()?;
        self.inner.unlock()
    }

    fn locked(&self) -> Option<bool> {
        self.inner.locked()
    }
}

/// A session-key slot reached only through the gate.
pub struct GatedSlot {
    pub inner: Box<dyn KeySlot>,
    pub gate: Gate,
}

impl KeySlot for GatedSlot {
    fn get(&mut self, id: &str) -> Result<Option<Key>> {
        self.gate.check()?;
        self.inner.get(id)
    }

    fn put(&mut self, id: &str, key: &Key) -> Result<()> {
        self.gate.check()?;
        self.inner.put(id, key)
    }
}

/// A store vault chose by itself, recorded after its first write.
pub struct Recording {
    pub inner: Box<dyn Store>,
    pub path: PathBuf,
    pub backend: Backend,
    pub recorded: bool,
}

impl Recording {
    fn record(&mut self) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        if let Err(e) = write_once(&self.path, self.backend) {
            crate::debug!("store: the backend in use is not recorded: {e}");
        }
    }
}

impl Store for Recording {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn list(&self) -> Result<Listing> {
        self.inner.list()
    }

    fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        self.inner.get(id)
    }

    fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
        self.inner.put(id, credentials)?;
        self.record();
        Ok(())
    }

    fn remove(&mut self, id: &EntryId) -> Result<bool> {
        self.inner.remove(id)
    }

    fn unlock(&mut self) -> Result<()> {
        self.inner.unlock()
    }

    fn locked(&self) -> Option<bool> {
        self.inner.locked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_written_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("vault");
        let record = path(&data);
        assert_eq!(read(&record).unwrap(), None, "no folder yet");
        write_once(&record, Backend::SecretService).unwrap();
        assert_eq!(
            std::fs::read_to_string(&record).unwrap(),
            "secret-service\n"
        );
        write_once(&record, Backend::File).unwrap();
        assert_eq!(read(&record).unwrap(), Some(Backend::SecretService));
        std::fs::write(&record, "vaultwarden\u{1b}[2J\n").unwrap();
        let err = read(&record).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains(&record.display().to_string())
                && shown.contains("`vaultwarden\\u{1b}[2J` is not one of file, keychain"),
            "{shown}"
        );
        assert!(err.hint().unwrap().contains("remove"), "{:?}", err.hint());
    }

    /// A store that only counts the unlocks asked of it (shared with the test).
    #[derive(Default, Clone)]
    struct Counting {
        unlocked: Rc<std::cell::Cell<usize>>,
    }

    impl Store for Counting {
        fn describe(&self) -> String {
            "counting".into()
        }
        fn list(&self) -> Result<Listing> {
            Ok(Listing::default())
        }
        fn get(&mut self, _: &EntryId) -> Result<Option<Credentials>> {
            Ok(None)
        }
        fn put(&mut self, _: &EntryId, _: &Credentials) -> Result<()> {
            Ok(())
        }
        fn remove(&mut self, _: &EntryId) -> Result<bool> {
            Ok(false)
        }
        fn unlock(&mut self) -> Result<()> {
            self.unlocked.set(self.unlocked.get() + 1);
            Ok(())
        }
    }

    /// The wrappers pass `unlock` on: left to the trait's default, `import credentials-file`
    /// on a store vault chose by itself would no longer ask for the passphrase before it
    /// reads the file it rewrites.
    #[test]
    fn the_wrappers_unlock_what_they_wrap_and_record_at_the_first_write() {
        let dir = tempfile::tempdir().unwrap();
        let record = path(&dir.path().join("vault"));
        let counting = Counting::default();
        let mut store = Recording {
            inner: Box::new(counting.clone()),
            path: record.clone(),
            backend: Backend::File,
            recorded: false,
        };
        store.unlock().unwrap();
        assert_eq!(counting.unlocked.get(), 1);
        assert_eq!(read(&record).unwrap(), None, "unlocking writes nothing");
        let keys = Credentials::keys("AKIAEXAMPLE".into(), "s".to_string().into());
        let id = EntryId::Keys {
            profile: "p".into(),
        };
        store.put(&id, &keys).unwrap();
        assert_eq!(read(&record).unwrap(), Some(Backend::File));
        let mut gated = Gated {
            inner: Box::new(counting.clone()),
            gate: Gate::new(record, Backend::File, test_options(dir.path())),
        };
        gated.unlock().unwrap();
        assert_eq!(counting.unlocked.get(), 2);
    }

    fn test_options(dir: &Path) -> Options {
        Options {
            backend: None,
            data_dir: dir.to_path_buf(),
            file_dir: dir.join("file"),
            index_dir: dir.join("index"),
            unlock_ttl: std::time::Duration::ZERO,
            collection: None,
            pass_cmd: "no-such-pass-command-here".into(),
            pass_dir: dir.join("password-store"),
            pass_prefix: "vault".into(),
        }
    }

    #[test]
    fn a_missing_backend_is_named_without_asking_anyone() {
        let dir = tempfile::tempdir().unwrap();
        let options = test_options(dir.path());
        assert_eq!(missing(Backend::File, &options), None);
        let pass = missing(Backend::Pass, &options).unwrap();
        assert!(
            pass.contains("`no-such-pass-command-here` is not installed"),
            "{pass}"
        );
        let mut with_sh = options.clone();
        with_sh.pass_cmd = "sh".into();
        let store = missing(Backend::Pass, &with_sh).unwrap();
        assert!(
            store.contains("password-store") && store.contains("is not there"),
            "{store}"
        );
        std::fs::create_dir(&with_sh.pass_dir).unwrap();
        assert_eq!(missing(Backend::Pass, &with_sh), None);
        if cfg!(target_os = "linux") {
            assert_eq!(
                missing(Backend::Keychain, &options).as_deref(),
                Some("it exists only on macOS")
            );
        }
    }
}
