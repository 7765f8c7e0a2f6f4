//! `vault exec` end to end: the real binary against a local STS (moto with authentication on,
//! MFA codes and trust policies checked), with the real `aws` CLI and boto3 as children.
//! moto's request recorder proves how many STS calls each scenario made.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{PASSPHRASE, Run, World};

fn assumed(role: &str) -> String {
    format!("arn:aws:sts::123456789012:assumed-role/{role}/")
}

#[test]
fn day_in_the_life() {
    let world = World::new();
    assert_eq!(
        world.run(&["list"]).ok(),
        "\
Profile                  Credentials              Sessions
=======                  ===========              ========
gds-users                gds-users                -
target-account           gds-users                -
chained                  gds-users                -
readonly                 gds-users                -
partner-ok               gds-users                -
partner-missing          gds-users                -
"
    );
    let show = world.run(&["show", "target-account"]);
    let show = show.ok();
    assert!(
        show.ends_with(&format!(
            "Plan (what `vault exec` would do now):\n  \
             1. gds-users: sts.GetSessionToken for 28800s: calls STS, needs an MFA code for {serial}\n  \
             2. target-account: sts.AssumeRole {admin} for 3600s: calls STS\n",
            serial = world.serial,
            admin = world.moto.role_arn("admin")
        )),
        "{show}"
    );
    world.moto.start_recording();

    // The MFA prompt on the terminal, answered through a pseudo-terminal.
    let command = world.home.command([
        "exec",
        "target-account",
        "--",
        "aws",
        "sts",
        "get-caller-identity",
    ]);
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    session
        .exp_string(&format!("Enter MFA code for {}: ", world.serial))
        .unwrap();
    session.send_line(&world.code(0)).unwrap();
    let output = session.exp_eof().unwrap();
    assert!(
        output.contains(&format!("\"Arn\": \"{}vault-jane-", assumed("admin"))),
        "{output}"
    );
    assert_eq!(
        world.moto.credential_calls(),
        ["GetSessionToken", "AssumeRole"],
        "one MFA GetSessionToken on the keys, then the role"
    );

    // Warm: no prompt (stdin is not a terminal here), no STS call at all.
    world.moto.start_recording();
    let arn = world.caller_arn(&["target-account"]);
    assert!(arn.starts_with(&assumed("admin")), "{arn}");
    assert_eq!(world.moto.credential_calls(), Vec::<String>::new());

    let sessions = world.sessions();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert!(
        sessions
            .iter()
            .any(|s| s.starts_with("sts.GetSessionToken:7h59m")
                || s.starts_with("sts.GetSessionToken:8h0m")),
        "{sessions:?}"
    );
    assert!(
        sessions
            .iter()
            .any(|s| s.starts_with("sts.AssumeRole:59m") || s.starts_with("sts.AssumeRole:1h0m")),
        "{sessions:?}"
    );

    let show = world.run(&["show", "target-account"]).ok().to_string();
    assert!(
        show.contains("  1. gds-users: sts.GetSessionToken for 28800s: cached, 7h 59m"),
        "{show}"
    );
    assert!(
        show.contains("  2. target-account: sts.AssumeRole"),
        "{show}"
    );
    assert!(show.contains(" for 3600s: cached, 59m"), "{show}");
    let json: serde_json::Value =
        serde_json::from_str(world.run(&["show", "--json", "chained"]).ok()).unwrap();
    let steps = json["plan"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert!(steps[0]["cached_seconds_left"].as_u64().unwrap() > 28000);
    assert_eq!(steps[2]["cached_seconds_left"], serde_json::Value::Null);
    assert_eq!(steps[2]["call"], "AssumeRole");

    // Another role with the same MFA device rides on the same session: no new code.
    world.moto.start_recording();
    let arn = world.caller_arn(&["chained"]);
    assert!(arn.starts_with(&assumed("chained")), "{arn}");
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);

    assert_eq!(world.run(&["clear"]).ok(), "Cleared 3 sessions.\n");
    assert_eq!(world.sessions(), Vec::<String>::new());
}

