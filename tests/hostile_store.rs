//! The security review's findings replayed against the file store, by another local user or
//! another login session of the same user: finding 3 (the unlock cache), finding 7 (the
//! store, locks and index folders, and the files in them) and finding 10's KDF costs in
//! `vault.json`. Each case runs the real binary with a deadline, so a regression hangs no
//! one. It must not touch anything outside its temp folders and its own fresh uids.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::users::LocalUser;
use support::{Home, Run};
use vault::store::{EntryId, EntryMeta};

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PASSPHRASE: &str = "correct horse battery staple";

/// Long enough for a debug build on a busy machine, short enough that a hang fails soon.
const DEADLINE: Duration = Duration::from_secs(20);

/// A HOME that `user` owns, with the file store unlocked by AWS_VAULT_FILE_PASSPHRASE and no
/// unlock cache.
fn home_of(user: &LocalUser) -> Home {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    user.own(home.path());
    home
}

fn store_dir(home: &Home) -> PathBuf {
    home.path().join(".local/share/vault")
}

/// `vault add PROFILE --env` as `user`.
fn add(user: &LocalUser, home: &Home, profile: &str) -> Command {
    let mut command = user.vault(home, ["add", profile, "--env", "--no-add-config"]);
    command
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    command
}

/// Runs `command` to its end or to `DEADLINE`, whichever comes first; a command still running
/// then is killed and the test fails.
#[track_caller]
fn within_deadline(mut command: Command) -> Run {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let run = Run::from(child.wait_with_output().unwrap());
            panic!("still running after {DEADLINE:?}, killed: {command:?}\n{run:#?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run::from(child.wait_with_output().unwrap())
}

// ---------------------------------------------------------------------------------------
// Finding 3: the unlock cache
// ---------------------------------------------------------------------------------------

/// The store id that names the cached key (`vault:file-store:<id>`).
fn store_id(home: &Home) -> String {
    let header: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store_dir(home).join("vault.json")).unwrap())
            .unwrap();
    header["store_id"].as_str().unwrap().to_string()
}

/// Review finding 3: the cached data key was in the user keyring, readable by every process
/// of the uid (`keyctl session - python3 steal.py`). Now it is possessor-only in the session
/// keyring: the unlocking session reuses it without the KDF; another session keyring of the
/// same user can neither find nor read it, nor unlock with it, and no one can clear its
/// timeout.
#[test]
fn unlock_cache_stays_in_its_login_session() {
    let Some((alice, _)) = LocalUser::pair("unlock_cache_stays_in_its_login_session") else {
        return;
    };
    let mut home = home_of(&alice);
    home.env("AWS_VAULT_UNLOCK_TTL", "60s");
    // Session A: unlock with the passphrase, then again without one, then wait on stdin
    // (the session keyring lives as long as its processes).
    let script = r#"
        vault add p1 --env --no-add-config >/dev/null || exit 1
        AWS_VAULT_FILE_PASSPHRASE= setsid -w vault --debug add p2 --env --no-add-config 2>&1 >/dev/null | grep -E 'unlock cache|deriving'
        id=$(sed -n 's/.*"store_id": *"\([0-9a-f]*\)".*/\1/p' "$XDG_DATA_HOME/vault/vault.json")
        key=$(keyctl search @s user "vault:file-store:$id")
        echo "key=$key"
        echo "rights=$(keyctl rdescribe "$key" | cut -d';' -f4)"
        keyctl timeout "$key" 0 2>/dev/null && echo "the timeout was cleared"
        keyctl setperm "$key" 0x3f3f0000 2>/dev/null && echo "the rights were widened"
        keyctl update "$key" x 2>/dev/null && echo "the key was changed"
        echo READY
        read done
        exit 0
    "#;
    let mut session_a = alice.command(&home, "keyctl", &["session", "-", "sh", "-c", script]);
    session_a
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut session_a = session_a.spawn().unwrap();
    let mut lines = BufReader::new(session_a.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "READY" {
            break;
        }
        seen.push(line);
    }
    let seen = seen.join("\n");
    let key = seen
        .lines()
        .find_map(|l| l.strip_prefix("key="))
        .unwrap_or_default()
        .to_string();
    let description = format!("vault:file-store:{}", store_id(&home));

    // Session B: the same user, another session keyring, while session A still holds it.
    for attack in [
        format!("keyctl search @u user '{description}'"),
        format!("keyctl search @us user '{description}'"),
        format!("keyctl search @s user '{description}'"),
        format!("keyctl pipe %user:{description}"),
        format!("keyctl pipe {key}"),
        format!("keyctl search @u user '{description}' @s && keyctl pipe {key}"),
        format!("grep -i '^0*{key_hex} ' /proc/keys", key_hex = hex_id(&key)),
    ] {
        let run =
            within_deadline(alice.command(&home, "keyctl", &["session", "-", "sh", "-c", &attack]));
        assert_ne!(run.status, Some(0), "`{attack}` got through: {run:?}");
    }
    let mut locked_out = alice.command(
        &home,
        "keyctl",
        &[
            "session",
            "-",
            "setsid",
            "-w",
            "vault",
            "add",
            "p3",
            "--env",
            "--no-add-config",
        ],
    );
    locked_out
        .env("AWS_VAULT_FILE_PASSPHRASE", "")
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let run = within_deadline(locked_out);
    assert!(
        run.stderr
            .contains("cannot ask `Enter passphrase to unlock"),
        "another session unlocked without the passphrase: {run:?}"
    );

    drop(session_a.stdin.take());
    assert!(session_a.wait().unwrap().success());

    // Meanwhile, in session A:
    assert!(seen.contains("unlock cache: hit"), "{seen}");
    assert!(
        !seen.contains("deriving"),
        "the second command ran the KDF: {seen}"
    );
    assert!(
        seen.contains("rights=0b000000"),
        "possessor view, read and search only: {seen}"
    );
    assert!(
        !seen.contains("was cleared") && !seen.contains("widened") && !seen.contains("changed"),
        "{seen}"
    );
}

