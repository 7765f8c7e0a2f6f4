//! The OS keychain backends on Linux, against real services: the Secret Service
//! (gnome-keyring on a private D-Bus session bus) and the kernel keyring (a fresh session
//! keyring), and how vault picks a backend when none is named.
//!
//! Every test runs its `vault` invocations as steps of one shell script inside a throwaway
//! session (`session`), and then checks that nothing it started is still running.

mod support;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::desktop::{Bus, files_containing, session};
use support::{Home, Run};

const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// A second 40-character secret, for overwriting an entry.
const SECRET_2: &str = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";

/// Asserts that a step succeeded and printed exactly `stdout`.
#[track_caller]
fn assert_prints(run: &Run, stdout: &str) {
    assert_eq!(run.ok(), stdout, "{run:#?}");
}

/// Asserts the `store: NAME backend` line of `--debug`.
#[track_caller]
fn assert_backend(run: &Run, name: &str) {
    assert_eq!(run.status, Some(0), "{run:#?}");
    let line = format!("store: {name} backend");
    let picked: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("store: ") && l.ends_with(" backend"))
        .collect();
    assert!(
        picked.len() == 1 && picked[0].ends_with(&line),
        "expected `{line}` on stderr: {run:#?}"
    );
}

/// Asserts that a keychain item is the JSON vault writes for `profile`'s keys.
#[track_caller]
fn assert_item(run: &Run, profile: &str, secret: &str) {
    let item: Value = serde_json::from_str(run.ok())
        .unwrap_or_else(|e| panic!("the item is not JSON ({e}): {run:#?}"));
    assert_eq!(item["meta"]["id"]["profile"], profile, "{item}");
    assert_eq!(item["access_key_id"], KEY_ID, "{item}");
    assert_eq!(item["secret_access_key"], secret, "{item}");
    assert!(item.get("session_token").is_none(), "{item}");
}

fn home_with_keys() -> Home {
    let mut home = Home::new();
    home.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    home
}

/// A profile name no other run shares: keys in the kernel keyring can outlive the session
/// (the keyring crate also links them into the user's persistent keyring).
fn unique_profile(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{test}-{}-{nanos}", std::process::id())
}

#[test]
fn secret_service_add_list_remove() {
    let home = home_with_keys();
    let ss = r#""$VAULT" --backend secret-service"#;

    let first = session(
        &home,
        Bus::Keyring,
        false,
        [
            format!("{ss} add --env p1"),
            format!("{ss} list --credentials"),
            "secret-tool lookup service vault-aws username keys:p1".to_string(),
            // Stored again with another secret: the item is replaced, not doubled.
            format!("AWS_SECRET_ACCESS_KEY={SECRET_2} {ss} add --env p1"),
            format!("{ss} list --credentials"),
            "secret-tool lookup service vault-aws username keys:p1".to_string(),
            "secret-tool search --all service vault-aws".to_string(),
            // `doctor --offline` tells a locked collection from an open one, and asks nothing.
            format!("{ss} doctor --offline </dev/null"),
            "gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
             --method org.freedesktop.Secret.Service.Lock \"[objectpath '/org/freedesktop/secrets/collection/login']\""
                .to_string(),
            format!("{ss} doctor --offline </dev/null"),
        ],
    );
    let open = first[7].stdout.lines().next().unwrap_or_default();
    assert_eq!(
        open, "ok    backend         the `secret-service` backend answers",
        "{:#?}",
        first[7]
    );
    let locked = first[9].stdout.lines().next().unwrap_or_default();
    assert_eq!(
        locked,
        "ok    backend         the `secret-service` backend answers; it is locked, so the next command that needs a key asks to unlock it",
        "{:#?}",
        first[9]
    );
    assert_eq!(first[9].stderr, "", "{:#?}", first[9]);
    assert_prints(&first[0], "Added credentials to profile \"p1\" in vault\n");
    assert_eq!(first[0].stderr, "", "no warnings for well-formed keys");
    assert_prints(&first[1], "p1\n");
    assert_item(&first[2], "p1", SECRET);
    assert_prints(&first[3], "Added credentials to profile \"p1\" in vault\n");
    assert_prints(&first[4], "p1\n");
    assert_item(&first[5], "p1", SECRET_2);
    let search = &first[6];
    assert_eq!(
        search.ok().lines().filter(|l| l.starts_with("[/")).count(),
        1,
        "one item: {search:#?}"
    );
    let attributes: Vec<&str> = search.stderr.lines().collect();
    for expected in [
        "attribute.service = vault-aws",
        "attribute.username = keys:p1",
    ] {
        assert!(attributes.contains(&expected), "{search:#?}");
    }

    // Between sessions the item lives only in gnome-keyring's encrypted keyring file: no
    // file under HOME holds either secret in the clear.
    let keyring_file = home.path().join(".local/share/keyrings/login.keyring");
    let index = home
        .path()
        .join(".local/share/vault/index/secret-service-index.json");
    assert!(keyring_file.is_file() && index.is_file());
    assert!(
        std::fs::read_to_string(&index).unwrap().contains("\"p1\""),
        "the index names the entry"
    );
    for secret in [SECRET, SECRET_2] {
        assert_eq!(files_containing(home.path(), secret), Vec::<PathBuf>::new());
    }
    // The search does look into vault's files: the profile name is found where it is kept
    // in the clear, and not in the encrypted keyring.
    let mut named = files_containing(home.path(), "p1");
    named.sort();
    assert_eq!(named, [home.path().join(".aws/config"), index.clone()]);

    // A new daemon unlocks the same keyring from disk; the item is there, and is removed.
    let second = session(
        &home,
        Bus::Keyring,
        false,
        [
            "secret-tool lookup service vault-aws username keys:p1".to_string(),
            format!("{ss} remove -f p1"),
            format!("{ss} list --credentials"),
            "secret-tool search --all service vault-aws".to_string(),
            format!("{ss} remove -f p1"),
        ],
    );
    assert_item(&second[0], "p1", SECRET_2);
    assert_prints(&second[1], "Deleted credentials.\n");
    assert_prints(&second[2], "");
    assert_prints(&second[3], "");
    assert_eq!(second[3].stderr, "", "no item left");
    assert!(
        second[4]
            .fails()
            .contains("no credentials for profile `p1` in the secret-service backend"),
        "{:#?}",
        second[4]
    );
    for secret in [SECRET, SECRET_2] {
        assert_eq!(files_containing(home.path(), secret), Vec::<PathBuf>::new());
    }
}

