//! GUI prompts for real: vault with no terminal (under `setsid`) and a display (Xvfb, one
//! per test) asks in a zenity or kdialog dialog, which the test finds and answers with
//! xdotool. Needs Debian's xvfb, zenity, kdialog and xdotool (`scripts/setup` installs them).
//! Issue 8 (aws-vault #409): under `credential_process` the MFA prompt could not be seen.

mod support;

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::World;

/// An Xvfb server on a free display (it picks one itself), killed when dropped.
struct Display {
    server: Child,
    name: String,
}

impl Display {
    fn start() -> Display {
        for program in ["Xvfb", "zenity", "xdotool"] {
            assert!(
                support::installed(program),
                "`{program}` is missing: run scripts/setup"
            );
        }
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "800x600x24",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut number = String::new();
        let mut stdout = server.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            number.push(byte[0] as char);
        }
        assert!(!number.is_empty(), "Xvfb did not start");
        Display {
            server,
            name: format!(":{number}"),
        }
    }

    fn xdotool(&self, args: &[&str]) -> Output {
        Command::new("timeout")
            .arg("20")
            .arg("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .output()
            .unwrap()
    }

    /// The first window whose title matches `pattern`, waited for (20 s at most), and its
    /// title.
    fn window(&self, pattern: &str) -> (String, String) {
        let found = self.xdotool(&["search", "--sync", "--name", pattern]);
        if !found.status.success() {
            let all = self.xdotool(&["search", "--name", "."]).stdout;
            let titles: Vec<String> = String::from_utf8(all)
                .unwrap()
                .lines()
                .map(|id| {
                    let name = self.xdotool(&["getwindowname", id]).stdout;
                    String::from_utf8_lossy(&name).trim().to_string()
                })
                .collect();
            panic!("no window named {pattern:?}; the windows: {titles:?}");
        }
        let id = String::from_utf8(found.stdout).unwrap();
        let id = id.lines().next().unwrap().to_string();
        let title = self.xdotool(&["getwindowname", &id]).stdout;
        (id, String::from_utf8(title).unwrap().trim().to_string())
    }

    /// Types `text` into window `id`, then presses `key`.
    fn answer(&self, id: &str, text: &str, key: &str) {
        assert!(
            self.xdotool(&["windowfocus", "--sync", id])
                .status
                .success()
        );
        if !text.is_empty() {
            assert!(
                self.xdotool(&["type", "--delay", "20", text])
                    .status
                    .success()
            );
        }
        assert!(self.xdotool(&["key", key]).status.success());
    }

    fn windows(&self, pattern: &str) -> String {
        String::from_utf8(self.xdotool(&["search", "--name", pattern]).stdout).unwrap()
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A World whose commands see `display` (and no accessibility bus, which GTK would wait for).
fn world_on(display: &Display) -> World {
    let mut world = World::new();
    world
        .home
        .env("DISPLAY", &display.name)
        .env("NO_AT_BRIDGE", "1");
    world
}

fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The child's output, waited for 60 s at most.
fn finish(mut child: Child) -> support::Run {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("vault did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    support::Run::from(child.wait_with_output().unwrap())
}

#[test]
fn with_no_terminal_the_mfa_code_is_asked_in_a_zenity_dialog() {
    let display = Display::start();
    let world = world_on(&display);
    let child =
        spawn(
            world
                .home
                .detached(["--debug", "export", "--format", "json", "target-account"]),
        );
    let (window, title) = display.window("^vault: MFA code");
    assert_eq!(
        title,
        format!(
            "vault: MFA code for profile target-account ({})",
            world.serial
        )
    );
    display.answer(&window, &world.code(0), "Return");
    let run = finish(child);
    assert!(run.ok().contains("\"AccessKeyId\""), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "prompt: `zenity` (no terminal; `zenity` is installed and can show a window)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn cancel_in_the_dialog_is_a_clear_error_and_caches_nothing() {
    let display = Display::start();
    let world = world_on(&display);
    let child = spawn(
        world
            .home
            .detached(["export", "--format", "json", "target-account"]),
    );
    let (window, _) = display.window("^vault: MFA code");
    display.answer(&window, "", "Escape");
    let run = finish(child);
    assert_eq!(run.status, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "error: `Enter MFA code for {}` was cancelled in the zenity dialog\n",
            world.serial
        )
    );
    assert_eq!(world.sessions(), Vec::<String>::new());
    // No lock is left to slow the next run.
    let code = world.code(0);
    world
        .run(&["export", "-t", &code, "--format", "json", "target-account"])
        .ok();
}

#[test]
fn a_non_numeric_answer_in_the_dialog_is_refused_before_sts() {
    let display = Display::start();
    let world = world_on(&display);
    world.moto.start_recording();
    let child = spawn(world.home.detached(["export", "target-account"]));
    let (window, _) = display.window("^vault: MFA code");
    display.answer(&window, "abcdef", "Return");
    assert!(finish(child).fails().contains("MFA"));
    assert_eq!(world.moto.sts_calls(), Vec::<String>::new());
}

#[test]
fn the_file_store_passphrase_is_asked_in_a_hidden_zenity_entry() {
    let display = Display::start();
    let mut world = world_on(&display);
    world.home.env("AWS_VAULT_FILE_PASSPHRASE", "");
    let child = spawn(
        world
            .home
            .detached(["export", "--format", "json", "gds-users"]),
    );
    let (window, title) = display.window("^vault$");
    assert_eq!(title, "vault");
    display.answer(&window, support::PASSPHRASE, "Return");
    let run = finish(child);
    assert!(run.ok().contains("\"AccessKeyId\""), "{}", run.stderr);
}

#[test]
fn an_ide_s_aws_cli_gets_the_role_through_credential_process_and_a_dialog() {
    let display = Display::start();
    let world = world_on(&display);
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    world.home.config(&format!(
        "{config}\n[profile ide]\ncredential_process = vault export --format json target-account\n"
    ));
    let aws = world.home.child(
        "setsid",
        &[
            "-w",
            "aws",
            "sts",
            "get-caller-identity",
            "--profile",
            "ide",
            "--query",
            "Arn",
            "--output",
            "text",
        ],
    );
    let child = spawn(aws);
    let (window, title) = display.window("^vault: MFA code");
    assert!(title.contains("target-account"), "{title}");
    display.answer(&window, &world.code(0), "Return");
    let run = finish(child);
    let admin = world.moto.role_arn("admin");
    let role = admin.rsplit('/').next().unwrap();
    assert!(
        run.ok().contains(&format!(":assumed-role/{role}/")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_dialog_left_open_past_the_timeout_is_closed_with_an_error() {
    let display = Display::start();
    let mut world = world_on(&display);
    world.home.env("AWS_VAULT_PROMPT_TIMEOUT", "2s");
    let child = spawn(world.home.detached(["export", "target-account"]));
    display.window("^vault: MFA code");
    let run = finish(child);
    assert_eq!(
        run.stderr,
        "error: no answer in the zenity dialog after 2s (AWS_VAULT_PROMPT_TIMEOUT); it was closed\n"
    );
    assert_eq!(display.windows("^vault"), "", "the dialog is gone");
}

#[test]
fn ykman_s_touch_message_is_shown_in_a_window_when_there_is_no_terminal() {
    let display = Display::start();
    let mut world = world_on(&display);
    let bin = world.home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let seen = world.home.path().join("seen");
    // A ykman that answers once it has seen vault's window.
    let script = format!(
        "#!/bin/sh\ntimeout 20 xdotool search --sync --name '^vault$' > {seen} || exit 1\necho {code}\n",
        seen = seen.display(),
        code = world.code(0)
    );
    let ykman = bin.join("ykman");
    std::fs::write(&ykman, script).unwrap();
    std::fs::set_permissions(&ykman, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    world
        .home
        .env(
            "PATH",
            format!("{}:{}", bin.display(), support::test_path()),
        )
        .env("AWS_VAULT_PROMPT", "ykman");
    let run = finish(spawn(world.home.detached([
        "export",
        "--format",
        "json",
        "target-account",
    ])));
    assert!(run.ok().contains("\"AccessKeyId\""));
    assert!(!std::fs::read_to_string(&seen).unwrap().is_empty());
    assert_eq!(display.windows("^vault"), "", "the window is closed after");
}

/// `exec --server`: the first code is asked on the terminal, before the command starts; a
/// refresh while the command runs (and may be reading the terminal) asks in a window.
#[test]
fn exec_server_refreshes_ask_in_a_window_not_on_the_terminal() {
    let display = Display::start();
    let mut world = world_on(&display);
    // Every request finds the credentials too close to expiry, so the first one refreshes.
    world.home.env("AWS_MIN_TTL", "2h");
    world.moto.start_recording();
    // The command asks the endpoint itself: botocore gives it 3 tries of 2 s, which a person
    // answering a dialog on a loaded machine can miss.
    let python = support::python();
    let probe = "import os, urllib.request\n\
        request = urllib.request.Request(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], \
        headers={'Authorization': os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']})\n\
        print(urllib.request.urlopen(request, timeout=120).read().decode())\n";
    let command = world.home.command([
        "exec",
        "-n",
        "--server",
        "target-account",
        "--",
        &python,
        "-c",
        probe,
    ]);
    let mut session = rexpect::session::spawn_command(command, Some(60_000)).unwrap();
    session
        .exp_string(&format!("Enter MFA code for {}: ", world.serial))
        .unwrap();
    session.send_line(&world.code(0)).unwrap();
    let (window, title) = display.window("^vault: MFA code");
    assert!(title.contains("target-account"), "{title}");
    display.answer(&window, &world.code(1), "Return");
    let printed = session.exp_eof().unwrap();
    assert!(printed.contains("\"AccessKeyId\""), "{printed}");
    assert_eq!(
        world.moto.credential_calls(),
        ["AssumeRole", "AssumeRole"],
        "the refresh called STS"
    );
}

/// An IDE that gives up on `credential_process` kills vault: the dialog goes with it.
#[test]
fn sigterm_while_a_dialog_is_open_closes_the_dialog() {
    let display = Display::start();
    let world = world_on(&display);
    let child = spawn(world.home.detached(["export", "target-account"]));
    display.window("^vault: MFA code");
    // `setsid` execs vault in the same process when it need not fork.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let run = finish(child);
    assert_eq!(run.status, Some(143), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert_eq!(display.windows("^vault"), "", "the dialog is gone");
    assert_eq!(world.sessions(), Vec::<String>::new());
}

/// A World on `display` whose PATH has kdialog but no zenity, so the automatic choice
/// reaches kdialog; `extra` are further programs to keep. No session bus: kdialog works
/// without one, and none is started (libdbus autolaunch would leave a daemon behind).
fn world_with_kdialog(display: &Display, extra: &[&str]) -> World {
    let mut world = world_on(display);
    let bin = world.home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for program in ["kdialog", "setsid"].iter().chain(extra) {
        let found = ["/usr/local/bin", "/usr/bin", "/bin"]
            .iter()
            .map(|dir| std::path::Path::new(dir).join(program))
            .find(|path| path.is_file())
            .unwrap_or_else(|| panic!("`{program}` is missing: run scripts/setup"));
        std::os::unix::fs::symlink(found, bin.join(program)).unwrap();
    }
    let runtime = world.home.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let vault = std::path::Path::new(env!("CARGO_BIN_EXE_vault"))
        .parent()
        .unwrap();
    let bus = format!("unix:path={}", world.home.path().join("no-bus").display());
    world
        .home
        .env("PATH", format!("{}:{}", vault.display(), bin.display()))
        .env("XDG_RUNTIME_DIR", runtime.display().to_string())
        .env("DBUS_SESSION_BUS_ADDRESS", bus);
    world
}

/// Qt adds the program's name to the title it sets in `_NET_WM_NAME` (which getwindowname
/// prints), not in `WM_NAME` (which search matches).
const KDIALOG: &str = " \u{2014} KDialog";

#[test]
fn with_no_terminal_and_no_zenity_the_mfa_code_is_asked_in_a_kdialog_box() {
    let display = Display::start();
    let world = world_with_kdialog(&display, &[]);
    let child =
        spawn(
            world
                .home
                .detached(["--debug", "export", "--format", "json", "target-account"]),
        );
    let (window, title) = display.window("^vault: MFA code");
    assert_eq!(
        title,
        format!(
            "vault: MFA code for profile target-account ({}){KDIALOG}",
            world.serial
        )
    );
    display.answer(&window, &world.code(0), "Return");
    let run = finish(child);
    assert!(run.ok().contains("\"AccessKeyId\""), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "prompt: `kdialog` (no terminal; `kdialog` is installed and can show a window)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn the_file_store_passphrase_is_asked_in_a_kdialog_password_box() {
    let display = Display::start();
    let mut world = world_with_kdialog(&display, &[]);
    world
        .home
        .env("AWS_VAULT_FILE_PASSPHRASE", "")
        .env("AWS_VAULT_PROMPT", "kdialog");
    let child = spawn(
        world
            .home
            .detached(["export", "--format", "json", "gds-users"]),
    );
    let (window, title) = display.window("^vault$");
    assert_eq!(title, format!("vault{KDIALOG}"));
    display.answer(&window, support::PASSPHRASE, "Return");
    let run = finish(child);
    assert!(run.ok().contains("\"AccessKeyId\""), "{}", run.stderr);
}

#[test]
fn cancel_in_a_kdialog_box_is_a_clear_error_and_caches_nothing() {
    let display = Display::start();
    let mut world = world_with_kdialog(&display, &[]);
    world.home.env("AWS_VAULT_PROMPT", "kdialog");
    world.moto.start_recording();
    let child = spawn(
        world
            .home
            .detached(["export", "--format", "json", "target-account"]),
    );
    let (window, _) = display.window("^vault: MFA code");
    display.answer(&window, "123", "Escape");
    let run = finish(child);
    assert_eq!(run.status, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "error: `Enter MFA code for {}` was cancelled in the kdialog dialog\n",
            world.serial
        )
    );
    assert_eq!(world.moto.sts_calls(), Vec::<String>::new());
    assert_eq!(world.sessions(), Vec::<String>::new());
    assert_eq!(display.windows("^vault"), "", "the dialog is gone");
    // No lock is left to slow the next run.
    let code = world.code(0);
    world
        .run(&["export", "-t", &code, "--format", "json", "target-account"])
        .ok();
}

#[test]
fn ykman_s_touch_message_is_shown_in_a_kdialog_box_when_there_is_no_terminal() {
    let display = Display::start();
    let mut world = world_with_kdialog(&display, &["timeout", "xdotool"]);
    let bin = world.home.path().join("bin");
    let seen = world.home.path().join("seen");
    // A ykman that answers once it has seen vault's box.
    let script = format!(
        "#!/bin/sh\ntimeout 20 xdotool search --sync --name '^vault$' > {seen} || exit 1\necho {code}\n",
        seen = seen.display(),
        code = world.code(0)
    );
    let ykman = bin.join("ykman");
    std::fs::write(&ykman, script).unwrap();
    std::fs::set_permissions(&ykman, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    world.home.env("AWS_VAULT_PROMPT", "ykman");
    let run = finish(spawn(world.home.detached([
        "export",
        "--format",
        "json",
        "target-account",
    ])));
    assert!(run.ok().contains("\"AccessKeyId\""), "{}", run.stderr);
    assert!(
        !std::fs::read_to_string(&seen).unwrap().is_empty(),
        "{}",
        run.stderr
    );
    assert_eq!(display.windows("^vault"), "", "the box is closed after");
}
