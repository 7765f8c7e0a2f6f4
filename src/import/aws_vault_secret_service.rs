//! aws-vault's `secret-service` backend as a source: the collection at
//! `/org/freedesktop/secrets/collection/awsvault`, items labelled with the key, secrets that
//! are keyring `Item` JSON. It only reads; it must not start a bus or a daemon (nothing is
//! asked before the name is known to be owned), create or unlock-by-prompt a collection,
//! or wait without a bound.

use std::collections::HashMap;
use std::time::Duration;

use dbus::Path;
use dbus::arg::{RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::{Connection, Proxy};

use super::{Found, Kind};
use crate::error::{Error, Result};

const SERVICE: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const COLLECTION: &str = "/org/freedesktop/secrets/collection/awsvault";
const TIMEOUT: Duration = Duration::from_secs(10);

fn source() -> String {
    "aws-vault's Secret Service collection `awsvault`".to_string()
}

fn unavailable(problem: impl Into<String>, hint: &str) -> Error {
    Error::ImportSource {
        source: source(),
        problem: problem.into(),
        hint: hint.to_string(),
    }
}

/// The session bus, when there is one and a Secret Service owns its name.
fn connect() -> Result<Connection> {
    let (connection, owned) = super::session_bus(
        &[SERVICE],
        TIMEOUT,
        &|problem, hint| unavailable(problem, hint),
        "run the import inside your desktop session, or use `--from file`",
    )?;
    if owned.is_empty() {
        return Err(unavailable(
            "no Secret Service is running on the session bus (vault does not start one)",
            "start your keyring (e.g. log in to the desktop), or use `--from file`",
        ));
    }
    Ok(connection)
}

fn collections(connection: &Connection) -> Result<Vec<Path<'static>>> {
    let service = connection.with_proxy(SERVICE, SERVICE_PATH, TIMEOUT);
    service
        .get("org.freedesktop.Secret.Service", "Collections")
        .map_err(|e| {
            unavailable(
                format!("the Secret Service does not answer: {e}"),
                "use `--from file`",
            )
        })
}

/// Whether the Secret Service is running and holds aws-vault's collection; asks nothing
/// that could start a service.
pub fn has_collection() -> bool {
    connect()
        .and_then(|c| collections(&c))
        .is_ok_and(|all| all.iter().any(|p| &**p == COLLECTION))
}

type Secret = (Path<'static>, Vec<u8>, Vec<u8>, String);

/// Every credential in the collection. Sessions, `oidc:` tokens and secrets that are not
/// aws-vault's credential JSON are left out.
pub fn read() -> Result<Vec<Found>> {
    let connection = connect()?;
    if !collections(&connection)?.iter().any(|p| &**p == COLLECTION) {
        return Err(unavailable(
            "the Secret Service has no `awsvault` collection",
            "if aws-vault used another store, name it with `--from` (e.g. `--from file`)",
        ));
    }
    let collection = connection.with_proxy(SERVICE, COLLECTION, TIMEOUT);
    let locked: bool = collection
        .get("org.freedesktop.Secret.Collection", "Locked")
        .map_err(|e| unavailable(format!("the collection does not answer: {e}"), "try again"))?;
    if locked {
        return Err(unavailable(
            "the collection is locked, and vault does not show the keyring's unlock prompt",
            "unlock the `awsvault` keyring first (e.g. in Seahorse, \"Passwords and Keys\"), then import again",
        ));
    }
    let items: Vec<Path<'static>> = collection
        .get("org.freedesktop.Secret.Collection", "Items")
        .map_err(|e| unavailable(format!("the collection does not answer: {e}"), "try again"))?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let service = connection.with_proxy(SERVICE, SERVICE_PATH, TIMEOUT);
    let (_, session): (Variant<Box<dyn RefArg>>, Path<'static>) = service
        .method_call(
            "org.freedesktop.Secret.Service",
            "OpenSession",
            ("plain", Variant("")),
        )
        .map_err(|e| unavailable(format!("could not open a session: {e}"), "try again"))?;
    let result: std::result::Result<(HashMap<Path<'static>, Secret>,), _> = service.method_call(
        "org.freedesktop.Secret.Service",
        "GetSecrets",
        (items.clone(), session.clone()),
    );
    let close: Proxy<&Connection> = connection.with_proxy(SERVICE, session, TIMEOUT);
    let _: std::result::Result<(), _> =
        close.method_call("org.freedesktop.Secret.Session", "Close", ());
    let (secrets,) = result.map_err(|e| {
        unavailable(
            format!("could not read the secrets: {e}"),
            "unlock the collection and try again",
        )
    })?;

    let mut found = Vec::new();
    for path in items {
        let item = connection.with_proxy(SERVICE, path.clone(), TIMEOUT);
        let Ok(label) = item.get::<String>("org.freedesktop.Secret.Item", "Label") else {
            continue;
        };
        if super::kind(&label) != Kind::Credential {
            crate::debug!("import: skipping the cached session or token `{label}`");
            continue;
        }
        let Some((_, _, value, _)) = secrets.get(&path) else {
            found.push(Found::failed(
                &label,
                "the Secret Service did not return its secret",
            ));
            continue;
        };
        let value = zeroize::Zeroizing::new(value.clone());
        match super::credentials_from_item(&value) {
            Some(keys) => found.push(Found::keys(&label, keys)),
            None => crate::debug!("import: `{label}` is not an aws-vault credential; left out"),
        }
    }
    Ok(found)
}

/// The credential names in aws-vault's collection, for `vault doctor`: labels only, no
/// secret read and nothing unlocked. `None` when there is no Secret Service or no such
/// collection; `Some(Err(why))` when it is there but its names cannot be read (locked).
pub fn names() -> Option<std::result::Result<Vec<String>, String>> {
    let connection = connect().ok()?;
    if !collections(&connection)
        .ok()?
        .iter()
        .any(|p| &**p == COLLECTION)
    {
        return None;
    }
    let collection = connection.with_proxy(SERVICE, COLLECTION, TIMEOUT);
    let locked: bool = collection
        .get("org.freedesktop.Secret.Collection", "Locked")
        .unwrap_or(true);
    let items: Vec<Path<'static>> =
        match collection.get("org.freedesktop.Secret.Collection", "Items") {
            Ok(items) => items,
            Err(e) => return Some(Err(format!("the collection does not answer: {e}"))),
        };
    let mut names = Vec::new();
    for path in items {
        let item = connection.with_proxy(SERVICE, path, TIMEOUT);
        match item.get::<String>("org.freedesktop.Secret.Item", "Label") {
            Ok(label) if super::kind(&label) == Kind::Credential => names.push(label),
            Ok(_) => {}
            Err(_) if locked => return Some(Err("the collection is locked".to_string())),
            Err(e) => return Some(Err(format!("an item does not answer: {e}"))),
        }
    }
    if locked && names.is_empty() {
        // A locked collection may hide its items: say so rather than "nothing there".
        return Some(Err("the collection is locked".to_string()));
    }
    names.sort();
    Some(Ok(names))
}
