//! The encrypted file store: one folder (0700), one file per entry (0600).
//!
//! `vault.json` holds the KDF parameters and salt, and the store's random data key wrapped
//! (XChaCha20-Poly1305) under the key derived from the passphrase; a wrong passphrase fails
//! to unwrap it before anything else is read or written. Each entry file holds its metadata
//! in the clear (what it is, when it expires: enough for `list`) and its secret sealed under
//! the data key, with the metadata as associated data. Writes go to a temp file, are synced
//! and renamed into place, under an exclusive lock on `.lock`.
//!
//! The folder and its files may have been changed by someone else: the folder must be the
//! user's own and private before it is used, files are read only as regular files of
//! bounded size (`fs`), KDF costs are bounded, and the index is a hint that never makes an
//! entry exist (it must not be trusted over the entry files).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::crypto::{self, Kdf, Key, Sealed};
use super::fs::{
    MAX_FILE, MAX_INDEX, TEMP_PREFIX, check_dir, io_error, lock, private_dir, read_file,
    write_atomic,
};
use super::unlock::{self, Slot};
use super::{Credentials, EntryId, EntryMeta, Listing, Store};
use crate::error::{Error, Result};
use crate::paths::display_path;
use crate::prompt::Prompt;

const HEADER: &str = "vault.json";
const LOCK: &str = ".lock";
pub(super) const INDEX: &str = "index.json";
const ENTRY_SUFFIX: &str = ".entry";

/// How every file of aws-vault's file store begins: base64url of `{"alg":"PBES2-HS256+A128KW"`
/// (its JWE header, keys sorted).
const AWS_VAULT_JWE: &[u8] = b"eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ci";

/// Whether `dir` (which has no `vault.json`) holds aws-vault's file store: a few of its
/// files are read (bounded, without following links) to see.
fn is_aws_vault_store(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && !name.ends_with(ENTRY_SUFFIX)
        })
        .take(8)
        .any(|e| {
            read_file(&e.path(), MAX_FILE)
                .ok()
                .flatten()
                .is_some_and(|bytes| bytes.starts_with(AWS_VAULT_JWE))
        })
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    /// Random; names the store in the unlock cache and binds its sealed values.
    store_id: String,
    kdf: Kdf,
    /// The data key, sealed under the passphrase's key.
    wrapped_key: Sealed,
    /// Nothing, sealed under the data key: proves a cached key is this store's.
    key_check: Sealed,
}

/// Every entry's metadata in one file, so that `list` need not open each entry. Only a
/// hint: entry files it does not name are read, names it has without files are ignored, and
/// a record is used only if its names are valid and its id hashes to the file it is under.
#[derive(Default, Serialize, Deserialize)]
struct Index {
    entries: BTreeMap<String, Indexed>,
}

#[derive(Serialize, Deserialize)]
struct Indexed {
    meta: EntryMeta,
}

#[derive(Serialize, Deserialize)]
struct EntryFile {
    version: u32,
    meta: EntryMeta,
    sealed: Sealed,
}

/// Where the passphrase comes from when the store must be unlocked.
pub struct Unlock {
    /// `AWS_VAULT_FILE_PASSPHRASE`.
    pub passphrase: Option<SecretString>,
    pub prompt: Box<dyn Prompt>,
    /// How long the unlocked key stays cached; zero: no cache read or written.
    pub ttl: Duration,
    /// KDF parameters for a new store (tests lower them).
    pub new_kdf: fn() -> Kdf,
}

/// Where a folder of entries gets its data key.
pub(super) enum KeyFrom {
    /// The file store: a passphrase unwraps it (`vault.json`).
    Passphrase(Unlock),
    /// A keychain backend's session files: the session key kept in the keychain
    /// (`sessions.rs`).
    SessionKey(super::sessions::SessionUnlock),
}

pub struct FileStore {
    pub(super) dir: PathBuf,
    pub(super) unlock: KeyFrom,
    pub(super) key: Option<(String, Key)>,
}

impl FileStore {
    pub fn new(dir: PathBuf, unlock: Unlock) -> FileStore {
        FileStore {
            dir,
            unlock: KeyFrom::Passphrase(unlock),
            key: None,
        }
    }

    /// The passphrase's settings: only the file store has them.
    fn passphrase_unlock(&mut self) -> &mut Unlock {
        match &mut self.unlock {
            KeyFrom::Passphrase(unlock) => unlock,
            KeyFrom::SessionKey(_) => {
                unreachable!("session files are never unlocked by a passphrase")
            }
        }
    }

