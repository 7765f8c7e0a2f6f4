//! `vault import vault --from BACKEND`: moves vault's own key entries from another of its
//! backends to the current one, like ByteNess's `migrate-backend`: copy, read back,
//! compare, report. It must not delete from the source without `--delete-source`, and then
//! only entries that read back equal from the target; sessions are not moved. It must not
//! import from `commands/` or `cli.rs`, the rooms above it.

use super::{Done, Found};
use crate::error::Result;
use crate::store::{EntryId, Store};

/// The keys `source` holds: the `profiles` wanted, every key entry when empty.
pub fn read(source: &mut dyn Store, profiles: &[String]) -> Result<Vec<Found>> {
    let listing = source.list()?;
    let mut found = Vec::new();
    for name in listing.keys() {
        if !profiles.is_empty() && !profiles.iter().any(|p| p == name) {
            continue;
        }
        let id = EntryId::Keys {
            profile: name.to_string(),
        };
        found.push(match source.get(&id) {
            Ok(Some(keys)) => Found::keys(name, keys),
            Ok(None) => Found::failed(name, "the entry went away while importing"),
            Err(e) => Found::failed(name, &e.to_string()),
        });
    }
    Ok(found)
}

/// `--delete-source`: removes from `source` each entry that `target` now holds equal.
/// Returns how many were deleted.
pub fn delete_moved(source: &mut dyn Store, target: &mut dyn Store, done: &Done) -> Result<usize> {
    let mut deleted = 0;
    for name in super::moved(target, done)? {
        let id = EntryId::Keys { profile: name };
        if source.remove(&id)? {
            deleted += 1;
        }
    }
    Ok(deleted)
}
