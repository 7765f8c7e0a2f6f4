//! `vault import`: aws-vault's stores built by independent tools (jwcrypto for the file
//! store, gnome-keyring + secret-tool for the Secret Service, pass + gpg, the keyctl CLI for
//! the kernel keyring, kwalletd5 for KWallet), imported by the real binary; the source is
//! checked unchanged afterwards. The macOS Keychain and wincred cannot run here.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use serde_json::json;
use support::{Home, Run, World};

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PASSPHRASE: &str = "vault test passphrase";

/// aws-vault's credential JSON as aws-vault ≥ 6.4 writes it (`add`).
fn v2(id: &str, secret: &str) -> String {
    json!({"AccessKeyID": id, "SecretAccessKey": secret, "SessionToken": "", "Source": "",
           "CanExpire": false, "Expires": "0001-01-01T00:00:00Z"})
    .to_string()
}

/// Before aws-vault 6.4 (SDK v1).
fn v1(id: &str, secret: &str) -> String {
    json!({"AccessKeyID": id, "SecretAccessKey": secret, "SessionToken": "",
           "ProviderName": "StaticProvider"})
    .to_string()
}

/// Writes aws-vault JWE files into `dir` with jwcrypto: (key, passphrase, inner JSON, p2c).
fn file_store(home: &Home, dir: &Path, items: &[(&str, &str, String, u64)]) {
    let specs: Vec<_> = items
        .iter()
        .map(|(key, pw, data, p2c)| json!({"key": key, "passphrase": pw, "data": data, "p2c": p2c}))
        .collect();
    let mut child = home
        .child(
            &support::python(),
            &[
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/support/aws_vault_store.py"
                ),
                "file",
                dir.to_str().unwrap(),
            ],
        )
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(serde_json::to_string(&specs).unwrap().as_bytes())
        .unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// Every file under `dir` with its bytes and mode: to check a source is unchanged.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::MetadataExt;
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            for (k, v) in snapshot(&entry.path()) {
                all.insert(format!("{}/{k}", entry.file_name().to_string_lossy()), v);
            }
        } else {
            all.insert(
                entry.file_name().to_string_lossy().into_owned(),
                (std::fs::read(entry.path()).unwrap(), meta.mode()),
            );
        }
    }
    all
}

/// Exit 1 after a report on stdout: some profiles were not imported. Returns stderr.
#[track_caller]
fn partial(run: &Run) -> &str {
    assert_eq!(run.status, Some(1), "did not fail with 1: {run:#?}");
    &run.stderr
}

fn file_home() -> Home {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    home
}

fn keys_of(home: &Home, profile: &str) -> String {
    home.run(["export", "--format", "json", "--no-session", profile])
        .ok()
        .to_string()
}

#[test]
fn file_store_with_two_passphrases_sessions_and_strays() {
    let home = file_home();
    let dir = home.path().join(".awsvault/keys");
    file_store(
        &home,
        &dir,
        &[
            ("jonsmith", PASSPHRASE, v2(ID, SECRET), 8192),
            (
                "team/dev",
                PASSPHRASE,
                v2("AKIATEAMDEV000000000", SECRET),
                8192,
            ),
            (
                "old-v1",
                PASSPHRASE,
                v1("AKIAOLDV100000000000", SECRET),
                8192,
            ),
            (
                "other-pw",
                "second passphrase",
                v2("AKIAOTHERPW000000000", SECRET),
                8192,
            ),
            (
                "sts.GetSessionToken,am9uc21pdGg,,1893456000",
                PASSPHRASE,
                json!({"AccessKeyId": "ASIAX", "SecretAccessKey": "s", "SessionToken": "t",
                       "Expiration": "2030-01-01T00:00:00Z"})
                .to_string(),
                8192,
            ),
            (
                "oidc:https://example.awsapps.com/start",
                PASSPHRASE,
                json!({"Token": {"AccessToken": "a"}, "Expiration": "2030-01-01T00:00:00Z"})
                    .to_string(),
                8192,
            ),
        ],
    );
    std::fs::write(dir.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    let before = snapshot(&dir);

    // No terminal: the file under the other passphrase is named, the rest imported.
    let run = home.run(["import", "aws-vault", "--from", "file"]);
    let err = partial(&run);
    assert_eq!(
        run.stdout,
        "jonsmith: imported\n\
         old-v1: imported\n\
         team/dev: imported\n\
         other-pw: not imported: `other-pw` does not open with the passphrases given\n\
         3 imported, 0 already in vault, 1 not imported\n"
    );
    assert!(
        err.contains("warning: `other-pw` does not open with this passphrase"),
        "{err}"
    );
    assert!(err.contains("error: 1 not imported"), "{err}");
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "jonsmith\nold-v1\nteam/dev\n"
    );
    assert!(keys_of(&home, "team/dev").contains("AKIATEAMDEV000000000"));
    assert!(keys_of(&home, "old-v1").contains("AKIAOLDV100000000000"));
    assert!(keys_of(&home, "jonsmith").contains(SECRET));
    assert_eq!(snapshot(&dir), before, "the source changed");

    // On a terminal: another passphrase opens the rest; what is there is skipped.
    let command = home.command([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    session
        .exp_string("Enter another passphrase for these files (empty: go on without them): ")
        .unwrap();
    session.send_line("second passphrase").unwrap();
    let rest = session.exp_eof().unwrap();
    assert!(rest.contains("other-pw: imported"), "{rest}");
    assert!(
        rest.contains("jonsmith: already in vault (skipped; --overwrite replaces it)"),
        "{rest}"
    );
    assert!(
        rest.contains("1 imported, 3 already in vault, 0 not imported"),
        "{rest}"
    );
    assert!(keys_of(&home, "other-pw").contains("AKIAOTHERPW000000000"));
    assert_eq!(snapshot(&dir), before, "the source changed");
}

#[test]
fn dry_run_overwrite_and_profile_filter() {
    let home = file_home();
    let dir = home.path().join("avkeys");
    file_store(
        &home,
        &dir,
        &[
            ("a", PASSPHRASE, v2(ID, SECRET), 8192),
            ("b", PASSPHRASE, v2("AKIABBBBBBBBBBBBBBBB", SECRET), 8192),
        ],
    );
    let dir_arg = dir.to_str().unwrap();
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir_arg,
        "--dry-run",
    ]);
    assert_eq!(
        run.ok(),
        "a: imported (dry run: nothing written)\nb: imported (dry run: nothing written)\n\
         2 imported, 0 already in vault, 0 not imported (dry run)\n"
    );
    assert!(
        !home.path().join(".local/share/vault").exists(),
        "a dry run wrote"
    );

    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir_arg,
        "--profile",
        "b",
        "--profile",
        "nope",
    ]);
    partial(&run);
    assert_eq!(
        run.stdout,
        format!(
            "b: imported\nnope: not imported: not found in aws-vault's file store `~/avkeys`\n1 imported, 0 already in vault, 1 not imported\n"
        )
    );
    home.run(["add", "a", "--env", "--no-add-config"]);
    let mut add = home.command(["add", "a", "--env", "--no-add-config"]);
    add.env("AWS_ACCESS_KEY_ID", "AKIAOLDOLDOLDOLDOLD0")
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    Run::from(add.output().unwrap()).ok();
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir_arg,
        "--overwrite",
    ]);
    assert_eq!(
        run.ok(),
        "a: imported\nb: imported\n2 imported, 0 already in vault, 0 not imported\n"
    );
    assert!(keys_of(&home, "a").contains(ID));
}

