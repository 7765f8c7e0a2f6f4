//! Drop-in for aws-vault: each aws-vault 7.2 / ByteNess 7.13 command line people keep in
//! dotfiles, Makefiles and `~/.aws/config`, run unchanged against `vault` (a local STS
//! behind it), checked for exit code, stdout and stderr shape. One table; one row a line.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use support::{Run, World};

/// What a row expects of stdout or stderr.
#[derive(Clone, Copy)]
enum Text {
    Empty,
    Any,
    Has(&'static str),
    Starts(&'static str),
}

impl Text {
    #[track_caller]
    fn check(self, what: &str, text: &str, row: &str) {
        match self {
            Text::Empty => assert_eq!(text, "", "{row}: {what} not empty"),
            Text::Any => {}
            Text::Has(part) => assert!(text.contains(part), "{row}: {what} lacks {part:?}: {text}"),
            Text::Starts(part) => {
                assert!(
                    text.starts_with(part),
                    "{row}: {what} does not start {part:?}: {text}"
                )
            }
        }
    }
}

struct Row {
    line: &'static str,
    env: &'static [(&'static str, &'static str)],
    code: i32,
    stdout: Text,
    stderr: Text,
}

const fn row(line: &'static str, code: i32, stdout: Text, stderr: Text) -> Row {
    Row {
        line,
        env: &[],
        code,
        stdout,
        stderr,
    }
}

const fn with_env(
    env: &'static [(&'static str, &'static str)],
    line: &'static str,
    code: i32,
    stdout: Text,
    stderr: Text,
) -> Row {
    Row {
        line,
        env,
        code,
        stdout,
        stderr,
    }
}

/// A stand-in for the console federation endpoint: every request gets a sign-in token.
fn fake_federation() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/federation", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let body = r#"{"SigninToken":"fake-token-123"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

const ARN: &str = "arn:aws:sts::123456789012:assumed-role/readonly/";
const CALLER: &str = "-- aws sts get-caller-identity --query Arn --output text";

#[test]
fn aws_vault_command_lines_work_unchanged() {
    let mut world = World::new();
    world
        .home
        .env("AWS_VAULT_FEDERATION_URL", fake_federation());
    let store = world.home.path().join(".local/share/vault");
    let store = store.to_str().unwrap();
    let empty = world.home.path().join("empty-store");
    let empty = empty.to_str().unwrap();
    let config = world.home.path().join(".aws/config");
    use Text::*;

    let exec_caller = format!("exec --ecs-server readonly {CALLER}");
    let exec_s_caller = format!("exec -s readonly {CALLER}");
    let exec_lazy_caller = format!("exec --lazy --server readonly {CALLER}");
    let file_dir_flag = format!("--file-dir {store} list --credentials");
    let file_dir_empty = format!("--file-dir {empty} list --credentials");
    let rows: Vec<Row> = vec![
        // credential_process = aws-vault exec --json PROFILE (the line most often found)
        row(
            "exec --json gds-users",
            0,
            Starts("{\n  \"Version\": 1,\n  \"AccessKeyId\": \""),
            Empty,
        ),
        row("exec -j gds-users", 0, Has("\"SessionToken\": \""), Empty),
        row(
            "exec --ecs-server gds-users -- sh -c echo\\ $AWS_CONTAINER_CREDENTIALS_FULL_URI",
            0,
            Starts("http://127.0.0.1:"),
            Empty,
        ),
        row(leak(exec_caller), 0, Starts(ARN), Empty),
        row(leak(exec_s_caller), 0, Starts(ARN), Empty),
        row(leak(exec_lazy_caller), 0, Starts(ARN), Empty),
        row("exec --stdout gds-users -- true", 0, Empty, Empty),
        row(
            "export --stdout gds-users",
            0,
            Starts("AWS_ACCESS_KEY_ID="),
            Empty,
        ),
        row(
            "export --format=json gds-users",
            0,
            Starts("{\n  \"Version\": 1,"),
            Empty,
        ),
        row(
            "export --format=ini gds-users",
            0,
            Starts("[gds-users]\naws_access_key_id="),
            Empty,
        ),
        row(
            "export --format=export-env gds-users",
            0,
            Starts("export AWS_ACCESS_KEY_ID="),
            Empty,
        ),
        // ByteNess: the profile from AWS_PROFILE; SHELL is the command when none is given.
        with_env(
            &[("AWS_PROFILE", "gds-users"), ("SHELL", "/usr/bin/env")],
            "exec",
            0,
            Has("AWS_VAULT=gds-users\n"),
            Empty,
        ),
        with_env(
            &[("AWS_PROFILE", "gds-users")],
            "export",
            0,
            Starts("AWS_ACCESS_KEY_ID="),
            Empty,
        ),
        with_env(
            &[("AWS_PROFILE", "gds-users")],
            "login -s",
            0,
            Has("SigninToken=fake-token-123"),
            Empty,
        ),
        with_env(
            &[("AWS_VAULT_DURATION", "soon")],
            "export gds-users",
            1,
            Empty,
            Has("is not a duration"),
        ),
        with_env(
            &[("AWS_VAULT_PROFILE_ENV", "1")],
            "exec gds-users -- env",
            0,
            Has("AWS_PROFILE=gds-users\n"),
            Empty,
        ),
        row(
            "login -s gds-users",
            0,
            Has("SigninToken=fake-token-123"),
            Empty,
        ),
        row(
            "login --stdout --region us-east-1 gds-users",
            0,
            Has("region%3Dus-east-1"),
            Empty,
        ),
        row(
            "login -s -a gds-users",
            0,
            Starts("https://us-east-1.signin.aws.amazon.com/oauth?Action=logout&redirect_uri="),
            Empty,
        ),
        // aws-vault's usage errors: exit 2, nothing on stdout.
        row(
            "exec --ec2-server --ecs-server gds-users",
            2,
            Empty,
            Has("Can't use --ec2-server with --ecs-server"),
        ),
        row(
            "exec --json --server gds-users",
            2,
            Empty,
            Has("Can't use --ecs-server with --json"),
        ),
        row(
            "exec -j --ec2-server gds-users",
            2,
            Empty,
            Has("Can't use --ec2-server with --json"),
        ),
        row("exec", 2, Empty, Has("<PROFILE>")),
        row("", 2, Empty, Has("Usage: vault")),
        // add, remove/rm, list/ls
        with_env(
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE1"),
                ("AWS_SECRET_ACCESS_KEY", "s1"),
            ],
            "add --env --no-add-config spare",
            0,
            Has("Added credentials to profile \"spare\" in vault"),
            Any,
        ),
        with_env(
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE2"),
                ("AWS_SECRET_ACCESS_KEY", "s2"),
            ],
            "add --env --add-config extra",
            0,
            Has("Added credentials to profile \"extra\" in vault"),
            Any,
        ),
        row(
            "ls",
            0,
            Starts("Profile                  Credentials              Sessions"),
            Empty,
        ),
        row("list --profiles", 0, Has("extra\n"), Empty),
        row("rm -f spare", 0, Has("Deleted credentials.\n"), Empty),
        row(
            "remove --force extra",
            0,
            Has("Deleted credentials.\n"),
            Empty,
        ),
        row("remove -s gds-users", 0, Starts("Deleted "), Empty),
        // Global flags and their variables.
        row(
            "--keychain aws-vault list --profiles",
            0,
            Has("gds-users\n"),
            Empty,
        ),
        with_env(
            &[("AWS_VAULT_KEYCHAIN_NAME", "aws-vault")],
            "list --profiles",
            0,
            Has("gds-users\n"),
            Empty,
        ),
        row(
            "--secret-service-collection awsvault list --profiles",
            0,
            Has("gds-users\n"),
            Empty,
        ),
        with_env(
            &[("AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME", "awsvault")],
            "list --profiles",
            0,
            Has("gds-users\n"),
            Empty,
        ),
        with_env(
            &[("AWS_VAULT_FILE_DIR", "/nonexistent-vault-dir")],
            leak(file_dir_flag),
            0,
            Has("gds-users\n"),
            Empty,
        ),
        row(leak(file_dir_empty), 0, Empty, Empty),
        // kingpin's built-ins.
        row("--completion-script-bash", 0, Has("complete -F"), Empty),
        row(
            "--completion-script-zsh",
            0,
            Starts("#compdef vault"),
            Empty,
        ),
        row("--completion-bash", 0, Has("exec\n"), Empty),
        row("--completion-bash exec", 0, Has("gds-users\n"), Empty),
        row("--help-long", 0, Has("vault exec"), Empty),
        row("--help-man", 0, Has(".TH vault 1"), Empty),
        row("--version", 0, Starts("vault "), Empty),
        row("version", 0, Starts("vault "), Empty),
        row("-v", 0, Starts("vault "), Empty),
        row("--help", 0, Has("Usage: vault"), Empty),
    ];
    for row in rows {
        let args = split(row.line);
        let mut command = world.home.command(&args);
        for (key, value) in row.env {
            command.env(key, value);
        }
        let run = Run::from(command.output().unwrap());
        let name = format!("`vault {}`", row.line);
        assert_eq!(run.status, Some(row.code), "{name}: {run:#?}");
        row.stdout.check("stdout", &run.stdout, &name);
        row.stderr.check("stderr", &run.stderr, &name);
        if row.line == "add --env --add-config extra" {
            let text = std::fs::read_to_string(&config).unwrap();
            assert!(text.contains("[profile extra]"), "{text}");
            assert!(!text.contains("[profile spare]"), "{text}");
        }
    }

    // `exec --json` is `export --format json`, byte for byte (the cached session serves both).
    let exec = world.run(&["exec", "--json", "gds-users"]);
    let export = world.run(&["export", "--format", "json", "gds-users"]);
    assert_eq!(exec.ok(), export.ok());
}

/// Words split on spaces; `\ ` keeps a space inside a word.
fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                word.push(' ');
                chars.next();
            }
            ' ' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// `exec --ecs-server` as aws-vault's: `/role-arn/<ARN>` assumes that role from the profile's