    fn shown_dir(&self) -> String {
        display_path(&self.dir)
    }

    fn io(&self, action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
        io_error(action, path)
    }

    fn entry_path(&self, id: &EntryId) -> PathBuf {
        self.dir.join(entry_file_name(id))
    }

    /// Whether the store folder exists; an existing one must be the user's own and private.
    fn checked_dir(&self) -> Result<bool> {
        check_dir(&self.dir)
    }

    /// A folder of aws-vault's files is not taken for (or turned into) a vault store.
    fn not_aws_vault(&self) -> Result<()> {
        if matches!(self.unlock, KeyFrom::Passphrase(_))
            && !self.dir.join(HEADER).exists()
            && is_aws_vault_store(&self.dir)
        {
            return Err(Error::AwsVaultStore {
                path: self.dir.clone(),
            });
        }
        Ok(())
    }

    fn read_header(&self) -> Result<Option<Header>> {
        if !self.checked_dir()? {
            return Ok(None);
        }
        let path = self.dir.join(HEADER);
        let Some(bytes) = read_file(&path, MAX_FILE)? else {
            self.not_aws_vault()?;
            return Ok(None);
        };
        let header: Header = serde_json::from_slice(&bytes).map_err(|e| Error::StoreHeader {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        // Before anything runs them, and whether or not the key is cached: a header with
        // costs vault never writes was changed by someone else.
        header.kdf.check().map_err(|problem| Error::StoreHeader {
            path,
            problem: format!("key derivation: {problem}"),
        })?;
        Ok(Some(header))
    }

    /// The store id and data key, to write with: from memory, the unlock cache, or the
    /// passphrase or the keychain (creating the store, or the session key, when there is none
    /// yet).
    fn key(&mut self) -> Result<(String, Key)> {
        if let Some(unlocked) = &self.key {
            return Ok(unlocked.clone());
        }
        let unlocked = match self.unlock {
            KeyFrom::Passphrase(_) => self.unlock_now()?,
            KeyFrom::SessionKey(_) => self.session_key_to_write()?,
        };
        self.key = Some(unlocked.clone());
        Ok(unlocked)
    }

    /// The store id and data key, to read with; `None` for session files whose session key
    /// is gone from the keychain: what they hold can no longer be opened, and is absent.
    fn key_to_read(&mut self) -> Result<Option<(String, Key)>> {
        if let Some(unlocked) = &self.key {
            return Ok(Some(unlocked.clone()));
        }
        let unlocked = match self.unlock {
            KeyFrom::Passphrase(_) => Some(self.unlock_now()?),
            KeyFrom::SessionKey(_) => self.session_key_to_read()?,
        };
        self.key.clone_from(&unlocked);
        Ok(unlocked)
    }

    fn unlock_now(&mut self) -> Result<(String, Key)> {
        let header = match self.read_header()? {
            Some(header) => header,
            None => return self.create(),
        };
        let context = wrap_context(&header.store_id);
        let ttl = self.passphrase_unlock().ttl;
        if !ttl.is_zero()
            && let Some(key) = unlock::get(Slot::FileStore, &header.store_id)
        {
            if self.check_key(&header, &key) {
                return Ok((header.store_id, key));
            }
            unlock::forget(Slot::FileStore, &header.store_id);
        }
        let question = format!("Enter passphrase to unlock `{}`: ", self.shown_dir());
        let passphrase = self.passphrase(&question)?;
        crate::debug!(
            "file store: deriving the key (argon2id, {} KiB)",
            header.kdf.memory_kib
        );
        let kek = header
            .kdf
            .derive(passphrase.expose_secret().as_bytes())
            .map_err(|problem| Error::StoreHeader {
                path: self.dir.join(HEADER),
                problem: format!("key derivation: {problem}"),
            })?;
        let data_key = crypto::open(&kek, &header.wrapped_key, &context).ok_or_else(|| {
            Error::WrongPassphrase {
                store: self.shown_dir(),
            }
        })?;
        let key = to_key(&data_key).ok_or_else(|| Error::StoreHeader {
            path: self.dir.join(HEADER),
            problem: "the wrapped key has the wrong length".to_string(),
        })?;
        unlock::put(Slot::FileStore, &header.store_id, &key, ttl);
        Ok((header.store_id, key))
    }

    /// Whether `key` (from the unlock cache) is this store's data key.
    fn check_key(&self, header: &Header, key: &Key) -> bool {
        crypto::open(key, &header.key_check, &check_context(&header.store_id)).is_some()
    }

    fn passphrase(&mut self, question: &str) -> Result<SecretString> {
        let unlock = self.passphrase_unlock();
        if let Some(passphrase) = &unlock.passphrase {
            return Ok(passphrase.clone());
        }
        let answer = unlock.prompt.ask(question, true)?;
        Ok(SecretString::from(answer.as_str()))
    }

    /// A new store: a passphrase (asked twice), a random data key, the header.
    fn create(&mut self) -> Result<(String, Key)> {
        let question = format!(
            "Enter a passphrase for the new vault at `{}`: ",
            self.shown_dir()
        );
        let unlock = self.passphrase_unlock();
        let passphrase = match &unlock.passphrase {
            Some(passphrase) => passphrase.clone(),
            None => {
                let first = unlock.prompt.ask(&question, true)?;
                let second = unlock.prompt.ask("Enter the passphrase again: ", true)?;
                if first.as_str() != second.as_str() {
                    return Err(Error::PassphraseMismatch);
                }
                SecretString::from(first.as_str())
            }
        };
        if passphrase.expose_secret().is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        self.ensure_dir()?;
        let _lock = self.lock()?;
        // Another process may have made the store while we asked.
        if self.read_header()?.is_some() {
            self.key = None;
            return self.unlock_now();
        }
        let (new_kdf, ttl) = {
            let unlock = self.passphrase_unlock();
            (unlock.new_kdf, unlock.ttl)
        };
        let kdf = new_kdf();
        let kek = kdf
            .derive(passphrase.expose_secret().as_bytes())
            .expect("vault's own KDF parameters are valid");
        let store_id = crypto::hex(&crypto::random::<16>());
        let data_key = crypto::random_key();
        let header = Header {
            version: 1,
            wrapped_key: crypto::seal(&kek, data_key.as_ref(), &wrap_context(&store_id)),
            key_check: crypto::seal(&data_key, b"", &check_context(&store_id)),
            store_id: store_id.clone(),
            kdf,
        };
        let json = serde_json::to_vec_pretty(&header).expect("the header serializes");
        self.write_atomic(&self.dir.join(HEADER), &json)?;
        crate::debug!("file store: created at `{}`", self.dir.display());
        unlock::put(Slot::FileStore, &store_id, &data_key, ttl);
        Ok((store_id, data_key))
    }

    fn ensure_dir(&self) -> Result<()> {
        private_dir(&self.dir)
    }

    /// An exclusive lock on the store, held until the guard is dropped.
    pub(super) fn lock(&self) -> Result<File> {
        let file = lock(&self.dir.join(LOCK))?;
        self.remove_stale_temps();
        Ok(file)
    }

    /// Every write is made under the lock, so a temp file seen by its holder was left by a
    /// vault killed mid-write (SIGKILL, SIGXFSZ): it is removed.
    fn remove_stale_temps(&self) {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in dir.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                crate::debug!(
                    "file store: removing `{}`, left by a killed vault",
                    entry.path().display()
                );
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Writes a file so that readers see the old or the new bytes, never a mix.
    pub(super) fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        write_atomic(path, bytes)
    }

    /// The index of entry metadata; an unreadable one is an empty one (`list` then reads
    /// the entry files themselves).
    fn read_index(&self) -> Index {
        let path = self.dir.join(INDEX);
        match read_file(&path, MAX_INDEX).map(|bytes| bytes.map(|b| serde_json::from_slice(&b))) {
            Ok(Some(Ok(index))) => index,
            Ok(Some(Err(e))) => {
                crate::debug!(
                    "file store: index `{}` unreadable ({e}); reading entries",
                    path.display()
                );
                Index::default()
            }
            Ok(None) => Index::default(),
            Err(e) => {
                crate::debug!("file store: {e}; reading entries");
                Index::default()
            }
        }
    }

    /// Changes the index; the caller holds the store's lock. The index is only a cache: one
    /// that cannot be rewritten (a full disk) is removed, so that `list` reads the entries,
    /// and the change to the entry stands.
    fn update_index(&self, change: impl FnOnce(&mut Index)) {
        let mut index = self.read_index();
        change(&mut index);
        let json = serde_json::to_vec(&index).expect("the index serializes");
        let path = self.dir.join(INDEX);
        if let Err(e) = self.write_atomic(&path, &json) {
            crate::debug!("file store: {e}; removing the index");
            let _ = fs::remove_file(&path);
        }
    }

    /// Whether `profile`'s keys are stored, as `list` would say, told from their one entry
    /// file (the warm path's question, without listing the store). `None` when that file
    /// alone cannot tell: it is there but unreadable or not as vault writes it, where `list`
    /// may still answer from the index.
    pub fn keys_stored(&self, profile: &str) -> Option<bool> {
        if !self.checked_dir().ok()? {
            return Some(false);
        }
        let id = EntryId::Keys {
            profile: profile.to_string(),
        };
        let name = entry_file_name(&id);
        match self.read_entry(&self.dir.join(&name)) {
            Ok(None) => Some(false),
            Ok(Some((meta, _))) if meta_problem(&meta, &name).is_none() => Some(true),
            _ => None,
        }
    }

    fn read_entry(&self, path: &Path) -> Result<Option<(EntryMeta, Sealed)>> {
        let Some(bytes) = read_file(path, MAX_FILE)? else {
            return Ok(None);
        };
        decode_entry(&bytes)
            .map(Some)
            .map_err(|e| Error::StoreCorrupt {
                path: path.to_path_buf(),
                problem: e.to_string(),
            })
    }
}

/// An entry file's bytes -> its clear metadata and its sealed secret, as `get` and `list`
/// read them. Public for the fuzz target (`fuzz/fuzz_targets/store_decode.rs`).
pub fn decode_entry(bytes: &[u8]) -> serde_json::Result<(EntryMeta, Sealed)> {
    let entry: EntryFile = serde_json::from_slice(bytes)?;
    Ok((entry.meta, entry.sealed))
}

/// Associated data for the wrapped key.
fn wrap_context(store_id: &str) -> Vec<u8> {
    format!("vault data key v1 {store_id}").into_bytes()
}

fn check_context(store_id: &str) -> Vec<u8> {
    format!("vault key check v1 {store_id}").into_bytes()
}

/// Associated data for an entry: the store and everything in its clear metadata.
///
/// No version or generation is bound, so an older file of the same entry, put back by
/// someone who can write the store, still opens (review finding 11: a cleared session or a
/// removed or rotated key comes back). That is accepted: only values the user once held
/// come back, an expired session stays expired (its expiry is bound here), and detecting it
/// needs a counter kept outside the store that survives reboots, which the kernel keyring
/// does not. The README says so, and points to IAM's "revoke active sessions".
fn entry_context(store_id: &str, meta: &EntryMeta) -> Vec<u8> {
    let meta = serde_json::to_string(meta).expect("metadata serializes");
    format!("vault entry v1 {store_id} {meta}").into_bytes()
}

fn to_key(bytes: &[u8]) -> Option<Key> {
    let array: [u8; crypto::KEY_LEN] = bytes.try_into().ok()?;
    Some(zeroize::Zeroizing::new(array))
}

/// The file an entry is kept in: `keys-` or `session-`, a digest of its id, `.entry`.
fn entry_file_name(id: &EntryId) -> String {
    let digest = blake2_hex(id.text().as_bytes());
    let prefix = match id {
        EntryId::Keys { .. } => "keys-",
        EntryId::Session(_) => "session-",
    };
    format!("{prefix}{digest}{ENTRY_SUFFIX}")
}

/// Why `meta`, read from the index or from the entry file `name`, is not to be believed.
fn meta_problem(meta: &EntryMeta, name: &str) -> Option<&'static str> {
    if !meta.is_valid() {
        Some("its metadata holds a name vault would not write")
    } else if entry_file_name(&meta.id) != name {
        Some("the entry does not belong under this name")
    } else {
        None
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `keys-` or `session-`, 32 lowercase hex digits, `.entry`: the names `entry_file_name`
/// gives.
pub(super) fn is_entry_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(ENTRY_SUFFIX) else {
        return false;
    };
    let digest = stem
        .strip_prefix("keys-")
        .or_else(|| stem.strip_prefix("session-"));
    digest.is_some_and(|d| {
        d.len() == 32
            && d.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn blake2_hex(bytes: &[u8]) -> String {
    use blake2::{Blake2s256, Digest};
    crypto::hex(&Blake2s256::digest(bytes)[..16])
}

impl Store for FileStore {
    fn describe(&self) -> String {
        format!("the file store at `{}`", self.shown_dir())
    }

    fn unlock(&mut self) -> Result<()> {
        self.key().map(|_| ())
    }

    /// The file store is locked when it exists and neither memory, the unlock cache nor
    /// `AWS_VAULT_FILE_PASSPHRASE` holds its key. Session files (a keychain backend's) say
    /// nothing: their keychain does.
    fn locked(&self) -> Option<bool> {
        let KeyFrom::Passphrase(unlock) = &self.unlock else {
            return None;
        };
        if self.key.is_some() || unlock.passphrase.is_some() {
            return Some(false);
        }
        let Ok(Some(header)) = self.read_header() else {
            return Some(false);
        };
        let cached = !unlock.ttl.is_zero()
            && unlock::get(Slot::FileStore, &header.store_id)
                .is_some_and(|key| self.check_key(&header, &key));
        Some(!cached)
    }

    fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        if !self.checked_dir()? {
            return Ok(listing);
        }
        self.not_aws_vault()?;
        let dir = match fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(self.io("read", &self.dir)(e)),
        };
        let index = self.read_index();
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(ENTRY_SUFFIX) {
                continue;
            }
            if !is_entry_file_name(&name) {
                crate::debug!("file store: ignoring {name:?}, not a name vault gives entries");
                continue;
            }
            // The index answers for the regular files it knows, where its record fits the
            // file; any other file is read. (A file damaged after it was indexed is reported
            // when it is read, by `get`.)
            let regular = entry.file_type().is_ok_and(|t| t.is_file());
            if let Some(indexed) = index.entries.get(&name)
                && regular
                && meta_problem(&indexed.meta, &name).is_none()
            {
                listing.entries.push(indexed.meta.clone());
                continue;
            }
            let path = entry.path();
            match self.read_entry(&path) {
                Ok(Some((meta, _))) => match meta_problem(&meta, &name) {
                    None => listing.entries.push(meta),
                    Some(problem) => listing.problems.push(Error::StoreCorrupt {
                        path,
                        problem: problem.to_string(),
                    }),
                },
                Ok(None) => {}
                Err(e) => listing.problems.push(e),
            }
        }
        listing.entries.sort_by_cached_key(|e| e.id.text());
        Ok(listing)
    }

    fn get(&mut self, id: &EntryId) -> Result<Option<Credentials>> {
        if !self.checked_dir()? {
            return Ok(None);
        }
        self.not_aws_vault()?;
        let path = self.entry_path(id);
        let Some((meta, sealed)) = self.read_entry(&path)? else {
            return Ok(None);
        };
        if meta.id != *id {
            return Err(Error::StoreCorrupt {
                path,
                problem: "the entry does not belong under this name".to_string(),
            });
        }
        let Some((store_id, key)) = self.key_to_read()? else {
            return Ok(None);
        };
        let plaintext =
            crypto::open(&key, &sealed, &entry_context(&store_id, &meta)).ok_or_else(|| {
                Error::StoreCorrupt {
                    path: path.clone(),
                    problem: "it does not decrypt with this store's key (changed or damaged)"
                        .to_string(),
                }
            })?;
        Credentials::from_secret_json(&plaintext, meta.expiration)
            .map(Some)
            .ok_or_else(|| Error::StoreCorrupt {
                path,
                problem: "the decrypted entry is not valid".to_string(),
            })
    }

    fn put(&mut self, id: &EntryId, credentials: &Credentials) -> Result<()> {
        let (store_id, key) = self.key()?;
        let meta = EntryMeta {
            id: id.clone(),
            expiration: credentials.expiration,
            source: match id {
                EntryId::Session(key) => Some(key.source.clone()),
                EntryId::Keys { .. } => None,
            },
        };
        let sealed = crypto::seal(
            &key,
            &credentials.to_secret_json(),
            &entry_context(&store_id, &meta),
        );
        let file = EntryFile {
            version: 1,
            meta,
            sealed,
        };
        let json = serde_json::to_vec(&file).expect("an entry serializes");
        self.ensure_dir()?;
        let _lock = self.lock()?;
        let path = self.entry_path(id);
        self.write_atomic(&path, &json)?;
        self.update_index(|index| {
            index
                .entries
                .insert(file_name(&path), Indexed { meta: file.meta });
        });
        Ok(())
    }

    fn remove(&mut self, id: &EntryId) -> Result<bool> {
        if !self.checked_dir()? {
            return Ok(false);
        }
        let path = self.entry_path(id);
        if fs::symlink_metadata(&path).is_err() {
            return Ok(false);
        }
        let _lock = self.lock()?;
        let existed = match fs::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(self.io("remove", &path)(e)),
        };
        self.update_index(|index| {
            index.entries.remove(&file_name(&path));
        });
        Ok(existed)
    }
}