#[test]
fn three_profile_chain_behind_one_mfa_code() {
    let world = World::new();
    world.moto.start_recording();
    let arn = world.caller_arn(&["-t", &world.code(0), "chained"]);
    assert!(arn.starts_with(&assumed("chained")), "{arn}");
    assert_eq!(
        world.moto.credential_calls(),
        ["GetSessionToken", "AssumeRole", "AssumeRole"]
    );
    let with_code = world
        .moto
        .recorded_bodies()
        .iter()
        .filter(|b| b.contains("TokenCode="))
        .count();
    assert_eq!(with_code, 1, "the code is sent once");
}

#[test]
fn external_id_right_and_missing() {
    let world = World::new();
    let arn = world.caller_arn(&["partner-ok"]);
    assert!(arn.starts_with(&assumed("partner")), "{arn}");

    let run = world.run(&["exec", "partner-missing", "--", "true"]);
    let stderr = run.fails();
    let partner = world.moto.role_arn("partner");
    assert_eq!(
        stderr,
        format!(
            "error: `arn:aws:iam::123456789012:user/jane` may not assume the role `{partner}`\n\
             hint: the trust policy of `{partner}` must trust `arn:aws:iam::123456789012:user/jane`; if it requires an ExternalId, set `external_id` in `[profile partner-missing]`\n"
        )
    );
}

#[test]
fn wrong_mfa_code_is_explained_and_nothing_cached() {
    let world = World::new();
    let right = world.code(0);
    let wrong: String = right
        .chars()
        .map(|c| char::from(b'0' + (c.to_digit(10).unwrap() as u8 + 5) % 10))
        .collect();
    let run = world.run(&["exec", "-t", &wrong, "target-account", "--", "true"]);
    assert_eq!(
        run.fails(),
        format!(
            "error: the MFA code for `{}` was refused by AWS\nhint: codes can be used once; wait for the next code and try again\n",
            world.serial
        )
    );
    assert_eq!(world.sessions(), Vec::<String>::new());

    // A code that is not six digits is refused before any call.
    world.moto.start_recording();
    let run = world.run(&["exec", "-t", "12345", "target-account", "--", "true"]);
    assert!(
        run.fails()
            .starts_with("error: the MFA code for `--mfa-token` must be 6 digits\n"),
        "{run:?}"
    );
    assert_eq!(world.moto.sts_calls(), Vec::<String>::new());
}