#[test]
fn picks_the_secret_service_when_it_is_running() {
    let home = home_with_keys();
    let record = home.path().join(".local/share/vault/backend");
    let runs = session(
        &home,
        Bus::Keyring,
        false,
        [
            r#""$VAULT" --debug list --credentials"#,
            "test -e ~/.local/share/vault/backend && echo recorded || echo none",
            r#""$VAULT" --debug add --env auto"#,
            "secret-tool lookup service vault-aws username keys:auto",
            "cat ~/.local/share/vault/backend",
            r#""$VAULT" --backend secret-service list --credentials"#,
            r#"AWS_VAULT_BACKEND=file "$VAULT" --debug list --credentials"#,
            // The recorded backend is used without asking the bus; listing reads vault's
            // index only, so it answers without one.
            r#"env -u DBUS_SESSION_BUS_ADDRESS "$VAULT" --debug list --credentials"#,
            // What needs the Secret Service says where the choice was recorded.
            r#"env -u DBUS_SESSION_BUS_ADDRESS "$VAULT" remove -f auto"#,
            r#"DBUS_SESSION_BUS_ADDRESS= "$VAULT" remove -f auto"#,
            r#""$VAULT" --debug remove -f auto"#,
            "secret-tool search --all service vault-aws",
            // The process check sees this session's daemons while they run.
            "ours gnome-keyring-d; ours dbus-daemon",
        ],
    );
    assert_backend(&runs[0], "secret-service");
    assert_prints(&runs[0], "");
    assert_prints(&runs[1], "none\n");
    assert_backend(&runs[2], "secret-service");
    assert_prints(&runs[2], "Added credentials to profile \"auto\" in vault\n");
    assert!(
        runs[2]
            .stderr
            .contains("store: recorded the secret-service backend in"),
        "{:#?}",
        runs[2]
    );
    assert_item(&runs[3], "auto", SECRET);
    assert_prints(&runs[4], "secret-service\n");
    assert_prints(&runs[5], "auto\n");
    assert_backend(&runs[6], "file");
    assert_prints(&runs[6], "");
    assert_backend(&runs[7], "secret-service");
    assert_prints(&runs[7], "auto\n");
    let gone = format!(
        "error: your vault is in the secret-service backend (recorded in `{0}`), which is not \
         there: there is no D-Bus session bus here (DBUS_SESSION_BUS_ADDRESS is not set)\n\
         hint: run vault where that backend is (your desktop session, say), or name one with \
         --backend or AWS_VAULT_BACKEND; to have vault choose again, remove it: `rm {0}`\n",
        record.display()
    );
    assert_eq!(runs[8].fails(), gone);
    assert_eq!(runs[9].fails(), gone);
    assert_backend(&runs[10], "secret-service");
    assert_prints(&runs[10], "Deleted credentials.\n");
    assert_prints(&runs[11], "");
    assert_prints(&runs[12], "1\n1\n");
    assert_eq!(files_containing(home.path(), SECRET), Vec::<PathBuf>::new());
}