/// credentials (the real aws CLI and boto3 ask it), something else is a 400 with JSON, and
/// `--lazy` starts the command before any STS call.
#[test]
fn ecs_server_routes_and_lazy() {
    let world = World::new();
    let readonly = world.moto.role_arn("readonly");
    let python = support::python();
    let with_role = format!(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI=\"${{AWS_CONTAINER_CREDENTIALS_FULL_URI}}role-arn/{readonly}\" exec \"$@\""
    );
    let aws = [
        "aws",
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ];
    let mut args = vec![
        "exec",
        "--ecs-server",
        "gds-users",
        "--",
        "sh",
        "-c",
        &with_role,
        "sh",
    ];
    args.extend(aws);
    let arn = world.run(&args).ok().trim().to_string();
    assert!(arn.starts_with(ARN), "{arn}");

    let boto = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])";
    let mut args = vec![
        "exec",
        "-s",
        "gds-users",
        "--",
        "sh",
        "-c",
        &with_role,
        "sh",
    ];
    args.extend([python.as_str(), "-c", boto]);
    let arn = world.run(&args).ok().trim().to_string();
    assert!(arn.starts_with(ARN), "{arn}");

    let probe = "import os, urllib.request, urllib.error\n\
        uri = os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'] + 'role-arn/not-an-arn'\n\
        req = urllib.request.Request(uri, headers={'Authorization': os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']})\n\
        try:\n    urllib.request.urlopen(req)\nexcept urllib.error.HTTPError as e:\n    print(e.code, e.headers['Content-Type'], e.read().decode())\n";
    let run = world.run(&["exec", "--server", "gds-users", "--", &python, "-c", probe]);
    let out = run.ok();
    assert!(
        out.starts_with("400 application/json {\"Message\":\"not a role ARN"),
        "{out}"
    );

    // --lazy: the command runs before (and here without) any STS call.
    world.run(&["clear"]).ok();
    world.moto.start_recording();
    world
        .run(&["exec", "--lazy", "--server", "gds-users", "--", "true"])
        .ok();
    assert_eq!(world.moto.credential_calls(), Vec::<String>::new());
    world
        .run(&["exec", "--server", "gds-users", "--", "true"])
        .ok();
    assert_eq!(world.moto.credential_calls(), ["GetSessionToken"]);
}

