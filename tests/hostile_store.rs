//! The security review's findings replayed against the file store, by another login session
//! of the same user (finding 3, the unlock cache). Each case runs the real binary with a
//! deadline, so a regression hangs no one. It must not touch anything outside its temp
//! folders and its own fresh uids.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::users::LocalUser;
use support::{Home, Run};

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
