//! aws-vault's `keyctl` backend as a source, best-effort: aws-vault never set the scope
//! keyring (99designs/aws-vault#890), so there is no one place its keys live. This looks for
//! a keyring named `aws-vault` reachable from the session keyring, then the user-session
//! keyring, then the user keyring, and reads its `user` keys: description = profile, payload
//! = the credential JSON itself (no keyring `Item` wrapper). It only reads: it must not
//! create, link, unlink or change any key or keyring.

use linux_keyutils::{Key, KeyRing, KeyRingIdentifier, KeyType, LinkNode};
use zeroize::Zeroizing;

use super::Found;
use crate::error::{Error, Result};

const RING: &str = "aws-vault";

/// The kernel's own nesting limit (KEYRING_SEARCH_MAX_DEPTH), so that the walk is bounded.
const MAX_DEPTH: usize = 6;

/// How many link ids one read of a keyring asks for. linux-keyutils 0.2 passes the
/// capacity as a byte count, so this reads up to `LINKS / 4` links.
const LINKS: usize = 1 << 16;

/// Where the search starts, in order, and how `--debug` names each.
const STARTS: [(KeyRingIdentifier, &str); 3] = [
    (KeyRingIdentifier::Session, "session keyring (@s)"),
    (KeyRingIdentifier::UserSession, "user-session keyring (@us)"),
    (KeyRingIdentifier::User, "user keyring (@u)"),
];

fn source() -> String {
    "aws-vault's kernel keyring `aws-vault`".to_string()
}

fn links(ring: KeyRing) -> Vec<LinkNode> {
    ring.get_links(LINKS)
        .map(|links| links.to_vec())
        .unwrap_or_default()
}

fn description(node: &LinkNode) -> Option<String> {
    let metadata = match node {
        LinkNode::KeyRing(ring) => ring.metadata(),
        LinkNode::Key(key) => key.metadata(),
    };
    metadata.ok().map(|m| m.get_description().to_string())
}

/// The first keyring named `aws-vault` below `start` (breadth-first, like the kernel's
/// search), never visiting a keyring twice nor going deeper than the kernel does.
fn find_below(start: KeyRing, seen: &mut Vec<KeyRing>) -> Option<KeyRing> {
    let mut level = vec![start];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for ring in level {
            if seen.contains(&ring) {
                continue;
            }
            seen.push(ring);
            for node in links(ring) {
                let LinkNode::KeyRing(child) = node else {
                    continue;
                };
                if description(&node).as_deref() == Some(RING) {
                    return Some(child);
                }
                next.push(child);
            }
        }
        if next.is_empty() {
            return None;
        }
        level = next;
    }
    None
}

fn find() -> Option<KeyRing> {
    let mut seen = Vec::new();
    for (id, name) in STARTS {
        let Ok(start) = KeyRing::from_special_id(id, false) else {
            crate::debug!("import: no {name}");
            continue;
        };
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
    let mut found = Vec::new();
    // The kernel lists a keyring's links in its own (hash) order.
    let mut keys: Vec<(String, Key)> = links(ring)
        .into_iter()
        .filter_map(|node| node.as_key())
        .filter_map(|key| {
            let metadata = key.metadata().ok()?;
            (metadata.get_type() == KeyType::User)
                .then(|| (metadata.get_description().to_string(), key))
        })
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, key) in keys {
        match key.read_to_vec() {
            Ok(bytes) => found.extend(super::raw_found(&name, &Zeroizing::new(bytes))),
            Err(e) => found.push(Found::failed(
                &name,
                &format!("the kernel refused to read it ({e:?})"),
            )),
        }
    }
    Ok(found)
}
