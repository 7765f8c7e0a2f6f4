//! IAM Identity Center end to end: the real binary against the fake SSO (`fake_sso.py`,
//! proven against boto3 by `check_fake_sso.py`) whose role credentials are real sessions of
//! the local STS (moto), with boto3 and the `aws` CLI as independent clients and a script
//! named in `BROWSER` playing the browser. The fake's call counts prove single-flight.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use support::federation::FakeFederation;
use support::{FakeSso, Run, World, bounded, python, wait_all};

const START_URL: &str = "https://d-1234567890.awsapps.com/start";

/// A browser: fetches the URL it is given (vault's local page), then the sign-in page that
/// one redirects to, following the redirect to vault's callback. With `WRONG_STATE` it first
/// calls the callback with another `state`. Each run appends a line to `browser.log` (one
/// line per tab opened: its argv) and the sign-in page to `pages.log`.
const BROWSER: &str = r#"
import os, sys, urllib.error, urllib.parse, urllib.request
url = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "browser.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
try:
    urllib.request.build_opener(Stay).open(url, timeout=10)
    page = url
except urllib.error.HTTPError as e:
    page = e.headers.get("Location", url)
with open(os.path.join(here, "pages.log"), "a") as log:
    log.write(page + "\n")
if os.environ.get("WRONG_STATE"):
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page).query))
    bad = q["redirect_uri"] + "?code=stolen&state=not-" + q["state"]
    try:
        urllib.request.urlopen(bad, timeout=10)
    except urllib.error.HTTPError as e:
        with open(os.path.join(here, "wrong-state.status"), "w") as f:
            f.write(str(e.code))
try:
    urllib.request.urlopen(page, timeout=30).read()
except urllib.error.HTTPError:
    pass
"#;