#[test]
fn bad_files_are_named_and_the_rest_imported() {
    let home = file_home();
    let dir = home.path().join("avkeys");
    file_store(
        &home,
        &dir,
        &[
            ("good", PASSPHRASE, v2(ID, SECRET), 8192),
            ("costly", PASSPHRASE, v2(ID, SECRET), 8192),
            ("truncated", PASSPHRASE, v2(ID, SECRET), 8192),
            ("damaged", PASSPHRASE, v2(ID, SECRET), 8192),
        ],
    );
    let truncated = std::fs::read_to_string(dir.join("truncated")).unwrap();
    std::fs::write(dir.join("truncated"), &truncated[..truncated.len() / 2]).unwrap();
    let damaged = std::fs::read_to_string(dir.join("damaged")).unwrap();
    let (head, tail) = damaged.rsplit_once('.').unwrap();
    let flipped = if tail.starts_with('A') { "B" } else { "A" };
    std::fs::write(
        dir.join("damaged"),
        format!("{head}.{flipped}{}", &tail[1..]),
    )
    .unwrap();
    std::fs::write(dir.join("garbage"), b"not a token at all").unwrap();
    // jwcrypto will not write more than 16384 rounds: the header is rewritten.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let costly = std::fs::read_to_string(dir.join("costly")).unwrap();
    let (header, rest) = costly.split_once('.').unwrap();
    let header = String::from_utf8(b64.decode(header).unwrap()).unwrap();
    let header = header.replace("\"p2c\":8192", "\"p2c\":2000000");
    std::fs::write(dir.join("costly"), format!("{}.{rest}", b64.encode(header))).unwrap();
    let before = snapshot(&dir);

    let started = std::time::Instant::now();
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    partial(&run);
    assert!(started.elapsed().as_secs() < 20, "spun on the p2c");
    let out = &run.stdout;
    assert!(out.contains("costly: not imported: `costly` is not an aws-vault file: its header asks for 2000000 key-derivation rounds"), "{out}");
    assert!(
        out.contains("truncated: not imported: `truncated` is not an aws-vault file"),
        "{out}"
    );
    assert!(
        out.contains("damaged: not imported: `damaged` is damaged"),
        "{out}"
    );
    assert!(
        out.contains("garbage: not imported: `garbage` is not an aws-vault file: it has 1 parts"),
        "{out}"
    );
    assert!(out.contains("good: imported\n"), "{out}");
    assert!(
        out.ends_with("1 imported, 0 already in vault, 4 not imported\n"),
        "{out}"
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn wrong_passphrase_imports_nothing_and_changes_nothing() {
    let home = file_home();
    let dir = home.path().join("avkeys");
    file_store(
        &home,
        &dir,
        &[("a", "their passphrase", v2(ID, SECRET), 8192)],
    );
    let before = snapshot(&dir);
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    partial(&run);
    assert_eq!(
        run.stdout,
        "a: not imported: `a` does not open with the passphrases given\n0 imported, 0 already in vault, 1 not imported\n"
    );
    assert_eq!(snapshot(&dir), before);
    assert_eq!(home.run(["list", "--credentials"]).ok(), "");
}

#[test]
fn imported_keys_assume_a_role_behind_mfa() {
    let world = World::new();
    world.run(&["remove", "-f", "gds-users"]).ok();
    let jane = world.moto.user("jane");
    let dir = world.home.path().join(".awsvault/keys");
    file_store(
        &world.home,
        &dir,
        &[(
            "gds-users",
            support::PASSPHRASE,
            v2(
                jane["access_key_id"].as_str().unwrap(),
                jane["secret_access_key"].as_str().unwrap(),
            ),
            8192,
        )],
    );
    let run = world.run(&["import", "aws-vault", "--from", "file"]);
    assert_eq!(
        run.ok(),
        "gds-users: imported\n1 imported, 0 already in vault, 0 not imported\n"
    );
    let arn = world.caller_arn(&["-t", &world.code(0), "target-account"]);
    assert!(arn.contains(":assumed-role/admin/"), "{arn}");
}

/// Starts gnome-keyring's Secret Service as a child of the script's shell on the private
/// bus (its `login` collection made and unlocked by the password on stdin), waits until the
/// name is owned, then makes aws-vault's `awsvault` collection with CreateWithMasterPassword.
const START_KEYRING: &str = r#"
printf %s testpw | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >"$OUT/gnome-keyring.log" 2>&1 &
GK=$!
trap 'kill "$GK" 2>/dev/null; wait "$GK" 2>/dev/null' EXIT
n=0
until dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q true &&
    dbus-send --session --print-reply=literal --dest=org.freedesktop.secrets \
        /org/freedesktop/secrets/aliases/default org.freedesktop.DBus.Properties.Get \
        string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null | grep -q 'boolean false'
do
    n=$((n + 1))
    if [ "$n" -ge 250 ]; then cat "$OUT/gnome-keyring.log" >&2; exit 97; fi
    sleep 0.02
done
"$PY" "$AVS" collection awsvault-pw >"$OUT/collection" || exit 96
"#;

/// Runs `script` under `dbus-run-session` with gnome-keyring and the `awsvault` collection,
/// after storing `items` (label = key, attribute `profile` = key, secret = the `Item` JSON)
/// with secret-tool. `step NAME CMD...` in the script keeps CMD's stdout, stderr and status.
fn secret_service(home: &Home, items: &[(&str, String)], script: &str) -> BTreeMap<String, Run> {
    let out = tempfile::tempdir().unwrap();
    let mut full = String::from(START_KEYRING);
    for (i, (key, secret)) in items.iter().enumerate() {
        std::fs::write(out.path().join(format!("item{i}")), secret).unwrap();
        std::fs::write(out.path().join(format!("key{i}")), key).unwrap();
        full.push_str(&format!(
            "secret-tool store --collection=/org/freedesktop/secrets/collection/awsvault \
             --label=\"$(cat \"$OUT/key{i}\")\" profile \"$(cat \"$OUT/key{i}\")\" <\"$OUT/item{i}\" || exit 95\n"
        ));
    }
    full.push_str(script);
    on_private_bus(home, out, &full)
}

/// Runs `script` under `dbus-run-session` (a private session bus, gone with the script) with
/// `$OUT` = `out`, `$VAULT`, `$PY` and `$AVS` (the store builder) set. `step NAME CMD...` in
/// the script keeps CMD's stdout, stderr and status, returned by NAME.
fn on_private_bus(home: &Home, out: tempfile::TempDir, script: &str) -> BTreeMap<String, Run> {
    let runtime = home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut full = String::from(
        "step() { name=$1; shift; \"$@\" >\"$OUT/$name.out\" 2>\"$OUT/$name.err\" </dev/null; echo $? >\"$OUT/$name.rc\"; }\n",
    );
    full.push_str(script);
    full.push_str("\nexit 0\n");
    let mut command = home.child(
        "timeout",
        &[
            "-k",
            "5",
            "120",
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            &full,
        ],
    );
    command
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("OUT", out.path())
        .env("VAULT", env!("CARGO_BIN_EXE_vault"))
        .env("PY", support::python())
        .env(
            "AVS",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/aws_vault_store.py"
            ),
        );
    let outer = Run::from(command.output().unwrap());
    assert_eq!(outer.status, Some(0), "{outer:#?}");
    let mut runs = BTreeMap::new();
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(step) = name.strip_suffix(".rc") {
            let read = |ext: &str| {
                std::fs::read_to_string(out.path().join(format!("{step}.{ext}"))).unwrap()
            };
            runs.insert(
                step.to_string(),
                Run {
                    status: read("rc").trim().parse().ok(),
                    stdout: read("out"),
                    stderr: read("err"),
                },
            );
        }
    }
    runs
}

