//! `vault rotate` and `vault login` end to end: the real binary against a local STS/IAM (moto
//! with authentication on, MFA checked, IAM refusing sessions without MFA), the real `aws` CLI
//! checking keys afterwards, and a fake console federation endpoint on 127.0.0.1.

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::federation::FakeFederation;
use support::{Run, World, test_path};

/// `****************ABCD`, as vault shows key ids.
fn masked(id: &str) -> String {
    format!("{}{}", "*".repeat(id.len() - 4), &id[id.len() - 4..])
}

/// The long-lived keys stored for `profile`, read back with `vault export -n`.
fn stored_keys(world: &World, profile: &str) -> (String, String) {
    let json = world.run(&["export", "-n", "--format", "json", profile]);
    let json: Value = serde_json::from_str(json.ok()).unwrap();
    (
        json["AccessKeyId"].as_str().unwrap().to_string(),
        json["SecretAccessKey"].as_str().unwrap().to_string(),
    )
}

fn user_keys(world: &World, user: &str) -> (String, String) {
    let user = world.moto.user(user);
    (
        user["access_key_id"].as_str().unwrap().to_string(),
        user["secret_access_key"].as_str().unwrap().to_string(),
    )
}

/// The real `aws` CLI, signing with `keys`, against the local moto.
fn aws(world: &World, keys: &(String, String), args: &[&str]) -> Run {
    let output = Command::new("aws")
        .args(args)
        .env_clear()
        .env("HOME", world.home.path())
        .env("PATH", test_path())
        .env("AWS_ENDPOINT_URL", &world.moto.endpoint)
        .env("AWS_DEFAULT_REGION", "eu-west-2")
        .env("AWS_ACCESS_KEY_ID", &keys.0)
        .env("AWS_SECRET_ACCESS_KEY", &keys.1)
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    Run::from(output)
}

/// The ids IAM holds for `user`, asked with the other user's first keys (both may do
/// anything, without MFA).
fn iam_keys_of(world: &World, user: &str) -> Vec<String> {
    let other = user_keys(world, if user == "bob" { "jane" } else { "bob" });
    let run = aws(
        world,
        &other,
        &[
            "iam",
            "list-access-keys",
            "--user-name",
            user,
            "--query",
            "AccessKeyMetadata[].AccessKeyId",
            "--output",
            "text",
        ],
    );
    run.ok().split_whitespace().map(str::to_string).collect()
}

fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret was printed: {run:#?}"
        );
    }
}

fn rotated(old: &str, new: &str) -> String {
    format!(
        "Rotating access key {old}\nCreated new access key {new}\nDeleted old access key {old}\nFinished rotating access key\n",
        old = masked(old),
        new = masked(new)
    )
}

/// Gives `gds-users` (jane's keys) her MFA device, so that IAM is called through an MFA
/// session.
fn with_mfa_on_gds_users(world: &World) {
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    let config = config.replacen(
        "[profile gds-users]\n",
        &format!("[profile gds-users]\nmfa_serial = {}\n", world.serial),
        1,
    );
    world.home.config(&config);
}

