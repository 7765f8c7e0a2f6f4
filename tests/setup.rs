//! `vault setup` and the profile picker as a person meets them: the real binary in a tmux
//! pane (a real terminal: keys typed with send-keys, the screen read with capture-pane),
//! against a local STS/IAM (moto) with IAM users of zero, one and two MFA devices. The
//! guide walked from nothing to `vault exec target-account -- aws sts get-caller-identity`
//! with `vault setup` and `vault config sync`, and no hand edit of `~/.aws/config`; Ctrl-C
//! in `setup` leaving the config and the store as they were; the picker's filter, keys,
//! order and the terminal's mode after it.

mod support;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Home, Moto, PASSPHRASE, Run, World, http, test_path};

/// One tmux server of its own, running one command in a 120x40 pane.
struct Tmux {
    socket: String,
}

fn quote(text: &OsStr) -> String {
    format!("'{}'", text.to_str().unwrap().replace('\'', "'\\''"))
}

impl Tmux {
    /// Runs `command` (its program, arguments, folder and variables) in a pane, then prints
    /// `status=N` and whether the terminal's mode is as it was before (`tty=same`).
    fn run(command: &Command, home: &Path) -> Tmux {
        let mut line = format!(
            "cd {} && env -i",
            quote(command.get_current_dir().unwrap().as_os_str())
        );
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                let pair = format!("{}={}", key.to_str().unwrap(), value.to_str().unwrap());
                line.push(' ');
                line.push_str(&quote(OsStr::new(&pair)));
            }
        }
        line.push(' ');
        line.push_str(&quote(command.get_program()));
        for arg in command.get_args() {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        let script = home.join(format!("tmux-{}.sh", rand_suffix()));
        std::fs::write(
            &script,
            format!(
                "trap : INT TERM HUP\nbefore=$(stty -g)\n{line}\necho \"status=$?\"\n[ \"$(stty -g)\" = \"$before\" ] && echo tty=same || echo tty=changed\nsleep 600\n"
            ),
        )
        .unwrap();
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let socket = format!(
            "vault-test-{}-{n}-{}",
            std::process::id(),
            home.file_name().unwrap().to_str().unwrap()
        );
        let tmux = Tmux { socket };
        // A pane whose command ended stays, to be read.
        let conf = home.join(format!("tmux-{}.conf", rand_suffix()));
        std::fs::write(&conf, "set -g remain-on-exit on\n").unwrap();
        tmux.tmux(&[
            "-f",
            conf.to_str().unwrap(),
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "120",
            "-y",
            "40",
            &format!("sh {}", script.display()),
        ]);
        tmux
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs (scripts/setup installs it)");
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", "t"])
    }

    /// Waits until the screen shows `text`; returns the screen.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "`{text}` never showed; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    fn key(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "t", key]);
    }

    /// Sends `signal` to the program the pane's script runs (vault).
    fn signal(&self, signal: &str) {
        let shell = self.tmux(&["display", "-p", "-t", "t", "#{pane_pid}"]);
        let shell = shell.trim();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("the pane's shell lists its children");
        let vault = children
            .split_whitespace()
            .next()
            .expect("vault is running");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), vault])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The status vault ended with, and whether the terminal's mode was left as found.
    fn finish(&self) -> (i32, bool, String) {
        let screen = self.wait_for("tty=");
        let status = screen
            .lines()
            .find_map(|l| l.strip_prefix("status="))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (status, screen.contains("tty=same"), screen)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A HOME that talks to `moto`, with no config and nothing stored.
fn empty_home(moto: &Moto) -> Home {
    let mut home = Home::new();
    home.env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0")
        .env("USER", "jane")
        .env("AWS_DEFAULT_REGION", "eu-west-2")
        .env("TERM", "xterm");
    home
}

fn config_of(home: &Home) -> String {
    std::fs::read_to_string(home.path().join(".aws/config")).unwrap_or_default()
}

fn store_files(home: &Home) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(home.path().join(".local/share/vault")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

fn user(moto: &Moto, name: &str, key: &str) -> String {
    moto.user(name)[key].as_str().unwrap().to_string()
}

/// Types keys at `setup`'s two questions.
fn type_keys(tmux: &Tmux, access_key_id: &str, secret_access_key: &str) {
    tmux.wait_for("Enter Access Key ID: ");
    tmux.type_text(access_key_id);
    tmux.key("Enter");
    tmux.wait_for("Enter Secret Access Key: ");
    tmux.type_text(secret_access_key);
    tmux.key("Enter");
}

/// Types a moto user's keys at `setup`'s two questions.
fn give_keys(tmux: &Tmux, moto: &Moto, name: &str) {
    type_keys(
        tmux,
        &user(moto, name, "access_key_id"),
        &user(moto, name, "secret_access_key"),
    );
}

const TEAM: &str = "# the platform team's accounts and roles\n[profile target-account]\nrole_arn = ROLE\nregion = eu-west-1\n";

/// The guide's path, done by commands only: `vault setup gds-users` (keys typed, the MFA
/// device found through IAM, one MFA code), `vault config sync team.ini`, then the real
/// `aws` CLI under `vault exec target-account` with no second MFA code: the role rides on
/// the session setup made.
#[test]
fn setup_and_sync_walk_from_nothing_to_the_aws_cli() {
    let moto = Moto::start();
    let home = empty_home(&moto);
    let serial = user(&moto, "jane", "mfa_serial");
    let tmux = Tmux::run(&home.command(["setup", "gds-users"]), home.path());
    give_keys(&tmux, &moto, "jane");
    tmux.wait_for(&format!("Enter MFA code for {serial}: "));
    tmux.type_text(&moto.totp(&serial, 0));
    tmux.key("Enter");
    let (status, same, screen) = tmux.finish();
    assert_eq!(status, 0, "{screen}");
    assert!(same, "the terminal's mode changed: {screen}");
    for text in [
        "No keys are stored for `gds-users` yet: enter the IAM user's access key.",
        "The keys are IAM user `jane`'s in account 123456789012 (`arn:aws:iam::123456789012:user/jane`)",
        "Added credentials to profile \"gds-users\" in vault",
        &format!("MFA device: `{serial}`"),
        &format!("Wrote [profile gds-users] in `~/.aws/config`: mfa_serial = {serial}"),
        "Cached a new session for `gds-users` (",
        "vault config sync team.ini",
    ] {
        assert!(screen.contains(text), "no `{text}`:\n{screen}");
    }
    let secret = user(&moto, "jane", "secret_access_key");
    assert!(!screen.contains(&secret), "the secret was echoed");
    assert_eq!(
        config_of(&home),
        format!("[profile gds-users]\nmfa_serial = {serial}\n")
    );

    home.write("team.ini", &TEAM.replace("ROLE", &moto.role_arn("admin")));
    let run = home.run(["config", "sync", "team.ini"]);
    assert!(run.ok().contains("added    target-account\n"), "{run:?}");
    let arn = home
        .run([
            "exec",
            "target-account",
            "--",
            "aws",
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/admin/"),
        "{arn}"
    );

    // Again, with everything in place: it says so and changes nothing.
    let config = config_of(&home);
    let files = store_files(&home);
    let run = home.run(["setup", "gds-users"]);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{run:?}");
    assert_eq!(
        lines[0],
        "The keys are IAM user `jane`'s in account 123456789012 (`arn:aws:iam::123456789012:user/jane`)"
    );
    assert!(
        lines[1].starts_with("Using the cached session for `gds-users` ("),
        "{run:?}"
    );
    assert_eq!(
        lines[2],
        format!(
            "`gds-users` is set up already: keys stored, `mfa_serial` `{serial}`, nothing changed"
        )
    );
    assert_eq!(run.stderr, format!("MFA device: `{serial}`\n"));
    assert_eq!(config_of(&home), config);
    assert_eq!(store_files(&home), files);
}

/// Ctrl-C at each question leaves the config and the store as they were before that step.
#[test]
fn ctrl_c_in_setup_leaves_the_config_and_the_store_as_they_were() {
    let moto = Moto::start();
    let home = empty_home(&moto);
    home.config("# mine\r\n[profile other]\r\nregion = x\r\n");
    let serial = user(&moto, "jane", "mfa_serial");

    // At the secret key: nothing stored, the config untouched.
    let tmux = Tmux::run(&home.command(["setup", "gds-users"]), home.path());
    tmux.wait_for("Enter Access Key ID: ");
    tmux.type_text(&user(&moto, "jane", "access_key_id"));
    tmux.key("Enter");
    tmux.wait_for("Enter Secret Access Key: ");
    tmux.type_text("half");
    tmux.key("C-c");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (130, true), "{screen}");
    assert_eq!(
        config_of(&home),
        "# mine\r\n[profile other]\r\nregion = x\r\n"
    );
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "",
        "keys were stored"
    );
    drop(tmux);

    // At the MFA code: the keys and the config were done; no session is cached.
    let tmux = Tmux::run(&home.command(["setup", "gds-users"]), home.path());
    give_keys(&tmux, &moto, "jane");
    tmux.wait_for("Enter MFA code for ");
    tmux.key("C-c");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (130, true), "{screen}");
    assert_eq!(
        config_of(&home),
        format!(
            "# mine\r\n[profile other]\r\nregion = x\r\n\r\n[profile gds-users]\r\nmfa_serial = {serial}\r\n"
        )
    );
    let list = home.run(["list", "--sessions"]);
    assert_eq!(list.ok(), "", "a session was cached");
    assert_eq!(home.run(["list", "--credentials"]).ok(), "gds-users\n");
}

