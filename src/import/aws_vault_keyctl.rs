//! aws-vault's `keyctl` backend as a source, best-effort: aws-vault never set the scope
//! keyring (99designs/aws-vault#890), so there is no one place its keys live. This looks for
//! a keyring named `aws-vault` reachable from the session keyring, then the user-session
//! keyring, then the user keyring, and reads its `user` keys: description = profile, payload
//! = the credential JSON itself (no keyring `Item` wrapper). It only reads: it must not
//! create, link, unlink or change any key or keyring.

use linux_keyutils::{Key, KeyError, KeySerialId, KeyType};
use zeroize::Zeroizing;

use super::Found;
use crate::error::{Error, Result};

const RING: &str = "aws-vault";

/// The kernel's own nesting limit (KEYRING_SEARCH_MAX_DEPTH), so that the walk is bounded.
const MAX_DEPTH: usize = 6;

/// Where the search starts, in order (the kernel's special ids, which need no session
/// keyring to exist and create none), and how `--debug` names each.
const STARTS: [(i32, &str); 3] = [
    (-3, "session keyring (@s)"),
    (-5, "user-session keyring (@us)"),
    (-4, "user keyring (@u)"),
];

fn source() -> String {
    "aws-vault's kernel keyring `aws-vault`".to_string()
}

fn key(id: i32) -> Key {
    Key::from_id(KeySerialId::new(id))
}

/// Runs a linux-keyutils call that describes a key. linux-keyutils 0.2.5 panics when a
/// description is longer than its 512-byte buffer (`Metadata::from_id` slices by the
/// length the kernel reports), and any key the user can see may be that long: here such a
/// panic is a refusal, without the panic message. Import runs on one thread, so swapping the
/// hook for the call is safe.
fn guarded<T>(call: impl FnOnce() -> std::result::Result<T, KeyError>) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
    std::panic::set_hook(hook);
    match result {
        Ok(result) => result.ok(),
        Err(_) => {
            crate::debug!(
                "import: linux-keyutils could not describe a key (a description over 512 bytes?); skipped"
            );
            None
        }
    }
}

/// A key's type and description; `None` for one that cannot be described, or of a type
/// other than `keyring` and `user`.
fn describe(id: i32) -> Option<(KeyType, String)> {
    let metadata = guarded(|| key(id).metadata())?;
    Some((metadata.get_type(), metadata.get_description().to_string()))
}

/// The ids linked from a keyring (reading a keyring gives its links, 4 bytes each); `None`
/// when it cannot be read. Ids, not linux-keyutils' `get_links`, which describes every link
/// at once and so fails as a whole on one long description.
fn links(ring: i32) -> Option<Vec<i32>> {
    let bytes = key(ring).read_to_vec().ok()?;
    Some(
        bytes
            .chunks_exact(4)
            .map(|id| i32::from_ne_bytes([id[0], id[1], id[2], id[3]]))
            .collect(),
    )
}

/// The first keyring named `aws-vault` below `start` (breadth-first, like the kernel's
/// search), never visiting a keyring twice nor going deeper than the kernel does.
fn find_below(start: i32, seen: &mut Vec<i32>) -> Option<i32> {
    let mut level = vec![start];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for ring in level {
            if seen.contains(&ring) {
                continue;
            }
            seen.push(ring);
            for child in links(ring).unwrap_or_default() {
                match describe(child) {
                    Some((KeyType::KeyRing, name)) if name == RING => return Some(child),
                    Some((KeyType::KeyRing, _)) => next.push(child),
                    _ => {}
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        level = next;
    }
    None
}

fn find() -> Option<i32> {
    let mut seen = Vec::new();
    for (start, name) in STARTS {
        if let Some(ring) = find_below(start, &mut seen) {
            crate::debug!("import: found the `{RING}` keyring from the {name}");
            return Some(ring);
        }
        crate::debug!("import: no `{RING}` keyring reachable from the {name}");
    }
    None
}

/// Every credential in the `aws-vault` keyring.
pub fn read() -> Result<Vec<Found>> {
    let Some(ring) = find() else {
        return Err(Error::ImportSource {
            source: source(),
            problem: "no keyring named `aws-vault` is reachable from the session, user-session or user keyring".into(),
            hint: "aws-vault's keyctl backend never worked in a release (it had no keyring to use), so your keys are likely in another store: try `--from file` or `--from secret-service`".into(),
        });
    };
    let Some(ids) = links(ring) else {
        return Err(Error::ImportSource {
            source: source(),
            problem: "the kernel does not let vault read the keyring's entries".into(),
            hint: "check its rights with `keyctl show %:aws-vault`".into(),
        });
    };
    // The kernel lists a keyring's links in its own (hash) order.
    let mut keys: Vec<(String, i32)> = ids
        .into_iter()
        .filter_map(|id| match describe(id)? {
            (KeyType::User, name) => Some((name, id)),
            _ => None,
        })
        .collect();
    keys.sort();
    let mut found = Vec::new();
    for (name, id) in keys {
        match key(id).read_to_vec() {
            Ok(bytes) => found.extend(super::raw_found(&name, &Zeroizing::new(bytes))),
            Err(e) => found.push(Found::failed(
                &name,
                &format!("the kernel refused to read it ({e:?})"),
            )),
        }
    }
    Ok(found)
}

/// The credential names in the `aws-vault` keyring, for `vault doctor`: descriptions only,
/// no payload read. `None` when there is no such keyring.
pub fn names() -> Option<std::result::Result<Vec<String>, String>> {
    let ring = find()?;
    let Some(ids) = links(ring) else {
        return Some(Err(
            "the kernel does not let vault read the keyring's entries".to_string(),
        ));
    };
    let mut names: Vec<String> = ids
        .into_iter()
        .filter_map(|id| match describe(id)? {
            (KeyType::User, name) if super::kind(&name) == super::Kind::Credential => Some(name),
            _ => None,
        })
        .collect();
    names.sort();
    Some(Ok(names))
}