#[test]
fn rotate_with_mfa_replaces_the_key_everywhere() {
    let world = World::new();
    with_mfa_on_gds_users(&world);
    let old = user_keys(&world, "jane");
    // A cached session made from the old keys, which rotating must clear.
    let arn = world.caller_arn(&["readonly"]);
    assert!(arn.contains(":assumed-role/readonly/"), "{arn}");
    world.moto.start_recording();

    let run = world.run(&["rotate", "-t", &world.code(0), "gds-users"]);
    let new = stored_keys(&world, "gds-users");
    assert_ne!(new.0, old.0);
    assert_eq!(run.ok(), rotated(&old.0, &new.0));
    assert_eq!(run.stderr, "");
    assert_no_secret(&run, &[&old.1, &new.1]);
    assert_eq!(
        world.moto.sts_calls(),
        [
            "GetSessionToken",
            "GetUser",
            "CreateAccessKey",
            "GetCallerIdentity",
            "DeleteAccessKey"
        ],
        "an MFA session for IAM, the new key checked with STS, then the old one deleted"
    );
    let with_code = world
        .moto
        .recorded_bodies()
        .iter()
        .filter(|b| b.contains("TokenCode="))
        .count();
    assert_eq!(with_code, 1);
    assert_eq!(
        world.sessions(),
        Vec::<String>::new(),
        "the sessions of the old keys are gone"
    );

    // The new key works through vault; the old one is refused; IAM holds only the new one.
    let arn = world.caller_arn(&["readonly"]);
    assert!(arn.contains(":assumed-role/readonly/"), "{arn}");
    let refused = aws(&world, &old, &["sts", "get-caller-identity"]);
    assert_ne!(refused.status, Some(0), "{refused:#?}");
    assert!(
        refused.stderr.contains("InvalidClientTokenId"),
        "{refused:#?}"
    );
    assert_eq!(iam_keys_of(&world, "jane"), [new.0]);
}

#[test]
fn rotate_without_a_session_and_without_mfa() {
    let world = World::new();
    world.add_keys("bob", "bob");
    let first = user_keys(&world, "bob");

    world.moto.start_recording();
    let run = world.run(&["rotate", "-n", "bob"]);
    let second = stored_keys(&world, "bob");
    assert_eq!(run.ok(), rotated(&first.0, &second.0));
    assert_no_secret(&run, &[&first.1, &second.1]);
    assert_eq!(
        world.moto.sts_calls(),
        [
            "GetUser",
            "CreateAccessKey",
            "GetCallerIdentity",
            "DeleteAccessKey"
        ],
        "the long-lived keys call IAM themselves"
    );
    assert_eq!(iam_keys_of(&world, "bob"), std::slice::from_ref(&second.0));

    // Without -n, a profile with no mfa_serial uses its keys too: IAM would refuse a session
    // made without MFA.
    let run = world.run(&["rotate", "bob"]);
    let third = stored_keys(&world, "bob");
    assert_eq!(run.ok(), rotated(&second.0, &third.0));
    assert_no_secret(&run, &[&second.1, &third.1]);
    assert_eq!(iam_keys_of(&world, "bob"), std::slice::from_ref(&third.0));

    let arn = world.caller_arn(&["-n", "bob"]);
    assert_eq!(arn, world.moto.user("bob")["arn"].as_str().unwrap());
    for gone in [&first, &second] {
        let refused = aws(&world, gone, &["sts", "get-caller-identity"]);
        assert!(
            refused.stderr.contains("InvalidClientTokenId"),
            "{refused:#?}"
        );
    }
}