/// `/proc/keys` writes key ids in hex.
fn hex_id(decimal: &str) -> String {
    format!("{:x}", decimal.trim().parse::<u32>().unwrap_or(0))
}

/// A process with no session keyring of its own caches in the user-session keyring, which
/// every such process of the user shares: the next one there reuses the key. A session
/// keyring of the same user can see that the key exists but can neither read it nor link it
/// to itself.
#[test]
fn without_a_session_keyring_the_cache_is_the_user_sessions() {
    let Some((alice, _)) =
        LocalUser::pair("without_a_session_keyring_the_cache_is_the_user_sessions")
    else {
        return;
    };
    let mut home = home_of(&alice);
    home.env("AWS_VAULT_UNLOCK_TTL", "60s");
    within_deadline(add(&alice, &home, "p1")).ok();
    let mut again = alice.vault(&home, ["--debug", "add", "p2", "--env", "--no-add-config"]);
    again
        .env("AWS_VAULT_FILE_PASSPHRASE", "")
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let run = within_deadline(again);
    run.ok();
    assert!(run.stderr.contains("unlock cache: hit"), "{}", run.stderr);

    let description = format!("vault:file-store:{}", store_id(&home));
    for attack in [
        format!("keyctl pipe \"$(keyctl search @us user '{description}')\""),
        format!("keyctl search @us user '{description}' @s && keyctl pipe %user:{description}"),
    ] {
        let run =
            within_deadline(alice.command(&home, "keyctl", &["session", "-", "sh", "-c", &attack]));
        assert_ne!(run.status, Some(0), "`{attack}` got through: {run:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Finding 7: store, locks and index folders, and the files in them
// ---------------------------------------------------------------------------------------

/// `sh -c SCRIPT` as `user`, which must succeed.
#[track_caller]
fn sh(user: &LocalUser, home: &Home, script: &str) {
    within_deadline(user.command(home, "sh", &["-c", script])).ok();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The file name the store gives `id` (as `store::file` derives it).
fn entry_name(id: &EntryId) -> String {
    use blake2::{Blake2s256, Digest};
    let digest = Blake2s256::digest(id.text().as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let prefix = match id {
        EntryId::Keys { .. } => "keys",
        EntryId::Session(_) => "session",
    };
    format!("{prefix}-{hex}.entry")
}

fn keys_of(profile: &str) -> EntryId {
    EntryId::Keys {
        profile: profile.to_string(),
    }
}

/// Review finding 7: mallory makes a world-writable folder and plants `.lock -> ~alice/...`;
/// alice's `vault add` into it succeeded and created the link's target. Now the folder is
/// refused, with the fix, before anything in it is opened.
#[test]
fn planted_lock_link_in_a_shared_folder_creates_nothing() {
    let Some((alice, mallory)) =
        LocalUser::pair("planted_lock_link_in_a_shared_folder_creates_nothing")
    else {
        return;
    };
    let mut home = home_of(&alice);
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let target = home.path().join("created-by-mallory");

    // mallory's own folder, and one alice made loose herself.
    for (owner, shared) in [(mallory, "mallory-shared"), (alice, "alice-shared")] {
        let shared = parent.path().join(shared);
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, PermissionsExt::from_mode(0o777)).unwrap();
        owner.own(&shared);
        sh(
            &mallory,
            &home,
            &format!("ln -s '{}' '{}/.lock'", target.display(), shared.display()),
        );
        home.env("AWS_VAULT_FILE_DIR", shared.display().to_string());
        let run = within_deadline(add(&alice, &home, "shared"));
        let stderr = run.fails();
        let folder = shared.display();
        let expected = if owner.uid == alice.uid {
            format!(
                "error: vault will not use `{folder}`: other users can change it (mode 0777); it must be 0700\n\
                 hint: make it private with `chmod 700 {folder}`, and check that nothing in it was put there by someone else\n"
            )
        } else {
            format!(
                "error: vault will not use `{folder}`: it belongs to uid {}, not to you (uid {})\n\
                 hint: use a folder of your own (AWS_VAULT_FILE_DIR or `file_dir` in config.toml); if this one should be yours, have root run `chown {1} {folder}`, then `chmod 700 {folder}`\n",
                owner.uid, alice.uid
            )
        };
        assert_eq!(stderr, expected);
        assert!(
            std::fs::symlink_metadata(&target).is_err(),
            "vault created mallory's target"
        );
        let names: Vec<_> = std::fs::read_dir(&shared)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [".lock"], "vault wrote into the shared folder");
    }
}

/// The same link in alice's own private folder (put there by a restore, a sync tool or a
/// mistake) is not followed either: no file is created at its target.
#[test]
fn lock_link_in_a_private_folder_is_not_followed() {
    let Some((alice, _)) = LocalUser::pair("lock_link_in_a_private_folder_is_not_followed") else {
        return;
    };
    let home = home_of(&alice);
    within_deadline(add(&alice, &home, "p1")).ok();
    let dir = store_dir(&home);
    let target = home.path().join("elsewhere");
    sh(
        &alice,
        &home,
        &format!(
            "rm '{0}/.lock' && ln -s '{1}' '{0}/.lock'",
            dir.display(),
            target.display()
        ),
    );
    let run = within_deadline(add(&alice, &home, "p2"));
    assert_eq!(
        run.fails(),
        format!(
            "error: vault will not open `{0}/.lock`: it is a symbolic link\n\
             hint: vault keeps only regular files there and follows no links: remove `{0}/.lock`, and check who put it there\n",
            dir.display()
        )
    );
    assert!(
        std::fs::symlink_metadata(&target).is_err(),
        "the link was followed"
    );
}

/// A store folder others can read or change, or one another user owns, is refused with the
/// fix; so are the locks folder and a keychain backend's index folder.
#[test]
fn loose_or_foreign_folders_are_refused() {
    let Some((alice, mallory)) = LocalUser::pair("loose_or_foreign_folders_are_refused") else {
        return;
    };
    let home = home_of(&alice);
    within_deadline(add(&alice, &home, "p1")).ok();
    let dir = store_dir(&home);
    for (loose, change) in [
        (0o750, "read"),
        (0o705, "read"),
        (0o711, "enter"),
        (0o770, "change"),
        (0o1777, "change"),
    ] {
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(loose)).unwrap();
        let run = within_deadline(alice.vault(&home, ["list", "--credentials"]));
        assert_eq!(
            run.fails(),
            format!(
                "error: vault will not use `{0}`: other users can {change} it (mode {loose:04o}); it must be 0700\n\
                 hint: make it private with `chmod 700 {0}`, and check that nothing in it was put there by someone else\n",
                dir.display()
            )
        );
    }
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o700)).unwrap();
    assert_eq!(
        within_deadline(alice.vault(&home, ["list", "--credentials"])).ok(),
        "p1\n"
    );

    // mallory's folder, readable by alice.
    mallory.own(&dir);
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
    let run = within_deadline(alice.vault(&home, ["list", "--credentials"]));
    assert!(
        run.fails().starts_with(&format!(
            "error: vault will not use `{}`: it belongs to uid {}, not to you (uid {})\n",
            dir.display(),
            mallory.uid,
            alice.uid
        )),
        "{run:?}"
    );
    alice.own(&dir);
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o700)).unwrap();

    // A keychain backend's index folder.
    let index = dir.join("index");
    sh(
        &alice,
        &home,
        &format!("mkdir -m 777 '{}'", index.display()),
    );
    let mut list = alice.vault(&home, ["list", "--credentials"]);
    list.env("AWS_VAULT_BACKEND", "keyctl");
    let run = within_deadline(list);
    assert!(
        run.fails().starts_with(&format!(
            "error: vault will not use `{}`: other users can change it (mode 0777)",
            index.display()
        )),
        "{run:?}"
    );

    // The locks folder: the lock is a courtesy (vault goes on without one), but nothing is
    // opened or made in a loose folder.
    let locks = dir.join("locks");
    sh(
        &alice,
        &home,
        &format!("mkdir -m 777 '{}'", locks.display()),
    );
    let json = home.path().join("cp.json");
    std::fs::write(
        &json,
        format!("{{\"Version\": 1, \"AccessKeyId\": \"{ID}\", \"SecretAccessKey\": \"{SECRET}\"}}"),
    )
    .unwrap();
    alice.own(&json);
    let config = home.config(&format!(
        "[profile cp]\ncredential_process = cat {}\n",
        json.display()
    ));
    alice.own(&config);
    let run = within_deadline(alice.vault(&home, ["--debug", "exec", "cp", "--", "true"]));
    run.ok();
    assert!(
        run.stderr
            .contains(&format!("vault will not use `{}`", locks.display())),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(&locks).unwrap().count(),
        0,
        "a lock file was made in the loose folder"
    );
    assert_eq!(
        mode(&locks),
        0o777,
        "vault changed the mode of a folder it did not make"
    );
}

