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
use support::{FakeSso, Run, World, python, wait_all};

const START_URL: &str = "https://d-1234567890.awsapps.com/start";

/// A browser: fetches the URL it is given and follows the redirect to vault's callback.
/// With `WRONG_STATE` it first calls the callback with another `state`. Each run appends a
/// line to `browser.log` (one line per tab opened).
const BROWSER: &str = r#"
import os, sys, urllib.parse, urllib.request
url = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "browser.log"), "a") as log:
    log.write(url + "\n")
if os.environ.get("WRONG_STATE"):
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    bad = q["redirect_uri"] + "?code=stolen&state=not-" + q["state"]
    try:
        urllib.request.urlopen(bad, timeout=10)
    except urllib.error.HTTPError as e:
        with open(os.path.join(here, "wrong-state.status"), "w") as f:
            f.write(str(e.code))
urllib.request.urlopen(url, timeout=30).read()
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
        let issued = self.fake.control("/_fake/issue", json!({"scopes": true}));
        let token = json!({
            "startUrl": START_URL,
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
    let mut sso = Sso::new();
    sso.with_browser();
    sso.fake
        .config(json!({"expires_in": 600, "token_delay": 0.3}));
    let spawn_all = |sso: &Sso| {
        (0..20)
            .map(|_| {
                sso.home()
                    .command(["export", "--format", "json", "dev"])
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
    assert_eq!(sso.fake.calls("CreateToken.authorization_code"), 1);
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 1);
    // The token is now inside the refresh window, the role session gone.
    sso.run(&["clear"]).ok();
    sso.fake.config(json!({"expires_in": 8 * 3600}));
    let outputs = wait_all(spawn_all(&sso));
    assert!(outputs.iter().all(|o| o.contains("AccessKeyId")));
    assert_eq!(
        sso.fake.calls("CreateToken.refresh_token"),
        1,
        "one refresh for 20 callers"
    );
    assert_eq!(sso.fake.calls("CreateToken.authorization_code"), 1);
    assert_eq!(sso.fake.calls("GetRoleCredentials"), 2);
    assert_eq!(sso.browser_tabs(), 1);
    eprintln!(
        "20 callers: logins 1, refreshes {}, GetRoleCredentials {}",
        sso.fake.calls("CreateToken.refresh_token"),
        sso.fake.calls("GetRoleCredentials")
    );
}