/// The real `aws` CLI with jane's keys (she may do anything without MFA), for IAM setup.
fn aws_as_jane(moto: &Moto, home: &Home, args: &[&str]) -> String {
    let output = Command::new("aws")
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", test_path())
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_DEFAULT_REGION", "eu-west-2")
        .env("AWS_ACCESS_KEY_ID", user(moto, "jane", "access_key_id"))
        .env(
            "AWS_SECRET_ACCESS_KEY",
            user(moto, "jane", "secret_access_key"),
        )
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    Run::from(output).ok().to_string()
}

/// A second virtual device for bob, enabled with codes from moto's test endpoint.
fn add_device(moto: &Moto, home: &Home, user_name: &str, device: &str) -> String {
    let made: Value = serde_json::from_str(&aws_as_jane(
        moto,
        home,
        &[
            "iam",
            "create-virtual-mfa-device",
            "--virtual-mfa-device-name",
            device,
            "--outfile",
            home.path().join(format!("{device}.seed")).to_str().unwrap(),
            "--bootstrap-method",
            "Base32StringSeed",
        ],
    ))
    .unwrap();
    let serial = made["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let code = |offset: i64| {
        http(
            &moto.endpoint,
            "GET",
            &format!("/_vault_test/totp?serial={serial}&offset={offset}"),
            "",
        )
    };
    aws_as_jane(
        moto,
        home,
        &[
            "iam",
            "enable-mfa-device",
            "--user-name",
            user_name,
            "--serial-number",
            &serial,
            "--authentication-code1",
            &code(-5),
            "--authentication-code2",
            &code(-4),
        ],
    );
    serial
}