/// Review finding 7: a FIFO entry made `vault list` hang. Now it is named and skipped, at
/// once, and the other entries are listed.
#[test]
fn fifo_entry_does_not_hang_list() {
    let Some((alice, _)) = LocalUser::pair("fifo_entry_does_not_hang_list") else {
        return;
    };
    let home = home_of(&alice);
    within_deadline(add(&alice, &home, "p1")).ok();
    let fifo = store_dir(&home).join(format!("session-{}.entry", "1".repeat(32)));
    sh(&alice, &home, &format!("mkfifo '{}'", fifo.display()));
    let run = within_deadline(alice.vault(&home, ["clear"]));
    assert_eq!(run.ok(), "Cleared 0 sessions.\n");
    for args in [&["list", "--credentials"][..], &["list"]] {
        let run = within_deadline(alice.vault(&home, args));
        run.ok();
        assert!(
            run.stderr.contains(&format!(
                "warning: vault will not open `{}`: it is a FIFO, not a regular file\n",
                fifo.display()
            )),
            "{args:?}: {run:?}"
        );
    }
    assert_eq!(
        within_deadline(alice.vault(&home, ["list", "--credentials"])).ok(),
        "p1\n"
    );
}

/// Review finding 7: `keys-0...0.entry -> /dev/zero` made `vault list` allocate until it ran
/// out of memory. Now the link is not followed. (Run under a 1 GB address-space limit, so a
/// regression fails instead of eating the machine's memory.)
#[test]
fn device_linked_as_an_entry_is_not_read() {
    let Some((alice, _)) = LocalUser::pair("device_linked_as_an_entry_is_not_read") else {
        return;
    };
    let home = home_of(&alice);
    within_deadline(add(&alice, &home, "p1")).ok();
    let link = store_dir(&home).join(format!("keys-{}.entry", "0".repeat(32)));
    sh(
        &alice,
        &home,
        &format!("ln -s /dev/zero '{}'", link.display()),
    );
    let uid = alice.uid.to_string();
    let (reuid, regid) = (format!("--reuid={uid}"), format!("--regid={uid}"));
    let limited = home.wrapped(
        &[
            "prlimit",
            "--as=1000000000",
            "setpriv",
            &reuid,
            &regid,
            "--clear-groups",
        ],
        ["list", "--credentials"],
    );
    let run = within_deadline(limited);
    assert_eq!(run.ok(), "p1\n");
    assert!(
        run.stderr.contains(&format!(
            "warning: vault will not open `{}`: it is a symbolic link\n",
            link.display()
        )),
        "{run:?}"
    );
}