struct Sso {
    world: World,
    fake: FakeSso,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn utc(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}

fn sha1_name(key: &str) -> String {
    let digest = Sha1::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.json")
}

impl Sso {
    fn new() -> Sso {
        let mut world = World::new();
        let fake = FakeSso::start(Some(&world.moto));
        world
            .home
            .env("AWS_ENDPOINT_URL_SSO", &fake.endpoint)
            .env("AWS_ENDPOINT_URL_SSO_OIDC", &fake.endpoint);
        world.home.config(&format!(
            "\
[profile dev]
sso_session = my-sso
sso_account_id = 123456789012
sso_role_name = readonly
region = eu-west-1

[profile dev-admin]
sso_session = my-sso
sso_account_id = 123456789012
sso_role_name = admin

[profile sandbox-power]
sso_session = my-sso
sso_account_id = 333333333333
sso_role_name = poweruser

[profile prod]
sso_session = my-sso
sso_account_id = 210987654321
sso_role_name = readonly

[profile legacy]
sso_start_url = {START_URL}
sso_region = eu-west-1
sso_account_id = 210987654321
sso_role_name = readonly

[profile partner-via-sso]
source_profile = dev
role_arn = {partner}
external_id = ext-123

[sso-session my-sso]
sso_start_url = {START_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
",
            partner = world.moto.role_arn("partner"),
        ));
        Sso { world, fake }
    }

    fn home(&self) -> &support::Home {
        &self.world.home
    }

    /// Makes `BROWSER` the test browser (so a person "can be asked").
    fn with_browser(&mut self) {
        let script = self.home().write("browser/browser.py", BROWSER);
        let browser = format!("{} {}", python(), script.display());
        self.world.home.env("BROWSER", browser);
    }

    fn browser_tabs(&self) -> usize {
        std::fs::read_to_string(self.home().path().join("browser/browser.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    fn cache_file(&self, key: &str) -> PathBuf {
        self.home()
            .path()
            .join(".aws/sso/cache")
            .join(sha1_name(key))
    }

    /// A token as `aws sso login` leaves it, for `key`, expiring in `seconds`.
    fn cli_token(&self, key: &str, seconds: u64) -> Value {
        self.cli_token_for(key, START_URL, seconds)
    }

    fn cli_token_for(&self, key: &str, start_url: &str, seconds: u64) -> Value {
        let issued = self.fake.control("/_fake/issue", json!({"scopes": true}));
        let token = json!({
            "startUrl": start_url,
            "region": "eu-west-1",
            "accessToken": issued["accessToken"],
            "expiresAt": utc(now() + seconds),
            "clientId": issued["clientId"],
            "clientSecret": issued["clientSecret"],
            "registrationExpiresAt": utc(issued["registrationExpiresAt"].as_u64().unwrap()),
            "refreshToken": issued["refreshToken"],
        });
        self.home().write(
            &format!(".aws/sso/cache/{}", sha1_name(key)),
            &serde_json::to_string_pretty(&token).unwrap(),
        );
        token
    }

    fn run(&self, args: &[&str]) -> Run {
        self.world.run(args)
    }

    /// Run with no terminal (setsid), so that no person can be asked.
    fn detached(&self, args: &[&str]) -> Run {
        Run::from(self.home().detached(args).output().unwrap())
    }

    fn arn(&self, profile: &str) -> String {
        self.world.caller_arn(&[profile])
    }
}

fn assumed(role: &str) -> String {
    format!("arn:aws:sts::123456789012:assumed-role/{role}/")
}

#[test]
fn a_token_the_aws_cli_left_is_used_and_role_credentials_are_cached() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    let arn = sso.arn("dev");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    // Warm: the cached role session, no portal call.
    let arn = sso.arn("dev");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    // A role on top, assumed in moto's STS with the SSO role's credentials.
    let arn = sso.arn("partner-via-sso");
    assert!(arn.starts_with(&assumed("partner")), "{arn}");
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    // export, and credential_process through it.
    let json: Value =
        serde_json::from_str(sso.run(&["export", "--format", "json", "dev"]).ok()).unwrap();
    assert_eq!(json["Version"], 1);
    // list: the sign-in in the Credentials column, the role session in Sessions.
    let list = sso.run(&["list"]);
    let line = list.ok().lines().find(|l| l.starts_with("dev ")).unwrap();
    assert!(line.contains("sso:my-sso"), "{line}");
    assert!(line.contains("sso.GetRoleCredentials:"), "{line}");
    let show = sso.run(&["show", "dev"]);
    let show = show.ok();
    assert!(
        show.contains("1. dev: sso.GetRoleCredentials account 123456789012 role readonly: cached"),
        "{show}"
    );
    assert!(show.contains("SSO sign-in (sso:my-sso): a token in `~/.aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json` that expires in 7h"), "{show}");
    assert_eq!(sso.fake.calls("RegisterClient"), 0);
    assert_eq!(sso.fake.calls("CreateToken.refresh_token"), 0);
}

#[test]
fn a_legacy_profile_uses_the_start_url_s_file() {
    let sso = Sso::new();
    let token = sso.cli_token(START_URL, 8 * 3600);
    assert!(
        sso.cache_file(START_URL)
            .ends_with("7487b5b67d5fa1132cf33fa93ae51ef38cc37752.json")
    );
    let arn = sso.arn("legacy");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    let log = sso.fake.control("/_fake/log", Value::Null);
    let bearer = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["op"] == "GetRoleCredentials")
        .map(|e| e["bearer"].clone())
        .unwrap();
    assert_eq!(bearer, token["accessToken"]);
    assert_eq!(
        log.as_array()
            .unwrap()
            .iter()
            .find(|e| e["op"] == "GetRoleCredentials")
            .unwrap()["query"]["account_id"],
        "210987654321"
    );
}

#[test]
fn without_a_token_or_a_person_it_says_how_to_sign_in() {
    let sso = Sso::new();
    let run = sso.detached(&["export", "dev"]);
    assert_eq!(
        run.fails(),
        "error: no usable IAM Identity Center sign-in for `my-sso`: not logged in\nhint: run `vault sso login dev`\n"
    );
    assert_eq!(sso.fake.calls("RegisterClient"), 0);
}

#[test]
fn pkce_login_through_the_browser_then_refresh_without_it() {
    let mut sso = Sso::new();
    sso.with_browser();
    // A login that lasts 10 minutes: inside the 15-minute refresh window.
    sso.fake.config(json!({"expires_in": 600}));
    let arn = sso.arn("dev");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    assert_eq!(sso.browser_tabs(), 1);
    assert_eq!(sso.fake.calls("RegisterClient"), 1);
    assert_eq!(sso.fake.calls("CreateToken.authorization_code"), 1);
    let clients = sso.fake.control("/_fake/clients", Value::Null);
    let client = clients.as_object().unwrap().values().next().unwrap();
    assert_eq!(client["scopes"], json!(["sso:account:access"]));
    assert_eq!(
        client["grantTypes"],
        json!(["authorization_code", "refresh_token"])
    );
    // Nothing of it in the AWS CLI's cache unless asked.
    assert!(!sso.cache_file("my-sso").exists());
    // The role session is cleared: the next use refreshes the token, with no browser.
    sso.fake.config(json!({"expires_in": 8 * 3600}));
    sso.run(&["clear"]).ok();
    let arn = sso.arn("dev");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    assert_eq!(sso.browser_tabs(), 1);
    assert_eq!(sso.fake.calls("CreateToken.refresh_token"), 1);
    assert_eq!(sso.fake.calls("RegisterClient"), 1);
    // The refreshed token is kept: no refresh the next time.
    sso.run(&["clear"]).ok();
    sso.arn("dev");
    assert_eq!(sso.fake.calls("CreateToken.refresh_token"), 1);
}

#[test]
fn a_callback_with_the_wrong_state_is_refused() {
    let mut sso = Sso::new();
    sso.with_browser();
    sso.world.home.env("WRONG_STATE", "1");
    let run = sso.run(&["sso", "login", "dev"]);
    assert_eq!(run.ok(), "", "nothing on stdout");
    let status = std::fs::read_to_string(sso.home().path().join("browser/wrong-state.status"));
    assert_eq!(status.unwrap(), "400");
    assert!(
        run.stderr.contains("/authorize?response_type=code"),
        "{}",
        run.stderr
    );
    // The stolen code was never exchanged; the real one was.
    assert_eq!(sso.fake.calls("CreateToken.authorization_code"), 1);
}

#[test]
fn device_code_login_honours_slow_down_and_prints_the_code_on_stderr() {
    let sso = Sso::new();
    sso.fake
        .config(json!({"device_errors": ["SlowDownException"], "pending_polls": 0}));
    let run = sso.run(&["sso", "login", "--use-device-code", "dev"]);
    assert_eq!(run.ok(), "");
    assert!(
        run.stderr.contains("and enter the code\n  "),
        "{}",
        run.stderr
    );
    let log = sso.fake.control("/_fake/log", Value::Null);
    let polls = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "CreateToken")
        .count();
    assert_eq!(polls, 2, "one slow_down, then the token");
    let clients = sso.fake.control("/_fake/clients", Value::Null);
    let client = clients.as_object().unwrap().values().next().unwrap();
    assert_eq!(client["scopes"], json!(["sso:account:access"]));
    // The login is used without another one.
    let arn = sso.detached(&[
        "exec",
        "dev",
        "--",
        "aws",
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ]);
    assert!(arn.ok().starts_with(&assumed("AWSReservedSSO_readonly")));
    assert_eq!(sso.fake.calls("StartDeviceAuthorization"), 1);
}

#[test]
fn device_code_denied_and_expired_are_clear_errors() {
    let sso = Sso::new();
    sso.fake.config(json!({"deny": true}));
    let run = sso.run(&["sso", "login", "--use-device-code", "dev"]);
    assert!(
        run.fails().contains("error: the IAM Identity Center sign-in for `my-sso` did not finish: the sign-in was denied\n"),
        "{}",
        run.stderr
    );
    sso.fake
        .config(json!({"deny": false, "device_expired": true}));
    let run = sso.run(&["sso", "login", "--use-device-code", "dev"]);
    assert!(run.fails().contains("the code expired"), "{}", run.stderr);
    // The registration was reused for the second attempt.
    assert_eq!(sso.fake.calls("RegisterClient"), 1);
}

#[test]
fn twenty_callers_make_one_login_then_one_refresh() {
    // Four profiles (four role sessions, each with its own lock) on one sign-in: the
    // sign-in's own lock is what keeps it to one login and one refresh.
    const PROFILES: [&str; 4] = ["dev", "dev-admin", "sandbox-power", "prod"];
    let mut sso = Sso::new();
    sso.with_browser();
    sso.fake.config(json!({"token_delay": 0.3}));
    let spawn_all = |sso: &Sso| {
        (0..20)
            .map(|i| {
                sso.home()
                    .command(["export", "--format", "json", PROFILES[i % 4]])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let outputs = wait_all(spawn_all(&sso));
    assert!(outputs.iter().all(|o| o.contains("AccessKeyId")));
    assert_eq!(sso.browser_tabs(), 1, "one browser tab for 20 callers");
    assert_eq!(sso.fake.calls("RegisterClient"), 1);
    assert_eq!(sso.fake.calls("Authorize"), 1);
    assert_eq!(sso.fake.calls("CreateToken.authorization_code"), 1);
    assert_eq!(
        sso.fake.calls("GetRoleCredentials"),
        4,
        "one a role session"
    );
    // A sign-in that lasts 10 minutes (inside the 15-minute refresh window), the role
    // sessions gone: the next callers need a refresh.
    sso.fake.config(json!({"expires_in": 600}));
    sso.run(&["sso", "login", "dev"]).ok();
    sso.run(&["clear"]).ok();
    sso.fake.config(json!({"expires_in": 8 * 3600}));
    let outputs = wait_all(spawn_all(&sso));
    assert!(outputs.iter().all(|o| o.contains("AccessKeyId")));
    assert_eq!(
        sso.fake.calls("CreateToken.refresh_token"),
        1,
        "one refresh for 20 callers"
    );
    assert_eq!(
        sso.fake.calls("CreateToken.authorization_code"),
        2,
        "the test's own"
    );
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 8);
    assert_eq!(sso.browser_tabs(), 2, "the test's own sign-in only");
    eprintln!(
        "20 callers, 4 role sessions, two rounds: logins {} (+1 by the test), refreshes {}, GetRoleCredentials {}",
        sso.fake.calls("CreateToken.authorization_code") - 1,
        sso.fake.calls("CreateToken.refresh_token"),
        sso.fake.calls("GetRoleCredentials")
    );
}

/// A boto3 child in the test's HOME: the profile's credentials through botocore's own SSO
/// providers, then who they are in moto's STS.
const BOTO: &str = r#"
import json, sys, boto3
session = boto3.Session(profile_name=sys.argv[1])
creds = session.get_credentials().get_frozen_credentials()
print(json.dumps({"arn": session.client("sts").get_caller_identity()["Arn"]}))
"#;

fn boto(sso: &Sso, profile: &str) -> Value {
    let output = sso
        .home()
        .child(&python(), &["-c", BOTO, profile])
        .output()
        .unwrap();
    let run = Run::from(output);
    serde_json::from_str(run.ok()).unwrap()
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bearers(sso: &Sso) -> Vec<Value> {
    let log = sso.fake.control("/_fake/log", Value::Null);
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "GetRoleCredentials")
        .map(|e| e["bearer"].clone())
        .collect()
}

#[test]
fn the_shared_cache_is_one_login_for_vault_and_boto3_both_ways() {
    use std::os::unix::fs::PermissionsExt;
    let mut sso = Sso::new();
    sso.with_browser();
    sso.world.home.env("AWS_VAULT_SSO_TOKEN_CACHE", "shared");
    sso.run(&["export", "dev"]).ok();
    let path = sso.cache_file("my-sso");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let file = read_json(&path);
    for field in [
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
    ] {
        assert!(file[field].is_string(), "{field} missing: {file}");
    }
    assert!(file["expiresAt"].as_str().unwrap().ends_with('Z'));
    // A. boto3 uses vault's token as it is: no refresh, the same bearer.
    let got = boto(&sso, "dev");
    assert!(
        got["arn"]
            .as_str()
            .unwrap()
            .starts_with(&assumed("AWSReservedSSO_readonly"))
    );
    assert_eq!(sso.fake.calls("CreateToken.refresh_token"), 0);
    assert_eq!(bearers(&sso).last().unwrap(), &file["accessToken"]);

    // B. A vault login that lasts 10 minutes: botocore refreshes it (its window is 15
    // minutes) with vault's client fields, and rewrites the file.
    sso.fake.config(json!({"expires_in": 600}));
    sso.run(&["sso", "login", "dev"]).ok();
    let before = read_json(&path);
    sso.fake.config(json!({"expires_in": 8 * 3600}));
    boto(&sso, "dev");
    assert_eq!(sso.fake.calls("CreateToken.refresh_token"), 1);
    let after = read_json(&path);
    assert_ne!(after["accessToken"], before["accessToken"]);
    assert_eq!(after["clientId"], before["clientId"]);
    // C. vault uses the token botocore refreshed, without refreshing it again.
    sso.run(&["clear"]).ok();
    sso.run(&["export", "dev"]).ok();
    assert_eq!(sso.fake.calls("CreateToken.refresh_token"), 1);
    assert_eq!(bearers(&sso).last().unwrap(), &after["accessToken"]);
}

#[test]
fn bad_token_files_are_clear_errors_and_left_alone() {
    let sso = Sso::new();
    let path = sso.cache_file("my-sso");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    for (text, problem) in [
        (
            r#"{"accessToken": "x", "expiresAt": "2030-"#,
            "it is truncated",
        ),
        (
            "<html>",
            "it is not an SSO token file: expected value at line 1 column 1",
        ),
        (
            r#"{"accessToken": "x", "expiresAt": "2030-01-01T00:00:00+00:00"}"#,
            "`expiresAt`: `2030-01-01T00:00:00+00:00` is not a UTC time like `2026-12-01T03:00:27Z` (the AWS CLI's format)",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let run = sso.detached(&["export", "dev"]);
        assert_eq!(
            run.fails(),
            format!(
                "error: the SSO token file `{}` cannot be used: {problem}\nhint: sign in again (`vault sso login PROFILE` or `aws sso login`), which replaces the file\n",
                path.display()
            )
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "left as it was"
        );
    }
}

// Issue 12, item 2: every SSO validation error names the file, the line and the key.
#[test]
fn config_errors_name_the_file_line_and_key() {
    let sso = Sso::new();
    let session =
        "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\n";
    let check = |config: &str, args: &[&str], expect: &str| {
        sso.home().config(config);
        let run = sso.run(args);
        assert_eq!(run.fails(), expect, "{config}");
    };
    let export = ["export", "p"];
    check(
        "[profile p]\nsso_session = nope\nsso_account_id = 111111111111\nsso_role_name = r\n",
        &export,
        "error: `~/.aws/config` line 2: `sso_session`: sso-session named `nope` (referenced by profile `p`) was not found\n\
         hint: add `[sso-session nope]` with `sso_start_url` and `sso_region` to the config\n",
    );
    check(
        &format!(
            "[profile p]\nsso_session = ss\nsso_account_id = 111111111111\nsso_role_name = r\n{session}"
        ),
        &export,
        "error: `~/.aws/config` line 2: `sso_session`: sso-session named `ss` (referenced by profile `p`) was not found\n\
         hint: did you mean `s`?\n",
    );
    check(
        &format!(
            "[profile p]\nsso_session = s\nsso_start_url = https://other.awsapps.com/start\nsso_account_id = 111111111111\nsso_role_name = r\n{session}"
        ),
        &export,
        "error: `~/.aws/config` line 3: `sso_start_url` can only be specified in the [sso-session] config when a session name is given (profile `p` names `s`)\n\
         hint: remove it from `[profile p]`; `[sso-session s]` holds it\n",
    );
    let http = "[profile p]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = r\n\n[sso-session s]\nsso_start_url = http://x.awsapps.com/start\nsso_region = eu-west-1\n";
    let https_error = "error: `~/.aws/config` line 7: `sso_start_url` of `[sso-session s]` must use https: `http://x.awsapps.com/start`\n\
         hint: start URLs look like `https://d-1234567890.awsapps.com/start`\n";
    check(http, &export, https_error);
    check(http, &["sso", "login", "p"], https_error);
    check(http, &["sso", "login", "--sso-session", "s"], https_error);
    let no_region = "[profile p]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = r\n[sso-session s]\nsso_start_url = https://x.awsapps.com/start\n";
    let no_region_error = "error: `~/.aws/config` line 5: `[sso-session s]` is configured to use SSO but is missing `sso_region`\n\
         hint: add `sso_region` to `[sso-session s]`\n";
    check(no_region, &export, no_region_error);
    check(
        no_region,
        &["sso", "login", "--sso-session", "s"],
        no_region_error,
    );
    let legacy = "[default]\nregion = eu-west-1\n\n[profile p]\nsso_start_url = http://x.awsapps.com/start\nsso_account_id = 111111111111\nsso_role_name = r\n";
    check(
        legacy,
        &export,
        "error: `~/.aws/config` line 4: `[profile p]` is configured to use SSO but is missing `sso_region`\n\
         hint: add `sso_region` to `[profile p]`\n",
    );
    check(
        &legacy.replace("sso_account_id", "sso_region = eu-west-1\nsso_account_id"),
        &["sso", "login", "p"],
        "error: `~/.aws/config` line 5: `sso_start_url` of `[profile p]` must use https: `http://x.awsapps.com/start`\n\
         hint: start URLs look like `https://d-1234567890.awsapps.com/start`\n",
    );
    check(
        &format!("[profile p]\nsso_session = s\nsso_account_id = 111111111111\n{session}"),
        &export,
        "error: `~/.aws/config` line 3: if `sso_account_id` is set, then `sso_role_name` must also be set (profile `p`)\n\
         hint: add `sso_role_name` to `[profile p]`\n",
    );
    check(
        &format!("[profile p]\nsso_session = s\n{session}"),
        &export,
        "error: `~/.aws/config` line 2: profile `p` names the sso-session `s` but no `sso_account_id` and `sso_role_name`, so it can sign in (`vault sso login p`) but gives no credentials\n\
         hint: add `sso_account_id` and `sso_role_name` to `[profile p]`; `vault sso populate --sso-session s` lists the ones you have\n",
    );
    // AWS_CONFIG_FILE elsewhere: that file is named.
    let elsewhere = sso.home().write("elsewhere/config", no_region);
    let run = Run::from(
        sso.home()
            .command(["export", "p"])
            .env("AWS_CONFIG_FILE", &elsewhere)
            .output()
            .unwrap(),
    );
    assert_eq!(
        run.fails(),
        "error: `~/elsewhere/config` line 5: `[sso-session s]` is configured to use SSO but is missing `sso_region`\n\
         hint: add `sso_region` to `[sso-session s]`\n"
    );
}

#[test]
fn a_portal_401_drops_the_token_and_signs_in_once_more() {
    let mut sso = Sso::new();
    sso.with_browser();
    sso.run(&["export", "dev"]).ok();
    assert_eq!(sso.browser_tabs(), 1);
    sso.run(&["clear"]).ok();
    sso.fake.config(json!({"portal_401": 1}));
    sso.run(&["export", "dev"]).ok();
    assert_eq!(sso.browser_tabs(), 2, "one new sign-in");
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 3);
    // Without a person: the error, and the refused token is not kept.
    sso.run(&["clear"]).ok();
    sso.fake.config(json!({"portal_401": 1}));
    let mut nobody = sso.home().detached(["export", "dev"]);
    nobody.env_remove("BROWSER");
    let run = Run::from(nobody.output().unwrap());
    assert_eq!(
        run.fails(),
        "error: no usable IAM Identity Center sign-in for `my-sso`: the portal refused the token\nhint: run `vault sso login dev`\n"
    );
    let show = sso.run(&["show", "dev"]);
    assert!(show.ok().contains("no token cached"), "{}", show.stdout);
}

#[test]
fn an_expired_registration_is_made_again() {
    let sso = Sso::new();
    sso.run(&["sso", "login", "--use-device-code", "dev"]).ok();
    sso.fake.control("/_fake/expire_clients", json!({}));
    sso.run(&["sso", "login", "--use-device-code", "dev"]).ok();
    assert_eq!(sso.fake.calls("RegisterClient"), 2);
    assert_eq!(sso.fake.calls("CreateToken.device_code"), 2);
}

#[test]
fn ctrl_c_while_waiting_caches_nothing_and_frees_the_lock() {
    use std::io::Read;
    let sso = Sso::new();
    sso.fake.config(json!({"pending_polls": 100000}));
    let mut child = sso
        .home()
        .command(["sso", "login", "--use-device-code", "dev"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 256];
    while !seen.contains("enter the code") {
        let n = stderr.read(&mut buffer).unwrap();
        assert!(n > 0, "{seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(sso.run(&["show", "dev"]).ok().contains("no token cached"));
    // The lock went with the process: the next sign-in does not wait.
    sso.fake.config(json!({"pending_polls": 0}));
    sso.run(&["sso", "login", "--use-device-code", "dev"]).ok();
    let shown = sso.run(&["show", "dev"]);
    assert!(shown.ok().contains("a token in vault's store"), "{shown:?}");
}

#[test]
fn populate_prints_or_appends_every_account_and_role() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    let args = [
        "sso",
        "populate",
        "--sso-session",
        "my-sso",
        "--prefix",
        "corp-",
        "--region",
        "eu-west-1",
    ];
    let run = sso.run(&args);
    let profile = |name: &str, account: &str, role: &str| {
        format!(
            "[profile corp-{name}-{role}]\nsso_session = my-sso\nsso_account_id = {account}\nsso_role_name = {role}\nregion = eu-west-1\n"
        )
    };
    let all = [
        profile("development", "123456789012", "admin"),
        profile("development", "123456789012", "readonly"),
        profile("production", "210987654321", "readonly"),
        profile("sandbox", "333333333333", "admin"),
        profile("sandbox", "333333333333", "poweruser"),
        profile("sandbox", "333333333333", "readonly"),
    ];
    assert_eq!(run.ok(), all.join("\n"));
    // Pages were followed (the fake gives 2 a page).
    assert_eq!(sso.fake.calls("ListAccounts"), 2);
    // --write appends; a section that exists is left alone; no other byte changes.
    let config_path = sso.home().path().join(".aws/config");
    let mut before = std::fs::read_to_string(&config_path).unwrap();
    before.push_str("[profile corp-production-readonly]\nregion = us-east-2");
    std::fs::write(&config_path, &before).unwrap();
    let mut write = args.to_vec();
    write.push("--write");
    let run = sso.run(&write);
    assert_eq!(run.ok(), "");
    assert!(run.stderr.contains("Added 5 profiles"), "{}", run.stderr);
    let after = std::fs::read_to_string(&config_path).unwrap();
    assert!(after.starts_with(&before), "existing bytes changed");
    assert_eq!(after.matches("[profile corp-").count(), 6);
    let arn = sso.arn("corp-sandbox-poweruser");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_poweruser")),
        "{arn}"
    );
    // Again: nothing to add, the file is untouched.
    let run = sso.run(&write);
    assert!(run.ok().is_empty() && run.stderr.contains("Added 0 profiles"));
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), after);
}

#[test]
fn logout_ends_the_sign_in_and_its_role_sessions() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    sso.run(&["export", "dev"]).ok();
    let run = sso.run(&["sso", "logout"]);
    assert_eq!(run.ok(), "");
    assert_eq!(sso.fake.calls("Logout"), 1);
    assert!(!sso.cache_file("my-sso").exists());
    let list = sso.run(&["list"]);
    let line = list.ok().lines().find(|l| l.starts_with("dev ")).unwrap();
    assert!(line.ends_with(" -"), "{line}");
    sso.detached(&["export", "dev"]).fails();
}

#[test]
fn credential_process_and_the_aws_cli_use_sso_profiles() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    let mut config = std::fs::read_to_string(sso.home().path().join(".aws/config")).unwrap();
    config
        .push_str("\n[profile via-process]\ncredential_process = vault export --format json dev\n");
    sso.home().config(&config);
    let output = sso
        .home()
        .child(
            "aws",
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "via-process",
                "--query",
                "Arn",
                "--output",
                "text",
            ],
        )
        .output()
        .unwrap();
    let run = Run::from(output);
    assert!(
        run.ok().starts_with(&assumed("AWSReservedSSO_readonly")),
        "{run:?}"
    );
    // exec --server serves the same role session to the child.
    let arn = sso.world.caller_arn(&["--server", "dev"]);
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
}

