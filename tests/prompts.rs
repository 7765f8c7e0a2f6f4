//! Terminal prompts through a pseudo-terminal: whatever ends a question (Enter, Ctrl-C,
//! SIGTERM, SIGHUP, Ctrl-D), the terminal is left with echo on, vault exits as it should, and
//! nothing is cached. Also the prompt-driver names and missing driver programs.
//! Issue 8: Ctrl-C at the hidden passphrase prompt used to leave the terminal's echo off.

mod support;

use rexpect::session::PtySession;
use support::{Home, World};

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PASSPHRASE: &str = "correct horse battery staple";
const UNLOCK: &str = "Enter passphrase to unlock `~/.local/share/vault`: ";

/// Runs `vault ARGS` in a pty under `sh` (echo on, as a person's terminal has it), which then
/// prints vault's status and `stty -a` of the same terminal. sh catches the signals the
/// terminal sends, so that it lives on to tell.
fn in_shell(home: &Home, args: &[&str]) -> PtySession {
    let script =
        "trap : INT TERM HUP; stty echo </dev/tty; \"$@\"; echo \"status=$?\"; stty -a </dev/tty";
    let command = home.wrapped(&["sh", "-c", script, "sh"], args);
    rexpect::session::spawn_command(command, Some(30_000)).unwrap()
}

/// The rest of `in_shell`'s output: (what vault printed after the question, its status,
/// whether `stty` shows echo on).
fn finish(session: &mut PtySession) -> (String, i32, bool) {
    let (printed, status) = session.exp_regex(r"status=\d+").unwrap();
    let status = status["status=".len()..].parse().unwrap();
    let stty = session.exp_eof().unwrap();
    let words: Vec<&str> = stty.split([' ', ';', '\r', '\n']).collect();
    let echo = words.contains(&"echo");
    assert_ne!(echo, words.contains(&"-echo"), "{stty}");
    (printed, status, echo)
}

/// A file store holding `p`'s keys, locked by PASSPHRASE, with no unlock cache.
fn locked_store() -> Home {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    let mut add = home.command(["add", "p", "--env", "--no-add-config"]);
    add.env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    assert!(add.status().unwrap().success());
    home.env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    home
}

fn store_files(home: &Home) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(home.path().join(".local/share/vault"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// vault's pid: the child of the pty's shell.
fn vault_pid(session: &PtySession) -> String {
    let shell = session.process.child_pid;
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    children.split_whitespace().next().unwrap().to_string()
}

#[test]
fn ctrl_c_at_the_passphrase_prompt_restores_echo_and_exits_130() {
    let home = locked_store();
    let before = store_files(&home);
    let mut session = in_shell(&home, &["add", "other", "--env", "--no-add-config"]);
    session.exp_string(UNLOCK).unwrap();
    session.send("half a pass").unwrap();
    session.send_control('c').unwrap();
    let (printed, status, echo) = finish(&mut session);
    assert!(echo, "echo left off after Ctrl-C");
    assert_eq!(status, 130);
    assert_eq!(printed, "\r\n", "only a newline after Ctrl-C");
    assert_eq!(store_files(&home), before, "nothing written");
}

#[test]
fn sigterm_and_sighup_at_the_passphrase_prompt_restore_echo() {
    for (signal, expected) in [("TERM", 143), ("HUP", 129)] {
        let home = locked_store();
        let mut session = in_shell(&home, &["add", "other", "--env", "--no-add-config"]);
        session.exp_string(UNLOCK).unwrap();
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &vault_pid(&session)])
            .status()
            .unwrap();
        assert!(killed.success());
        let (printed, status, echo) = finish(&mut session);
        assert!(echo, "echo left off after SIG{signal}");
        assert_eq!(status, expected, "SIG{signal}");
        assert_eq!(printed, "\r\n", "SIG{signal}");
    }
}