/// Review finding 7: the index is a hint. A record under a real entry's file name that
/// names another profile (with terminal escapes, or a plain one the file does not hold), or
/// a record with no file, is not listed; an entry file whose own metadata holds escapes is
/// named as damaged, never printed.
#[test]
fn the_index_cannot_invent_or_rename_entries() {
    let Some((alice, _)) = LocalUser::pair("the_index_cannot_invent_or_rename_entries") else {
        return;
    };
    let home = home_of(&alice);
    within_deadline(add(&alice, &home, "real")).ok();
    let dir = store_dir(&home);
    let real = entry_name(&keys_of("real"));
    assert!(dir.join(&real).exists());
    let meta = |profile: &str| EntryMeta {
        id: keys_of(profile),
        expiration: None,
        source: None,
    };
    let index = |records: &[(&str, &str)]| {
        let entries: serde_json::Map<String, serde_json::Value> = records
            .iter()
            .map(|(file, profile)| {
                (
                    file.to_string(),
                    serde_json::json!({ "meta": meta(profile) }),
                )
            })
            .collect();
        serde_json::json!({ "entries": entries })
    };
    let escapes = "shared\u{1b}]0;owned\u{7}\u{1b}[31mFAKE";
    let ghost = entry_name(&keys_of("ghost"));
    for index in [
        index(&[(&real, escapes)]),
        index(&[(&real, "admin")]),
        index(&[(&real, "real"), (&ghost, "ghost")]),
    ] {
        std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
        alice.own(&dir);
        let run = within_deadline(alice.vault(&home, ["list", "--credentials"]));
        assert_eq!(run.ok(), "real\n", "index {index}");
        assert_eq!(run.stderr, "");
    }

    // An entry file of its own, under the name its (escaped) id hashes to.
    let fake = dir.join(entry_name(&keys_of(escapes)));
    let file = serde_json::json!({
        "version": 1,
        "meta": meta(escapes),
        "sealed": { "nonce": "00".repeat(24), "ciphertext": "00".repeat(32) },
    });
    std::fs::write(&fake, file.to_string()).unwrap();
    std::fs::remove_file(dir.join("index.json")).unwrap();
    alice.own(&dir);
    let run = within_deadline(alice.vault(&home, ["list", "--credentials"]));
    assert_eq!(run.ok(), "real\n");
    assert_eq!(
        run.stderr,
        format!(
            "warning: store file `{}` is damaged: its metadata holds a name vault would not write\n",
            fake.display()
        )
    );
    assert!(!run.stderr.contains('\u{1b}'));
}