/// keyring's `Item` JSON around aws-vault's credential JSON, as the helper writes it.
fn item(key: &str, data: &str) -> String {
    let out = std::process::Command::new(support::python())
        .args([
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/aws_vault_store.py"
            ),
            "item",
            key,
            data,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn secret_service_collection_then_locked() {
    let home = file_home();
    let items = [
        ("jonsmith", item("jonsmith", &v2(ID, SECRET))),
        (
            "team/dev",
            item("team/dev", &v2("AKIATEAMDEV000000000", SECRET)),
        ),
        (
            "old-v1",
            item("old-v1", &v1("AKIAOLDV100000000000", SECRET)),
        ),
        (
            "sts.GetSessionToken,am9uc21pdGg,,1893456000",
            item(
                "sts.GetSessionToken,am9uc21pdGg,,1893456000",
                &v2("ASIAX", "s"),
            ),
        ),
        (
            "oidc:https://example.awsapps.com/start",
            item("oidc:https://example.awsapps.com/start", r#"{"Token":{}}"#),
        ),
        ("not-aws-vault", "hunter2".to_string()),
    ];
    let runs = secret_service(
        &home,
        &items,
        r#"
step doctor "$VAULT" doctor --offline
step import "$VAULT" import aws-vault
step list "$VAULT" list --credentials
step again "$VAULT" import aws-vault --from secret-service
gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
    --method org.freedesktop.Secret.Service.Lock "[objectpath '/org/freedesktop/secrets/collection/awsvault']" >/dev/null
step locked "$VAULT" import aws-vault --from secret-service --overwrite
step doctor_locked "$VAULT" doctor --offline
step search secret-tool search --all profile jonsmith
"#,
    );
    // `vault doctor` saw them first, by name only (so `not-aws-vault` is among them), and
    // named the import.
    let doctor = &runs["doctor"].stdout;
    assert!(
        doctor.contains(
            "warn  aws-vault-store aws-vault's Secret Service collection `awsvault` has keys not imported: `jonsmith`, `not-aws-vault`, `old-v1`, `team/dev`\n      fix: vault import aws-vault --from secret-service\n"
        ),
        "{doctor}"
    );
    assert!(!doctor.contains(SECRET), "{doctor}");
    let import = &runs["import"];
    let mut lines: Vec<&str> = import.ok().lines().collect();
    let total = lines.pop().unwrap();
    lines.sort();
    assert_eq!(
        lines,
        [
            "jonsmith: imported",
            "old-v1: imported",
            "team/dev: imported"
        ]
    );
    assert_eq!(total, "3 imported, 0 already in vault, 0 not imported");
    assert_eq!(runs["list"].ok(), "jonsmith\nold-v1\nteam/dev\n");
    assert!(
        runs["again"]
            .ok()
            .ends_with("0 imported, 3 already in vault, 0 not imported\n")
    );
    // Locked, its labels still tell what vault lacks; nothing was unlocked to read them.
    assert!(
        runs["doctor_locked"].stdout.contains(
            "warn  aws-vault-store aws-vault's Secret Service collection `awsvault` has keys not imported: `not-aws-vault`\n"
        ),
        "{:#?}",
        runs["doctor_locked"]
    );
    let locked = &runs["locked"];
    assert_eq!(locked.status, Some(1), "{locked:#?}");
    assert_eq!(locked.stdout, "");
    assert!(
        locked.stderr.contains("error: cannot import from aws-vault's Secret Service collection `awsvault`: the collection is locked"),
        "{locked:#?}"
    );
    assert!(
        locked
            .stderr
            .contains("hint: unlock the `awsvault` keyring first"),
        "{locked:#?}"
    );
    // The source still holds the item, untouched.
    assert!(
        runs["search"].stdout.contains("label = jonsmith"),
        "{:#?}",
        runs["search"]
    );
    assert!(keys_of(&home, "team/dev").contains("AKIATEAMDEV000000000"));
}

#[test]
fn without_a_secret_service_the_default_is_the_file_store() {
    let home = file_home();
    let run = home.run(["import", "aws-vault"]);
    let err = run.fails();
    assert!(
        err.contains(
            "cannot import from aws-vault's file store `~/.awsvault/keys`: there is no such folder"
        ),
        "{err}"
    );
    let run = home.run(["import", "aws-vault", "--from", "secret-service"]);
    let err = run.fails();
    assert!(err.contains("there is no D-Bus session bus"), "{err}");
}

/// aws-vault's keyctl store as its code would make it (a keyring named `aws-vault`, `user`
/// keys named with the profile, the raw credential JSON), built with the `keyctl` CLI in a
/// throwaway session keyring, with the payloads on stdin; the imported keys then assume a
/// role behind MFA. A payload that is not a credential and a session are left out.
#[test]
fn keyctl_store_in_the_session_keyring() {
    let world = World::new();
    world.run(&["remove", "-f", "gds-users"]).ok();
    let jane = world.moto.user("jane");
    let input = tempfile::tempdir().unwrap();
    let payloads = [
        (
            "gds-users",
            v2(
                jane["access_key_id"].as_str().unwrap(),
                jane["secret_access_key"].as_str().unwrap(),
            ),
        ),
        ("team/dev", v1("AKIATEAMDEV000000000", SECRET)),
        ("notes", "remember the milk".to_string()),
        (
            "sts.GetSessionToken,am9uc21pdGg,,1893456000",
            json!({"AccessKeyId": "ASIAX", "SecretAccessKey": "s", "SessionToken": "t",
                   "Expiration": "2030-01-01T00:00:00Z"})
            .to_string(),
        ),
    ];
    // Keys with descriptions longer than linux-keyutils reads (it panicked on them): in the
    // session keyring and in aws-vault's, each is passed over.
    let mut script = String::from(
        "keyctl newring aws-vault @s >/dev/null || exit 90\n\
         long=$(printf 'x%.0s' $(seq 600))\n\
         keyctl add user \"$long\" v @s >/dev/null || exit 92\n\
         keyctl add user \"$long\" v %:aws-vault >/dev/null || exit 92\n",
    );
    for (i, (key, payload)) in payloads.iter().enumerate() {
        std::fs::write(input.path().join(i.to_string()), payload).unwrap();
        script.push_str(&format!(
            "keyctl padd user '{key}' %:aws-vault <\"$IN/{i}\" >/dev/null || exit 91\n"
        ));
    }
    script.push_str(
        r#""$VAULT" doctor --offline | grep -A1 aws-vault-store
"$VAULT" --debug import aws-vault --from keyctl
echo "rc=$?"
keyctl pipe %user:gds-users | cmp -s - "$IN/0" && echo "gds-users unchanged"
keyctl pipe %user:notes | cmp -s - "$IN/2" && echo "notes unchanged"
"#,
    );
    let mut command = world
        .home
        .child("keyctl", &["session", "-", "sh", "-c", &script]);
    command
        .env("VAULT", env!("CARGO_BIN_EXE_vault"))
        .env("IN", input.path());
    let run = Run::from(command.output().unwrap());
    // `vault doctor` first named what the keyring holds, by description only (so `notes`
    // too, though its payload is no credential; the long names are passed over).
    assert_eq!(
        run.ok(),
        "warn  aws-vault-store aws-vault's kernel keyring `aws-vault` has keys not imported: `gds-users`, `notes`, `team/dev`\n      \
         fix: vault import aws-vault --from keyctl\n\
         gds-users: imported\nteam/dev: imported\n2 imported, 0 already in vault, 0 not imported\n\
         rc=0\ngds-users unchanged\nnotes unchanged\n"
    );
    for expected in [
        "import: found the `aws-vault` keyring from the session keyring (@s)",
        "import: linux-keyutils could not describe a key (a description over 512 bytes?); skipped",
        "import: `notes` is not an aws-vault credential; left out",
        "import: skipping the cached session or token `sts.GetSessionToken,",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {run:#?}");
    }
    assert!(!run.stderr.contains(SECRET), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
    assert!(keys_of(&world.home, "team/dev").contains("AKIATEAMDEV000000000"));
    let arn = world.caller_arn(&["-t", &world.code(0), "target-account"]);
    assert!(arn.contains(":assumed-role/admin/"), "{arn}");
}

/// No `aws-vault` keyring in the session, user-session or user keyring: a clear error,
/// and nothing made.
#[test]
fn keyctl_without_an_aws_vault_keyring() {
    let home = file_home();
    let script = r#""$VAULT" import aws-vault --from keyctl; echo "rc=$?"; keyctl show @s | grep -c aws-vault"#;
    let mut command = home.child("keyctl", &["session", "-", "sh", "-c", script]);
    command.env("VAULT", env!("CARGO_BIN_EXE_vault"));
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.stdout, "rc=1\n0\n", "{run:#?}");
    assert!(
        run.stderr.contains(
            "error: cannot import from aws-vault's kernel keyring `aws-vault`: no keyring named `aws-vault` is reachable from the session, user-session or user keyring"
        ),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("hint: aws-vault's keyctl backend never worked in a release"),
        "{run:#?}"
    );
}

/// The macOS Keychain and Credential Manager cannot be read here: each says so, and that
/// its reader is untested.
#[test]
fn keychain_and_wincred_elsewhere() {
    let home = file_home();
    for (from, problem) in [
        (
            "keychain",
            "error: cannot import from aws-vault's macOS Keychain `aws-vault.keychain-db` (looked up by profile name; vault's reader for it is untested): the macOS Keychain exists only on macOS\n",
        ),
        (
            "wincred",
            "error: cannot import from aws-vault's Windows Credential Manager entries `aws-vault:aws-vault:*` (looked up by profile name; vault's reader for them is untested): Windows Credential Manager exists only on Windows\n",
        ),
    ] {
        let run = home.run(["import", "aws-vault", "--from", from]);
        assert!(run.fails().starts_with(problem), "{run:#?}");
    }
}

/// Waits (bounded) until kwalletd5, started by the script, owns its name on the bus.
const START_KWALLETD: &str = r#"
QT_QPA_PLATFORM=offscreen kwalletd5 >"$OUT/kwalletd.log" 2>&1 &
KW=$!
trap 'kill "$KW" 2>/dev/null; wait "$KW" 2>/dev/null' EXIT
n=0
until dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.kde.kwalletd5 | grep -q true
do
    n=$((n + 1))
    if [ "$n" -ge 1000 ]; then cat "$OUT/kwalletd.log" >&2; exit 97; fi
    sleep 0.02
done
"#;

/// Without kwalletd on the bus: a clear error, and kwalletd is not started, though the bus
/// could start it (its service file is installed). Then a real kwalletd5 (offscreen, a
/// wallet made by `pamOpen`), without and with aws-vault's wallet.
#[test]
fn kwallet_not_running_then_a_wallet() {
    let home = file_home();
    let out = tempfile::tempdir().unwrap();
    let items = json!([
        {"key": "jonsmith", "data": v2(ID, SECRET)},
        {"key": "team/dev", "data": v1("AKIATEAMDEV000000000", SECRET)},
        {"key": "sts.GetSessionToken,am9uc21pdGg,,1893456000", "data": v2("ASIAX", "s")},
        {"key": "oidc:https://example.awsapps.com/start", "data": r#"{"Token":{}}"#},
        {"key": "notes", "raw": "hunter2"},
    ]);
    std::fs::write(out.path().join("items.json"), items.to_string()).unwrap();
    let mut script = String::from(
        r#"
owner() {
    dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.kde.kwalletd5
}
step absent "$VAULT" import aws-vault --from kwallet
step activatable dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus \
    /org/freedesktop/DBus org.freedesktop.DBus.ListActivatableNames
step owner owner
sid=$(ps -o sid= -p $$ | tr -d ' ')
step processes pgrep -s "$sid" -x kwalletd5
"#,
    );
    script.push_str(START_KWALLETD);
    script.push_str(
        r#"
step nowallet "$VAULT" import aws-vault --from kwallet
"$PY" "$AVS" kwallet <"$OUT/items.json" >"$OUT/fixture.log" 2>&1 || { cat "$OUT/fixture.log" >&2; exit 96; }
step doctor "$VAULT" doctor --offline
step import "$VAULT" --debug import aws-vault --from kwallet
step again "$VAULT" import aws-vault --from kwallet
step doctor_after "$VAULT" doctor --offline
dbus-send --session --print-reply --dest=org.kde.kwalletd5 /modules/kwalletd5 \
    org.kde.KWallet.close string:aws-vault boolean:true >/dev/null
step doctor_closed "$VAULT" doctor --offline
"#,
    );
    let runs = on_private_bus(&home, out, &script);
    let absent = &runs["absent"];
    assert_eq!(absent.status, Some(1), "{absent:#?}");
    assert!(
        absent.stderr.contains(
            "error: cannot import from aws-vault's KWallet wallet `aws-vault`: kwalletd is not running on the session bus (vault does not start it)"
        ),
        "{absent:#?}"
    );
    assert!(
        runs["activatable"].ok().contains("org.kde.kwalletd5"),
        "{runs:#?}"
    );
    assert!(runs["owner"].ok().contains("false"), "{runs:#?}");
    assert_eq!(runs["processes"].status, Some(1), "{runs:#?}");

    let nowallet = &runs["nowallet"];
    assert_eq!(nowallet.status, Some(1), "{nowallet:#?}");
    assert!(
        nowallet
            .stderr
            .contains("KWallet has no wallet named `aws-vault`"),
        "{nowallet:#?}"
    );

    // `vault doctor` named the entries by name only (so `notes` too), from the open wallet.
    assert!(
        runs["doctor"].stdout.contains(
            "warn  aws-vault-store aws-vault's KWallet wallet `aws-vault` has keys not imported: `jonsmith`, `notes`, `team/dev`\n      fix: vault import aws-vault --from kwallet\n"
        ),
        "{:#?}",
        runs["doctor"]
    );
    assert!(
        runs["doctor_after"]
            .stdout
            .contains("has keys not imported: `notes`\n"),
        "{:#?}",
        runs["doctor_after"]
    );
    // A closed wallet is not opened (that would ask for its password): not checked.
    assert!(
        runs["doctor_closed"].stdout.contains(
            "skip  aws-vault-store aws-vault's KWallet wallet `aws-vault` was not looked into: the wallet is closed, and vault does not ask for its password here\n      fix: vault import aws-vault --from kwallet --dry-run\n"
        ),
        "{:#?}",
        runs["doctor_closed"]
    );
    let import = &runs["import"];
    assert_eq!(
        import.ok(),
        "jonsmith: imported\nteam/dev: imported\n2 imported, 0 already in vault, 0 not imported\n"
    );
    for expected in [
        "import: `org.kde.kwalletd5` is running",
        "import: `notes` is not an aws-vault credential; left out",
        "import: skipping the cached session or token `oidc:https://example.awsapps.com/start`",
    ] {
        assert!(import.stderr.contains(expected), "{expected}: {import:#?}");
    }
    assert!(!import.stderr.contains(SECRET), "{import:#?}");
    // The wallet still holds them.
    assert!(
        runs["again"]
            .ok()
            .ends_with("0 imported, 2 already in vault, 0 not imported\n"),
        "{runs:#?}"
    );
    assert!(keys_of(&home, "team/dev").contains("AKIATEAMDEV000000000"));
    assert!(keys_of(&home, "jonsmith").contains(SECRET));
}

/// A throwaway gpg key (no passphrase) in `HOME/.gnupg` and a password store at
/// `HOME/.password-store` initialised for it. Stops the gpg-agent when dropped.
struct PassStore<'a> {
    home: &'a Home,
    dir: std::path::PathBuf,
}

impl<'a> PassStore<'a> {
    fn new(home: &'a mut Home) -> PassStore<'a> {
        PassStore::with_passphrase(home, "")
    }

    fn with_passphrase(home: &'a mut Home, passphrase: &str) -> PassStore<'a> {
        let gnupg = home.path().join(".gnupg");
        std::fs::create_dir_all(&gnupg).unwrap();
        std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let dir = home.path().join(".password-store");
        home.env("GNUPGHOME", gnupg.to_str().unwrap());
        let home = &*home;
        let run = |program: &str, args: &[&str]| {
            let out = home.child(program, args).output().unwrap();
            assert!(out.status.success(), "{program} {args:?}: {out:?}");
        };
        run(
            "gpg",
            &[
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
                "--quick-gen-key",
                "vault test <vault-test@example.com>",
                "default",
                "default",
                "never",
            ],
        );
        run("pass", &["init", "vault-test@example.com"]);
        PassStore { home, dir }
    }

    fn insert(&self, name: &str, secret: &str) {
        let mut child = self
            .home
            .child("pass", &["insert", "-m", "-f", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(secret.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
}

impl Drop for PassStore<'_> {
    fn drop(&mut self) {
        let _ = self
            .home
            .child("gpgconf", &["--kill", "gpg-agent"])
            .output();
    }
}

#[test]
fn pass_store_with_a_prefix() {
    let mut home = file_home();
    let store = PassStore::new(&mut home);
    store.insert("aws-vault/jonsmith", &item("jonsmith", &v2(ID, SECRET)));
    store.insert(
        "aws-vault/team/dev",
        &item("team/dev", &v2("AKIATEAMDEV000000000", SECRET)),
    );
    store.insert(
        "aws-vault/old-v1",
        &item("old-v1", &v1("AKIAOLDV100000000000", SECRET)),
    );
    store.insert(
        "aws-vault/sts.GetSessionToken,am9uc21pdGg,,1893456000",
        &item(
            "sts.GetSessionToken,am9uc21pdGg,,1893456000",
            &v2("ASIAX", "s"),
        ),
    );
    store.insert(
        "aws-vault/oidc:https:/example.awsapps.com/start",
        r#"{"Token":{}}"#,
    );
    store.insert("email/work", "hunter2");
    let before = snapshot(&store.dir);
    let home = store.home;

    // `vault doctor` finds the store's `aws-vault` folder and names what is in it by file
    // name (nothing decrypted: no `pass` runs, it is not on this PATH).
    let mut doctor = home.command(["doctor", "--offline"]);
    doctor.env("PATH", "/nowhere");
    let run = Run::from(doctor.output().unwrap());
    assert!(
        run.stdout.contains(
            "warn  aws-vault-store aws-vault's pass store `~/.password-store` (prefix `aws-vault`) has keys not imported: `jonsmith`, `old-v1`, `team/dev`\n      fix: vault import aws-vault --from pass --pass-prefix aws-vault\n"
        ),
        "{run:#?}"
    );
    assert_eq!(snapshot(&store.dir), before);

    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "pass",
        "--pass-prefix",
        "aws-vault",
    ]);
    assert_eq!(
        run.ok(),
        "jonsmith: imported\nold-v1: imported\nteam/dev: imported\n3 imported, 0 already in vault, 0 not imported\n"
    );
    assert!(keys_of(home, "team/dev").contains("AKIATEAMDEV000000000"));
    // No prefix: the whole store is walked, what is not aws-vault's is left out, and the
    // items' own names are used.
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "pass",
        "--dry-run",
        "--overwrite",
    ]);
    assert_eq!(
        run.ok(),
        "jonsmith: imported (dry run: nothing written)\nold-v1: imported (dry run: nothing written)\n\
         team/dev: imported (dry run: nothing written)\n3 imported, 0 already in vault, 0 not imported (dry run)\n"
    );
    assert_eq!(snapshot(&store.dir), before);

    // A missing `pass`: a clear error, nothing imported.
    let mut command = home.command([
        "import",
        "aws-vault",
        "--from",
        "pass",
        "--pass-prefix",
        "aws-vault",
        "--overwrite",
    ]);
    command.env("AWS_VAULT_PASS_CMD", "no-such-pass");
    let run = Run::from(command.output().unwrap());
    let err = run.fails();
    assert!(err.contains("error: cannot import from aws-vault's pass store `~/.password-store` (prefix `aws-vault`): `no-such-pass` is not installed"), "{err}");
    assert!(err.contains("hint: install pass"), "{err}");
}

// ---------------------------------------------------------------------------------------
// The plaintext credentials file
// ---------------------------------------------------------------------------------------

const CREDENTIALS: &str = "# keys for work\r\n[default]\r\nregion = eu-west-1\r\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ; old\r\n\r\n[plain-only]\r\naws_access_key_id=AKIAPLAINONLY0000000\r\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r\n\r\n[half]\r\naws_access_key_id = AKIAHALF000000000000\r\n; the rest\r\n[sso]\r\nsso_session = corp\r\n";

/// What is left of CREDENTIALS once `default` and `plain-only` are imported.
const CREDENTIALS_AFTER: &str = "# keys for work\r\n[default]\r\nregion = eu-west-1\r\n\r\n[half]\r\naws_access_key_id = AKIAHALF000000000000\r\n; the rest\r\n[sso]\r\nsso_session = corp\r\n";

fn backups(home: &Home) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(home.path().join(".aws"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("credentials.vault-backup-")
        })
        .collect();
    found.sort();
    found
}

#[test]
fn credentials_file_keys_move_and_every_other_byte_stays() {
    let home = file_home();
    home.config("[profile default]\n");
    let path = home.credentials(CREDENTIALS);

    let run = home.run(["import", "credentials-file", "--dry-run"]);
    partial(&run);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CREDENTIALS);
    assert!(backups(&home).is_empty());

    let run = home.run(["import", "credentials-file"]);
    partial(&run);
    let out = &run.stdout;
    assert!(out.starts_with("default: imported\nplain-only: imported\nhalf: not imported: it has `aws_access_key_id` but no `aws_secret_access_key`; left in the file\n2 imported, 0 already in vault, 1 not imported\nremoved the keys of 2 from `~/.aws/credentials`; the file as it was is in `~/.aws/credentials.vault-backup-"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CREDENTIALS_AFTER);
    let backups = backups(&home);
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), CREDENTIALS);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&backups[0]).unwrap().mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert!(keys_of(&home, "plain-only").contains("AKIAPLAINONLY0000000"));
    assert!(keys_of(&home, "default").contains(SECRET));
    // `plain-only` had no section in the config: it has one now, so it still resolves.
    assert_eq!(
        std::fs::read_to_string(home.path().join(".aws/config")).unwrap(),
        "[profile default]\n\n[profile plain-only]\n"
    );
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "default\nplain-only\n"
    );
}

