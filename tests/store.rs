//! The file store and `add`/`remove`/`list`, through the real binary (and the library where
//! a test must read secrets back): permissions, wrong passphrases, damage, concurrency,
//! crashes, the unlock cache, terminal prompts, and no plaintext secret on disk.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use support::Home;
use vault::prompt::Scripted;
use vault::store::crypto::Kdf;
use vault::store::file::{FileStore, Unlock};
use vault::store::{Credentials, EntryId, SessionKey, Store};

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PASSPHRASE: &str = "correct horse battery staple";

/// A HOME whose file store is unlocked by AWS_VAULT_FILE_PASSPHRASE, with no unlock cache.
fn home() -> Home {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    home
}

fn store_dir(home: &Home) -> PathBuf {
    home.path().join(".local/share/vault")
}

fn add(home: &Home, profile: &str, id: &str, secret: &str) -> support::Run {
    let mut command = home.command(["add", profile, "--env"]);
    command
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret);
    support::Run::from(command.output().unwrap())
}

/// Every file under `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Fails if any file under `dir` holds `secret` in plaintext.
#[track_caller]
fn assert_no_plaintext(dir: &Path, secret: &str) {
    for (path, bytes) in snapshot(dir) {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "plaintext secret in {}", path.display());
    }
}

/// The store in `dir`, opened in this process.
fn open_store(dir: &Path) -> FileStore {
    FileStore::new(
        dir.to_path_buf(),
        Unlock {
            passphrase: Some(SecretString::from(PASSPHRASE)),
            prompt: Box::new(Scripted::default()),
            ttl: Duration::ZERO,
            new_kdf: Kdf::new,
        },
    )
}

fn keys_of(profile: &str) -> EntryId {
    EntryId::Keys {
        profile: profile.to_string(),
    }
}

#[test]
fn add_list_remove() {
    let home = home();
    home.config("[profile gds-users]\nregion = eu-west-1\n\n[profile target-account]\nsource_profile = gds-users\nrole_arn = arn:aws:iam::123456789012:role/admin\n");
    let run = add(&home, "gds-users", ID, SECRET);
    assert_eq!(
        run.ok(),
        "Added credentials to profile \"gds-users\" in vault\n"
    );
    assert_eq!(run.stderr, "");
    add(&home, "orphan", ID, SECRET).ok();
    let table = "\
Profile                  Credentials              Sessions
=======                  ===========              ========
gds-users                gds-users                -
target-account           gds-users                -
orphan                   orphan                   -
";
    assert_eq!(home.run(["list"]).ok(), table);
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "gds-users\norphan\n"
    );
    assert_eq!(
        home.run(["list", "--profiles"]).ok(),
        "gds-users\ntarget-account\norphan\n",
        "add appended [profile orphan] to the config"
    );

    let dir = store_dir(&home);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for path in snapshot(&dir).keys() {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    let mut store = open_store(&dir);
    let keys = store.get(&keys_of("gds-users")).unwrap().unwrap();
    assert_eq!(
        (
            keys.access_key_id.as_str(),
            keys.secret_access_key.expose_secret()
        ),
        (ID, SECRET)
    );

    assert_eq!(
        home.run(["remove", "-f", "orphan"]).ok(),
        "Deleted credentials.\n"
    );
    assert_eq!(home.run(["list", "--credentials"]).ok(), "gds-users\n");
    let missing = home.run(["remove", "-f", "orphan"]);
    assert!(missing.fails().starts_with(
        "error: no credentials for profile `orphan` in the file store at `~/.local/share/vault`\n"
    ));
    assert_no_plaintext(home.path(), SECRET);
}

#[test]
fn list_never_needs_the_passphrase() {
    let mut home = home();
    add(&home, "p", ID, SECRET).ok();
    home.env("AWS_VAULT_FILE_PASSPHRASE", "");
    let run = home.run(["list", "--credentials"]);
    assert_eq!(run.ok(), "p\n");
}