// ---------------------------------------------------------------------------------------
// Finding 10: KDF costs from vault.json
// ---------------------------------------------------------------------------------------

/// Review finding 10: `vault.json` with `iterations: 4000000000` ran until killed, and
/// `memory_kib: 4294967295` aborted on allocation. Costs out of bounds are refused at once,
/// with or without a cached key, and nothing is changed.
#[test]
fn tampered_kdf_costs_are_refused_at_once() {
    let Some((alice, _)) = LocalUser::pair("tampered_kdf_costs_are_refused_at_once") else {
        return;
    };
    let mut home = home_of(&alice);
    home.env("AWS_VAULT_UNLOCK_TTL", "60s");
    within_deadline(add(&alice, &home, "p1")).ok();
    let header = store_dir(&home).join("vault.json");
    let original = std::fs::read_to_string(&header).unwrap();
    let cases = [
        (
            "memory_kib",
            4294967295u64,
            "memory of 4294967295 KiB is outside 8..=4194304 KiB",
        ),
        (
            "iterations",
            4000000000,
            "4000000000 iterations is outside 1..=100",
        ),
        (
            "parallelism",
            16777215,
            "parallelism 16777215 is outside 1..=16",
        ),
    ];
    for (field, value, problem) in cases {
        let mut tampered: serde_json::Value = serde_json::from_str(&original).unwrap();
        tampered["kdf"][field] = value.into();
        std::fs::write(&header, tampered.to_string()).unwrap();
        alice.own(&header);
        // With the passphrase and no cache (the KDF would run), then with only the cached
        // key (which would spare the KDF): the header is refused all the same.
        for (ttl, passphrase) in [("0", PASSPHRASE), ("60s", "")] {
            let mut command = add(&alice, &home, "p2");
            command
                .env("AWS_VAULT_UNLOCK_TTL", ttl)
                .env("AWS_VAULT_FILE_PASSPHRASE", passphrase);
            let started = Instant::now();
            let run = within_deadline(command);
            assert_eq!(
                run.fails(),
                format!(
                    "error: store file `{}` is not one vault wrote: key derivation: {problem}\n\
                     hint: vault did not write this; restore `vault.json` from a backup (without it no entry can be opened)\n",
                    header.display()
                )
            );
            assert!(started.elapsed() < Duration::from_secs(10), "{field}");
        }
    }
    // Not JSON at all: the advice is the backup, never "remove the damaged file".
    std::fs::write(&header, "{not json").unwrap();
    let run = within_deadline(add(&alice, &home, "p2"));
    assert_eq!(
        run.fails(),
        format!(
            "error: store file `{}` is not one vault wrote: key must be a string at line 1 column 2\n\
             hint: vault did not write this; restore `vault.json` from a backup (without it no entry can be opened)\n",
            header.display()
        )
    );
    std::fs::write(&header, &original).unwrap();
    alice.own(&header);
    within_deadline(add(&alice, &home, "p2")).ok();
}