#[test]
fn ctrl_d_at_the_passphrase_prompt_is_a_clear_error_with_echo_on() {
    let home = locked_store();
    let mut session = in_shell(&home, &["add", "other", "--env", "--no-add-config"]);
    session.exp_string(UNLOCK).unwrap();
    session.send_control('d').unwrap();
    let (printed, status, echo) = finish(&mut session);
    assert!(echo);
    assert_eq!(status, 1);
    assert!(
        printed.contains("error: no answer to `Enter passphrase to unlock"),
        "{printed:?}"
    );
}

#[test]
fn enter_at_the_passphrase_prompt_unlocks_with_echo_on_after() {
    let home = locked_store();
    let mut session = in_shell(&home, &["add", "other", "--env", "--no-add-config"]);
    session.exp_string(UNLOCK).unwrap();
    session.send_line(PASSPHRASE).unwrap();
    let (printed, status, echo) = finish(&mut session);
    assert!(echo);
    assert_eq!(status, 0, "{printed:?}");
    assert!(!printed.contains(PASSPHRASE), "echoed: {printed:?}");
    assert!(printed.contains("Added credentials to profile \"other\""));
}

#[test]
fn ctrl_c_at_the_mfa_prompt_exits_130_and_caches_nothing() {
    let world = World::new();
    world.moto.start_recording();
    let command = world
        .home
        .command(["export", "--format", "json", "target-account"]);
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    session
        .exp_string(&format!("Enter MFA code for {}: ", world.serial))
        .unwrap();
    session.send("12").unwrap();
    session.send_control('c').unwrap();
    let printed = session.exp_eof().unwrap();
    // rexpect's terminal does not echo: all there is is vault's newline.
    assert_eq!(printed, "\r\n");
    let status = format!("{:?}", session.process.wait().unwrap());
    assert!(
        status.contains("Exited(") && status.ends_with(", 130)"),
        "{status}"
    );
    assert_eq!(world.moto.sts_calls(), Vec::<String>::new());
    assert_eq!(world.sessions(), Vec::<String>::new());
}

#[test]
fn a_non_numeric_mfa_answer_is_refused_before_sts() {
    let world = World::new();
    world.moto.start_recording();
    let command = world
        .home
        .command(["export", "--format", "json", "target-account"]);
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    session.exp_string("Enter MFA code for ").unwrap();
    session.send_line("abcdef").unwrap();
    let printed = session.exp_eof().unwrap();
    assert!(printed.contains("error: "), "{printed}");
    assert_eq!(world.moto.sts_calls(), Vec::<String>::new());
}

#[test]
fn unknown_drivers_are_usage_errors_listing_the_valid_ones() {
    let home = Home::new();
    let flag = home.run(["--prompt", "gui", "list"]);
    let mut command = home.command(["list"]);
    command.env("AWS_VAULT_PROMPT", "gui");
    let var = support::Run::from(command.output().unwrap());
    for run in [flag, var] {
        assert_eq!(run.status, Some(2), "{}", run.stderr);
        assert!(
            run.stderr
                .contains("unknown prompt driver `gui`; choose one of terminal, zenity, kdialog, osascript, ykman"),
            "{}",
            run.stderr
        );
    }
    // Empty is "choose automatically", as in aws-vault.
    let mut command = home.command(["list"]);
    command.env("AWS_VAULT_PROMPT", "");
    support::Run::from(command.output().unwrap()).ok();
    home.write(".config/vault/config.toml", "prompt = \"gui\"\n");
    let run = home.run(["list"]);
    assert!(
        run.fails()
            .contains("`prompt in config.toml`: unknown prompt driver `gui`")
    );
}