#[test]
fn add_keeps_every_other_byte_of_the_config() {
    let home = home();
    let original = "# my config\n[profile a]\nregion = eu-west-1 ; comment\n[default]\nregion=x";
    let path = home.config(original);
    add(&home, "new-one", ID, SECRET).ok();
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(after, format!("{original}\n\n[profile new-one]\n"));

    // An existing section is left alone; so is the file with --no-add-config.
    add(&home, "a", ID, SECRET).ok();
    let mut command = home.command(["add", "b", "--env", "--no-add-config"]);
    command
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    support::Run::from(command.output().unwrap()).ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);

    // No config file yet: one is made.
    let fresh = self::home();
    add(&fresh, "first", ID, SECRET).ok();
    assert_eq!(
        std::fs::read_to_string(fresh.path().join(".aws/config")).unwrap(),
        "[profile first]\n"
    );
}

#[test]
fn add_refuses_a_profile_with_a_source() {
    let home = home();
    home.config("[profile role]\nsource_profile = base\nrole_arn = arn:aws:iam::1:role/r\n");
    let run = add(&home, "role", ID, SECRET);
    assert_eq!(
        run.fails(),
        "error: profile `role` has a source_profile of `base`, so keys added to `role` would never be used\n\
         hint: add the keys to the source instead: `vault add base`\n"
    );
    assert!(!store_dir(&home).exists(), "nothing was stored");
}

#[test]
fn odd_keys_are_stored_with_a_warning() {
    let home = home();
    let run = add(&home, "p", "ASIAEXAMPLE", "short");
    run.ok();
    assert!(
        run.stderr
            .contains("warning: `ASIAEXAMPLE` looks like a temporary key id"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("warning: the secret access key is not 40 characters long"),
        "{run:?}"
    );
}

#[test]
fn wrong_passphrase_changes_nothing() {
    let mut home = home();
    add(&home, "p", ID, SECRET).ok();
    let before = snapshot(&store_dir(&home));
    home.env("AWS_VAULT_FILE_PASSPHRASE", "not the passphrase");
    let run = add(&home, "q", ID, SECRET);
    assert_eq!(
        run.fails(),
        "error: wrong passphrase for the vault at `~/.local/share/vault`\n\
         hint: nothing was changed; try again with the passphrase this vault was made with\n"
    );
    assert_eq!(snapshot(&store_dir(&home)), before);
}

#[test]
fn damaged_entries_are_named_and_others_still_work() {
    let home = home();
    add(&home, "good", ID, SECRET).ok();
    add(&home, "bad", ID, SECRET).ok();
    add(&home, "truncated", ID, SECRET).ok();
    let dir = store_dir(&home);
    let path_of = |profile: &str| -> PathBuf {
        snapshot(&dir)
            .into_iter()
            .find(|(path, bytes)| {
                path.extension().is_some_and(|e| e == "entry")
                    && String::from_utf8_lossy(bytes)
                        .contains(&format!("\"profile\":\"{profile}\""))
            })
            .unwrap()
            .0
    };
    let (bad, truncated) = (path_of("bad"), path_of("truncated"));
    // A flipped ciphertext byte, and a file cut in half.
    let mut bytes = std::fs::read(&bad).unwrap();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&bad, &bytes).unwrap();
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();

    // Listing reads the index, not the entries.
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "bad\ngood\ntruncated\n"
    );

    let mut store = open_store(&dir);
    assert!(store.get(&keys_of("good")).unwrap().is_some());
    let err = store.get(&keys_of("bad")).unwrap_err().to_string();
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("does not decrypt"),
        "{err}"
    );
    let err = store.get(&keys_of("truncated")).unwrap_err().to_string();
    assert!(err.contains(&truncated.display().to_string()), "{err}");

    // With the index damaged too, listing reads every entry and names the broken one.
    std::fs::write(dir.join("index.json"), b"{not json").unwrap();
    let run = home.run(["list", "--credentials"]);
    assert_eq!(run.ok(), "bad\ngood\n");
    assert!(
        run.stderr.contains(&format!(
            "warning: store file `{}` is damaged",
            truncated.display()
        )),
        "{run:?}"
    );
    // And the next write mends the index.
    add(&home, "another", ID, SECRET).ok();
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "another\nbad\ngood\n"
    );
}