/// Set for the copy of this test binary that runs as the command of `vault exec`.
const SDK_CHILD: &str = "VAULT_DROPIN_SDK_CHILD";

/// `exec --ec2-server`: IMDSv2 on 127.0.0.1 at AWS_EC2_METADATA_SERVICE_ENDPOINT, asked by the
/// real aws CLI, boto3 and the Rust SDK (which speaks v2 only); tokens checked.
#[test]
fn ec2_server_serves_imdsv2() {
    let world = World::new();
    let python = support::python();
    let aws = [
        "aws",
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ];
    let mut args = vec!["exec", "--ec2-server", "readonly", "--"];
    args.extend(aws);
    let arn = world.run(&args).ok().trim().to_string();
    assert!(arn.starts_with(ARN), "{arn}");

    let boto = "import boto3, botocore.session\n\
        s = botocore.session.get_session()\n\
        print(s.get_credentials().method, boto3.client('sts').get_caller_identity()['Arn'])";
    let run = world.run(&[
        "exec",
        "--ec2-server",
        "readonly",
        "--",
        &python,
        "-c",
        boto,
    ]);
    let out = run.ok().trim().to_string();
    assert!(out.starts_with(&format!("iam-role {ARN}")), "{out}");

    // The Rust SDK, built from aws-config's default chain: this test binary, run again.
    let me = std::env::current_exe().unwrap();
    let mut command = world.home.command([
        "exec",
        "--ec2-server",
        "readonly",
        "--",
        me.to_str().unwrap(),
        "--exact",
        "rust_sdk_child",
        "--nocapture",
        "--test-threads=1",
    ]);
    command.env(SDK_CHILD, "1");
    let run = Run::from(command.output().unwrap());
    let out = run.ok();
    assert!(out.contains(&format!("ARN={ARN}")), "{run:#?}");

    let probe = r#"
import os, time, urllib.request, urllib.error
base = os.environ['AWS_EC2_METADATA_SERVICE_ENDPOINT']
assert 'AWS_ACCESS_KEY_ID' not in os.environ
def ask(method, path, headers):
    req = urllib.request.Request(base.rstrip('/') + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ''
creds = '/latest/meta-data/iam/security-credentials/local-credentials'
print('no-token', ask('GET', creds, {})[0])
print('ttl-21601', ask('PUT', '/latest/api/token', {'X-aws-ec2-metadata-token-ttl-seconds': '21601'})[0])
status, token = ask('PUT', '/latest/api/token', {'X-aws-ec2-metadata-token-ttl-seconds': '1'})
print('ttl-1', status, ask('GET', creds, {'X-aws-ec2-metadata-token': token})[0])
time.sleep(1.5)
print('expired', ask('GET', creds, {'X-aws-ec2-metadata-token': token})[0])
print('host', ask('GET', creds, {'X-aws-ec2-metadata-token': token, 'Host': 'evil.example'})[0])
"#;
    let run = world.run(&[
        "exec",
        "--ec2-server",
        "readonly",
        "--",
        &python,
        "-c",
        probe,
    ]);
    assert_eq!(
        run.ok(),
        "no-token 401\nttl-21601 400\nttl-1 200 200\nexpired 401\nhost 403\n"
    );
    let run = world.run(&["exec", "--ec2-server-v1", "readonly", "--", "true"]);
    assert_eq!(run.status, Some(2), "{run:#?}");
}

/// The Rust SDK client: does nothing unless run by `ec2_server_serves_imdsv2`.
#[test]
fn rust_sdk_child() {
    if std::env::var_os(SDK_CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let arn = runtime.block_on(async {
        // The credential chain is aws-config's own; only the HTTP client is given.
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(support::sdk_http_client())
            .load()
            .await;
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
    });
    match arn {
        Ok(out) => println!("ARN={}", out.arn().unwrap_or_default()),
        Err(e) => panic!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ),
    }
}

/// `credential_source = Ec2InstanceMetadata | EcsContainer` through aws-config's own
/// providers, pointed at vault's own servers (an outer `vault exec --ec2-server` or
/// `--ecs-server`), with a role on top against the local STS; an unknown value is an error
/// naming the file and line.
#[test]
fn credential_sources() {
    let world = World::new();
    let readonly = world.moto.role_arn("readonly");
    let config = world.home.path().join(".aws/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "
[profile from-imds]
credential_source = Ec2InstanceMetadata
region = eu-west-1

[profile imds-role]
credential_source = Ec2InstanceMetadata
role_arn = {readonly}

[profile ecs-role]
credential_source = EcsContainer
role_arn = {readonly}

[profile bad-source]
credential_source = Ec2Metadata
"
    ));
    let bad_line = text.lines().count();
    std::fs::write(&config, &text).unwrap();

    // The inner vault is not nested in aws-vault's sense: it is the instance's own program.
    let inner = format!(
        "unset AWS_VAULT; AWS_VAULT_FILE_PASSPHRASE='{}' exec vault \"$@\"",
        support::PASSPHRASE
    );
    let caller = |server: &str, profile: &str| {
        let mut args = vec!["exec", server, "gds-users", "--", "sh", "-c", &inner, "sh"];
        args.extend(["exec", profile, "--"]);
        args.extend([
            "aws",
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ]);
        world.run(&args).ok().trim().to_string()
    };
    assert_eq!(
        caller("--ec2-server", "from-imds"),
        "arn:aws:iam::123456789012:user/jane"
    );
    assert!(caller("--ec2-server", "imds-role").starts_with(ARN));
    assert!(caller("--ecs-server", "ecs-role").starts_with(ARN));

    // Without an instance to ask, the provider's failure is named.
    let mut command = world.home.command(["export", "from-imds"]);
    command.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/");
    let run = Run::from(command.output().unwrap());
    let stderr = run.fails();
    assert!(
        stderr.starts_with(
            "error: profile `from-imds`: credential_source Ec2InstanceMetadata gave no credentials"
        ),
        "{stderr}"
    );

    let stderr = world
        .run(&["exec", "bad-source", "--", "true"])
        .fails()
        .to_string();
    assert!(
        stderr.contains(&format!(
            ".aws/config` line {bad_line}: credential_source `Ec2Metadata` is not one of Environment, Ec2InstanceMetadata, EcsContainer"
        )),
        "{stderr}"
    );
}