#[test]
fn credentials_file_keep_links_and_read_only() {
    let home = file_home();
    let real = home.write(
        "elsewhere/credentials",
        "[a]\naws_access_key_id = A\naws_secret_access_key = S\n",
    );
    let path = home.path().join(".aws/credentials");
    std::os::unix::fs::symlink(&real, &path).unwrap();

    let err = home.run(["import", "credentials-file"]).fails().to_string();
    assert!(err.contains("error: cannot import from the credentials file `~/.aws/credentials`: it is a symbolic link"), "{err}");
    assert!(
        err.contains("hint: nothing was imported or changed; `--keep`"),
        "{err}"
    );
    assert_eq!(home.run(["list", "--credentials"]).ok(), "");

    std::fs::remove_file(&path).unwrap();
    std::fs::copy(&real, &path).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o400)).unwrap();
    let err = home.run(["import", "credentials-file"]).fails().to_string();
    assert!(err.contains("it is read-only"), "{err}");
    assert_eq!(home.run(["list", "--credentials"]).ok(), "");

    let run = home.run(["import", "credentials-file", "--keep"]);
    assert_eq!(
        run.ok(),
        "a: imported\n1 imported, 0 already in vault, 0 not imported\n"
    );
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&real).unwrap());
    assert!(backups(&home).is_empty());
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The disk fills during the rewrite (room for the backup, none for the new file): the
/// old file is intact, the error names it, and the keys are in the vault.
#[test]
fn credentials_file_full_disk_keeps_the_old_file() {
    let mut home = file_home();
    let Some(disk) = Tmpfs::mount(&home.path().join("small"), "64k") else {
        assert!(!nix_is_root(), "root could not mount a tmpfs");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let path = disk.0.join("credentials");
    std::fs::write(&path, CREDENTIALS).unwrap();
    home.env("AWS_SHARED_CREDENTIALS_FILE", path.to_str().unwrap());
    let mut fillers = Vec::new();
    for i in 0.. {
        let filler = disk.0.join(format!("filler-{i}"));
        if std::fs::write(&filler, [0u8; 4096]).is_err() {
            let _ = std::fs::remove_file(&filler);
            break;
        }
        fillers.push(filler);
    }
    // One page free: the backup fits, the new file does not.
    std::fs::remove_file(fillers.pop().unwrap()).unwrap();
    let run = home.run(["import", "credentials-file", "--profile", "plain-only"]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert!(run.stderr.contains("error: could not write"), "{run:#?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CREDENTIALS);
    let left: Vec<String> = std::fs::read_dir(&disk.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("filler-"))
        .collect();
    assert!(
        left.iter()
            .all(|n| n == "credentials" || n.starts_with("credentials.vault-backup-")),
        "{left:?}"
    );
    assert!(keys_of(&home, "plain-only").contains("AKIAPLAINONLY0000000"));
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n"
}

/// A profile that was only in the credentials file, used as a role's source with MFA.
#[test]
fn a_profile_moved_out_of_the_credentials_file_still_assumes_its_role() {
    let world = World::new();
    world.run(&["remove", "-f", "gds-users"]).ok();
    let jane = world.moto.user("jane");
    let config_path = world.home.path().join(".aws/config");
    let mut config = std::fs::read_to_string(&config_path).unwrap();
    config = config.replace("[profile gds-users]\nregion = eu-west-1\n", "");
    std::fs::write(&config_path, &config).unwrap();
    world.home.credentials(&format!(
        "[gds-users]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        jane["access_key_id"].as_str().unwrap(),
        jane["secret_access_key"].as_str().unwrap()
    ));
    let run = world.run(&["import", "credentials-file"]);
    assert!(run.ok().starts_with("gds-users: imported\n"));
    assert_eq!(
        std::fs::read_to_string(world.home.path().join(".aws/credentials")).unwrap(),
        ""
    );
    let arn = world.caller_arn(&["-t", &world.code(0), "target-account"]);
    assert!(arn.contains(":assumed-role/admin/"), "{arn}");
}

/// vault's own entries, from the file store to the kernel keyring (in a throwaway session
/// keyring), read back and compared; `--delete-source` then empties the file store.
#[test]
fn vault_entries_move_between_backends() {
    let home = file_home();
    for (profile, id) in [("a", ID), ("team/b", "AKIABBBBBBBBBBBBBBBB")] {
        let mut add = home.command(["add", profile, "--env", "--no-add-config"]);
        add.env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
        Run::from(add.output().unwrap()).ok();
    }
    let script = r#"
export AWS_VAULT_BACKEND=keyctl
"$VAULT" import vault --from file --dry-run
"$VAULT" list --credentials
"$VAULT" import vault --from file
"$VAULT" import vault --from file --delete-source
"$VAULT" list --credentials
"$VAULT" export --format json --no-session team/b
"$VAULT" import vault --from keyctl
"#;
    let mut command = home.child("keyctl", &["session", "-", "sh", "-c", script]);
    command.env("VAULT", env!("CARGO_BIN_EXE_vault"));
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.status, Some(1), "{run:#?}");
    let out = &run.stdout;
    assert!(out.starts_with(
        "a: imported (dry run: nothing written)\nteam/b: imported (dry run: nothing written)\n\
         2 imported, 0 already in vault, 0 not imported (dry run)\n\
         a: imported\nteam/b: imported\n2 imported, 0 already in vault, 0 not imported\n\
         a: already in vault (skipped; --overwrite replaces it)\n\
         team/b: already in vault (skipped; --overwrite replaces it)\n\
         0 imported, 2 already in vault, 0 not imported\n\
         deleted 2 from the file store at `~/.local/share/vault` (each read back equal from the keyctl backend)\n"
    ), "{out}");
    assert!(
        out.contains("equal from the keyctl backend)\na\nteam/b\n{"),
        "{out}"
    );
    assert!(out.contains("AKIABBBBBBBBBBBBBBBB"), "{out}");
    assert!(
        run.stderr
            .contains("error: `--from`: the keyctl backend is the current store"),
        "{run:#?}"
    );
    assert_eq!(home.run(["list", "--credentials"]).ok(), "");
}

#[test]
fn errors_point_at_aws_vault_stores() {
    let mut home = file_home();
    home.config("[profile jon]\nregion = eu-west-1\n\n[profile role]\nsource_profile = jon\nrole_arn = arn:aws:iam::123456789012:role/x\n");
    let dir = home.path().join(".awsvault/keys");
    file_store(
        &home,
        &dir,
        &[("jon", "their passphrase", v2(ID, SECRET), 8192)],
    );
    let before = snapshot(&dir);

    let err = home.run(["export", "role"]).fails().to_string();
    assert!(
        err.ends_with(
            "hint: import them with `vault import aws-vault --from file --profile jon`\n"
        ),
        "{err}"
    );

    // vault's own file store pointed at aws-vault's folder: said plainly, nothing written.
    home.env("AWS_VAULT_FILE_DIR", dir.to_str().unwrap());
    let err = home.run(["list"]).fails().to_string();
    assert_eq!(
        err,
        "error: `~/.awsvault/keys` is aws-vault's file store, not vault's\n\
         hint: import its keys with `vault import aws-vault --from file --dir ~/.awsvault/keys`, \
         and keep vault's own store elsewhere (unset AWS_VAULT_FILE_DIR or point it at another folder)\n"
    );
    let mut add = home.command(["add", "x", "--env", "--no-add-config"]);
    add.env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let err = Run::from(add.output().unwrap());
    assert!(
        err.fails()
            .contains("is aws-vault's file store, not vault's"),
        "{err:#?}"
    );
    assert_eq!(
        snapshot(&dir),
        before,
        "vault wrote into aws-vault's folder"
    );
}

// ---------------------------------------------------------------------------------------
// vault's own pass backend
// ---------------------------------------------------------------------------------------

/// Keys imported from the file store into the pass backend; a role behind MFA works, its
/// session is one `.gpg` file, and `list` needs neither pass nor gpg.
#[test]
fn pass_backend_holds_keys_and_sessions() {
    let mut world = World::new();
    let store = PassStore::new(&mut world.home);
    let dir = store.dir.clone();
    drop(store);
    world.home.env("AWS_VAULT_BACKEND", "pass");
    let run = world.run(&["import", "vault", "--from", "file"]);
    assert_eq!(
        run.ok(),
        "gds-users: imported\n1 imported, 0 already in vault, 0 not imported\n"
    );
    assert!(dir.join("vault/keys/gds-users.gpg").is_file());
    let arn = world.caller_arn(&["-t", &world.code(0), "target-account"]);
    assert!(arn.contains(":assumed-role/admin/"), "{arn}");
    // The sessions are in vault's session files, sealed with a session key that is the one
    // thing pass holds for them; the keys stay in pass.
    assert!(!dir.join("vault/sessions").exists());
    let names = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let session_files = world.home.path().join(".local/share/vault/sessions/pass");
    let entries = names(&session_files);
    let sessions = entries.iter().filter(|n| n.starts_with("session-")).count();
    assert_eq!(sessions, 2, "{entries:?}");
    let keys = names(&dir.join("vault/session-keys"));
    assert!(keys.len() == 1 && keys[0].ends_with(".gpg"), "{keys:?}");

    // `list` reads names only: it works with no pass at all.
    let mut list = world.home.command(["list", "--credentials"]);
    list.env("AWS_VAULT_PASS_CMD", "no-such-pass");
    assert_eq!(Run::from(list.output().unwrap()).ok(), "gds-users\n");
    let mut list = world.home.command(["list", "--sessions"]);
    list.env("AWS_VAULT_PASS_CMD", "no-such-pass");
    assert_eq!(Run::from(list.output().unwrap()).ok().lines().count(), 2);

    // A missing pass: a clear error when a secret is needed.
    let mut export = world.home.command(["export", "--no-session", "gds-users"]);
    export.env("AWS_VAULT_PASS_CMD", "no-such-pass");
    let run = Run::from(export.output().unwrap());
    let err = run.fails();
    assert!(
        err.contains("error: the pass backend failed: `no-such-pass` is not installed"),
        "{err}"
    );

    // Flags beat variables: another prefix is another (empty) set of entries.
    let run = world.run(&["list", "--credentials", "--pass-prefix", "other"]);
    assert_eq!(run.ok(), "");
    let run = world.run(&["remove", "-f", "gds-users"]);
    run.ok();
    assert!(!dir.join("vault/keys/gds-users.gpg").exists());
    let _ = world
        .home
        .child("gpgconf", &["--kill", "gpg-agent"])
        .output();
}

/// A key with a passphrase and no terminal for pinentry: a plain error at once, no hang.
#[test]
fn pass_backend_without_a_way_to_ask_fails_at_once() {
    let mut home = file_home();
    home.env("AWS_VAULT_BACKEND", "pass");
    let store = PassStore::with_passphrase(&mut home, "key passphrase");
    store.insert(
        "vault/keys/p",
        r#"{"access_key_id":"AKIAX","secret_access_key":"s"}"#,
    );
    let _ = store
        .home
        .child("gpgconf", &["--kill", "gpg-agent"])
        .output();
    let started = std::time::Instant::now();
    let run = Run::from(
        store
            .home
            .detached(["export", "--no-session", "p"])
            .output()
            .unwrap(),
    );
    assert!(started.elapsed().as_secs() < 60, "it waited");
    let err = run.fails();
    assert!(
        err.contains("error: the pass backend failed: `pass show` failed: gpg: decryption failed"),
        "{err}"
    );
    assert!(
        err.contains("hint: gpg-agent could not ask for the key's passphrase"),
        "{err}"
    );
    assert_eq!(store.home.run(["list", "--credentials"]).ok(), "p\n");
}

/// A program `name` on PATH ahead of the system's, running `script` (sh).
fn stand_in(home: &mut Home, name: &str, script: &str) {
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), support::test_path());
    home.env("PATH", path);
}

