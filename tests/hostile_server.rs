//! Another local user against vault's loopback servers (security review, findings 1 and 2;
//! review 2, finding 3): slowloris, a 1 GB flood, a connection flood and a stolen token
//! against `exec --server` and `--ec2-server`, and a race for `login`'s one-shot redirect. vault runs as a fresh victim uid, the attacks as another
//! (`support::users`), with the clients in `support/hostile.py`. Needs root (CI runs as
//! root); says SKIPPED otherwise. Only 127.0.0.1 traffic; every wait is bounded.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::users::LocalUser;
use support::{Home, test_path};

/// A Python every uid can run (the test venv may live under root's home).
fn python() -> String {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3".to_string()
    } else {
        support::python()
    }
}

fn hostile_py() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/hostile.py")
        .display()
        .to_string()
}

/// A HOME for the victim, who owns it, with profile `p1` whose session comes from
/// `credential_process` (no STS needed).
fn victim_home(victim: LocalUser) -> Home {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", "hostile test passphrase")
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    let json = home.write(
        "creds.json",
        r#"{"Version":1,"AccessKeyId":"ASIAVICTIMEXAMPLE","SecretAccessKey":"victim-secret-key","SessionToken":"victim-session-token"}"#,
    );
    home.config(&format!(
        "[profile p1]\ncredential_process = cat {}\n",
        json.display()
    ));
    victim.own(home.path());
    home
}

/// Polls for a file the victim writes, as root.
fn wait_for_file(path: &Path, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            started.elapsed() < limit,
            "{} did not appear within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child` to end, at most `limit` (then kills it and fails).
fn finish(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match outcome.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("process {pid} did not end within {limit:?}");
        }
    }
}

/// `hostile.py ARGS` as `user`, with stdout piped, once it printed its first line.
fn attacker(user: LocalUser, home: &Home, args: &[&str]) -> (Child, String) {
    let script = hostile_py();
    let mut all = vec![script.as_str()];
    all.extend(args);
    let mut child = user
        .command(home, &python(), &all)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Byte by byte: what follows the first line stays in the pipe for `stop`.
    let mut first = Vec::new();
    let stdout = child.stdout.as_mut().unwrap();
    let mut byte = [0u8; 1];
    while first.last() != Some(&b'\n') && stdout.read(&mut byte).unwrap() == 1 {
        first.push(byte[0]);
    }
    (child, String::from_utf8_lossy(&first).into_owned())
}