#[test]
fn rotate_that_fails_before_storing_deletes_the_new_key() {
    let mut world = World::new();
    world.add_keys("bob", "bob");
    let old = user_keys(&world, "bob");
    // IAM answers; the STS that should accept the new key does not.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    world.home.env("AWS_ENDPOINT_URL_STS", &closed);
    world.home.env("AWS_VAULT_STS_TIMEOUT", "2s");

    let run = world.run(&["rotate", "-n", "bob"]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    let created = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Created new access key "))
        .unwrap_or_else(|| panic!("{run:#?}"))
        .to_string();
    assert!(
        run.stderr.starts_with(&format!(
            "error: could not check the new access key for `bob`: could not reach STS at `{closed}`: "
        )),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains(&format!(
            "; the new access key `{created}` was deleted and the old key is still in the vault\n"
        )),
        "{run:#?}"
    );
    assert_no_secret(&run, &[&old.1]);
    assert_eq!(stored_keys(&world, "bob").0, old.0);
    assert_eq!(iam_keys_of(&world, "bob"), [old.0]);
}

#[test]
fn rotate_needs_keys_in_the_vault_and_a_way_to_ask_for_mfa() {
    let world = World::new();
    let run = world.run(&["rotate", "target-account"]);
    let stderr = run.fails();
    assert!(
        stderr.starts_with("error: no credentials for profile `target-account` in "),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("\nhint: `vault list --credentials` shows the entries there are\n"),
        "{stderr}"
    );

    // MFA is needed and there is no terminal to ask on: nothing is called, nothing changes.
    with_mfa_on_gds_users(&world);
    world.moto.start_recording();
    let run = world.run(&["rotate", "gds-users"]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("hint: pass the code with --mfa-token"),
        "{run:#?}"
    );
    let run = world.run(&["rotate", "-t", "12345", "gds-users"]);
    assert!(
        run.fails()
            .starts_with("error: the MFA code for `--mfa-token` must be 6 digits\n")
    );
    assert_eq!(world.moto.sts_calls(), Vec::<String>::new());
    assert_eq!(stored_keys(&world, "gds-users"), user_keys(&world, "jane"));
}

// ---------------------------------------------------------------------------------------
// login
// ---------------------------------------------------------------------------------------

fn login_url(federation: &str, destination: &str) -> String {
    format!(
        "{federation}?Action=login&Issuer=vault&Destination={destination}&SigninToken=fake-token-123\n"
    )
}

fn login_world(status: &'static str) -> (World, FakeFederation) {
    let mut world = World::new();
    let federation = FakeFederation::start(status);
    world.home.env("AWS_VAULT_FEDERATION_URL", &federation.url);
    (world, federation)
}

#[test]
fn login_with_plain_keys_signs_in_a_federated_user() {
    let (world, federation) = login_world("200 OK");
    let jane = user_keys(&world, "jane");
    world.moto.start_recording();

    let run = world.run(&["login", "--stdout", "gds-users"]);
    // AWS_DEFAULT_REGION (eu-west-2) is set for every test command and beats the profile's.
    assert_eq!(
        run.ok(),
        login_url(
            &federation.url,
            "https%3A%2F%2Fconsole.aws.amazon.com%2F%3Fregion%3Deu-west-2"
        )
    );
    assert_eq!(run.stderr, "");

    // GetFederationToken with the long-lived keys; its credentials went to the endpoint.
    assert_eq!(world.moto.sts_calls(), ["GetFederationToken"]);
    let body = &world.moto.recorded_bodies()[0];
    for parameter in ["Name=vault-jane", "DurationSeconds=3600", "Policy="] {
        assert!(body.contains(parameter), "{body}");
    }
    let session = federation.session();
    let issued = support::http(
        &world.moto.endpoint,
        "GET",
        "/_vault_test/federation-keys",
        "",
    );
    let id = session["sessionId"].as_str().unwrap();
    assert!(id.starts_with("ASIA"), "{session}");
    assert_eq!(issued.lines().collect::<Vec<_>>(), [id]);
    assert_ne!(session["sessionKey"].as_str().unwrap(), jane.1);
    assert!(!session["sessionToken"].as_str().unwrap().is_empty());
    assert_no_secret(&run, &[&jane.1, session["sessionKey"].as_str().unwrap()]);

    // -d sets the federation token's duration; --debug never shows a credential.
    world.moto.start_recording();
    let run = world.run(&["--debug", "login", "--stdout", "-d", "2h", "gds-users"]);
    run.ok();
    assert!(
        world.moto.recorded_bodies()[0].contains("DurationSeconds=7200"),
        "{:?}",
        world.moto.recorded_bodies()
    );
    for secret in ["fake-token-123", "Session=", "sessionKey", &jane.1] {
        assert!(!run.stderr.contains(secret), "{secret}: {}", run.stderr);
    }
}

#[test]
fn login_with_a_role_uses_the_role_session() {
    let (world, federation) = login_world("200 OK");
    world.moto.start_recording();

    let run = world.run(&["login", "--stdout", "--path", "s3/home", "readonly"]);
    assert_eq!(
        run.ok(),
        login_url(
            &federation.url,
            "https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Deu-west-2"
        )
    );
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);

    // The session sent is the role session vault cached (export reads it without a call).
    world.moto.start_recording();
    let export = world.run(&["export", "--format", "json", "readonly"]);
    let cached: Value = serde_json::from_str(export.ok()).unwrap();
    assert_eq!(world.moto.credential_calls(), Vec::<String>::new());
    let session = federation.session();
    assert_eq!(session["sessionId"], cached["AccessKeyId"]);
    assert_eq!(session["sessionKey"], cached["SecretAccessKey"]);
    assert_eq!(session["sessionToken"], cached["SessionToken"]);
}