/// A file store made with the passphrase in the environment, holding `seed`'s keys.
fn seeded_file_home() -> Home {
    let home = file_home();
    home.credentials(
        "[seed]\naws_access_key_id = AKIASEED000000000000\naws_secret_access_key = s\n",
    );
    home.run(["import", "credentials-file", "--keep"]).ok();
    home
}

/// The last line of `import credentials-file`'s output, for this backup.
fn backup_note(backup: &Path) -> String {
    let name = backup.file_name().unwrap().to_string_lossy();
    format!(
        "removed the keys of 1 from `~/.aws/credentials`; the file as it was is in `~/.aws/{name}` (0600)\n\
         that backup still holds the keys in plaintext: once vault works for these profiles, delete it with `rm ~/.aws/{name}`\n"
    )
}

/// Security review 2, finding 4: a tool that writes the credentials file while the
/// passphrase is being asked used to lose what it wrote (the file was read before the
/// question and rewritten from that copy).
#[test]
fn credentials_file_written_while_the_passphrase_is_asked_loses_nothing() {
    let mut home = seeded_file_home();
    home.config("[profile a]\n");
    let path = home.credentials(
        "[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = secret-of-a\n",
    );
    stand_in(
        &mut home,
        "zenity",
        &format!(
            "echo \"$*\" >> \"$HOME/zenity.log\"\nprintf '\\n[saml]\\nregion = us-east-1\\n' >> \"$HOME/.aws/credentials\"\necho '{PASSPHRASE}'\n"
        ),
    );
    home.env("AWS_VAULT_PROMPT", "zenity").env("DISPLAY", ":99");
    let mut command = home.command(["import", "credentials-file"]);
    command.env_remove("AWS_VAULT_FILE_PASSPHRASE");
    let run = Run::from(command.output().unwrap());
    let asked = std::fs::read_to_string(home.path().join("zenity.log")).unwrap();
    assert!(
        asked.contains("--text=Enter passphrase to unlock"),
        "{asked}"
    );
    let backups = backups(&home);
    assert_eq!(backups.len(), 1);
    assert_eq!(
        run.ok(),
        format!(
            "a: imported\n1 imported, 0 already in vault, 0 not imported\n{}",
            backup_note(&backups[0])
        )
    );
    assert_eq!(run.stderr, "");
    // What the other tool wrote is in the file; the keys are not (nor the blank line of
    // their emptied section).
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[saml]\nregion = us-east-1\n"
    );
    assert_eq!(
        std::fs::read_to_string(&backups[0]).unwrap(),
        "[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = secret-of-a\n\n[saml]\nregion = us-east-1\n"
    );
    assert!(keys_of(&home, "a").contains("secret-of-a"));
}