#[test]
fn parallel_cold_execs_make_one_call_per_session() {
    let world = World::new();
    world.moto.start_recording();
    let code = world.code(0);
    let children: Vec<_> = (0..10)
        .map(|_| {
            let mut command = world.home.command([
                "exec",
                "-t",
                &code,
                "target-account",
                "--",
                "sh",
                "-c",
                "echo $AWS_ACCESS_KEY_ID",
            ]);
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let keys = support::wait_all(children);
    assert_eq!(
        world.moto.credential_calls(),
        ["GetSessionToken", "AssumeRole"]
    );
    assert!(
        keys.iter().all(|k| k == &keys[0]),
        "all ten share one session: {keys:?}"
    );

    // A one-step profile: exactly one STS call for ten cold callers.
    world.moto.start_recording();
    let children: Vec<_> = (0..10)
        .map(|_| {
            let mut command = world.home.command(["exec", "readonly", "--", "true"]);
            command.stdout(Stdio::null()).stderr(Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    support::wait_all(children);
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);
}

#[test]
fn exit_status_and_signals_are_the_commands() {
    let world = World::new();
    let run = world.run(&["exec", "readonly", "--", "sh", "-c", "exit 7"]);
    assert_eq!(run.status, Some(7));

    // vault replaced itself with the command: the signal sent to its pid is the command's.
    assert_eq!(
        sigterm_reaches_the_command(&world, &["exec", "readonly"]),
        Some(0)
    );

    let run = world.run(&["exec", "readonly", "--", "no-such-command-anywhere"]);
    assert_eq!(run.status, Some(127));
    assert!(
        run.stderr
            .starts_with("error: could not run `no-such-command-anywhere`"),
        "{run:?}"
    );
}

#[test]
fn child_environment() {
    let mut world = World::new();
    world
        .home
        .env("AWS_PROFILE", "something-else")
        .env("AWS_SECURITY_TOKEN", "stale")
        .env("AWS_SDK_LOAD_CONFIG", "1");
    let env = world.run(&["exec", "--region", "ap-south-1", "readonly", "--", "env"]);
    let env: Vec<&str> = env.ok().lines().collect();
    let get = |key: &str| {
        env.iter()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    assert_eq!(get("AWS_VAULT").as_deref(), Some("readonly"));
    assert_eq!(get("AWS_REGION").as_deref(), Some("ap-south-1"));
    assert_eq!(get("AWS_DEFAULT_REGION").as_deref(), Some("ap-south-1"));
    assert!(
        get("AWS_ACCESS_KEY_ID").is_some_and(|k| k.starts_with("ASIA")),
        "{env:?}"
    );
    assert!(get("AWS_SECRET_ACCESS_KEY").is_some());
    assert!(get("AWS_SESSION_TOKEN").is_some());
    let expiration = get("AWS_CREDENTIAL_EXPIRATION").unwrap();
    assert!(
        expiration.len() == 20 && expiration.ends_with('Z') && expiration.as_bytes()[10] == b'T',
        "RFC 3339 UTC: {expiration}"
    );
    for gone in [
        "AWS_PROFILE",
        "AWS_SECURITY_TOKEN",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_VAULT_FILE_PASSPHRASE",
    ] {
        assert_eq!(get(gone), None, "{gone} reaches the child");
    }

    // Default command: $SHELL, else /bin/sh.
    world.home.env("SHELL", "/bin/sh");
    let mut command = world.home.command(["exec", "readonly"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = command.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo in-shell $AWS_VAULT\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "in-shell readonly\n");
}

#[test]
fn nested_exec_is_refused() {
    let mut world = World::new();
    world.home.env("AWS_VAULT", "target-account");
    let run = world.run(&["exec", "readonly", "--", "true"]);
    assert_eq!(
        run.fails(),
        "error: running in an existing vault subshell (AWS_VAULT is `target-account`)\n\
         hint: 'exit' from the subshell, or unset AWS_VAULT to force\n"
    );
}

#[test]
fn no_terminal_and_no_token_fails_fast() {
    let world = World::new();
    let mut detached = world
        .home
        .detached(["exec", "target-account", "--", "true"]);
    let started = Instant::now();
    let run = Run::from(detached.output().unwrap());
    assert!(started.elapsed() < Duration::from_secs(10), "it waited");
    let stderr = run.fails();
    assert!(
        stderr.starts_with(&format!(
            "error: cannot ask `Enter MFA code for {}`: no terminal",
            world.serial
        )),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "hint: pass the code with --mfa-token, or set `mfa_process` in the profile\n"
        ),
        "{stderr}"
    );
}

#[test]
fn mfa_process_gives_the_code() {
    let world = World::new();
    let python = support::python();
    let url = format!(
        "{}/_vault_test/totp?serial={}&offset=0",
        world.moto.endpoint, world.serial
    );
    world.home.write(
        ".aws/config",
        &format!(
            "[profile gds-users]\n[profile p]\nsource_profile = gds-users\nrole_arn = {}\nmfa_serial = {}\nmfa_process = {python} -c \"import urllib.request; print(urllib.request.urlopen('{url}').read().decode())\"\n",
            world.moto.role_arn("admin"),
            world.serial
        ),
    );
    let arn = world.caller_arn(&["p"]);
    assert!(arn.starts_with(&assumed("admin")), "{arn}");
}

#[test]
fn durations() {
    let world = World::new();
    // A role asked for more than 1h is assumed with MFA straight from the keys.
    world.moto.start_recording();
    let arn = world.caller_arn(&["-d", "2h", "-t", &world.code(0), "target-account"]);
    assert!(arn.starts_with(&assumed("admin")), "{arn}");
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);
    let bodies = world.moto.recorded_bodies();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("DurationSeconds=7200") && b.contains("TokenCode=")),
        "{bodies:?}"
    );

    // Over the role's maximum: explained.
    let run = world.run(&["exec", "-d", "2h", "readonly", "--", "true"]);
    assert_eq!(
        run.fails(),
        format!(
            "error: the requested duration is over the maximum session duration of `{}`\n\
             hint: ask for less with -d or `duration_seconds` in `[profile readonly]`, or raise the role's maximum session duration\n",
            world.moto.role_arn("readonly")
        )
    );

    // -n: no GetSessionToken; the role is assumed with MFA from the keys.
    world.moto.start_recording();
    let arn = world.caller_arn(&["-n", "-t", &world.code(1), "target-account"]);
    assert!(arn.starts_with(&assumed("admin")), "{arn}");
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);
}

#[test]
fn keys_refused_by_aws() {
    let world = World::new();
    let mut command = world.home.command(["add", "broken", "--env"]);
    command
        .env(
            "AWS_ACCESS_KEY_ID",
            world.moto.user("jane")["access_key_id"].as_str().unwrap(),
        )
        .env("AWS_SECRET_ACCESS_KEY", "x".repeat(40));
    Run::from(command.output().unwrap()).ok();
    let run = world.run(&["exec", "broken", "--", "true"]);
    assert_eq!(
        run.fails(),
        "error: AWS refused the keys of `broken` (SignatureDoesNotMatch)\n\
         hint: the keys are wrong, inactive or deleted; store working ones with `vault add broken`\n"
    );
}

#[test]
fn plaintext_and_process_sources() {
    let world = World::new();
    let bob = world.moto.user("bob");
    let (id, secret) = (
        bob["access_key_id"].as_str().unwrap(),
        bob["secret_access_key"].as_str().unwrap(),
    );
    world.home.credentials(&format!(
        "[bob-plain]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    let json = world.home.write(
        "bob.json",
        &format!(
            "{{\"Version\": 1, \"AccessKeyId\": \"{id}\", \"SecretAccessKey\": \"{secret}\"}}"
        ),
    );
    world.home.write(
        ".aws/config",
        &format!(
            "[profile bob-plain]\n[profile bob-role]\nsource_profile = bob-plain\nrole_arn = {ro}\n\
             [profile bob-process]\ncredential_process = cat {json}\n\
             [profile bob-process-role]\nsource_profile = bob-process\nrole_arn = {ro}\n",
            ro = world.moto.role_arn("readonly"),
            json = json.display()
        ),
    );
    let run = world.run(&[
        "exec",
        "bob-role",
        "--",
        "aws",
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ]);
    assert!(run.ok().starts_with(&assumed("readonly")), "{run:?}");
    assert!(run.stderr.contains("warning: profile `bob-plain` keeps long-lived keys in plaintext in `~/.aws/credentials`"), "{run:?}");

    let arn = world.caller_arn(&["bob-process-role"]);
    assert!(arn.starts_with(&assumed("readonly")), "{arn}");

    // A credential_process that runs vault on the same profile is refused, not a loop.
    world.home.write(
        ".aws/config",
        "[profile loop]\ncredential_process = vault exec loop -- true\n",
    );
    let mut command = world.home.command(["exec", "loop", "--", "true"]);
    let path = format!(
        "{}:{}",
        std::path::Path::new(env!("CARGO_BIN_EXE_vault"))
            .parent()
            .unwrap()
            .display(),
        support::test_path()
    );
    command.env("PATH", path);
    let run = Run::from(command.output().unwrap());
    assert!(
        run.stderr.contains(
            "gets its credentials from a credential_process that runs vault for `loop` again"
        ),
        "{run:?}"
    );
    assert_eq!(run.status, Some(1));
}

#[test]
fn boto3_child_gets_working_credentials() {
    let world = World::new();
    let script = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])";
    let python = support::python();
    let run = world.run(&["exec", "readonly", "--", &python, "-c", script]);
    assert!(run.ok().starts_with(&assumed("readonly")), "{run:?}");
}