/// bob: no device (the guide's words, then the ARN asked; Enter goes on without one); then
/// two devices (asked which); `--mfa-serial` takes one without asking.
#[test]
fn setup_finds_zero_one_or_two_devices() {
    let moto = Moto::start();
    let home = empty_home(&moto);
    let tmux = Tmux::run(&home.command(["setup", "bob", "--no-verify"]), home.path());
    give_keys(&tmux, &moto, "bob");
    let screen = tmux.wait_for("MFA device ARN (Enter goes on without MFA): ");
    assert!(
        screen.contains("No MFA device is assigned to IAM user `bob`."),
        "{screen}"
    );
    assert!(screen.contains("choose \"Assign MFA device\""), "{screen}");
    tmux.key("Enter");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (0, true), "{screen}");
    assert_eq!(config_of(&home), "[profile bob]\n");
    drop(tmux);

    let first = add_device(&moto, &home, "bob", "bob-phone");
    let second = add_device(&moto, &home, "bob", "bob-key");
    let tmux = Tmux::run(&home.command(["setup", "bob", "--no-verify"]), home.path());
    let screen = tmux.wait_for("Which one? (1-2): ");
    assert!(
        screen.contains("IAM user `bob` has 2 MFA devices:"),
        "{screen}"
    );
    tmux.type_text("3");
    tmux.key("Enter");
    tmux.wait_for("type a number from 1 to 2");
    tmux.type_text("2");
    tmux.key("Enter");
    let (status, _, screen) = tmux.finish();
    assert_eq!(status, 0, "{screen}");
    let chosen = if screen.contains(&format!("2. {second}")) {
        &second
    } else {
        &first
    };
    assert_eq!(
        config_of(&home),
        format!("[profile bob]\nmfa_serial = {chosen}\n")
    );

    let run = home.run([
        "setup",
        "bob",
        "--no-verify",
        "--mfa-serial",
        &first,
        "--region",
        "eu-west-1",
    ]);
    assert!(
        run.ok().contains("Wrote [profile bob] in `~/.aws/config`"),
        "{run:?}"
    );
    assert_eq!(
        config_of(&home),
        format!("[profile bob]\nmfa_serial = {first}\nregion = eu-west-1\n")
    );
}

