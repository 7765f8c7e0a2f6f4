//! The index a keychain or `pass` backend keeps beside its entries: a JSON list of entry
//! metadata (names, kinds, expiry; never a secret), 0600 in a 0700 folder, written
//! atomically under a lock, so that `list` touches no keychain. Kept apart from the
//! backends so that the warm path can read it without linking them. It must not hold a
//! secret, and never makes an entry exist on its own for `pass` (its files do).

use std::path::{Path, PathBuf};

use super::fs::{MAX_INDEX, check_dir, lock, private_dir, read_file, write_atomic};
use super::{EntryMeta, Listing};
use crate::error::{Error, Result};

/// The index at `dir/name`.
#[derive(Debug, Clone)]
pub struct Index {
    pub dir: PathBuf,
    pub name: String,
}

impl Index {
    pub fn new(dir: &Path, name: String) -> Index {
        Index {
            dir: dir.to_path_buf(),
            name,
        }
    }

    /// A keychain backend's index (`secret-service-index.json`, ...).
    pub fn keychain(backend: super::Backend, dir: &Path) -> Index {
        Index::new(dir, format!("{}-index.json", backend.name()))
    }

    /// The `pass` backend's index of sessions.
    pub fn pass(dir: &Path) -> Index {
        Index::new(dir, "pass-index.json".to_string())
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// Every record; none when there is no index yet.
    pub fn read(&self) -> Result<Vec<EntryMeta>> {
        if !check_dir(&self.dir)? {
            return Ok(Vec::new());
        }
        let path = self.path();
        match read_file(&path, MAX_INDEX)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::StoreCorrupt {
                path,
                problem: e.to_string(),
            }),
            None => Ok(Vec::new()),
        }
    }

    /// Changes the index under its lock (`lock_name` in the same folder).
    pub fn update(&self, lock_name: &str, change: impl FnOnce(&mut Vec<EntryMeta>)) -> Result<()> {
        private_dir(&self.dir)?;
        let _lock = lock(&self.dir.join(lock_name))?;
        let mut index = self.read()?;
        change(&mut index);
        let json = serde_json::to_vec_pretty(&index).expect("the index serializes");
        write_atomic(&self.path(), &json)
    }

    /// A keychain backend's listing: the records with names vault writes, and one problem
    /// naming how many others there were.
    pub fn listing(&self) -> Result<Listing> {
        let (entries, bad): (Vec<EntryMeta>, Vec<EntryMeta>) =
            self.read()?.into_iter().partition(EntryMeta::is_valid);
        let problems = if bad.is_empty() {
            Vec::new()
        } else {
            vec![Error::StoreCorrupt {
                path: self.path(),
                problem: format!(
                    "{} of its records hold names vault would not write; they are not listed",
                    bad.len()
                ),
            }]
        };
        Ok(Listing { entries, problems })
    }
}