/// aws-vault's `wincredui` is a Windows driver: elsewhere it is refused by name, not as unknown.
#[test]
fn wincredui_is_refused_outside_windows_as_a_usage_error() {
    let home = Home::new();
    let run = home.run(["--prompt", "wincredui", "list"]);
    assert_eq!(run.status, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "`wincredui` works on Windows only; choose one of terminal, zenity, kdialog, osascript, ykman"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_driver_program_is_named_with_its_package() {
    let mut world = World::new();
    world.home.env("DISPLAY", ":99");
    let cases = [
        (
            "kdialog",
            "`kdialog`, which is not installed (package: Debian `kdialog`)",
        ),
        (
            "ykman",
            "`ykman`, which is not installed (package: Debian `yubikey-manager`, Homebrew `ykman`)",
        ),
    ];
    for (driver, message) in cases {
        if support::installed(driver) {
            eprintln!("skipped: `{driver}` is installed here");
            continue;
        }
        let run = world.run(&["--prompt", driver, "export", "target-account"]);
        assert!(run.fails().contains(message), "{}", run.stderr);
    }
}

#[test]
fn no_terminal_and_no_display_fails_at_once_with_the_hint() {
    let world = World::new();
    let run = support::Run::from(
        world
            .home
            .detached(["--debug", "export", "target-account"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.status, Some(1));
    assert!(
        run.stderr.ends_with(&format!(
            "error: cannot ask `Enter MFA code for {}`: no terminal (and no DISPLAY or WAYLAND_DISPLAY for a GUI driver)\n\
             hint: pass the code with --mfa-token, or set `mfa_process` in the profile\n",
            world.serial
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "prompt: none (no terminal, and no DISPLAY or WAYLAND_DISPLAY for a GUI driver)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn prompts_go_to_the_terminal_and_never_to_stdout() {
    let world = World::new();
    let out = world.home.path().join("out.json");
    let script = format!("\"$@\" > {}", out.display());
    let command = world.home.wrapped(
        &["sh", "-c", &script, "sh"],
        ["export", "--format", "json", "target-account"],
    );
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    session
        .exp_string(&format!("Enter MFA code for {}: ", world.serial))
        .unwrap();
    session.send_line(&world.code(0)).unwrap();
    session.exp_eof().unwrap();
    let json = std::fs::read_to_string(out).unwrap();
    assert!(
        json.starts_with("{\n") && json.contains("\"AccessKeyId\""),
        "{json}"
    );
    assert!(!json.contains("MFA"), "{json}");
}

#[test]
fn an_error_while_reading_the_passphrase_restores_echo() {
    use std::io::Write;
    let home = locked_store();
    let mut session = in_shell(&home, &["add", "other", "--env", "--no-add-config"]);
    session.exp_string(UNLOCK).unwrap();
    // Not UTF-8: the read fails after the line is in.
    session.writer.write_all(b"\xff\xfe\n").unwrap();
    session.writer.flush().unwrap();
    let (printed, status, echo) = finish(&mut session);
    assert!(echo, "echo left off after an error");
    assert_eq!(status, 1);
    assert!(printed.contains("the answer is not UTF-8"), "{printed:?}");
}

/// Security review 2, finding 11: ykman gets the account name after `--`, so an
/// `mfa_serial` that starts with `-` is not taken for one of its options.
#[test]
fn ykman_gets_the_account_after_a_double_dash() {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0")
        .env("AWS_VAULT_PROMPT", "ykman")
        // No STS answers here: the code is asked for before the call, which then fails.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ykman = bin.join("ykman");
    std::fs::write(
        &ykman,
        "#!/bin/sh\nfor a in \"$@\"; do printf '[%s] ' \"$a\"; done >> \"$HOME/ykman.log\"\necho 123456\n",
    )
    .unwrap();
    std::fs::set_permissions(&ykman, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    home.env(
        "PATH",
        format!("{}:{}", bin.display(), support::test_path()),
    );
    home.config("[profile m]\nmfa_serial = --show-hidden\n");
    home.credentials(&format!(
        "[m]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"
    ));
    home.run(["import", "credentials-file", "--keep"]).ok();
    let run = home.run(["exec", "m", "--", "true"]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("ykman.log")).unwrap(),
        "[oath] [accounts] [code] [--single] [--] [--show-hidden] "
    );
}
