//! The two programs: `vault` serves the warm path itself (`src/warm.rs`) and hands every
//! other command line to `vault-full`. A copy of `vault` alone in a folder proves which is
//! which: what it answers, it answered without `vault-full`; the rest fails to hand over.
//! Both answer alike.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::desktop::{Bus, session};
use support::{Run, World};

const FULL: &str = env!("CARGO_BIN_EXE_vault-full");

/// `vault` copied into a folder of its own, with no `vault-full` beside it.
fn lone_vault() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    std::fs::copy(env!("CARGO_BIN_EXE_vault"), &path).unwrap();
    (dir, path)
}

fn run(world: &World, program: &Path, args: &[&str]) -> Run {
    Run::from(
        world
            .home
            .child(program.to_str().unwrap(), args)
            .output()
            .unwrap(),
    )
}

/// The `AWS_*` lines of `env` run by `vault exec PROFILE`, sorted.
fn aws_env(world: &World, program: &Path, profile: &str) -> Vec<String> {
    let run = run(world, program, &["exec", profile, "--", "env"]);
    let mut lines: Vec<String> = run
        .ok()
        .lines()
        .filter(|l| l.starts_with("AWS_"))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn the_warm_path_runs_without_vault_full_and_answers_as_it_does() {
    let world = World::new();
    let code = world.code(0);
    world
        .run(&["exec", "-t", &code, "target-account", "--", "true"])
        .ok();
    world.run(&["exec", "readonly", "--", "true"]).ok();
    let (_dir, lone) = lone_vault();
    let full = Path::new(FULL);

    for args in [
        &["export", "--format", "json", "target-account"][..],
        &["export", "readonly", "--format", "ini"],
        &["export", "readonly"],
        &["list"],
        &["list", "--sessions"],
        &["list", "--credentials"],
        &["list", "--profiles"],
        &["--version"],
        &["--version", "--verbose"],
        &["version"],
    ] {
        // `list` prints the time left to the second, so two runs can straddle a second
        // boundary: a real difference shows in every one of three tries, that one in one.
        let mut tries = 0;
        loop {
            let warm = run(&world, &lone, args);
            let whole = run(&world, full, args);
            tries += 1;
            if tries < 3 && (warm.stdout != whole.stdout || warm.stderr != whole.stderr) {
                continue;
            }
            assert_eq!(warm.ok(), whole.ok(), "{args:?}");
            assert_eq!(warm.stderr, whole.stderr, "{args:?}");
            break;
        }
    }
    let json = run(
        &world,
        &lone,
        &["export", "--format", "json", "target-account"],
    );
    assert!(json.ok().contains("\"SessionToken\""), "{}", json.stdout);

    for profile in ["target-account", "readonly"] {
        let warm = aws_env(&world, &lone, profile);
        assert_eq!(warm, aws_env(&world, full, profile));
        assert!(
            warm.iter().any(|l| l.starts_with("AWS_SESSION_TOKEN=")),
            "{warm:?}"
        );
        assert!(warm.contains(&format!("AWS_VAULT={profile}")), "{warm:?}");
    }
    // The command gets the real arguments, `--` and all after it.
    let echoed = run(
        &world,
        &lone,
        &["exec", "readonly", "--", "echo", "-n", "--", "a b"],
    );
    assert_eq!(echoed.ok(), "-- a b");
}

#[test]
fn everything_else_is_handed_to_vault_full() {
    let world = World::new();
    world.run(&["exec", "readonly", "--", "true"]).ok();
    let (_dir, lone) = lone_vault();
    // Cold (no session yet), an option, another command, a nested shell, a stale session:
    // none is served by `vault` alone, so each tries `vault-full`.
    let stale = [("AWS_MIN_TTL", "2h")];
    let nested = [("AWS_VAULT", "readonly")];
    // Without HOME, the home folder comes from the user database (glibc's NSS modules,
    // which a static `vault` would load at run time).
    let no_home = [("HOME", "")];
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (&["exec", "gds-users", "--", "true"], &[]),
        (
            &["exec", "--region", "eu-west-2", "readonly", "--", "true"],
            &[],
        ),
        (&["exec", "readonly", "--", "true"], &nested),
        (&["exec", "readonly", "--", "true"], &stale),
        (&["export", "--format", "json", "readonly"], &stale),
        (&["show", "readonly"], &[]),
        (&["--debug", "list"], &[]),
        (&["list", "--bogus"], &[]),
        (&["list"], &no_home),
    ];
    for (args, env) in cases {
        let mut command = world.home.child(lone.to_str().unwrap(), args);
        command.envs(env.iter().copied());
        let run = Run::from(command.output().unwrap());
        let err = run.fails();
        assert!(
            err.contains("vault-full` is missing: this install of vault is broken")
                && err.contains(
                    "\nhint: install both programs, with `cargo install --locked --path .`"
                ),
            "{args:?} {env:?}: {err}"
        );
    }
    // A static `vault` cannot load what LD_PRELOAD names (libfaketime's clock, say).
    if env!("VAULT_LINKED") == "static" {
        let mut command = world.home.child(lone.to_str().unwrap(), &["list"]);
        command.env("LD_PRELOAD", "libc.so.6");
        let run = Run::from(command.output().unwrap());
        let err = run.fails();
        assert!(err.contains("vault-full"), "LD_PRELOAD: {err}");
    }
    // A keys file damaged after it was indexed: `list` still answers from the index, so
    // `vault` cannot tell from the file alone whether the keys are stored, and steps aside.
    let store = world.home.path().join(".local/share/vault");
    let keys: Vec<PathBuf> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("keys-")
        })
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let answered = run(&world, &lone, &["export", "readonly"]);
    assert!(answered.ok().contains("AWS_SESSION_TOKEN"), "{answered:#?}");
    std::fs::write(&keys[0], "{").unwrap();
    let handed = run(&world, &lone, &["export", "readonly"]);
    let err = handed.fails();
    assert!(err.contains("vault-full"), "{err}");
    let whole = world.run(&["export", "readonly"]);
    assert!(whole.ok().contains("AWS_SESSION_TOKEN"), "{whole:#?}");
    // Through the installed pair the same command lines work, and vault-full's messages
    // still name `vault`.
    let err = world.run(&["exec", "--bogus", "readonly"]);
    assert_eq!(err.status, Some(2), "{err:#?}");
    assert!(err.stderr.contains("Usage: vault exec"), "{}", err.stderr);
    let ok = Command::new(FULL).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        format!("vault {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// What makes `vault-full` slow to start is not linked into `vault`: its symbols (this is the
/// unstripped test build) name none of the SDK, the HTTP and TLS stack, tokio, D-Bus, clap's
/// parser, or vault's own modules that use them (SSO's cache keys are pure, and linked).
#[test]
fn vault_links_nothing_of_the_cold_path() {
    let symbols = |program: &str| {
        let out = Command::new("nm").args(["-C", program]).output().unwrap();
        assert!(out.status.success(), "nm {program}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let warm = symbols(env!("CARGO_BIN_EXE_vault"));
    let full = symbols(FULL);
    for name in [
        "aws_sdk_sts::",
        "aws_smithy_runtime::",
        "hyper::",
        "rustls::",
        "tokio::",
        "dbus::",
        " keyring::",
        "clap_builder::parser::",
        "vault::sts::aws::",
        "vault::sso::aws::",
        "vault::sso::login::",
        "vault::signin::aws::",
        "vault::signin::session::",
        "p256::",
        "vault::prompt::terminal::",
        "vault::prompt::picker::",
        "vault::store::keychain::",
        "vault::run",
    ] {
        // The check can fail: `vault-full` has each of them.
        assert!(full.contains(name), "vault-full lacks {name}");
        let found: Vec<&str> = warm.lines().filter(|l| l.contains(name)).take(3).collect();
        assert!(found.is_empty(), "`vault` links {name}: {found:?}");
    }
}

/// `vault` is linked as build.rs chose (static where glibc's static libraries are at hand, as
/// on every machine CI runs on); `vault-full` is linked dynamically either way.
#[test]
fn vault_is_linked_as_the_build_chose() {
    let interpreter = |program: &str| {
        let out = Command::new("readelf")
            .args(["-l", program])
            .output()
            .unwrap();
        assert!(out.status.success(), "readelf {program}");
        String::from_utf8_lossy(&out.stdout).contains("INTERP")
    };
    assert!(interpreter(FULL), "vault-full has no dynamic loader");
    let linked = env!("VAULT_LINKED");
    let want_static = cfg!(all(target_os = "linux", target_env = "gnu"))
        && std::env::var_os("VAULT_LINK").is_none_or(|v| v != "dynamic");
    assert_eq!(
        linked == "static",
        want_static,
        "build.rs linked vault {linked} (glibc's static libraries missing? VAULT_LINK=dynamic builds it so)"
    );
    assert_eq!(
        interpreter(env!("CARGO_BIN_EXE_vault")),
        linked == "dynamic",
        "build.rs said {linked}"
    );
}

/// A keychain backend as the warm path meets it, in a throwaway desktop session.
struct Keychain {
    backend: &'static str,
    /// How the backend is chosen: `None` by vault itself (recorded), else the variable.
    named: bool,
    bus: Bus,
    /// In a session keyring of its own (`keyctl session -`): always, so that the cached
    /// session keys go with the session.
    keyctl: bool,
    /// Steps that prepare the backend (a gpg key and a password store for `pass`).
    setup: &'static str,
    /// A shell command printing the session key kept in the keychain for `$ID`.
    show_key: &'static str,
    /// A shell command deleting it.
    delete_key: &'static str,
    /// A shell command printing the item of `gds-users`' keys (JSON).
    show_keys: &'static str,
    /// Steps that end the session's own helpers (gpg-agent).
    teardown: &'static str,
    /// A shell command that locks the keychain, and what a cold command then says.
    lock: Option<(&'static str, &'static str)>,
}

const SECRET_SERVICE: Keychain = Keychain {
    backend: "secret-service",
    named: false,
    bus: Bus::Keyring,
    keyctl: true,
    setup: "true",
    show_key: r#"secret-tool lookup service vault-aws username "session-key:$ID""#,
    delete_key: r#"secret-tool clear service vault-aws username "session-key:$ID""#,
    show_keys: "secret-tool lookup service vault-aws username keys:gds-users",
    teardown: "true",
    lock: Some((
        "dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
         org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login",
        "error: the secret-service backend failed: Couldn't access platform secure storage: \
         Secret Service: unlock prompt was dismissed\nhint: unlock the keyring (in your desktop \
         session, or in its keyring manager such as Seahorse), then try again\n",
    )),
};

const KEYCTL: Keychain = Keychain {
    backend: "keyctl",
    named: true,
    bus: Bus::Absent,
    keyctl: true,
    setup: "true",
    show_key: r#"keyctl pipe "$(keyctl search @s user "keyring-rs:session-key:$ID@vault-aws")""#,
    delete_key: r#"keyctl invalidate "$(keyctl search @s user "keyring-rs:session-key:$ID@vault-aws")""#,
    show_keys: r#"keyctl pipe "$(keyctl search @s user "keyring-rs:keys:gds-users@vault-aws")""#,
    teardown: "true",
    lock: None,
};

const PASS: Keychain = Keychain {
    backend: "pass",
    named: true,
    bus: Bus::Absent,
    keyctl: true,
    setup: "mkdir -m 700 \"$GNUPGHOME\" && gpg --batch --pinentry-mode loopback --passphrase '' \
            --quick-gen-key 'vault test <vault-test@example.com>' default default never \
            && pass init vault-test@example.com",
    show_key: r#"pass show "vault/session-keys/$ID""#,
    delete_key: r#"pass rm -f "vault/session-keys/$ID""#,
    show_keys: "pass show vault/keys/gds-users",
    teardown: "gpgconf --kill gpg-agent",
    lock: None,
};

/// A key given to the session files of a test (read from the keychain by the test).
struct GivenKey(vault::store::crypto::Key);

impl vault::store::sessions::KeySlot for GivenKey {
    fn get(&mut self, _: &str) -> vault::error::Result<Option<vault::store::crypto::Key>> {
        Ok(Some(self.0.clone()))
    }
    fn put(&mut self, _: &str, _: &vault::store::crypto::Key) -> vault::error::Result<()> {
        panic!("the test only reads")
    }
}

/// Every session in the session files `dir`, opened with `key`.
fn open_sessions(dir: &Path, key: &str) -> Vec<vault::store::Credentials> {
    use vault::store::Store;
    let key = vault::store::sessions::key_from_text(key.as_bytes()).expect("a session key");
    let mut store = vault::store::file::FileStore::sessions(
        dir.to_path_buf(),
        vault::store::sessions::SessionUnlock {
            slot: Some(Box::new(GivenKey(key))),
            ttl: std::time::Duration::ZERO,
        },
    );
    let listing = store.list().unwrap();
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    let ids: Vec<_> = listing.entries.iter().map(|e| e.id.clone()).collect();
    ids.iter()
        .map(|id| store.get(id).unwrap().expect("it opens"))
        .collect()
}

/// The warm path on a keychain backend: a lone `vault` serves warm commands from the
/// session files with the session key cached in the kernel keyring, byte for byte as
/// `vault-full` does, with no D-Bus call (a dead bus), no `pass` and no keychain; a deleted
/// session key makes the sessions absent, not damaged; the long-lived keys are never in a
/// file vault wrote, sealed or not.
fn warm_on(keychain: &Keychain) {
    let mut world = World::new();
    // Only the keychain holds keys in this test: the file store World made goes.
    std::fs::remove_dir_all(world.home.path().join(".local/share/vault")).unwrap();
    let jane = world.moto.user("jane").clone();
    let (key_id, secret) = (
        jane["access_key_id"].as_str().unwrap().to_string(),
        jane["secret_access_key"].as_str().unwrap().to_string(),
    );
    let (_dir, lone) = lone_vault();
    let backend = if keychain.named { keychain.backend } else { "" };
    let gnupg = world.home.path().join(".gnupg");
    world
        .home
        .env("AWS_VAULT_BACKEND", backend)
        .env("AWS_VAULT_UNLOCK_TTL", "15m")
        .env("LONE", lone.to_str().unwrap())
        .env("TEST_KEY_ID", &key_id)
        .env("TEST_SECRET", &secret)
        .env("GNUPGHOME", gnupg.to_str().unwrap());
    let sessions_dir = world
        .home
        .path()
        .join(".local/share/vault/sessions")
        .join(keychain.backend);
    let id = format!(
        r#"ID=$(sed -n 's/.*"store_id": "\(.*\)".*/\1/p' '{}/sessions.json')"#,
        sessions_dir.display()
    );
    let compared: &[&str] = &[
        "export --format json target-account",
        "export readonly --format ini",
        "export readonly",
        "list",
        "list --sessions",
        "list --credentials",
        "list --profiles",
    ];
    let mut steps = vec![
        keychain.setup.to_string(),
        r#"AWS_ACCESS_KEY_ID=$TEST_KEY_ID AWS_SECRET_ACCESS_KEY=$TEST_SECRET "$VAULT" add --env gds-users"#.into(),
        format!(r#""$VAULT" exec -t {} target-account -- true"#, world.code(0)),
        r#""$VAULT" exec readonly -- true"#.into(),
    ];
    let first_compared = steps.len();
    for args in compared {
        steps.push(format!(r#""$LONE" {args}"#));
        steps.push(format!(r#""$FULL" {args}"#));
    }
    for program in ["$LONE", "$FULL"] {
        steps.push(format!(
            r#""{program}" exec readonly -- env | grep ^AWS_ | sort"#
        ));
    }
    let next = steps.len();
    steps.extend([
        // 0: no D-Bus: the warm path never asks it.
        r#"DBUS_SESSION_BUS_ADDRESS=unix:path=$HOME/no-bus "$LONE" exec target-account -- echo served"#.into(),
        // 1: nor runs `pass`.
        r#"AWS_VAULT_PASS_CMD=no-such-pass "$LONE" exec target-account -- echo served"#.into(),
        // 2: a cold command with the keychain out of reach says so.
        r#""$VAULT" clear readonly >/dev/null && DBUS_SESSION_BUS_ADDRESS=unix:path=$HOME/no-bus AWS_VAULT_PASS_CMD=no-such-pass "$VAULT" exec readonly -- true"#.into(),
        // 3: the session key, as the keychain keeps it.
        format!("{id}; {}", keychain.show_key),
        // 4: the long-lived keys are rotated and the sessions cleared and made again.
        r#""$VAULT" rotate -n gds-users >/dev/null && "$VAULT" clear && "$VAULT" exec readonly -- true && "$VAULT" exec gds-users -- true"#.into(),
        // 5: the keys, as the keychain keeps them.
        keychain.show_keys.to_string(),
        // 6: the session key again (rotate made none), then deleted, with its cached copy.
        format!(
            "{id}; {}; {} >/dev/null; keyctl invalidate \"$(keyctl search @s user \"vault:session-key:$ID\")\" 2>/dev/null || true",
            keychain.show_key, keychain.delete_key
        ),
        // 7: the sessions it sealed are absent: a new one is made (and the others, which
        // can no longer open, are removed), nothing is damaged.
        r#""$VAULT" exec readonly -- true"#.into(),
        // 8
        r#""$VAULT" list --sessions"#.into(),
        // 9
        format!("{id}; {}", keychain.show_key),
        // 10: finding 3 holds for the session key: possessor-only rights (view, read,
        // search), in this session's keyring; no one can clear its timeout or widen its
        // rights, and another session keyring of the same user cannot find it.
        format!(
            r#"{id}; k=$(keyctl search @s user "vault:session-key:$ID")
            keyctl rdescribe "$k" | cut -d';' -f4
            keyctl timeout "$k" 0 2>/dev/null && echo "the timeout was cleared"
            keyctl setperm "$k" 0x3f3f0000 2>/dev/null && echo "the rights were widened"
            for ring in @s @u @us; do
                keyctl session - keyctl search $ring user "vault:session-key:$ID" >/dev/null 2>&1 \
                    && echo "found from another session in $ring"
            done
            true"#
        ),
        // 11: AWS_VAULT_UNLOCK_TTL=0: the warm path does not read the cache (a lone `vault`
        // hands over), and `vault-full` reads the key from the keychain, caching nothing.
        r#"AWS_VAULT_UNLOCK_TTL=0 "$LONE" exec readonly -- echo served"#.into(),
        // 12
        r#"AWS_VAULT_UNLOCK_TTL=0 "$FULL" --debug exec readonly -- echo served 2>"$HOME/debug"; grep -c "unlock cache" "$HOME/debug"; rm "$HOME/debug""#.into(),
        // 13: the keychain locked while the session key is cached: fresh sessions are still
        // served; 14: a cold command that needs the keys says what to unlock.
        match keychain.lock {
            Some((lock, _)) => format!(r#"{lock} >/dev/null && "$LONE" exec readonly -- echo served"#),
            None => "echo served".into(),
        },
        match keychain.lock {
            Some(_) => r#""$VAULT" exec --no-session gds-users -- true"#.into(),
            None => "true".into(),
        },
        keychain.teardown.to_string(),
    ]);
    let runs = session(&world.home, keychain.bus, keychain.keyctl, &steps);
    let ok = |i: usize| runs[i].ok();
    for i in 0..first_compared {
        ok(i);
    }
    for (n, args) in compared.iter().enumerate() {
        let (warm, whole) = (
            &runs[first_compared + 2 * n],
            &runs[first_compared + 2 * n + 1],
        );
        assert_eq!(warm.ok(), whole.ok(), "{args}");
        assert_eq!(warm.stderr, whole.stderr, "{args}");
    }
    let (warm_env, whole_env) = (&runs[next - 2], &runs[next - 1]);
    assert_eq!(warm_env.ok(), whole_env.ok());
    assert!(
        warm_env.ok().contains("AWS_SESSION_TOKEN="),
        "{warm_env:#?}"
    );
    let listed = runs[first_compared + 2 * 4].ok();
    assert_eq!(listed.lines().count(), 3, "three sessions: {listed}");

    assert_eq!(runs[next].ok(), "served\n");
    assert_eq!(runs[next + 1].ok(), "served\n");
    let cold = &runs[next + 2];
    if keychain.bus == Bus::Keyring {
        let err = cold.fails();
        assert!(
            err.starts_with("error: your vault is in the secret-service backend (recorded in `")
                && err.contains("which is not there: no Secret Service"),
            "{cold:#?}"
        );
    } else if keychain.backend == "pass" {
        let err = cold.fails();
        assert!(
            err.contains("error: the pass backend failed: `no-such-pass` is not installed"),
            "{cold:#?}"
        );
    } else {
        // keyctl needs neither D-Bus nor pass.
        cold.ok();
    }
    let first_key = ok(next + 3).to_string();
    ok(next + 4);
    let item: serde_json::Value = serde_json::from_str(ok(next + 5)).unwrap();
    let new_secret = item["secret_access_key"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret, "rotated");
    let second_key = ok(next + 6).to_string();
    assert_eq!(first_key, second_key, "one session key until it is deleted");
    let made = &runs[next + 7];
    assert_eq!(made.ok(), "");
    assert_eq!(made.stderr, "", "absent, not damaged: {made:#?}");
    let listed = ok(next + 8);
    assert_eq!(listed.lines().count(), 1, "made again: {listed}");
    let third_key = ok(next + 9).to_string();
    assert_ne!(third_key, first_key, "a new session key");
    assert_eq!(ok(next + 10), "0b000000\n");
    assert!(
        runs[next + 11].fails().contains("vault-full"),
        "{:#?}",
        runs[next + 11]
    );
    assert_eq!(
        runs[next + 12].stdout,
        "served\n0\n",
        "{:#?}",
        runs[next + 12]
    );
    assert_eq!(ok(next + 13), "served\n");
    if let Some((_, said)) = keychain.lock {
        assert_eq!(runs[next + 14].fails(), said);
    }

    // Nothing vault wrote holds a long-lived key: not in the clear anywhere under HOME, and
    // no session file opens to one.
    for needle in [&secret, &new_secret] {
        assert_eq!(
            support::desktop::files_containing(world.home.path(), needle),
            Vec::<PathBuf>::new()
        );
    }
    let opened = open_sessions(&sessions_dir, &third_key);
    assert_eq!(opened.len(), 1);
    for session in &opened {
        use secrecy::ExposeSecret;
        assert!(session.access_key_id.starts_with("ASIA"), "{session:?}");
        let shown = session.secret_access_key.expose_secret();
        assert!(shown != secret && shown != new_secret);
        assert!(session.session_token.is_some());
    }
}

#[test]
fn the_warm_path_serves_the_secret_service_s_sessions_without_d_bus() {
    warm_on(&SECRET_SERVICE);
}

#[test]
fn the_warm_path_serves_keyctl_s_sessions() {
    warm_on(&KEYCTL);
}

#[test]
fn the_warm_path_serves_pass_s_sessions_without_gpg() {
    warm_on(&PASS);
}

/// The file store on a desktop session bus with no backend named: once vault has recorded
/// the backend it chose (at its first write), the warm path knows it without asking D-Bus
/// and serves it; with no record, only D-Bus could tell, and it steps aside.
#[test]
fn the_file_store_on_a_session_bus_is_served_once_recorded() {
    let mut world = World::new();
    let record = world.home.path().join(".local/share/vault/backend");
    world.run(&["exec", "readonly", "--", "true"]).ok();
    world
        .home
        .env("AWS_VAULT_BACKEND", "")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    assert!(!record.exists(), "a named backend is not recorded");
    let (_dir, lone) = lone_vault();
    let full = Path::new(FULL);
    // No record yet: only the bus could say which backend is in use.
    let err = run(&world, &lone, &["export", "readonly"])
        .fails()
        .to_string();
    assert!(err.contains("vault-full"), "{err}");
    // vault-full asks the bus (no Secret Service answers), uses the file store, and records
    // it when it first writes (here, a session it caches).
    world.run(&["exec", "gds-users", "--", "true"]).ok();
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "file\n");
    for args in [
        &["export", "readonly"][..],
        &["export", "--format", "json", "readonly"],
        &["list"],
        &["list", "--sessions"],
    ] {
        // `list` prints the time left to the second, so two runs can straddle a second
        // boundary: a real difference shows in every one of three tries, that one in one.
        let mut tries = 0;
        loop {
            let warm = run(&world, &lone, args);
            let whole = run(&world, full, args);
            tries += 1;
            if tries < 3 && (warm.stdout != whole.stdout || warm.stderr != whole.stderr) {
                continue;
            }
            assert_eq!(warm.ok(), whole.ok(), "{args:?}");
            assert_eq!(warm.stderr, whole.stderr, "{args:?}");
            break;
        }
    }
    assert_eq!(
        aws_env(&world, &lone, "readonly"),
        aws_env(&world, full, "readonly")
    );
    // A record vault would not write: vault-full names the file; the warm path steps aside.
    std::fs::write(&record, "vaultwarden\n").unwrap();
    let err = run(&world, &lone, &["export", "readonly"])
        .fails()
        .to_string();
    assert!(err.contains("vault-full"), "{err}");
    let err = world.run(&["export", "readonly"]).fails().to_string();
    assert_eq!(
        err,
        format!(
            "error: `{0}` should name the backend your vault is in: `vaultwarden` is not one of \
             file, keychain, wincred, secret-service, keyctl, pass\n\
             hint: remove it to have vault choose again (`rm {0}`), or name a backend with \
             --backend or AWS_VAULT_BACKEND\n",
            record.display()
        )
    );
}