#[test]
fn picks_the_file_store_without_activating_a_secret_service() {
    let home = Home::new();
    let activatable =
        Path::new("/usr/share/dbus-1/services/org.freedesktop.secrets.service").exists();
    let runs = session(
        &home,
        Bus::Bare,
        false,
        [
            "has_owner org.freedesktop.secrets",
            "dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus \
             /org/freedesktop/DBus org.freedesktop.DBus.ListActivatableNames \
             | tr -s ' ' '\\n' | grep -cx org.freedesktop.secrets",
            r#""$VAULT" --debug list --credentials"#,
            "has_owner org.freedesktop.secrets",
            "ours gnome-keyring-d",
        ],
    );
    assert_prints(&runs[0], "false\n");
    if activatable {
        // So asking org.freedesktop.secrets anything would start gnome-keyring.
        assert_prints(&runs[1], "1\n");
    }
    assert_backend(&runs[2], "file");
    assert_prints(&runs[2], "");
    assert_prints(&runs[3], "false\n");
    assert_prints(&runs[4], "0\n");
}

#[test]
fn picks_the_file_store_without_a_session_bus() {
    let home = Home::new();
    let runs = session(
        &home,
        Bus::Absent,
        false,
        [
            "echo \"${DBUS_SESSION_BUS_ADDRESS-unset}\"",
            r#""$VAULT" --debug list --credentials"#,
            "ours dbus-daemon; ours gnome-keyring-d",
        ],
    );
    assert_prints(&runs[0], "unset\n");
    assert_backend(&runs[1], "file");
    assert_prints(&runs[1], "");
    assert_prints(&runs[2], "0\n0\n");
}

#[test]
fn keyctl_add_list_remove() {
    let home = home_with_keys();
    let profile = unique_profile("kc");
    let key = format!("keyring-rs:keys:{profile}@vault-aws");
    let kc = r#""$VAULT" --backend keyctl"#;
    let runs = session(
        &home,
        Bus::Absent,
        true,
        [
            format!("{kc} add --env {profile}"),
            format!("{kc} list --credentials"),
            format!("keyctl pipe \"$(keyctl search @s user '{key}')\""),
            format!("{kc} remove -f {profile}"),
            format!("{kc} list --credentials"),
            format!("keyctl search @s user '{key}'"),
        ],
    );
    assert_prints(
        &runs[0],
        &format!("Added credentials to profile \"{profile}\" in vault\n"),
    );
    assert_prints(&runs[1], &format!("{profile}\n"));
    assert_item(&runs[2], &profile, SECRET);
    assert_prints(&runs[3], "Deleted credentials.\n");
    assert_prints(&runs[4], "");
    assert_eq!(runs[5].status, Some(1), "the key is gone: {:#?}", runs[5]);
    assert!(
        home.path()
            .join(".local/share/vault/index/keyctl-index.json")
            .is_file()
    );
    assert_eq!(files_containing(home.path(), SECRET), Vec::<PathBuf>::new());
}

#[test]
fn keyctl_chosen_by_environment() {
    let mut home = home_with_keys();
    home.env("AWS_VAULT_BACKEND", "keyctl");
    let profile = unique_profile("kcenv");
    let key = format!("keyring-rs:keys:{profile}@vault-aws");
    let runs = session(
        &home,
        Bus::Absent,
        true,
        [
            format!("\"$VAULT\" --debug add --env {profile}"),
            "\"$VAULT\" list --credentials".to_string(),
            format!("keyctl pipe \"$(keyctl search @s user '{key}')\""),
            format!("\"$VAULT\" --debug remove -f {profile}"),
            "\"$VAULT\" list --credentials".to_string(),
            format!("keyctl search @s user '{key}'"),
        ],
    );
    assert_backend(&runs[0], "keyctl");
    assert_prints(
        &runs[0],
        &format!("Added credentials to profile \"{profile}\" in vault\n"),
    );
    assert_prints(&runs[1], &format!("{profile}\n"));
    assert_item(&runs[2], &profile, SECRET);
    assert_backend(&runs[3], "keyctl");
    assert_prints(&runs[3], "Deleted credentials.\n");
    assert_prints(&runs[4], "");
    assert_eq!(runs[5].status, Some(1), "the key is gone: {:#?}", runs[5]);
    assert_eq!(files_containing(home.path(), SECRET), Vec::<PathBuf>::new());
}