/// A stand-in for `xdg-open`: it records its arguments, and, as a browser would, asks the
/// address it was given once, recording where it is redirected; then exits with `status`.
fn fake_opener(world: &World, status: u8) -> (String, std::path::PathBuf) {
    let bin = world.home.path().join("bin");
    let record = world.home.path().join("opened");
    let browser = "import sys, urllib.request\n\
        class Stop(urllib.request.HTTPRedirectHandler):\n\
        \x20   def redirect_request(self, req, fp, code, msg, headers, newurl):\n\
        \x20       print(newurl)\n\
        \x20       return None\n\
        try:\n\
        \x20   urllib.request.build_opener(Stop).open(sys.argv[1])\n\
        except Exception:\n\
        \x20   pass\n";
    world.home.write("bin/browser.py", browser);
    world.home.write(
        "bin/xdg-open",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{record}.args'\n[ {status} -ne 0 ] || ('{python}' '{bin}/browser.py' \"$1\" > '{record}' &)\nexit {status}\n",
            record = record.display(),
            python = support::python(),
            bin = bin.display(),
        ),
    );
    let script = bin.join("xdg-open");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (format!("{}:{}", bin.display(), test_path()), record)
}

#[test]
fn login_opens_a_browser_or_prints_the_url() {
    let (mut world, federation) = login_world("200 OK");
    let (path, opened) = fake_opener(&world, 0);
    world.home.env("PATH", &path);
    world
        .home
        .env("AWS_VAULT_CONSOLE_URL", "https://console.example/");

    let run = world.run(&["login", "readonly"]);
    assert_eq!(run.ok(), "", "nothing on stdout when a browser opens");
    assert_eq!(run.stderr, "");
    let url = login_url(
        &federation.url,
        "https%3A%2F%2Fconsole.example%2F%3Fregion%3Deu-west-2",
    );
    // The stand-in browser writes where it was sent just after vault answered it.
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&opened).map_or(true, |s| !s.ends_with('\n'))
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), url);
    // The opener's argv holds only a one-shot local address, never the sign-in token.
    let args = std::fs::read_to_string(opened.with_extension("args")).unwrap();
    assert!(
        args.starts_with("http://127.0.0.1:") && !args.contains("fake-token"),
        "{args}"
    );

    // An opener that fails: the URL goes to stdout, with a note on stderr.
    let (path, _) = fake_opener(&world, 3);
    world.home.env("PATH", &path);
    let run = world.run(&["login", "readonly"]);
    assert_eq!(run.ok(), url);
    assert_eq!(
        run.stderr,
        "note: could not open a browser (`xdg-open` exited with exit status: 3); open the URL on stdout within 15 minutes to sign in\n"
    );
}

#[test]
fn login_refused_or_unreachable() {
    let (mut world, federation) = login_world("400 Bad Request");
    let run = world.run(&["login", "--stdout", "readonly"]);
    assert_eq!(
        run.fails(),
        format!(
            "error: no console sign-in token from `{}`: HTTP 400\n\
             hint: the endpoint takes role sessions and GetFederationToken credentials that have not expired; check AWS_VAULT_FEDERATION_URL if set, or `vault clear PROFILE` and try again\n",
            federation.url
        )
    );

    // Nothing listening: the error names the endpoint, never the request (it holds the keys).
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/federation", listener.local_addr().unwrap())
    };
    world.home.env("AWS_VAULT_FEDERATION_URL", &closed);
    let run = world.run(&["login", "--stdout", "readonly"]);
    let stderr = run.fails();
    assert!(
        stderr.starts_with(&format!(
            "error: could not reach the AWS sign-in endpoint at `{closed}`: "
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("Session"), "{stderr}");
}