/// A `pass` that keeps entries in the clear under PASSWORD_STORE_DIR and logs each call's
/// arguments, one call a line, to `~/pass.log`; `insert` also runs `$ON_INSERT`.
const LOGGING_PASS: &str = r#"echo "$*" >> "$HOME/pass.log"
cmd=$1; shift
while [ $# -gt 1 ] && [ "$1" != "--" ]; do shift; done
[ "$1" = "--" ] && shift
f="$PASSWORD_STORE_DIR/$1.gpg"
case $cmd in
insert) mkdir -p "$(dirname "$f")"; cat > "$f"; if [ -n "$ON_INSERT" ]; then sh -c "$ON_INSERT"; fi ;;
show) cat "$f" ;;
rm) rm -f "$f" ;;
esac
"#;

fn logging_pass_home() -> Home {
    let mut home = Home::new();
    stand_in(&mut home, "logging-pass", LOGGING_PASS);
    let dir = home.path().join("store");
    std::fs::create_dir_all(&dir).unwrap();
    home.env("AWS_VAULT_BACKEND", "pass")
        .env("AWS_VAULT_PASS_CMD", "logging-pass")
        .env("AWS_VAULT_PASS_PASSWORD_STORE_DIR", dir.to_str().unwrap());
    home
}

/// Finding 4, the check before the rename: a file written after vault read it (here, by the
/// store's own `pass insert`) is left as it is, and the keys stay in the vault.
#[test]
fn credentials_file_changed_before_the_rename_is_left_as_it_is() {
    let mut home = logging_pass_home();
    home.env(
        "ON_INSERT",
        "printf '[other-tool]\\nregion = x\\n' >> \"$HOME/.aws/credentials\"",
    );
    home.config("[profile a]\n");
    let path = home.credentials(
        "[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = secret-of-a\n",
    );
    let run = home.run(["import", "credentials-file"]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert_eq!(
        run.stdout,
        "a: imported\n1 imported, 0 already in vault, 0 not imported\n"
    );
    assert_eq!(
        run.stderr,
        "error: `~/.aws/credentials` changed while vault was importing its keys, so vault left it as it is\n\
         hint: the keys are in the vault now; run `vault import credentials-file` again to take them out of the file\n"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = secret-of-a\n[other-tool]\nregion = x\n"
    );
    assert!(backups(&home).is_empty());
    assert_eq!(home.run(["list", "--credentials"]).ok(), "a\n");
}

/// Security review 2, finding 11: names reach `pass` after `--`, so a name that starts with
/// `-` (a prefix here, a file in aws-vault's store below) is not taken for an option.
#[test]
fn pass_gets_every_name_after_a_double_dash() {
    let mut home = logging_pass_home();
    home.env("AWS_VAULT_PASS_PREFIX", "-q");
    let store = home.path().join("store");
    home.credentials(
        "[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = secret-of-a\n",
    );
    home.run(["import", "credentials-file", "--keep"]).ok();
    assert!(keys_of(&home, "a").contains("secret-of-a"));
    assert_eq!(
        home.run(["remove", "-f", "a"]).ok(),
        "Deleted credentials.\n"
    );
    // aws-vault's store, with files named like `pass show`'s options.
    let data = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        v2("AKIACLIP000000000000", SECRET),
    );
    let item = format!(r#"{{"Key":"--clip","Data":"{data}"}}"#);
    std::fs::write(store.join("--clip.gpg"), item).unwrap();
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "pass",
        "--dir",
        store.to_str().unwrap(),
        "--pass-prefix",
        "",
        "--dry-run",
    ]);
    assert_eq!(
        run.ok(),
        "--clip: imported (dry run: nothing written)\n1 imported, 0 already in vault, 0 not imported (dry run)\n"
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join("pass.log")).unwrap(),
        "insert -m -f -- -q/keys/a\nshow -- -q/keys/a\nshow -- -q/keys/a\nrm -f -- -q/keys/a\nshow -- --clip\n"
    );
}