#[test]
fn secrets_never_reach_output_or_disk() {
    let world = World::new();
    let jane_secret = world.moto.user("jane")["secret_access_key"]
        .as_str()
        .unwrap()
        .to_string();
    let run = world.run(&[
        "--debug",
        "exec",
        "-t",
        &world.code(0),
        "target-account",
        "--",
        "sh",
        "-c",
        "echo $AWS_SESSION_TOKEN > token.txt",
    ]);
    run.ok();
    let token = std::fs::read_to_string(world.home.path().join("token.txt")).unwrap();
    let token = token.trim();
    assert!(token.len() > 20);
    for secret in [jane_secret.as_str(), token, PASSPHRASE] {
        assert!(
            !run.stderr.contains(secret) && !run.stdout.contains(secret),
            "a secret in the output"
        );
    }
    std::fs::remove_file(world.home.path().join("token.txt")).unwrap();
    for entry in walk(world.home.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        for secret in [jane_secret.as_str(), token] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "plaintext secret in {}",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn server_mode_serves_and_refreshes() {
    let mut world = World::new();
    let arn = world.caller_arn(&["--server", "readonly"]);
    assert!(arn.starts_with(&assumed("readonly")), "{arn}");

    let env = world.run(&["exec", "--server", "readonly", "--", "env"]);
    let env = env.ok();
    assert!(
        env.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"),
        "{env}"
    );
    assert!(env.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN="), "{env}");
    assert!(env.contains("AWS_VAULT=readonly"), "{env}");
    assert!(
        !env.contains("AWS_ACCESS_KEY_ID=") && !env.contains("AWS_SESSION_TOKEN="),
        "{env}"
    );

    // Only the right token gets credentials.
    let python = support::python();
    let probe = "import os, urllib.request, urllib.error\n\
        url = os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI']\n\
        for token in ['wrong', os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']]:\n\
        \x20   try:\n\
        \x20       body = urllib.request.urlopen(urllib.request.Request(url, headers={'Authorization': token})).read()\n\
        \x20       print('200', 'AccessKeyId' in body.decode())\n\
        \x20   except urllib.error.HTTPError as e:\n\
        \x20       print(e.code)\n";
    let run = world.run(&["exec", "--server", "readonly", "--", &python, "-c", probe]);
    assert_eq!(run.ok(), "403\n200 True\n", "{run:?}");

    assert_eq!(
        world
            .run(&["exec", "--server", "readonly", "--", "sh", "-c", "exit 7"])
            .status,
        Some(7)
    );

    // Credentials within AWS_MIN_TTL of expiry are refreshed before they are served.
    world.home.env("AWS_MIN_TTL", "2h");
    world.moto.start_recording();
    let script = "import boto3\nfor _ in range(2):\n    print(boto3.Session().client('sts').get_caller_identity()['Arn'])";
    let run = world.run(&["exec", "--server", "readonly", "--", &python, "-c", script]);
    assert_eq!(run.ok().lines().count(), 2, "{run:?}");
    let calls = world.moto.credential_calls();
    assert!(
        calls.len() >= 2 && calls.iter().all(|c| c == "AssumeRole"),
        "{calls:?}"
    );
}

#[test]
fn server_mode_forwards_signals() {
    let world = World::new();
    // Here vault is the parent: the signal goes to vault, which passes it on.
    let status = sigterm_reaches_the_command(&world, &["exec", "--server", "readonly"]);
    assert_eq!(status, Some(0));
}

/// Runs `vault ARGS -- sh -c ...` with a command that traps SIGTERM, sends SIGTERM to the
/// process vault started as once the command is ready, checks that the command saw it, and
/// returns the exit status.
fn sigterm_reaches_the_command(world: &World, args: &[&str]) -> Option<i32> {
    let script = "trap 'echo got-term; exit 0' TERM; echo ready; sleep 30 & wait";
    let mut command = world
        .home
        .command(args.iter().chain(&["--", "sh", "-c", script]));
    command.stdout(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "got-term\n");
    child.wait().unwrap().code()
}

/// Every config key that shapes a call reaches STS: role_session_name, duration_seconds,
/// session tags, source_identity; credential_source = Environment; a profile's endpoint_url;
/// web identity.
#[test]
fn config_keys_reach_sts() {
    let mut world = World::new();
    let readonly = world.moto.role_arn("readonly");
    let admin = world.moto.role_arn("admin");
    let token_file = world
        .home
        .write("token.jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJqYW5lIn0.\n");
    world.home.config(&format!(
        "[profile gds-users]\n\
         [profile shaped]\nsource_profile = gds-users\nrole_arn = {readonly}\nrole_session_name = jane-session\nduration_seconds = 900\n\
         session_tags = team = platform , env=dev\ntransitive_session_tags = team\nsource_identity = jane\n\
         [profile from-env]\ncredential_source = Environment\nrole_arn = {readonly}\n\
         [profile own-endpoint]\nsource_profile = gds-users\nrole_arn = {readonly}\nendpoint_url = {endpoint}\n\
         [profile web]\nrole_arn = {admin}\nweb_identity_token_file = {token}\nrole_session_name = web-session\n",
        endpoint = world.moto.endpoint,
        token = token_file.display(),
    ));
    world.moto.start_recording();
    let arn = world.caller_arn(&["shaped"]);
    assert_eq!(arn, format!("{}jane-session", assumed("readonly")));
    let bodies = world.moto.recorded_bodies();
    let call = bodies
        .iter()
        .find(|b| b.contains("Action=AssumeRole"))
        .unwrap();
    for part in [
        "DurationSeconds=900",
        "Tags.member.1.Key=team",
        "Tags.member.1.Value=platform",
        "Tags.member.2.Key=env",
        "TransitiveTagKeys.member.1=team",
        "SourceIdentity=jane",
    ] {
        assert!(call.contains(part), "{part} missing from {call}");
    }

    // credential_source = Environment: vault's own AWS_ACCESS_KEY_ID and friends.
    let jane = world.moto.user("jane").clone();
    let mut command = world.home.command([
        "exec",
        "from-env",
        "--",
        "sh",
        "-c",
        "echo $AWS_SESSION_TOKEN | cut -c1-4",
    ]);
    command
        .env("AWS_ACCESS_KEY_ID", jane["access_key_id"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            jane["secret_access_key"].as_str().unwrap(),
        );
    let run = Run::from(command.output().unwrap());
    assert!(!run.ok().trim().is_empty(), "{run:?}");

    // The profile's endpoint_url, with no AWS_ENDPOINT_URL.
    world.home.env("AWS_ENDPOINT_URL", "");
    let run = world.run(&[
        "exec",
        "own-endpoint",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID",
    ]);
    assert!(run.ok().starts_with("ASIA"), "{run:?}");

    // Web identity: AssumeRoleWithWebIdentity with the token file.
    let endpoint = world.moto.endpoint.clone();
    world.home.env("AWS_ENDPOINT_URL", endpoint);
    world.moto.start_recording();
    let run = world.run(&["exec", "web", "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"]);
    assert!(run.ok().starts_with("ASIA"), "{run:?}");
    assert_eq!(world.moto.credential_calls(), ["AssumeRoleWithWebIdentity"]);
}