/// An account that refuses IAM calls without MFA: setup says the devices could not be
/// listed, then where to find the ARN, and asks for it.
#[test]
fn setup_asks_for_the_arn_when_iam_refuses_the_list() {
    let moto = Moto::start();
    let home = empty_home(&moto);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
    aws_as_jane(&moto, &home, &["iam", "create-user", "--user-name", "kim"]);
    aws_as_jane(
        &moto,
        &home,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "kim",
            "--policy-name",
            "p",
            "--policy-document",
            policy,
        ],
    );
    let key: Value = serde_json::from_str(&aws_as_jane(
        &moto,
        &home,
        &["iam", "create-access-key", "--user-name", "kim"],
    ))
    .unwrap();
    let tmux = Tmux::run(&home.command(["setup", "kim", "--no-verify"]), home.path());
    type_keys(
        &tmux,
        key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        key["AccessKey"]["SecretAccessKey"].as_str().unwrap(),
    );
    let screen = tmux.wait_for("MFA device ARN (Enter goes on without MFA): ");
    assert!(
        screen.contains("warning: IAM did not list the MFA devices of `kim`"),
        "{screen}"
    );
    assert!(screen.contains("choose \"Assign MFA device\""), "{screen}");
    tmux.type_text("arn:aws:iam::123456789012:mfa/kim");
    tmux.key("Enter");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (0, true), "{screen}");
    assert_eq!(
        config_of(&home),
        "[profile kim]\nmfa_serial = arn:aws:iam::123456789012:mfa/kim\n"
    );
}

/// Keys that are not an IAM user's (here the account's root user's): setup says whose they
/// are and stops; typed keys are not stored, stored ones are left for the person to replace,
/// and the config is not touched either way.
#[test]
fn setup_stops_for_the_root_user_s_keys() {
    let moto = Moto::start();
    let home = empty_home(&moto);
    home.write(
        ".aws/config",
        "# mine\n[profile owner]\nregion = eu-west-1\n",
    );
    let root = &moto.state["root"];
    let (id, secret) = (
        root["access_key_id"].as_str().unwrap(),
        root["secret_access_key"].as_str().unwrap(),
    );
    let tmux = Tmux::run(&home.command(["setup", "owner"]), home.path());
    type_keys(&tmux, id, secret);
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (1, true), "{screen}");
    assert!(
        screen.contains("error: the keys of `owner` are not an IAM user's: AWS says they are `arn:aws:iam::123456789012:root`"),
        "{screen}"
    );
    assert!(screen.contains("nothing was stored"), "{screen}");
    assert_eq!(store_files(&home), Vec::<String>::new());
    assert_eq!(
        config_of(&home),
        "# mine\n[profile owner]\nregion = eu-west-1\n"
    );

    // Stored already (with `vault add`): the same stop, and the way to replace them.
    home.add_keys("owner", id, secret).ok();
    let run = home.run(["setup", "owner"]);
    let err = run.fails().to_string();
    assert!(err.contains("are not an IAM user's"), "{err}");
    assert!(
        err.contains("replace them with `vault remove owner` and `vault setup owner`"),
        "{err}"
    );
    assert!(!run.stdout.contains(secret) && !err.contains(secret));
    assert_eq!(
        config_of(&home),
        "# mine\n[profile owner]\nregion = eu-west-1\n"
    );
}