/// The rest of an attacker's output, after stopping it if it is still going.
fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let output = finish(child, Duration::from_secs(10));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `vault exec --server p1` as `victim`, whose command fetches its credentials `fetches`
/// times once `go` exists in the HOME. Returns vault and the endpoint's port.
fn serve(victim: LocalUser, home: &Home, debug: bool, fetches: usize) -> (Child, u16) {
    let python = python();
    let script = hostile_py();
    let outdir = home.path().display().to_string();
    let fetches = fetches.to_string();
    let mut args = vec![];
    if debug {
        args.push("--debug");
    }
    args.extend([
        "exec", "--server", "p1", "--", &python, &script, "child", &outdir, &fetches,
    ]);
    let vault = victim
        .vault(home, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = wait_for_file(&home.path().join("port"), Duration::from_secs(30));
    (vault, port.trim().parse().unwrap())
}

fn go(home: &Home) {
    std::fs::write(home.path().join("go"), "").unwrap();
}

/// Peak resident memory of a process (VmHWM), in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn slowloris_does_not_stall_the_endpoint() {
    let Some((victim, mallory)) = LocalUser::pair("slowloris_does_not_stall_the_endpoint") else {
        return;
    };
    let home = victim_home(victim);
    let (vault, port) = serve(victim, &home, false, 5);
    let port = port.to_string();
    // More connections than vault answers at once, from another user; and a few from the
    // victim's own uid, which pass the owner check and meet the whole-request deadline.
    let (other, first) = attacker(mallory, &home, &["slowloris", &port, "24", "20"]);
    assert!(first.starts_with("connected"), "{first}");
    let (same, first) = attacker(victim, &home, &["slowloris", &port, "4", "20"]);
    assert_eq!(first, "connected 4\n");
    go(&home);

    let output = finish(vault, Duration::from_secs(60));
    let (other, same) = (stop(other), stop(same));
    eprintln!("slowloris from another user: {other:?}; from the victim's uid: {same:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout,
        "200\n".repeat(5),
        "every fetch succeeds while the slowloris runs (attackers: {other:?} {same:?}); stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));
}

/// Review 2, finding 3: another user floods the `--ec2-server` port with connections it
/// closes at once, while the command keeps fetching its credentials with curl (IMDSv2, 1 s
/// per request, as botocore). Each flood connection is refused, and none may hold up the
/// command's own: every fetch succeeds.
#[test]
fn a_connection_flood_does_not_starve_the_endpoint() {
    let Some((victim, mallory)) =
        LocalUser::pair("a_connection_flood_does_not_starve_the_endpoint")
    else {
        return;
    };
    let home = victim_home(victim);
    let fetches = 12;
    let (python, script) = (python(), hostile_py());
    let outdir = home.path().display().to_string();
    let vault = victim
        .vault(
            &home,
            [
                "exec",
                "--ec2-server",
                "p1",
                "--",
                &python,
                &script,
                "imds-child",
                &outdir,
                &fetches.to_string(),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = wait_for_file(&home.path().join("port"), Duration::from_secs(30));
    let (flood, first) = attacker(mallory, &home, &["connflood", port.trim(), "10", "2"]);
    assert_eq!(first, "flooding\n");
    // The flood is under way before the first fetch.
    std::thread::sleep(Duration::from_millis(500));
    go(&home);

    let output = finish(vault, Duration::from_secs(90));
    let flood = finish(flood, Duration::from_secs(60));
    let flood = String::from_utf8_lossy(&flood.stdout).into_owned();
    eprintln!("the other user's flood: {flood:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout,
        "ok\n".repeat(fetches),
        "every fetch succeeds during the flood ({flood:?}); stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn a_flood_leaves_memory_flat() {
    let Some((victim, mallory)) = LocalUser::pair("a_flood_leaves_memory_flat") else {
        return;
    };
    let home = victim_home(victim);
    let (vault, port) = serve(victim, &home, false, 3);
    let pid = vault.id();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(),
        "vault\n"
    );
    let before = peak_kib(pid);
    // 1 GB with no line end, from another user, then from the victim's own uid (which gets
    // past the owner check to the size cap). Each stops when vault closes the connection.
    let port = port.to_string();
    let gigabyte = (1u64 << 30).to_string();
    let mut sent = Vec::new();
    for user in [mallory, victim] {
        let (flood, line) = attacker(user, &home, &["flood", &port, &gigabyte]);
        finish(flood, Duration::from_secs(90));
        sent.push(line);
    }
    let after = peak_kib(pid);
    eprintln!("vault's VmHWM: {before} KiB before the floods, {after} KiB after ({sent:?})");
    assert!(
        after < 64 * 1024,
        "VmHWM grew from {before} KiB to {after} KiB under the floods ({sent:?})"
    );

    go(&home);
    let output = finish(vault, Duration::from_secs(60));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "200\n".repeat(3));
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_stolen_token_is_refused_to_another_user() {
    let Some((victim, mallory)) = LocalUser::pair("a_stolen_token_is_refused_to_another_user")
    else {
        return;
    };
    let home = victim_home(victim);
    let (vault, port) = serve(victim, &home, true, 1);
    let port = port.to_string();
    let token = std::fs::read_to_string(home.path().join("token")).unwrap();

    let fetch = |user: LocalUser| {
        let script = hostile_py();
        let mut command = user.command(&home, &python(), &[&script, "fetch", &port]);
        command.env("TOKEN", &token).stdout(Stdio::piped());
        let output = finish(command.spawn().unwrap(), Duration::from_secs(30));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let stolen = fetch(mallory);
    assert!(
        stolen.starts_with("nothing (") && !stolen.contains("victim-secret-key"),
        "another user with the token: {stolen}"
    );
    // The same request from the victim's uid is answered: the token was right.
    let own = fetch(victim);
    assert!(
        own.contains("200 OK") && own.contains("victim-secret-key"),
        "the victim: {own}"
    );

    go(&home);
    let output = finish(vault, Duration::from_secs(60));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "200\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "of another user (uid {}): only vault's own user is served",
            mallory.uid
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(token.trim()), "the token is never printed");
}

/// A stand-in console federation endpoint: every request gets the victim's sign-in token.
fn federation() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/federation", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(10) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let body = r#"{"SigninToken":"SIGNIN-TOKEN-OF-THE-VICTIM-0123456789"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A stand-in `xdg-open` that starts "the browser": 0.3 s later, curl asks for the address
/// once and writes the status and the redirect it got to `$HOME/browser.out`.
fn opener(home: &Home) -> PathBuf {
    let bin = home.path().join("bin");
    home.write(
        "bin/xdg-open",
        "#!/bin/sh\n\
         env > \"$HOME/opener.env\"\n\
         ( sleep 0.3; curl -s -m 5 -o /dev/null -w '%{http_code} %{redirect_url}\\n' \"$1\" > \"$HOME/browser.tmp\"; mv \"$HOME/browser.tmp\" \"$HOME/browser.out\" ) &\n\
         exit 0\n",
    );
    std::fs::set_permissions(
        bin.join("xdg-open"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    bin
}

/// `vault login p1` as `victim` with the stand-in opener and federation endpoint, while
/// `thief` runs the review's watcher. Returns vault's output, the watcher's and the
/// browser's.
fn login_race(victim: LocalUser, thief: LocalUser) -> (Output, String, String, String) {
    let mut home = victim_home(victim);
    let bin = opener(&home);
    home.env("PATH", format!("{}:{}", bin.display(), test_path()))
        .env("AWS_VAULT_FEDERATION_URL", federation())
        .env("AWS_VAULT_CONSOLE_URL", "https://console.example/");
    victim.own(home.path());

    let (watcher, ready) = attacker(thief, &home, &["watch", &victim.uid.to_string(), "20"]);
    assert_eq!(ready, "ready\n");
    let vault = victim
        .vault(&home, ["login", "p1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish(vault, Duration::from_secs(60));
    let watched = finish(watcher, Duration::from_secs(30));
    let browser = wait_for_file(&home.path().join("browser.out"), Duration::from_secs(15));
    let opener_env = std::fs::read_to_string(home.path().join("opener.env")).unwrap();
    (
        output,
        String::from_utf8_lossy(&watched.stdout).into_owned(),
        browser,
        opener_env,
    )
}

#[test]
fn login_redirect_is_refused_to_another_user() {
    let Some((victim, mallory)) = LocalUser::pair("login_redirect_is_refused_to_another_user")
    else {
        return;
    };
    let (output, watcher, browser, opener_env) = login_race(victim, mallory);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The watcher saw the address and asked first, and got nothing.
    assert!(
        watcher.starts_with("saw the address; got nothing ("),
        "{watcher}"
    );
    assert!(!watcher.contains("SIGNIN-TOKEN"), "{watcher}");
    // The browser got the redirect to the sign-in URL.
    assert!(browser.starts_with("302 "), "{browser}");
    assert!(
        browser.contains("SigninToken=SIGNIN-TOKEN-OF-THE-VICTIM-0123456789"),
        "{browser}"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    // Review finding 5: the opener, and so the browser, does not get the passphrase.
    assert!(
        opener_env.contains("AWS_VAULT_BACKEND=file"),
        "{opener_env}"
    );
    assert!(
        !opener_env.contains("AWS_VAULT_FILE_PASSPHRASE"),
        "{opener_env}"
    );
    assert_eq!(
        stderr,
        format!(
            "warning: refused a connection to the sign-in page from another user (uid {}); still waiting for your browser\n",
            mallory.uid
        )
    );
}

#[test]
fn login_says_so_when_the_redirect_went_elsewhere() {
    let Some((victim, _)) = LocalUser::pair("login_says_so_when_the_redirect_went_elsewhere")
    else {
        return;
    };
    // A program of the victim's own asks first: the owner check cannot tell it from the
    // browser, but the browser's request then shows the redirect went elsewhere.
    let (output, watcher, browser, _) = login_race(victim, victim);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(watcher.contains("302 Found"), "{watcher}");
    assert!(browser.starts_with("410 "), "{browser}");
    assert!(!browser.contains("SIGNIN-TOKEN"), "{browser}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert!(
        stderr.starts_with(
            "error: the one-shot sign-in page was asked for twice: it went to local port "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: if your browser did not open the console, another program may have signed in as you"),
        "{stderr}"
    );
}