/// Security review 2, finding 12: with another hard link the rewrite would leave the keys
/// in it while saying they were removed, so vault refuses before anything is done.
#[test]
fn credentials_file_with_other_hard_links_is_refused() {
    let home = file_home();
    let text =
        "[b]\naws_access_key_id = AKIABBBBBBBBBBBBBBBB\naws_secret_access_key = secret-of-b\n";
    let path = home.credentials(text);
    let other = home.path().join("dotfiles-credentials");
    std::fs::hard_link(&path, &other).unwrap();
    assert_eq!(
        home.run(["import", "credentials-file"]).fails(),
        "error: cannot import from the credentials file `~/.aws/credentials`: it has 2 hard links, and the others would still hold the keys after vault rewrote this one\n\
         hint: nothing was imported or changed; `--keep` imports the keys and leaves the file as it is\n"
    );
    assert_eq!(home.run(["list", "--credentials"]).ok(), "");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert!(backups(&home).is_empty());
    // `--keep` changes nothing in the file, so the links do not matter to it.
    assert_eq!(
        home.run(["import", "credentials-file", "--keep"]).ok(),
        "b: imported\n1 imported, 0 already in vault, 0 not imported\n"
    );
    // With one link left, the keys leave the file, and the note says where they still are.
    std::fs::remove_file(&other).unwrap();
    let run = home.run(["import", "credentials-file"]);
    let backups = backups(&home);
    assert_eq!(
        run.ok(),
        format!(
            "b: already in vault (skipped; --overwrite replaces it)\n0 imported, 1 already in vault, 0 not imported\n{}",
            backup_note(&backups[0])
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), text);
}