#[test]
fn setup_refuses_a_linked_config_before_asking_anything() {
    let moto = Moto::start();
    let home = empty_home(&moto);
    let real = home.write("dotfiles/config", "[profile gds-users]\n");
    std::os::unix::fs::symlink(&real, home.path().join(".aws/config")).unwrap();
    let run = home.run(["setup", "gds-users"]);
    assert!(
        run.fails()
            .starts_with("error: vault will not rewrite `~/.aws/config`: it is a symbolic link\n"),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "[profile gds-users]\n"
    );
    assert_eq!(store_files(&home), Vec::<String>::new());
}

/// `vault export` with no profile at a terminal: the list, filtered by typing, Enter picks;
/// the last pick comes first next time; Esc and Ctrl-C cancel; the terminal's mode is left as
/// it was; nothing of the list reaches stdout. With no terminal: today's usage error.
#[test]
fn the_picker_filters_picks_and_remembers() {
    let world = World::new();
    let args = ["export", "--format", "json", "-n"];
    let tmux = Tmux::run(&world.home.command(args), world.home.path());
    let screen = tmux.wait_for("Profile: ");
    assert!(screen.contains("> gds-users "), "{screen}");
    assert!(screen.contains("  target-account   role"), "{screen}");
    tmux.type_text("read");
    let screen = tmux.wait_for("Profile: read");
    assert!(!screen.contains("target-account"), "not filtered: {screen}");
    assert!(screen.contains("> readonly "), "{screen}");
    tmux.key("Enter");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (0, true), "{screen}");
    assert!(screen.contains("Profile: readonly"), "{screen}");
    assert!(screen.contains("\"AccessKeyId\""), "{screen}");
    drop(tmux);

    // The last pick comes first.
    let tmux = Tmux::run(
        &world.home.command(["login", "--stdout"]),
        world.home.path(),
    );
    let screen = tmux.wait_for("Profile: ");
    let first_row = screen.lines().find(|l| l.starts_with("> ")).unwrap();
    assert!(first_row.starts_with("> readonly "), "{screen}");
    tmux.key("Escape");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (1, true), "{screen}");
    assert!(
        screen.contains("error: no profile was picked: the list was closed"),
        "{screen}"
    );
    drop(tmux);

    let tmux = Tmux::run(&world.home.command(["exec"]), world.home.path());
    tmux.wait_for("Profile: ");
    tmux.key("Down");
    tmux.wait_for("> gds-users");
    tmux.key("C-c");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (130, true), "{screen}");
    drop(tmux);

    // A termination signal from elsewhere leaves the terminal as found too.
    let tmux = Tmux::run(&world.home.command(["export"]), world.home.path());
    tmux.wait_for("Profile: ");
    tmux.signal("TERM");
    let (status, same, screen) = tmux.finish();
    assert_eq!((status, same), (143, true), "{screen}");
    assert!(
        !screen.lines().any(|l| l.starts_with("> ")),
        "the list is wiped: {screen}"
    );
    drop(tmux);

    // No terminal: the usage error it always was.
    let run = world.home.run(["exec"]);
    assert_eq!(run.status, Some(2));
    assert!(
        run.stderr.starts_with(
            "error: the following required arguments were not provided:\n  <PROFILE>\n"
        ),
        "{run:?}"
    );
}
