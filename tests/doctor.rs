//! `vault doctor` through the real binary: each check's line and fix, the exit status, the
//! JSON report, and the online checks against moto's STS and IAM (one STS and two IAM
//! calls per base profile): an MFA device or none, an old key (libfaketime), a skewed clock
//! (libfaketime), and an account that refuses IAM calls without MFA ("not checked").

mod support;

use std::process::Command;

use serde_json::Value;
use support::{Run, World, http, test_path};

/// The report's line for `check` about `subject` text, with its fix line if any.
fn line<'a>(run: &'a Run, status: &str, check: &str, contains: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.starts_with(&format!("{status:<5} {check:<15} ")) && l.contains(contains))
        .unwrap_or_else(|| {
            panic!(
                "no `{status} {check} ...{contains}...` line: {}",
                run.stdout
            )
        })
}

fn fix_after(run: &Run, report_line: &str) -> Option<String> {
    let mut lines = run.stdout.lines();
    lines.find(|l| *l == report_line)?;
    lines
        .next()
        .and_then(|l| l.strip_prefix("      fix: "))
        .map(str::to_string)
}

/// The real `aws` CLI with jane's keys (she may do anything without MFA), for IAM setup.
fn aws_as_jane(world: &World, args: &[&str]) -> String {
    let jane = world.moto.user("jane");
    let output = Command::new("aws")
        .args(args)
        .env_clear()
        .env("HOME", world.home.path())
        .env("PATH", test_path())
        .env("AWS_ENDPOINT_URL", &world.moto.endpoint)
        .env("AWS_DEFAULT_REGION", "eu-west-2")
        .env("AWS_ACCESS_KEY_ID", jane["access_key_id"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            jane["secret_access_key"].as_str().unwrap(),
        )
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    let run = Run::from(output);
    run.ok().to_string()
}

/// A new IAM user with keys, stored in vault as profile `name`.
fn user_with_keys(world: &World, name: &str, policy: Option<&str>) {
    aws_as_jane(world, &["iam", "create-user", "--user-name", name]);
    if let Some(policy) = policy {
        aws_as_jane(
            world,
            &[
                "iam",
                "put-user-policy",
                "--user-name",
                name,
                "--policy-name",
                "p",
                "--policy-document",
                policy,
            ],
        );
    }
    let key: Value = serde_json::from_str(&aws_as_jane(
        world,
        &["iam", "create-access-key", "--user-name", name],
    ))
    .unwrap();
    world
        .home
        .add_keys(
            name,
            key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
            key["AccessKey"]["SecretAccessKey"].as_str().unwrap(),
        )
        .ok();
}

fn recorded(world: &World) -> Vec<String> {
    http(
        &world.moto.endpoint,
        "GET",
        "/_vault_test/recorded-calls",
        "",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn offline_a_sound_setup_passes_and_says_so() {
    let world = World::new();
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    world.home.config(&format!(
        "{config}\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
    ));
    let run = world.run(&["doctor", "--offline"]);
    assert_eq!(run.status, Some(0), "{run:#?}");
    line(
        &run,
        "ok",
        "sso-session",
        "`corp`: not signed in; the first command that needs it signs in",
    );
    assert_eq!(run.stderr, "");
    line(&run, "ok", "backend", "the `file` backend answers");
    line(
        &run,
        "ok",
        "plaintext-keys",
        "no long-lived keys in plaintext in `~/.aws/credentials`",
    );
    line(
        &run,
        "ok",
        "aws-vault-store",
        "no aws-vault store holds keys that vault lacks",
    );
    line(&run, "ok", "file-mode", "`~/.aws/config` is ");
    line(&run, "ok", "profile", "profile `target-account` resolves");
    line(
        &run,
        "ok",
        "vault-full",
        "`vault-full` is installed beside `vault`",
    );
    assert!(
        !run.stdout.contains("clock"),
        "--offline made calls: {}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(" warn, 0 fail, 0 not checked\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn offline_problems_fail_with_their_fixes() {
    let world = World::new();
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    world.home.config(&format!(
        "{config}\n[profile loop-a]\nsource_profile = loop-b\n[profile loop-b]\nsource_profile = loop-a\nmfa_seriall = x\n"
    ));
    world.home.credentials(
        "[old]\naws_access_key_id = AKIAOLD\naws_secret_access_key = s3cr3t-never-printed\n",
    );
    let credentials = world.home.path().join(".aws/credentials");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
    world.home.write(".awsvault/keys/legacy", "not decrypted");

    let run = world.run(&["doctor", "--offline"]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert!(!run.stdout.contains("s3cr3t-never-printed"));
    let l = line(&run, "warn", "plaintext-keys", "profile `old`");
    assert_eq!(
        fix_after(&run, l).as_deref(),
        Some("vault import credentials-file --profile old")
    );
    let l = line(
        &run,
        "warn",
        "file-mode",
        "`~/.aws/credentials` (644) can be read by others",
    );
    assert_eq!(
        fix_after(&run, l).as_deref(),
        Some("chmod 600 ~/.aws/credentials")
    );
    let l = line(&run, "fail", "profile", "profile `loop-a` does not resolve");
    assert_eq!(fix_after(&run, l).as_deref(), Some("vault show loop-a"));
    let l = line(&run, "warn", "unknown-key", "sets `mfa_seriall`");
    assert!(
        l.ends_with("which vault and the AWS CLI ignore; did you mean `mfa_serial`?"),
        "{l}"
    );
    let l = line(
        &run,
        "warn",
        "aws-vault-store",
        "has keys not imported: `legacy`",
    );
    assert_eq!(
        fix_after(&run, l).as_deref(),
        Some("vault import aws-vault --from file")
    );
    assert!(
        run.stdout.ends_with(" 2 fail, 0 not checked\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn online_one_sts_and_two_iam_calls_and_the_mfa_device() {
    let world = World::new();
    world.moto.start_recording();
    let run = world.run(&["doctor", "gds-users"]);
    assert_eq!(run.status, Some(0), "{run:#?}");
    assert_eq!(
        recorded(&world),
        [
            "sts:GetCallerIdentity",
            "iam:ListAccessKeys",
            "iam:ListMFADevices"
        ]
    );
    line(&run, "ok", "clock", "the clock agrees with AWS's");
    line(&run, "ok", "key-age", "`gds-users`: the access key ****");
    // jane has a device, but `gds-users` sets no `mfa_serial`.
    let l = line(&run, "warn", "mfa-device", "the user has the MFA device");
    assert_eq!(fix_after(&run, l).as_deref(), Some("vault setup gds-users"));
    let jane = world.moto.user("jane");
    let secret = jane["secret_access_key"].as_str().unwrap();
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    assert!(
        !run.stdout.contains(jane["access_key_id"].as_str().unwrap()),
        "unmasked key id"
    );

    // With the serial set, all is well; bob has no device at all.
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    world.home.config(&config.replacen(
        "[profile gds-users]\n",
        &format!("[profile gds-users]\nmfa_serial = {}\n", world.serial),
        1,
    ));
    let run = world.run(&["doctor", "gds-users"]);
    line(&run, "ok", "mfa-device", "is assigned to the user");
    // A role's check is its base profile's: the same three calls.
    world.moto.start_recording();
    let run = world.run(&["doctor", "target-account"]);
    line(&run, "ok", "key-age", "`gds-users`: the access key ****");
    assert_eq!(
        recorded(&world),
        [
            "sts:GetCallerIdentity",
            "iam:ListAccessKeys",
            "iam:ListMFADevices"
        ]
    );
    world.add_keys("bob", "bob");
    let run = world.run(&["doctor", "bob"]);
    let l = line(
        &run,
        "warn",
        "mfa-device",
        "no MFA device is assigned to the user",
    );
    assert_eq!(fix_after(&run, l).as_deref(), Some("vault setup bob"));
}

#[test]
fn online_calls_refused_without_mfa_are_not_checked() {
    let world = World::new();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
    user_with_keys(&world, "kim", Some(policy));
    let run = world.run(&["doctor", "kim"]);
    assert_eq!(run.status, Some(0), "{run:#?}");
    line(&run, "ok", "clock", "");
    line(&run, "skip", "key-age", "`kim`: not checked (needs MFA)");
    line(&run, "skip", "mfa-device", "`kim`: not checked (needs MFA)");
}

#[test]
fn online_the_root_user_s_keys_fail_after_one_sts_call() {
    let world = World::new();
    let root = &world.moto.state["root"];
    let secret = root["secret_access_key"].as_str().unwrap();
    world
        .home
        .add_keys("owner", root["access_key_id"].as_str().unwrap(), secret)
        .ok();
    world.moto.start_recording();
    let run = world.run(&["doctor", "owner"]);
    assert_eq!(run.status, Some(1), "{run:#?}");
    // Nothing is asked of IAM for keys that have no IAM user.
    assert_eq!(recorded(&world), ["sts:GetCallerIdentity"]);
    line(&run, "ok", "clock", "the clock agrees with AWS's");
    let l = line(
        &run,
        "fail",
        "key-age",
        "`owner`: the stored keys are the account's root user's (`arn:aws:iam::123456789012:root`)",
    );
    assert_eq!(
        fix_after(&run, l).as_deref(),
        Some("vault remove owner && vault setup owner")
    );
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
}

#[test]
fn online_an_old_key_and_a_skewed_clock_warn() {
    let world = World::new();
    let mut command = world
        .home
        .wrapped(&["faketime", "+100 days"], ["doctor", "gds-users"]);
    command.env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let run = Run::from(command.output().unwrap());
    let l = line(&run, "warn", "clock", "the clock is ");
    assert!(l.contains(" s ahead of AWS's"), "{l}");
    assert_eq!(
        fix_after(&run, l).as_deref(),
        Some("sudo timedatectl set-ntp true")
    );
    let l = line(&run, "warn", "key-age", "days old (over 90)");
    assert_eq!(
        fix_after(&run, l).as_deref(),
        Some("vault rotate gds-users")
    );
    // Warnings only: the exit status is 0.
    assert_eq!(run.status, Some(0), "{run:#?}");
}

#[test]
fn json_is_stable() {
    let world = World::new();
    let run = world.run(&["doctor", "--offline", "--json"]);
    assert_eq!(run.status, Some(0), "{run:#?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["ok"], true);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks[0]["check"], "backend");
    for check in checks {
        let object = check.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["check", "fix", "message", "status", "subject"]);
        assert!(["ok", "warn", "fail", "not-checked"].contains(&check["status"].as_str().unwrap()));
    }
    let run = world.run(&["doctor", "nope", "--offline"]);
    assert!(
        run.fails().starts_with("error: profile `nope` not found"),
        "{run:?}"
    );
}

/// The AWS CLI's token for a session, as `aws sso login` leaves it in `~/.aws/sso/cache`
/// (a name that is the SHA-1 of the session's name), ending `hours` from now.
fn cli_token(world: &World, session: &str, start_url: &str, hours: u64, refreshable: bool) {
    let sha1 = Command::new("sh")
        .args([
            "-c",
            "printf %s \"$1\" | sha1sum | cut -c1-40",
            "sh",
            session,
        ])
        .output()
        .unwrap();
    let name = String::from_utf8(sha1.stdout).unwrap().trim().to_string();
    let at = |secs: u64| {
        let t = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
        humantime::format_rfc3339_seconds(t).to_string()
    };
    let mut token = serde_json::json!({
        "startUrl": start_url,
        "region": "eu-west-1",
        "accessToken": "sso-access-token-never-printed",
        "expiresAt": at(hours * 3600),
    });
    if refreshable {
        token["refreshToken"] = "sso-refresh-token-never-printed".into();
        token["clientId"] = "client".into();
        token["clientSecret"] = "sso-client-secret-never-printed".into();
        token["registrationExpiresAt"] = at(30 * 86400).into();
    }
    let path = world
        .home
        .write(&format!(".aws/sso/cache/{name}.json"), &token.to_string());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// With `--offline` nothing unlocks the store, yet a file store whose key is neither cached
/// nor in `AWS_VAULT_FILE_PASSPHRASE` is reported locked, and no passphrase is asked. SSO
/// sign-ins the AWS CLI made are read from its cache: one ending within a day warns, one it
/// can refresh for a month does not, and no token is printed.
#[test]
fn offline_a_locked_store_and_the_cli_s_sso_tokens() {
    let world = World::new();
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    world.home.config(&format!(
        "{config}\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
         [sso-session team]\nsso_start_url = https://team.awsapps.com/start\nsso_region = eu-west-1\n"
    ));
    cli_token(&world, "corp", "https://corp.awsapps.com/start", 3, false);
    cli_token(&world, "team", "https://team.awsapps.com/start", 1, true);

    let mut command = world.home.command(["doctor", "--offline"]);
    command
        .env_remove("AWS_VAULT_FILE_PASSPHRASE")
        .env("AWS_VAULT_UNLOCK_TTL", "15m")
        .stdin(std::process::Stdio::null());
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.status, Some(0), "{run:#?}");
    assert_eq!(run.stderr, "", "asked or warned: {run:#?}");
    line(
        &run,
        "ok",
        "backend",
        "the `file` backend answers; it is locked, so the next command that needs a key asks to unlock it",
    );
    let l = line(
        &run,
        "warn",
        "sso-session",
        "`corp`: the sign-in ends in 2h5",
    );
    assert_eq!(
        fix_after(&run, l).as_deref(),
        Some("vault sso login --sso-session corp")
    );
    line(&run, "ok", "sso-session", "`team`: signed in for 29d23h");
    assert!(!run.stdout.contains("never-printed"), "{}", run.stdout);

    // With the passphrase in the environment it is not locked.
    let run = world.run(&["doctor", "--offline"]);
    line(&run, "ok", "backend", "the `file` backend answers");
    assert!(!run.stdout.contains("locked"), "{}", run.stdout);
}