/// Security review 2, finding 8: a file name from aws-vault's folder, quoted in the reason,
/// reaches the terminal escaped like the profile name before it.
#[test]
fn import_lines_escape_file_names_in_reasons_too() {
    let home = file_home();
    let dir = home.path().join("jweesc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(dir.join("p\u{1b}]0;TITLE\u{7}\u{1b}[31mRED"), "a.b").unwrap();
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert_eq!(
        run.stdout,
        "p\\u{1b}]0;TITLE\\u{7}\\u{1b}[31mRED: not imported: `p\\u{1b}]0;TITLE\\u{7}\\u{1b}[31mRED` is not an aws-vault file: it has 2 parts, not the 5 of a JWE\n\
         0 imported, 0 already in vault, 1 not imported (dry run)\n"
    );
}

/// Security review 2, finding 9: `--profile` narrows the files read and decrypted, and one
/// passphrase is tried for at most 20,000,000 PBKDF2 rounds in all.
#[test]
fn file_store_work_is_narrowed_by_profile_and_capped_per_passphrase() {
    let home = file_home();
    let dir = home.path().join("keys");
    file_store(
        &home,
        &dir,
        &[
            ("aaa", PASSPHRASE, v2(ID, SECRET), 8192),
            ("costly", "another passphrase", v2(ID, SECRET), 8192),
        ],
    );
    // jwcrypto writes at most 16384 rounds: the header is rewritten to vault's cap. The key
    // then does not unwrap with either passphrase, but the rounds are spent finding that.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let costly = std::fs::read_to_string(dir.join("costly")).unwrap();
    let (header, rest) = costly.split_once('.').unwrap();
    let header = String::from_utf8(b64.decode(header).unwrap()).unwrap();
    let header = header.replace("\"p2c\":8192", "\"p2c\":100000");
    std::fs::remove_file(dir.join("costly")).unwrap();
    for i in 0..201 {
        std::fs::write(
            dir.join(format!("costly-{i:03}")),
            format!("{}.{rest}", b64.encode(&header)),
        )
        .unwrap();
    }

    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir.to_str().unwrap(),
        "--profile",
        "aaa",
    ]);
    assert_eq!(
        run.ok(),
        "aaa: imported\n1 imported, 0 already in vault, 0 not imported\n"
    );
    // Nothing else was tried: no file was found not to open.
    assert_eq!(run.stderr, "");

    // 8192 + 199 × 100,000 rounds fit; the 200th costly file would pass the cap, which is
    // found before any key is derived.
    let run = home.run([
        "import",
        "aws-vault",
        "--from",
        "file",
        "--dir",
        dir.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(
        run.fails(),
        "error: cannot import from aws-vault's file store `~/keys`: its 202 files ask for 20108192 key-derivation rounds, more than the 20000000 vault spends on one passphrase (aws-vault writes 8192 a file); 2 files would be left untried\n\
         hint: nothing was imported; name the profiles to import with `--profile`, and only their files are tried\n"
    );
}