/// Adds `text` to the test's config.
fn add_config(sso: &Sso, text: &str) {
    let path = sso.home().path().join(".aws/config");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(text);
    sso.home().config(&config);
}

/// The `sso.GetRoleCredentials:...` labels in a `list` row (the Sessions column).
fn role_sessions_in_row(list: &str, profile: &str) -> usize {
    let row = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(profile))
        .unwrap_or_else(|| panic!("no row for {profile}: {list}"));
    row.matches("sso.GetRoleCredentials:").count()
}

/// Regression (issue 10): role sessions were cached per profile, so a second profile
/// naming the same sign-in, account and role called GetRoleCredentials again.
#[test]
fn profiles_naming_one_account_and_role_share_one_role_session() {
    let sso = Sso::new();
    add_config(
        &sso,
        &format!(
            "
[profile dev-too]
sso_session = my-sso
sso_account_id = 123456789012
sso_role_name = readonly

[profile legacy-too]
sso_start_url = {START_URL}
sso_region = eu-west-1
sso_account_id = 210987654321
sso_role_name = readonly
"
        ),
    );
    sso.cli_token("my-sso", 8 * 3600);
    sso.cli_token(START_URL, 8 * 3600);
    let dev = sso.run(&["export", "--format", "json", "dev"]);
    let dev: Value = serde_json::from_str(dev.ok()).unwrap();
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    // The second profile gets the same role session, with no portal call.
    let too = sso.run(&["export", "--format", "json", "dev-too"]);
    let too: Value = serde_json::from_str(too.ok()).unwrap();
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    assert_eq!(too["AccessKeyId"], dev["AccessKeyId"]);
    let arn = sso.arn("dev-too");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    // Another role of the same sign-in and account is its own session.
    sso.arn("dev-admin");
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 2);
    // Legacy profiles: keyed by start URL, account and role.
    sso.arn("legacy");
    sso.arn("legacy-too");
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 3);

    // list: one session each, shown on every row it serves; --sessions lists it once.
    let list = sso.run(&["list"]);
    assert_eq!(list.stderr, "");
    let list = list.ok();
    for (profile, sessions) in [
        ("dev", 1),
        ("dev-too", 1),
        ("dev-admin", 1),
        ("legacy", 1),
        ("legacy-too", 1),
        ("prod", 0),
    ] {
        assert_eq!(role_sessions_in_row(list, profile), sessions, "{list}");
    }
    let all = sso.world.sessions();
    assert_eq!(
        all.iter()
            .filter(|s| s.starts_with("sso.GetRoleCredentials:"))
            .count(),
        3,
        "{all:?}"
    );

    // clear PROFILE removes the shared session, whichever profile names it.
    assert_eq!(sso.run(&["clear", "dev-too"]).ok(), "Cleared 1 sessions.\n");
    let list = sso.run(&["list"]);
    assert_eq!(role_sessions_in_row(list.ok(), "dev"), 0, "{}", list.stdout);
    assert_eq!(role_sessions_in_row(list.ok(), "dev-admin"), 1);
    sso.arn("dev");
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 4);

    // logout removes them all.
    let run = sso.run(&["sso", "logout"]);
    assert_eq!(run.ok(), "");
    assert!(
        run.stderr
            .contains("Signed out of sso:my-sso: 2 role sessions deleted"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "Signed out of sso:{START_URL}: 1 role session deleted"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(sso.world.sessions(), Vec::<String>::new());
}

/// A start URL as copied from a browser (`.../start#/`) holds a `#`, which the store's name
/// rules refuse: the role session was written but never listed, so `list` warned of a
/// damaged entry and neither `clear` nor `sso logout` could remove it.
#[test]
fn a_start_url_with_a_fragment_is_listed_and_cleared() {
    let sso = Sso::new();
    let url = format!("{START_URL}#/");
    add_config(
        &sso,
        &format!(
            "
[profile copied]
sso_start_url = {url}
sso_region = eu-west-1
sso_account_id = 210987654321
sso_role_name = readonly
"
        ),
    );
    sso.cli_token_for(&url, &url, 8 * 3600);
    let arn = sso.arn("copied");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
    sso.arn("copied");
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    let list = sso.run(&["list"]);
    assert_eq!(list.stderr, "");
    assert_eq!(
        role_sessions_in_row(list.ok(), "copied"),
        1,
        "{}",
        list.stdout
    );
    let run = sso.run(&["sso", "logout"]);
    assert!(
        run.stderr
            .contains(&format!("Signed out of sso:{url}: 1 role session deleted")),
        "{}",
        run.stderr
    );
    assert_eq!(sso.world.sessions(), Vec::<String>::new());
}

/// `vault login` with an SSO profile signs in to the console with the SSO role session (the
/// one `exec` uses), getting it with a valid token: one near expiry is refreshed first,
/// without a browser. A role on top signs in with the role assumed from that session.
#[test]
fn console_login_with_an_sso_profile_and_a_role_on_top() {
    let mut sso = Sso::new();
    let federation = FakeFederation::start("200 OK");
    sso.world
        .home
        .env("AWS_VAULT_FEDERATION_URL", &federation.url);
    // Ten minutes left: within the refresh window.
    let old = sso.cli_token("my-sso", 600);
    let run = sso.detached(&["login", "--stdout", "--path", "s3/home", "dev"]);
    // AWS_DEFAULT_REGION (eu-west-2) is set for every test command and beats the profile's.
    assert_eq!(
        run.ok(),
        format!(
            "{}?Action=login&Issuer=vault&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Deu-west-2&SigninToken=fake-token-123\n",
            federation.url
        )
    );
    assert_eq!(sso.fake.calls("CreateToken.refresh_token"), 1);
    assert_eq!(sso.fake.calls("RegisterClient"), 0);
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    let log = sso.fake.control("/_fake/log", Value::Null);
    let bearer = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["op"] == "GetRoleCredentials")
        .map(|e| e["bearer"].clone())
        .unwrap();
    assert_ne!(bearer, old["accessToken"], "the refreshed token was used");
    // The session sent is the cached SSO role session: export reads it without a call.
    let session = federation.session();
    let export = sso.run(&["export", "--format", "json", "dev"]);
    let cached: Value = serde_json::from_str(export.ok()).unwrap();
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    assert_eq!(session["sessionId"], cached["AccessKeyId"]);
    assert_eq!(session["sessionKey"], cached["SecretAccessKey"]);
    assert_eq!(session["sessionToken"], cached["SessionToken"]);
    let secret = session["sessionKey"].as_str().unwrap();
    assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret));
    drop(federation);

    // A role on top: the role assumed in moto's STS with the SSO role session.
    let federation = FakeFederation::start("200 OK");
    sso.world
        .home
        .env("AWS_VAULT_FEDERATION_URL", &federation.url);
    let run = sso.detached(&["login", "--stdout", "partner-via-sso"]);
    assert!(
        run.ok()
            .starts_with(&format!("{}?Action=login&Issuer=vault&", federation.url)),
        "{run:?}"
    );
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    let session = federation.session();
    let export = sso.run(&["export", "--format", "json", "partner-via-sso"]);
    let role: Value = serde_json::from_str(export.ok()).unwrap();
    assert_eq!(session["sessionId"], role["AccessKeyId"]);
    assert_eq!(session["sessionToken"], role["SessionToken"]);
    assert_ne!(session["sessionId"], cached["AccessKeyId"]);
    let arn = sso.arn("partner-via-sso");
    assert!(arn.starts_with(&assumed("partner")), "{arn}");
}