#[test]
fn twenty_concurrent_adds_lose_nothing() {
    let home = home();
    add(&home, "first", ID, SECRET).ok(); // the store exists; the twenty race on entries
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut command = home.command(["add", &format!("p{i:02}"), "--env"]);
            command
                .env("AWS_ACCESS_KEY_ID", ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    support::wait_all(children);
    let listed = home.run(["list", "--credentials"]);
    let mut expected: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    expected.push("first".to_string());
    let mut got: Vec<&str> = listed.ok().lines().collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    let config = std::fs::read_to_string(home.path().join(".aws/config")).unwrap();
    for i in 0..20 {
        assert!(config.contains(&format!("[profile p{i:02}]\n")), "{config}");
    }
}

#[test]
fn concurrent_first_adds_share_one_store() {
    let home = home();
    let children: Vec<_> = (0..4)
        .map(|i| {
            let mut command = home.command(["add", &format!("p{i}"), "--env"]);
            command
                .env("AWS_ACCESS_KEY_ID", ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET);
            command
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    support::wait_all(children);
    let mut store = open_store(&store_dir(&home));
    for i in 0..4 {
        assert!(
            store.get(&keys_of(&format!("p{i}"))).unwrap().is_some(),
            "p{i}"
        );
    }
}

#[test]
fn sigkill_during_writes_leaves_old_or_new() {
    let home = home();
    add(&home, "p", ID, "old-secret-0000000000000000000000000000000").ok();
    let dir = store_dir(&home);
    for round in 0..25u64 {
        let new_secret = format!("new-secret-{round:02}-000000000000000000000000000");
        let mut command = home.command(["add", "p", "--env", "--no-add-config"]);
        command
            .env("AWS_ACCESS_KEY_ID", ID)
            .env("AWS_SECRET_ACCESS_KEY", &new_secret)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        // Spread the kills over the process's life (the KDF alone takes ~150 ms).
        std::thread::sleep(Duration::from_millis(round * 9 % 220));
        let _ = child.kill();
        child.wait().unwrap();
        let mut store = open_store(&dir);
        let keys = store
            .get(&keys_of("p"))
            .unwrap()
            .expect("the entry survives");
        let secret = keys.secret_access_key.expose_secret().to_string();
        assert!(
            secret.starts_with("old-secret") || secret.starts_with("new-secret"),
            "round {round}: {secret}"
        );
    }
}

#[test]
fn no_terminal_and_no_passphrase_fails_at_once() {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    let mut detached = home.detached(["add", "p", "--env"]);
    detached
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let started = std::time::Instant::now();
    let run = support::Run::from(detached.output().unwrap());
    assert!(started.elapsed() < Duration::from_secs(5), "it waited");
    let stderr = run.fails();
    assert!(stderr.starts_with("error: cannot ask `Enter a passphrase for the new vault at `~/.local/share/vault``: no terminal"), "{stderr}");
    assert!(
        stderr.ends_with(
            "hint: set AWS_VAULT_FILE_PASSPHRASE for unattended use, or run vault in a terminal\n"
        ),
        "{stderr}"
    );
}

#[test]
fn unlock_cache_spares_the_passphrase() {
    let mut home = home();
    home.env("AWS_VAULT_UNLOCK_TTL", "60s");
    add(&home, "p1", ID, SECRET).ok();
    // No passphrase now, and no terminal to ask: only the cached key can unlock.
    home.env("AWS_VAULT_FILE_PASSPHRASE", "");
    let run = {
        let mut command = home.command(["--debug", "add", "p2", "--env"]);
        command
            .env("AWS_ACCESS_KEY_ID", ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
        support::Run::from(command.output().unwrap())
    };
    run.ok();
    assert!(run.stderr.contains("unlock cache: hit"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("deriving the key"),
        "the KDF ran again: {}",
        run.stderr
    );

    // With the cache off, nothing is read from it.
    home.env("AWS_VAULT_UNLOCK_TTL", "0");
    let mut detached = home.detached(["add", "p3", "--env"]);
    detached
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let run = support::Run::from(detached.output().unwrap());
    assert!(run.fails().contains("no terminal"), "{run:?}");
}

/// The cached key is possessor-only and cannot be updated, so an expired one (which the
/// kernel keeps until its next collection, minutes later) must not block the next unlock
/// from being cached.
#[test]
fn unlock_cache_expires_and_is_kept_again() {
    let mut home = home();
    home.env("AWS_VAULT_UNLOCK_TTL", "1s");
    add(&home, "p1", ID, SECRET).ok();
    std::thread::sleep(Duration::from_millis(2500));
    let add_without_passphrase = |home: &Home, profile: &str| {
        let mut command = home.detached(["--debug", "add", profile, "--env"]);
        command
            .env("AWS_VAULT_FILE_PASSPHRASE", "")
            .env("AWS_ACCESS_KEY_ID", ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
        support::Run::from(command.output().unwrap())
    };
    let run = add_without_passphrase(&home, "p2");
    assert!(
        run.fails().contains("no terminal"),
        "expired, yet used: {run:?}"
    );

    home.env("AWS_VAULT_UNLOCK_TTL", "60s");
    let mut command = home.command(["--debug", "add", "p3", "--env"]);
    command
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let run = support::Run::from(command.output().unwrap());
    run.ok();
    assert!(
        run.stderr.contains("unlock cache: key kept for 60s"),
        "{}",
        run.stderr
    );
    let run = add_without_passphrase(&home, "p4");
    run.ok();
    assert!(run.stderr.contains("unlock cache: hit"), "{}", run.stderr);
}

/// Review finding 11, accepted: an older file of the same entry, put back, opens (nothing
/// outside the store remembers which is newer). What is bound stays bound: an entry whose
/// expiry was edited does not open.
#[test]
fn a_rolled_back_entry_opens_but_an_edited_expiry_does_not() {
    let home = home();
    add(&home, "p", ID, SECRET).ok();
    let dir = store_dir(&home);
    let mut store = open_store(&dir);
    let id = EntryId::Session(SessionKey {
        kind: "sts.GetSessionToken".to_string(),
        profile: "p".to_string(),
        mfa_serial: None,
        source: "p".to_string(),
        params: "x".to_string(),
    });
    let session = |token: &str, expiration: u64| Credentials {
        access_key_id: "ASIAEXAMPLE".to_string(),
        secret_access_key: SecretString::from("session-secret-value"),
        session_token: Some(SecretString::from(token)),
        expiration: Some(expiration),
    };
    let later = vault::store::now() + 3600;
    store.put(&id, &session("old-token", later)).unwrap();
    let file = snapshot(&dir)
        .into_keys()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("session-")
        })
        .unwrap();
    let old = std::fs::read(&file).unwrap();
    store.put(&id, &session("new-token", later + 60)).unwrap();
    std::fs::write(&file, &old).unwrap();
    let token = |store: &mut FileStore| {
        let got = store.get(&id).unwrap().unwrap();
        got.session_token.unwrap().expose_secret().to_string()
    };
    assert_eq!(token(&mut store), "old-token", "rolled back, and accepted");

    let edited = String::from_utf8(old).unwrap().replace(
        &format!("\"expiration\":{later}"),
        &format!("\"expiration\":{}", later + 86400),
    );
    std::fs::write(&file, edited).unwrap();
    let err = store.get(&id).unwrap_err().to_string();
    assert!(err.contains("does not decrypt"), "{err}");
}

#[test]
fn sessions_are_listed_and_cleared_with_their_keys() {
    let home = home();
    home.config("[profile gds-users]\n[profile target-account]\nsource_profile = gds-users\nrole_arn = arn:aws:iam::1:role/r\n");
    add(&home, "gds-users", ID, SECRET).ok();
    let mut store = open_store(&store_dir(&home));
    let now = vault::store::now();
    let session = |profile: &str, kind: &str| SessionKey {
        kind: kind.to_string(),
        profile: profile.to_string(),
        mfa_serial: None,
        source: "gds-users".to_string(),
        params: "x".to_string(),
    };
    let credentials = |expires: u64| Credentials {
        access_key_id: "ASIAEXAMPLE".to_string(),
        secret_access_key: SecretString::from("session-secret-value"),
        session_token: Some(SecretString::from("session-token-value")),
        expiration: Some(expires),
    };
    store
        .put(
            &EntryId::Session(session("gds-users", "sts.GetSessionToken")),
            &credentials(now + 8 * 3600 - 1),
        )
        .unwrap();
    store
        .put(
            &EntryId::Session(session("target-account", "sts.AssumeRole")),
            &credentials(now + 3599),
        )
        .unwrap();
    store
        .put(
            &EntryId::Session(session("target-account", "sts.Old")),
            &credentials(now - 1),
        )
        .unwrap();
    let table = home.run(["list"]).ok().to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[2].starts_with(
            "gds-users                gds-users                sts.GetSessionToken:7h59m5"
        ),
        "{table}"
    );
    assert!(
        lines[3]
            .starts_with("target-account           gds-users                sts.AssumeRole:59m5"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "the expired session is not listed: {table}");
    assert_no_plaintext(home.path(), "session-token-value");

    // New keys for gds-users clear the sessions made from the old ones.
    add(&home, "gds-users", ID, SECRET).ok();
    assert_eq!(home.run(["list", "--sessions"]).ok(), "");
}

#[test]
fn terminal_prompts_hide_the_secret() {
    let home = Home::new();
    let mut command = home.command(["add", "gds-users"]);
    command
        .env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    let mut session = rexpect::session::spawn_command(command, Some(20_000)).unwrap();
    session.exp_string("Enter Access Key ID: ").unwrap();
    session.send_line(ID).unwrap();
    session.exp_string("Enter Secret Access Key: ").unwrap();
    session.send_line(SECRET).unwrap();
    session
        .exp_string("Enter a passphrase for the new vault at `~/.local/share/vault`: ")
        .unwrap();
    session.send_line(PASSPHRASE).unwrap();
    session.exp_string("Enter the passphrase again: ").unwrap();
    session.send_line(PASSPHRASE).unwrap();
    let rest = session.exp_eof().unwrap();
    assert!(
        rest.contains("Added credentials to profile \"gds-users\" in vault"),
        "{rest:?}"
    );
    assert!(
        !rest.contains(SECRET) && !rest.contains(PASSPHRASE),
        "echoed: {rest:?}"
    );

    // A second add asks for the passphrase once; a wrong one is refused.
    let mut command = home.command(["add", "other"]);
    command
        .env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    let mut session = rexpect::session::spawn_command(command, Some(20_000)).unwrap();
    session.exp_string("Enter Access Key ID: ").unwrap();
    session.send_line(ID).unwrap();
    session.exp_string("Enter Secret Access Key: ").unwrap();
    session.send_line(SECRET).unwrap();
    session
        .exp_string("Enter passphrase to unlock `~/.local/share/vault`: ")
        .unwrap();
    session.send_line("wrong").unwrap();
    let rest = session.exp_eof().unwrap();
    assert!(rest.contains("error: wrong passphrase"), "{rest:?}");
    assert_no_plaintext(home.path(), SECRET);
    assert_no_plaintext(home.path(), PASSPHRASE);
}

#[test]
fn remove_asks_first() {
    let home = home();
    add(&home, "p", ID, SECRET).ok();
    let mut session =
        rexpect::session::spawn_command(home.command(["remove", "p"]), Some(20_000)).unwrap();
    session
        .exp_string("Delete credentials for profile \"p\"? (y|N) ")
        .unwrap();
    session.send_line("n").unwrap();
    assert!(session.exp_eof().unwrap().contains("Nothing deleted."));
    assert_eq!(home.run(["list", "--credentials"]).ok(), "p\n");

    let mut session =
        rexpect::session::spawn_command(home.command(["remove", "p"]), Some(20_000)).unwrap();
    session.exp_string("(y|N) ").unwrap();
    session.send_line("y").unwrap();
    assert!(session.exp_eof().unwrap().contains("Deleted credentials."));
    assert_eq!(home.run(["list", "--credentials"]).ok(), "");
}
