//! aws-vault's `kwallet` backend as a source: kwalletd (`org.kde.kwalletd5` at
//! `/modules/kwalletd5`, or the same with 6) on the session bus, wallet `aws-vault`, folder
//! `aws-vault`, app id `aws-vault`; each entry is keyring `Item` JSON named with the key. It
//! only reads: it must not start a bus or kwalletd (nothing is asked before the name is known
//! to be owned), create a wallet or folder, or wait without a bound.

use std::time::Duration;

use dbus::blocking::{Connection, Proxy};

use super::{Found, Kind};
use crate::error::{Error, Result};

const WALLET: &str = "aws-vault";
const FOLDER: &str = "aws-vault";
const APP_ID: &str = "aws-vault";
const INTERFACE: &str = "org.kde.KWallet";
/// kwalletd's bus names and object paths: the one aws-vault talks to first (Plasma 6's
/// kwalletd also owns it), then Plasma 6's own.
const DAEMONS: [(&str, &str); 2] = [
    ("org.kde.kwalletd5", "/modules/kwalletd5"),
    ("org.kde.kwalletd6", "/modules/kwalletd6"),
];
const TIMEOUT: Duration = Duration::from_secs(10);
/// `open` waits while kwalletd asks for the wallet's password.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

fn source() -> String {
    "aws-vault's KWallet wallet `aws-vault`".to_string()
}

fn unavailable(problem: impl Into<String>, hint: &str) -> Error {
    Error::ImportSource {
        source: source(),
        problem: problem.into(),
        hint: hint.to_string(),
    }
}

fn no_answer(e: dbus::Error) -> Error {
    unavailable(format!("kwalletd does not answer: {e}"), "try again")
}

/// The session bus and the name and path of the kwalletd that owns its name.
fn connect() -> Result<(Connection, &'static str, &'static str)> {
    let names: Vec<&str> = DAEMONS.iter().map(|(name, _)| *name).collect();
    let (connection, owned) = super::session_bus(
        &names,
        TIMEOUT,
        &|problem, hint| unavailable(problem, hint),
        "run the import inside your KDE session, or use `--from file`",
    )?;
    match DAEMONS.iter().find(|(name, _)| owned.contains(name)) {
        Some((name, path)) => Ok((connection, name, path)),
        None => Err(unavailable(
            "kwalletd is not running on the session bus (vault does not start it)",
            "log in to your KDE session (or start kwalletd), or use `--from file`",
        )),
    }
}

/// Every credential in the wallet's `aws-vault` folder. Sessions, `oidc:` tokens and entries
/// that are not aws-vault's credential JSON are left out.
pub fn read() -> Result<Vec<Found>> {
    let (connection, name, path) = connect()?;
    let wallet = connection.with_proxy(name, path, TIMEOUT);
    let (wallets,): (Vec<String>,) = wallet
        .method_call(INTERFACE, "wallets", ())
        .map_err(no_answer)?;
    if !wallets.iter().any(|w| w == WALLET) {
        return Err(unavailable(
            "KWallet has no wallet named `aws-vault`",
            "if aws-vault used another store, name it with `--from` (e.g. `--from file`)",
        ));
    }
    let (missing,): (bool,) = wallet
        .method_call(INTERFACE, "folderDoesNotExist", (WALLET, FOLDER))
        .map_err(no_answer)?;
    if missing {
        return Err(unavailable(
            "the `aws-vault` wallet has no `aws-vault` folder",
            "if aws-vault used another store, name it with `--from` (e.g. `--from file`)",
        ));
    }
    let opener = connection.with_proxy(name, path, OPEN_TIMEOUT);
    let (handle,): (i32,) = opener
        .method_call(INTERFACE, "open", (WALLET, 0i64, APP_ID))
        .map_err(|e| {
            unavailable(
                format!("the wallet did not open: {e}"),
                "open the `aws-vault` wallet (KWalletManager), then import again",
            )
        })?;
    if handle < 0 {
        return Err(unavailable(
            "the wallet did not open (its password was not given, or access was refused)",
            "open the `aws-vault` wallet (KWalletManager), then import again",
        ));
    }
    let found = entries(&wallet, handle);
    let _: std::result::Result<(i32,), _> =
        wallet.method_call(INTERFACE, "close", (handle, false, APP_ID));
    found
}

fn entries(wallet: &Proxy<&Connection>, handle: i32) -> Result<Vec<Found>> {
    let (mut keys,): (Vec<String>,) = wallet
        .method_call(INTERFACE, "entryList", (handle, FOLDER, APP_ID))
        .map_err(no_answer)?;
    keys.sort();
    let mut found = Vec::new();
    for key in keys {
        if super::kind(&key) != Kind::Credential {
            crate::debug!("import: skipping the cached session or token `{key}`");
            continue;
        }
        let read: std::result::Result<(Vec<u8>,), _> = wallet.method_call(
            INTERFACE,
            "readEntry",
            (handle, FOLDER, key.as_str(), APP_ID),
        );
        let Ok((value,)) = read else {
            found.push(Found::failed(&key, "kwalletd did not return it"));
            continue;
        };
        let value = zeroize::Zeroizing::new(value);
        match super::credentials_from_item(&value) {
            Some(keys) => found.push(Found::keys(&key, keys)),
            None => crate::debug!("import: `{key}` is not an aws-vault credential; left out"),
        }
    }
    Ok(found)
}

/// How long `vault doctor` waits for kwalletd to hand over an open wallet.
const NAMES_TIMEOUT: Duration = Duration::from_secs(5);

/// The credential names in the wallet's `aws-vault` folder, for `vault doctor`: entry names
/// only, no entry read. The wallet is asked for only when it is already open, so no password
/// is asked; a closed one is `Some(Err(why))`. `None` when kwalletd is not running or there is
/// no such wallet or folder.
pub fn names() -> Option<std::result::Result<Vec<String>, String>> {
    let (connection, name, path) = connect().ok()?;
    let wallet = connection.with_proxy(name, path, NAMES_TIMEOUT);
    let (wallets,): (Vec<String>,) = wallet.method_call(INTERFACE, "wallets", ()).ok()?;
    if !wallets.iter().any(|w| w == WALLET) {
        return None;
    }
    let (missing,): (bool,) = wallet
        .method_call(INTERFACE, "folderDoesNotExist", (WALLET, FOLDER))
        .ok()?;
    if missing {
        return None;
    }
    let open: std::result::Result<(bool,), _> = wallet.method_call(INTERFACE, "isOpen", (WALLET,));
    if !matches!(open, Ok((true,))) {
        return Some(Err(
            "the wallet is closed, and vault does not ask for its password here".to_string(),
        ));
    }
    let handle =
        match wallet.method_call::<(i32,), _, _, _>(INTERFACE, "open", (WALLET, 0i64, APP_ID)) {
            Ok((handle,)) if handle >= 0 => handle,
            _ => return Some(Err("kwalletd did not hand over the open wallet".to_string())),
        };
    let listed: std::result::Result<(Vec<String>,), _> =
        wallet.method_call(INTERFACE, "entryList", (handle, FOLDER, APP_ID));
    let _: std::result::Result<(i32,), _> =
        wallet.method_call(INTERFACE, "close", (handle, false, APP_ID));
    Some(match listed {
        Ok((mut keys,)) => {
            keys.retain(|key| super::kind(key) == Kind::Credential);
            keys.sort();
            Ok(keys)
        }
        Err(e) => Err(format!("kwalletd does not answer: {e}")),
    })
}