// ---- Security review 2: findings 1, 5, 6, 7 and the flow choice (issue 12) ----------------

/// A browser that plays the review's mallory first: it follows vault's local page to the
/// sign-in page (reading `state` there, as only the person's own browser can now), sends
/// the callback with mallory's code as uid `MALLORY_UID`, then signs in for real.
const MALLORY_BROWSER: &str = r#"
import os, subprocess, sys, urllib.error, urllib.parse, urllib.request
url = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "browser.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
try:
    urllib.request.build_opener(Stay).open(url, timeout=10)
    page = url
except urllib.error.HTTPError as e:
    page = e.headers.get("Location", url)
q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page).query))
steal = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": "MALLORY-CODE", "state": q["state"]})
attack = (
    "import sys, urllib.request\n"
    "try:\n"
    "    r = urllib.request.urlopen(sys.argv[1], timeout=10)\n"
    "    print('answered', r.status)\n"
    "except Exception as e:\n"
    "    print('refused:', type(e).__name__)\n"
)
uid = os.environ["MALLORY_UID"]
out = subprocess.run(
    ["setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "/usr/bin/python3", "-c", attack, steal],
    capture_output=True, text=True, timeout=30,
)
with open(os.path.join(here, "mallory.out"), "w") as f:
    f.write(out.stdout + out.stderr)
urllib.request.urlopen(page, timeout=30).read()
"#;

/// The authorization codes vault exchanged at the fake.
fn exchanged_codes(sso: &Sso) -> Vec<String> {
    let log = sso.fake.control("/_fake/log", Value::Null);
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "CreateToken" && e["body"]["grantType"] == "authorization_code")
        .map(|e| e["body"]["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The one line the browser got as its argv: vault's local page, with no `state`, no
/// authorize URL and no code in it (review 2, finding 1: other users read argv).
fn assert_local_page_only(sso: &Sso) {
    let argv = std::fs::read_to_string(sso.home().path().join("browser/browser.log")).unwrap();
    assert_eq!(argv.lines().count(), 1, "{argv}");
    assert!(argv.starts_with("http://127.0.0.1:"), "{argv}");
    for secret in [
        "state",
        "authorize",
        "code",
        "client_id",
        "request_uri",
        "?",
    ] {
        assert!(
            !argv.contains(secret),
            "`{secret}` in the browser's argv: {argv}"
        );
    }
}

#[test]
fn another_user_s_callback_is_refused_and_the_sign_in_goes_on_with_the_browser_s_code() {
    let Some((_, mallory)) = support::users::LocalUser::pair(
        "another_user_s_callback_is_refused_and_the_sign_in_goes_on_with_the_browser_s_code",
    ) else {
        return;
    };
    let mut sso = Sso::new();
    let script = sso.home().write("browser/browser.py", MALLORY_BROWSER);
    sso.world
        .home
        .env("BROWSER", format!("{} {}", python(), script.display()))
        .env("MALLORY_UID", mallory.uid.to_string());
    let run = bounded(
        sso.home().command(["sso", "login", "dev"]),
        Duration::from_secs(120),
    );
    assert_eq!(run.ok(), "");
    let mallory_saw =
        std::fs::read_to_string(sso.home().path().join("browser/mallory.out")).unwrap();
    assert!(mallory_saw.starts_with("refused:"), "{mallory_saw}");
    let warning = format!(
        "warning: refused a connection to the IAM Identity Center sign-in page from another user (uid {}); still waiting for your browser\n",
        mallory.uid
    );
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(&format!(
            "{warning}Signed in to IAM Identity Center: {START_URL}\n"
        )),
        "{}",
        run.stderr
    );
    // Only the browser's code was exchanged, and the token it gave is the one kept.
    let codes = exchanged_codes(&sso);
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert!(codes[0].starts_with("code-"), "{codes:?}");
    assert_local_page_only(&sso);
    let arn = sso.arn("dev");
    assert!(
        arn.starts_with(&assumed("AWSReservedSSO_readonly")),
        "{arn}"
    );
}

/// A browser that first opens two hostile connections of the same user to vault's port: a
/// slowloris on the callback (a byte every 0.2 s for up to 30 s) and a 512 MiB flood with no
/// line end. It writes what each got, and vault's peak memory (vault is its parent), then
/// signs in.
const STALLING_BROWSER: &str = r#"
import os, socket, sys, threading, time, urllib.error, urllib.parse, urllib.request
url = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "browser.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
port = urllib.parse.urlsplit(url).port
out = {}
def trickle():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /oauth/callback?")
    s.settimeout(0.2)
    got = b""
    for _ in range(150):
        try:
            s.sendall(b"x")
            got = s.recv(200)
            break
        except socket.timeout:
            continue
        except OSError as e:
            got = repr(e).encode()
            break
    out["trickle"] = got.split(b"\r\n")[0].decode(errors="replace")
def flood():
    s = socket.create_connection(("127.0.0.1", port))
    chunk = b"A" * 65536
    sent = 0
    try:
        while sent < 512 << 20:
            s.sendall(chunk)
            sent += len(chunk)
        out["flood"] = "all sent"
    except OSError:
        out["flood"] = "cut off"
threads = [threading.Thread(target=trickle), threading.Thread(target=flood)]
for t in threads:
    t.start()
time.sleep(0.3)
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
try:
    urllib.request.build_opener(Stay).open(url, timeout=10)
    page = url
except urllib.error.HTTPError as e:
    page = e.headers.get("Location", url)
for t in threads:
    t.join()
with open("/proc/%d/status" % os.getppid()) as f:
    out["peak_kib"] = [l.split()[1] for l in f if l.startswith("VmHWM:")][0]
with open(os.path.join(here, "stall.out"), "w") as f:
    f.write("\n".join("%s %s" % kv for kv in sorted(out.items())) + "\n")
urllib.request.urlopen(page, timeout=30).read()
"#;

#[test]
fn a_slow_or_huge_connection_does_not_stall_the_sign_in() {
    let mut sso = Sso::new();
    let script = sso.home().write("browser/browser.py", STALLING_BROWSER);
    sso.world
        .home
        .env("BROWSER", format!("{} {}", python(), script.display()));
    let run = bounded(
        sso.home().command(["sso", "login", "dev"]),
        Duration::from_secs(120),
    );
    assert_eq!(run.ok(), "");
    assert!(
        run.stderr
            .ends_with(&format!("Signed in to IAM Identity Center: {START_URL}\n")),
        "{}",
        run.stderr
    );
    let stall = std::fs::read_to_string(sso.home().path().join("browser/stall.out")).unwrap();
    let field = |name: &str| {
        stall
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_default()
            .to_string()
    };
    // The slowloris got the whole-request deadline's answer, the flood was cut at the cap,
    // and vault never held the flood.
    assert_eq!(field("trickle"), "HTTP/1.1 408 Request Timeout", "{stall}");
    assert_eq!(field("flood"), "cut off", "{stall}");
    let peak: u64 = field("peak_kib").parse().unwrap();
    assert!(peak < 256 * 1024, "vault's peak memory {peak} KiB: {stall}");
    eprintln!(
        "vault's peak memory with a 512 MiB flood and a slowloris on its callback port: {peak} KiB"
    );
    assert_eq!(exchanged_codes(&sso).len(), 1);
    assert_local_page_only(&sso);
}

#[test]
fn a_verification_uri_that_is_an_option_or_a_file_never_reaches_the_browser() {
    let mut sso = Sso::new();
    sso.with_browser();
    let home = sso.home().path().to_path_buf();
    for (uri, why) in [
        (
            format!("--gpu-launcher=touch {}/injected", home.display()),
            "it starts with `-`, so a browser would read it as an option",
        ),
        (
            format!("file://{}/.aws/credentials", home.display()),
            "it is not an https URL",
        ),
    ] {
        sso.fake
            .config(json!({"verification_uri_complete": uri, "pending_polls": 0}));
        let run = bounded(
            sso.home()
                .command(["sso", "login", "--use-device-code", "dev"]),
            Duration::from_secs(60),
        );
        assert_eq!(run.ok(), "");
        assert!(
            run.stderr.contains(&format!("(or open {uri})\nwarning: vault does not open `{uri}` in a browser: {why}; check where it leads before you open it yourself\n")),
            "{}",
            run.stderr
        );
        assert_eq!(sso.browser_tabs(), 0, "the browser was started");
        assert!(!home.join("injected").exists());
    }
    // The fake's own page (loopback http, with the OIDC override naming the fake) is opened,
    // through vault's local page: the browser's argv holds neither the code nor the URL.
    sso.fake.config(json!({"verification_uri_complete": null}));
    let run = bounded(
        sso.home()
            .command(["sso", "login", "--use-device-code", "dev"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.ok(), "");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_local_page_only(&sso);
    let pages = std::fs::read_to_string(home.join("browser/pages.log")).unwrap();
    assert!(
        pages.starts_with(&format!("{}/device?request_uri=req-", sso.fake.endpoint)),
        "{pages}"
    );
}

/// A loopback listener standing in for whatever another user (or an HTTP proxy) runs
/// there: it keeps the first line of each request and answers 502.
struct Listener {
    port: u16,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Listener {
    fn start() -> Listener {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut line = String::new();
                let _ = std::io::BufReader::new(&stream).read_line(&mut line);
                kept.lock().unwrap().push(line.trim_end().to_string());
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Listener { port, lines }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

#[test]
fn sso_tokens_never_follow_the_global_endpoint_url_nor_http_elsewhere() {
    let sso = Sso::new();
    // Review 2, finding 6: AWS_ENDPOINT_URL is set for the wrapped command's emulator, and
    // another user holds its port. HTTPS goes through a loopback "proxy" that only records
    // where vault wanted to go: nothing leaves the machine.
    let mallory = Listener::start();
    let proxy = Listener::start();
    let with = |args: &[&str], keep_portal: bool| {
        let mut command = sso.home().detached(args);
        command
            .env_remove("AWS_ENDPOINT_URL_SSO_OIDC")
            .env("AWS_ENDPOINT_URL", mallory.url())
            .env("HTTPS_PROXY", proxy.url())
            .env("https_proxy", proxy.url());
        if !keep_portal {
            command.env_remove("AWS_ENDPOINT_URL_SSO");
        }
        bounded(command, Duration::from_secs(120))
    };
    // A token 10 minutes from expiry: the refresh (refresh token, client secret) goes to
    // AWS's OIDC endpoint, not to AWS_ENDPOINT_URL; it fails there, and the token, still
    // good, is used at the fake portal.
    let token = sso.cli_token("my-sso", 600);
    let run = with(&["--debug", "export", "--format", "json", "dev"], true);
    assert!(run.ok().contains("AccessKeyId"), "{run:?}");
    assert!(
        run.stderr.contains("SSO OIDC at https://oidc.eu-west-1.amazonaws.com gets the client secret (and a code or refresh token)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("AWS_ENDPOINT_URL is not used for IAM Identity Center (only AWS_ENDPOINT_URL_SSO_OIDC is)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "the IAM Identity Center portal at {} gets the access token",
            sso.fake.endpoint
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(token["refreshToken"].as_str().unwrap()));
    assert!(
        proxy
            .lines()
            .iter()
            .all(|l| l.starts_with("CONNECT oidc.eu-west-1.amazonaws.com:443 ")),
        "{:?}",
        proxy.lines()
    );
    assert!(!proxy.lines().is_empty());
    // No portal override either: the access token goes to AWS's portal only.
    sso.run(&["clear"]).ok();
    sso.cli_token("my-sso", 8 * 3600);
    let run = with(&["--debug", "export", "dev"], false);
    assert!(
        run.fails().contains(
            "the IAM Identity Center portal at https://portal.sso.eu-west-1.amazonaws.com gets the access token"
        ),
        "{}",
        run.stderr
    );
    assert!(
        proxy
            .lines()
            .iter()
            .any(|l| l.starts_with("CONNECT portal.sso.eu-west-1.amazonaws.com:443 ")),
        "{:?}",
        proxy.lines()
    );
    assert_eq!(
        mallory.lines(),
        Vec::<String>::new(),
        "AWS_ENDPOINT_URL got a call"
    );

    // http to another host: refused before anything is sent (an HTTP proxy would see it).
    let http = Listener::start();
    let mut command = sso.home().detached(["export", "dev"]);
    command
        .env("AWS_ENDPOINT_URL_SSO", "http://sso.example.test:4566")
        .env("HTTP_PROXY", http.url())
        .env("http_proxy", http.url());
    let run = bounded(command, Duration::from_secs(60));
    assert_eq!(
        run.fails(),
        "error: vault will not send IAM Identity Center tokens to `http://sso.example.test:4566` (`AWS_ENDPOINT_URL_SSO`): it is http to another host; the sign-in's tokens would cross the network in the clear\nhint: set `AWS_ENDPOINT_URL_SSO` to an https URL, or to http://127.0.0.1:PORT for a local emulator; unset, AWS's endpoint is used\n"
    );
    assert_eq!(http.lines(), Vec::<String>::new());
}

#[test]
fn a_fifo_or_a_link_as_the_shared_token_file_is_an_error_at_once() {
    let sso = Sso::new();
    let path = sso.cache_file("my-sso");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let expect = |problem: &str| {
        format!(
            "error: vault will not open `{0}`: {problem}\nhint: vault keeps only regular files there and follows no links: remove `{0}`, and check who put it there\n",
            path.display()
        )
    };
    // Review 2, finding 7: a FIFO hung every SSO command; a link to /dev/zero ate memory.
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let run = bounded(
        sso.home().detached(["export", "dev"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.fails(), expect("it is a FIFO, not a regular file"));
    let run = bounded(
        sso.home().detached(["show", "dev"]),
        Duration::from_secs(60),
    );
    assert!(
        run.ok().contains("it is a FIFO, not a regular file"),
        "{run:?}"
    );
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let run = bounded(
        sso.home().detached(["export", "dev"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.fails(), expect("it is a symbolic link"));
}

#[test]
fn a_shared_cache_folder_others_can_change_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let mut sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    let dir = sso.cache_file("my-sso").parent().unwrap().to_path_buf();
    let chmod =
        |mode: u32| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    let refused = |mode: &str| {
        format!(
            "error: vault will not use the SSO token cache `{0}`: other users can change it (mode {mode})\nhint: run `chmod go-w {0}` (0755 or 0700 is fine), and check that no file in it was put there by someone else\n",
            dir.display()
        )
    };
    chmod(0o777);
    let run = bounded(
        sso.home().detached(["export", "dev"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.fails(), refused("0777"));
    chmod(0o775);
    let run = bounded(
        sso.home().detached(["export", "dev"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.fails(), refused("0775"));
    // 0755, as the AWS CLI makes it, is fine for reading.
    chmod(0o755);
    let run = bounded(
        sso.home().detached(["export", "dev"]),
        Duration::from_secs(60),
    );
    assert!(run.ok().contains("AWS_ACCESS_KEY_ID"), "{run:?}");
    // Writing there is refused before anyone is asked to sign in.
    chmod(0o757);
    sso.world.home.env("AWS_VAULT_SSO_TOKEN_CACHE", "shared");
    let run = bounded(
        sso.home()
            .command(["sso", "login", "--use-device-code", "dev"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.fails(), refused("0757"));
    assert_eq!(sso.fake.calls("StartDeviceAuthorization"), 0);
    chmod(0o700);
}

#[test]
fn over_ssh_or_wsl_the_device_code_is_the_default_and_flags_and_settings_decide_first() {
    let mut sso = Sso::new();
    sso.with_browser();
    // Which flow a run used, from the fake's counts.
    let last = std::cell::Cell::new((0, 0));
    let flow = |run: Run| -> String {
        run.ok();
        let now = (
            sso.fake.calls("StartDeviceAuthorization"),
            sso.fake.calls("Authorize"),
        );
        let (device, pkce) = (now.0 - last.get().0, now.1 - last.get().1);
        last.set(now);
        match (device, pkce) {
            (1, 0) => "device".to_string(),
            (0, 1) => "pkce".to_string(),
            other => panic!("{other:?}: {}", run.stderr),
        }
    };
    let login = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["sso", "login"];
        all.extend(args);
        all.push("dev");
        let mut command = sso.home().command(&all);
        command.envs(env.iter().copied());
        bounded(command, Duration::from_secs(60))
    };
    let ssh = [("SSH_CONNECTION", "192.0.2.1 50000 192.0.2.2 22")];
    let run = login(&[], &ssh);
    assert!(
        run.stderr.starts_with("note: signing in with a code, as this is an SSH session (`SSH_CONNECTION` is set); `--use-authorization-code` or `sso_use_device_code = false` in the `[sso-session]` opens a browser here instead\nTo sign in"),
        "{}",
        run.stderr
    );
    assert_eq!(flow(run), "device");
    assert_eq!(flow(login(&[], &[("SSH_TTY", "/dev/pts/3")])), "device");
    assert_eq!(flow(login(&[], &[("WSL_DISTRO_NAME", "Ubuntu")])), "device");
    assert_eq!(flow(login(&[], &[])), "pkce");
    assert_eq!(flow(login(&["--use-authorization-code"], &ssh)), "pkce");
    assert_eq!(flow(login(&["--use-device-code"], &[])), "device");
    // An implicit sign-in over SSH uses the code too.
    sso.run(&["sso", "logout"]).ok();
    let mut command = sso.home().command(["export", "dev"]);
    command.envs(ssh);
    assert_eq!(flow(bounded(command, Duration::from_secs(60))), "device");

    // config.toml, then the [sso-session] above it, then the flag above both.
    sso.home()
        .write(".config/vault/config.toml", "sso_use_device_code = true\n");
    assert_eq!(flow(login(&[], &[])), "device");
    add_config(&sso, "sso_use_device_code = False\n");
    assert_eq!(flow(login(&[], &[])), "pkce");
    assert_eq!(
        flow(login(&[], &ssh)),
        "pkce",
        "the setting beats the guess"
    );
    sso.home().write(".config/vault/config.toml", "");
    let config = std::fs::read_to_string(sso.home().path().join(".aws/config")).unwrap();
    sso.home()
        .config(&config.replace("sso_use_device_code = False", "sso_use_device_code = true"));
    assert_eq!(flow(login(&[], &[])), "device");
    assert_eq!(flow(login(&["--use-authorization-code"], &[])), "pkce");
    // A legacy profile carries its own.
    add_config(
        &sso,
        &format!(
            "\n[profile legacy-code]\nsso_start_url = {START_URL}/\nsso_region = eu-west-1\nsso_account_id = 210987654321\nsso_role_name = readonly\nsso_use_device_code = true\n"
        ),
    );
    let mut command = sso.home().command(["sso", "login", "legacy-code"]);
    command.env_remove("SSH_CONNECTION");
    assert_eq!(flow(bounded(command, Duration::from_secs(60))), "device");
    // A value that is neither: the error names the key, the section and the line.
    sso.home()
        .config(&config.replace("sso_use_device_code = False", "sso_use_device_code = yes"));
    let line = config
        .lines()
        .position(|l| l.starts_with("sso_use_device_code"))
        .unwrap()
        + 1;
    let run = login(&[], &[]);
    assert_eq!(
        run.fails(),
        format!(
            "error: `~/.aws/config` line {line}: `sso_use_device_code` in `[sso-session my-sso]` is neither `true` nor `false`: `yes`\nhint: write `sso_use_device_code = true` (the device-code flow) or `false` (a browser)\n"
        )
    );
}

/// `[profile NAME]` as `sso populate` writes it for the session `my-sso`.
fn populated(name: &str, account: &str, role: &str) -> String {
    format!(
        "[profile {name}]\nsso_session = my-sso\nsso_account_id = {account}\nsso_role_name = {role}\n"
    )
}

// Security review 2, finding 2: a role name with line ends added `[default]` with a
// `credential_process`. Now only 12-digit account IDs and AWS's role-name characters get
// through, each skipped one is named (escaped) on stderr, and the file gets nothing else.
#[test]
fn populate_skips_what_a_hostile_portal_sends_and_writes_nothing_else() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    sso.fake.config(json!({"hostile": true}));
    let warnings = "\
warning: skipped account `123456789012\\n[default]\\ncredential_process = sh -c 'echo pwned > pwned'` (`Evil`): an account ID is 12 digits
warning: skipped account `12345` (`Short`): an account ID is 12 digits
warning: skipped role `ReadOnly\\n\\n[default]\\ncredential_process = sh -c 'echo pwned > pwned'\\n#` of account `123456789012`: a role name is 1 to 64 letters, digits and `_+=,.@-`
warning: skipped role `Read Only` of account `123456789012`: a role name is 1 to 64 letters, digits and `_+=,.@-`
warning: skipped role `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` of account `123456789012`: a role name is 1 to 64 letters, digits and `_+=,.@-`
warning: skipped role `admin\\u{1b}]0;owned\\u{7}` of account `123456789012`: a role name is 1 to 64 letters, digits and `_+=,.@-`
warning: skipped role `ops;#x` of account `123456789012`: a role name is 1 to 64 letters, digits and `_+=,.@-`
warning: skipped role `` of account `123456789012`: a role name is 1 to 64 letters, digits and `_+=,.@-`
";
    let expected = [
        populated("development-admin", "123456789012", "admin"),
        populated("development-readonly", "123456789012", "readonly"),
        populated("production-readonly", "210987654321", "readonly"),
        populated("sandbox-admin", "333333333333", "admin"),
        populated("sandbox-poweruser", "333333333333", "poweruser"),
        populated("sandbox-readonly", "333333333333", "readonly"),
        populated(
            "shady-default-region-evil-readonly",
            "444444444444",
            "readonly",
        ),
    ]
    .join("\n");
    let args = ["sso", "populate", "--sso-session", "my-sso"];
    let run = sso.run(&args);
    assert_eq!(run.ok(), expected);
    assert_eq!(run.stderr, warnings);
    // The skipped accounts were never sent back to the portal.
    let log = sso.fake.control("/_fake/log", Value::Null);
    let asked: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "ListAccountRoles")
        .map(|e| e["query"]["account_id"].as_str().unwrap())
        .collect();
    assert!(
        asked
            .iter()
            .all(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())),
        "{asked:?}"
    );

    let config_path = sso.home().path().join(".aws/config");
    let before = std::fs::read_to_string(&config_path).unwrap();
    let mut write = args.to_vec();
    write.push("--write");
    let run = sso.run(&write);
    assert_eq!(run.ok(), "");
    assert_eq!(
        run.stderr,
        format!("{warnings}Added 7 profiles to `~/.aws/config` (0 already there)\n")
    );
    let after = std::fs::read_to_string(&config_path).unwrap();
    assert_eq!(after, format!("{before}\n{expected}"));
    // boto3 reads the same file the same way: no `[default]`, no `credential_process`.
    let script = r#"
import configparser, json, os, sys
import botocore.session
s = botocore.session.Session()
profiles = s.full_config["profiles"]
print(json.dumps({"default": "default" in profiles,
                  "keys": sorted({k for p in profiles.values() for k in p})}))
"#;
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("HOME", sso.home().path())
        .env("AWS_CONFIG_FILE", &config_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["default"], false);
    assert!(
        !seen["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "credential_process"),
        "{seen}"
    );
    assert!(!sso.home().path().join("pwned").exists());
}

#[test]
fn populate_refuses_a_prefix_or_region_that_is_not_plain() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    let run = sso.run(&[
        "sso",
        "populate",
        "--sso-session",
        "my-sso",
        "--prefix",
        "x]\n[default",
    ]);
    assert_eq!(
        run.fails(),
        "error: `--prefix`: `x]\\n[default` can only hold letters, digits and `-/.%@_:+`\n"
    );
    let run = sso.run(&[
        "sso",
        "populate",
        "--sso-session",
        "my-sso",
        "--region",
        "eu-west-1 #",
    ]);
    assert_eq!(
        run.fails(),
        "error: `--region`: `eu-west-1 #` is not a region name (like `eu-west-1`)\n"
    );
    assert_eq!(sso.fake.calls("ListAccounts"), 0);
}

// Issue 12, item 3: the portal answers HTTP 429 TooManyRequestsException; populate backs off
// (the SDK's jittered retry, and its own pause) and says so once it is done.
#[test]
fn populate_backs_off_when_the_portal_throttles() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    sso.fake.config(json!({"throttle_next": 3}));
    let run = sso.run(&["sso", "populate", "--sso-session", "my-sso"]);
    assert_eq!(run.ok().matches("[profile ").count(), 6);
    assert_eq!(
        run.stderr,
        "listed roles of 3 of 3 accounts (the portal throttled 3 requests; slowed down)\n"
    );
    assert_eq!(sso.fake.calls("TooManyRequests"), 3);
}

// Issue 12, item 3: 700 accounts (1050 roles) from a portal that refuses any request above
// 20 in a sliding second, as the real one documents: populate finishes with every profile,
// and says how far it has got now and then. The time it took is printed, not asserted.
#[test]
fn populate_lists_700_accounts_within_the_portal_s_rate() {
    let sso = Sso::new();
    sso.cli_token("my-sso", 8 * 3600);
    sso.fake
        .config(json!({"accounts": 700, "page_size": 100, "rate_limit": 20}));
    let started = std::time::Instant::now();
    let run = sso.run(&["sso", "populate", "--sso-session", "my-sso"]);
    let took = started.elapsed();
    let mut expected = Vec::new();
    for i in 0..700u64 {
        let account = (100_000_000_000 + i).to_string();
        if i % 2 == 0 {
            expected.push(populated(&format!("account-{i}-admin"), &account, "Admin"));
        }
        expected.push(populated(
            &format!("account-{i}-readonly"),
            &account,
            "ReadOnly",
        ));
    }
    assert_eq!(run.ok(), expected.join("\n"));
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(!lines.is_empty(), "no progress on stderr");
    for line in &lines {
        let rest = line
            .strip_prefix("listed roles of ")
            .unwrap_or_else(|| panic!("{line}"));
        assert!(rest.contains(" of 700 accounts"), "{line}");
    }
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("listed roles of 700 of 700 accounts")
    );
    // At most one line every five seconds, plus the last.
    assert!(
        lines.len() <= 2 + took.as_secs() as usize / 5,
        "{}",
        run.stderr
    );
    assert_eq!(sso.fake.calls("ListAccountRoles"), 700);
    eprintln!(
        "populate of 700 accounts: {:.1} s, {} requests refused with 429, stderr:\n{}",
        took.as_secs_f64(),
        sso.fake.calls("TooManyRequests"),
        run.stderr
    );
}
