//! Sign-in sessions (`login_session`) end to end: the real binary against the fake Sign-In
//! service (`fake_signin.py`, proven against botocore's own `LoginProvider` by
//! `check_fake_signin.py`), whose credentials are real GetSessionToken sessions of the local
//! STS (moto), with botocore and the `aws` CLI as independent clients on the same cache
//! file. The fake's call counts prove single-flight; its DPoP checks prove the proofs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::federation::FakeFederation;
use support::signin::FakeSignin;
use support::{Home, Moto, PASSPHRASE, Run, bounded, python, wait_all};

const REFRESH: &str = "CreateOAuth2Token.refresh_token";

struct SignedIn {
    moto: Moto,
    home: Home,
    fake: FakeSignin,
    /// jane's session ARN: the profile's `login_session`.
    session: String,
    serial: String,
}

impl SignedIn {
    /// A HOME whose `gds-users` has no keys, only `login_session`, and the seed's roles on
    /// top of it; no token cached yet.
    fn new() -> SignedIn {
        let moto = Moto::start();
        let fake = FakeSignin::start(Some(&moto));
        let mut home = Home::new();
        home.env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ENDPOINT_URL_SIGNIN", &fake.endpoint)
            .env("AWS_VAULT_BACKEND", "file")
            .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
            .env("AWS_VAULT_UNLOCK_TTL", "0")
            .env("USER", "jane")
            .env("AWS_DEFAULT_REGION", "eu-west-2");
        // botocore[crt] where the test Python finds awscrt outside its venv (local runs).
        if let Ok(path) = std::env::var("PYTHONPATH") {
            home.env("PYTHONPATH", path);
        }
        let account = moto.state["account"].as_str().unwrap().to_string();
        let session = format!("arn:aws:iam::{account}:user/jane");
        let serial = moto.user("jane")["mfa_serial"]
            .as_str()
            .unwrap()
            .to_string();
        home.config(&format!(
            "\
[profile gds-users]
login_session = {session}
region = eu-west-1

[profile target-account]
source_profile = gds-users
region = eu-west-1
role_arn = {admin}
mfa_serial = {serial}

[profile signed-in-role]
source_profile = gds-users
role_arn = {readonly}
",
            admin = moto.role_arn("admin"),
            readonly = moto.role_arn("readonly"),
        ));
        SignedIn {
            moto,
            home,
            fake,
            session,
            serial,
        }
    }

    /// `~/.aws/login/cache/<sha256 of the session>.json`, where `aws login` writes.
    fn cache_file(&self) -> PathBuf {
        let hex: String = Sha256::digest(self.session.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.home
            .path()
            .join(format!(".aws/login/cache/{hex}.json"))
    }

    /// Signed in as `aws login` leaves it, with `left` seconds on the credentials.
    fn aws_login(&self, left: i64) -> Value {
        let token = self.fake.issue(left, json!({}));
        self.write_token(&token);
        token
    }

    fn write_token(&self, token: &Value) {
        let path = self.cache_file();
        // The AWS CLI's folders are 0755 and its file 0600.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, token.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn token(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.cache_file()).unwrap()).unwrap()
    }

    /// The token's credentials made to expire `left` seconds from now, all else kept.
    fn expire_in(&self, left: i64) {
        let mut token = self.token();
        let at = std::time::SystemTime::now() + std::time::Duration::from_secs(left.max(0) as u64);
        token["accessToken"]["expiresAt"] =
            humantime::format_rfc3339_seconds(at).to_string().into();
        self.write_token(&token);
    }

    fn run(&self, args: &[&str]) -> Run {
        self.home.run(args)
    }

    /// `vault ARGS` with no terminal (under `setsid`): nobody to sign in.
    fn detached(&self, args: &[&str]) -> Run {
        Run::from(self.home.detached(args).output().unwrap())
    }

    /// The ARN `aws sts get-caller-identity` prints under `vault exec ARGS --`.
    fn caller_arn(&self, args: &[&str]) -> String {
        let mut all = vec!["exec"];
        all.extend(args);
        all.extend([
            "--",
            "aws",
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ]);
        self.run(&all).ok().trim().to_string()
    }

    /// botocore's own `LoginProvider` on the same file (a child Python with this HOME):
    /// the access key it uses, after refreshing if it had to.
    fn botocore(&self) -> Value {
        let script = r#"
import json, botocore.session
creds = botocore.session.Session(profile="gds-users").get_credentials()
print(json.dumps({"method": creds.method, "access_key_id": creds.get_frozen_credentials().access_key}))
"#;
        let out = self
            .home
            .child(&python(), &["-c", script])
            .env(
                "AWS_LOGIN_CACHE_DIRECTORY",
                self.cache_file().parent().unwrap(),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn secret_texts(token: &Value) -> Vec<String> {
    let pem = token["dpopKey"].as_str().unwrap();
    let mut out: Vec<String> = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_string)
        .collect();
    out.push(token["refreshToken"].as_str().unwrap().to_string());
    out.push(
        token["accessToken"]["secretAccessKey"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    out.push(token["idToken"].as_str().unwrap().to_string());
    out
}

#[test]
fn a_role_on_a_sign_in_session_runs_aws_as_the_assumed_role_after_one_refresh() {
    let s = SignedIn::new();
    let before = s.aws_login(240);
    let arn = s.caller_arn(&["signed-in-role"]);
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{}:assumed-role/readonly/",
            s.moto.state["account"].as_str().unwrap()
        )),
        "{arn}"
    );
    assert_eq!(s.fake.calls(REFRESH), 1, "4 minutes left: refreshed once");
    assert_eq!(
        s.fake.calls("refused"),
        0,
        "the fake verified vault's DPoP proof"
    );
    // Written back in place as the AWS CLI writes it: rotated, same key, SEC1, whole
    // seconds, 0600, nothing of the file lost.
    let after = s.token();
    assert_ne!(after["refreshToken"], before["refreshToken"]);
    assert_eq!(after["dpopKey"], before["dpopKey"]);
    assert!(
        after["dpopKey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
    );
    let expires = after["accessToken"]["expiresAt"].as_str().unwrap();
    assert!(expires.len() == 20 && expires.ends_with('Z'), "{expires}");
    for key in ["clientId", "idToken", "tokenType"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert_eq!(
        after["accessToken"]["accountId"],
        before["accessToken"]["accountId"]
    );
    let mode = std::fs::metadata(s.cache_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The sessions are cached: a second run calls nobody.
    assert_eq!(s.caller_arn(&["signed-in-role"]), arn);
    assert_eq!(s.fake.calls(REFRESH), 1);
    // `list` shows the sign-in session on its profile's row, with its time left.
    let list = s.run(&["list"]);
    let row = list
        .ok()
        .lines()
        .find(|l| l.starts_with("gds-users "))
        .unwrap_or_default()
        .to_string();
    assert!(row.contains(&format!("signin:{}", s.session)), "{row}");
    assert!(row.contains("signin.CreateOAuth2Token:1"), "{row}");
    let role = list
        .stdout
        .lines()
        .find(|l| l.starts_with("signed-in-role "))
        .unwrap();
    assert!(role.contains("sts.AssumeRole:"), "{role}");
    // The warm path serves the fresh session: a `vault` alone in a folder, without
    // `vault-full` to hand over to, answers it.
    let lone = tempfile::tempdir().unwrap();
    let vault = lone.path().join("vault");
    std::fs::copy(env!("CARGO_BIN_EXE_vault"), &vault).unwrap();
    let template = s.home.command([
        "exec",
        "gds-users",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID",
    ]);
    let mut warm = std::process::Command::new(&vault);
    warm.args(template.get_args())
        .env_clear()
        .envs(template.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .current_dir(s.home.path())
        .stdin(Stdio::null());
    let key = Run::from(warm.output().unwrap());
    assert_eq!(
        key.ok().trim(),
        s.token()["accessToken"]["accessKeyId"].as_str().unwrap()
    );
}

#[test]
fn a_role_with_mfa_on_a_sign_in_session_is_one_assume_role_with_the_code() {
    let s = SignedIn::new();
    s.aws_login(600);
    let show = s.run(&["show", "target-account"]);
    let text = show.ok();
    assert!(
        text.contains("gds-users: sign-in session arn:aws:iam::"),
        "{text}"
    );
    assert!(text.contains("1. gds-users: sign-in session"), "{text}");
    assert!(text.contains("2. target-account: sts.AssumeRole"), "{text}");
    assert!(
        text.contains(&format!("needs an MFA code for {}", s.serial)),
        "{text}"
    );
    assert!(!text.contains("GetSessionToken"), "{text}");
    s.moto.start_recording();
    let code = s.moto.totp(&s.serial, 0);
    let arn = s.caller_arn(&["target-account", "-t", &code]);
    assert!(arn.contains(":assumed-role/admin/"), "{arn}");
    let calls = s.moto.sts_calls();
    assert!(
        !calls.iter().any(|c| c.contains("GetSessionToken")),
        "{calls:?}"
    );
    assert_eq!(
        calls.iter().filter(|c| c.contains("AssumeRole")).count(),
        1,
        "{calls:?}"
    );
    assert_eq!(s.fake.calls(REFRESH), 0, "10 minutes left: no refresh");
}

#[test]
fn twenty_parallel_callers_at_four_minutes_left_make_one_refresh() {
    let s = SignedIn::new();
    s.aws_login(240);
    s.fake.config(json!({"token_delay": 0.5}));
    let children: Vec<_> = (0..20)
        .map(|_| {
            s.home
                .command([
                    "exec",
                    "gds-users",
                    "--",
                    "sh",
                    "-c",
                    "echo $AWS_ACCESS_KEY_ID",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let keys = wait_all(children);
    assert_eq!(
        s.fake.calls(REFRESH),
        1,
        "one CreateOAuth2Token for 20 callers"
    );
    let key = s.token()["accessToken"]["accessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(keys.iter().all(|k| k.trim() == key), "{keys:?}");
}

#[test]
fn botocore_and_vault_refresh_the_same_file_in_turn_and_no_session_is_lost() {
    let s = SignedIn::new();
    s.aws_login(240);
    // vault first.
    s.run(&["exec", "gds-users", "--", "true"]).ok();
    assert_eq!(s.fake.calls(REFRESH), 1);
    let vaults = s.token();
    // botocore finds it fresh: no call, the same credentials.
    let got = s.botocore();
    assert_eq!(got["method"], "login");
    assert_eq!(got["access_key_id"], vaults["accessToken"]["accessKeyId"]);
    assert_eq!(s.fake.calls(REFRESH), 1);
    // Near expiry again: botocore refreshes with the token vault saved.
    s.expire_in(60);
    let got = s.botocore();
    assert_eq!(s.fake.calls(REFRESH), 2);
    let botocores = s.token();
    assert_ne!(botocores["refreshToken"], vaults["refreshToken"]);
    assert_eq!(
        got["access_key_id"],
        botocores["accessToken"]["accessKeyId"]
    );
    // And vault after botocore, with the token botocore saved. `clear` drops vault's cached
    // session so that it reads the file again.
    s.run(&["clear"]).ok();
    s.expire_in(60);
    let key = s.run(&[
        "exec",
        "gds-users",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID",
    ]);
    assert_eq!(s.fake.calls(REFRESH), 3);
    assert_eq!(
        s.fake.calls("refused"),
        0,
        "no rotated-away token was presented"
    );
    assert_eq!(
        key.ok().trim(),
        s.token()["accessToken"]["accessKeyId"].as_str().unwrap()
    );
    // botocore can still read what vault wrote.
    assert_eq!(
        s.botocore()["access_key_id"],
        s.token()["accessToken"]["accessKeyId"]
    );
}

#[test]
fn bad_cache_files_are_a_clear_error_naming_the_file_and_are_left_alone() {
    let s = SignedIn::new();
    let good = s.aws_login(60);
    let path = s.cache_file();
    let text = good.to_string();
    let without = |key: &str| {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(key);
        v.to_string()
    };
    let mut bad_key = good.clone();
    bad_key["dpopKey"] =
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".into();
    let cases: Vec<(String, &str)> = vec![
        (text[..text.len() / 2].to_string(), "it is truncated"),
        ("this is not json".to_string(), "it is not JSON"),
        (without("dpopKey"), "it has no `dpopKey`"),
        (without("refreshToken"), "it has no `refreshToken`"),
        (bad_key.to_string(), "is not a P-256 key"),
        (" ".repeat(100 * 1024), "larger than"),
    ];
    let name = format!(
        "~/.aws/login/cache/{}",
        path.file_name().unwrap().to_string_lossy()
    );
    for (bytes, expect) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let run = s.detached(&["exec", "gds-users", "--", "true"]);
        let err = run.fails();
        assert!(err.contains(expect), "{expect}: {err}");
        assert!(err.contains(&name), "{err}");
        assert!(err.contains("vault signin gds-users"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes.as_bytes(),
            "left as it was"
        );
    }
    // A FIFO (no waiting on it), a link (not followed).
    std::fs::remove_file(&path).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success()
    );
    let err = s
        .detached(&["exec", "gds-users", "--", "true"])
        .fails()
        .to_string();
    assert!(
        err.contains("FIFO") && err.contains(&name) && err.contains("vault signin"),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
    let target = s.home.write("elsewhere.json", &text);
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let err = s
        .detached(&["exec", "gds-users", "--", "true"])
        .fails()
        .to_string();
    assert!(
        err.contains("symbolic link") && err.contains(&name),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
    assert_eq!(s.fake.calls(REFRESH), 0);
}

#[test]
fn insufficient_permissions_names_the_managed_policy_and_keeps_the_file() {
    let s = SignedIn::new();
    s.aws_login(30);
    let before = std::fs::read(s.cache_file()).unwrap();
    s.fake
        .config(json!({"sticky_error": "INSUFFICIENT_PERMISSIONS"}));
    let err = s
        .detached(&["exec", "signed-in-role", "--", "true"])
        .fails()
        .to_string();
    assert!(err.contains("`INSUFFICIENT_PERMISSIONS`"), "{err}");
    assert!(err.contains("signin:CreateOAuth2Token"), "{err}");
    assert!(
        err.contains("hint:") && err.contains("`SignInLocalDevelopmentAccess`"),
        "{err}"
    );
    assert!(err.contains("vault signin gds-users"), "{err}");
    assert_eq!(std::fs::read(s.cache_file()).unwrap(), before);
}

#[test]
fn an_ended_session_with_no_one_to_ask_says_vault_signin_and_prints_nothing() {
    let s = SignedIn::new();
    s.aws_login(30);
    s.fake.fail(&["TOKEN_EXPIRED"]);
    let err = s
        .detached(&["exec", "gds-users", "--", "true"])
        .fails()
        .to_string();
    assert!(
        err.contains("the sign-in session has expired (`TOKEN_EXPIRED`)"),
        "{err}"
    );
    assert!(err.contains("hint: run `vault signin gds-users`"), "{err}");
    // Not signed in at all.
    std::fs::remove_file(s.cache_file()).unwrap();
    let err = s.detached(&["export", "gds-users"]).fails().to_string();
    assert!(
        err.contains("profile `gds-users` is not signed in"),
        "{err}"
    );
    assert!(err.contains("vault signin gds-users"), "{err}");
}

#[test]
fn no_secret_in_output_debug_or_the_childs_environment() {
    let s = SignedIn::new();
    let before = s.aws_login(240);
    let run = s.run(&["--debug", "exec", "signed-in-role", "--", "env"]);
    let env = run.ok().to_string();
    let after = s.token();
    for secret in secret_texts(&before)
        .into_iter()
        .chain(secret_texts(&after))
    {
        assert!(!run.stderr.contains(&secret), "a secret in --debug output");
        assert!(
            !env.contains(&secret),
            "a secret in the child's environment"
        );
    }
    assert!(run.stderr.contains("CreateOAuth2Token"), "{}", run.stderr);
    assert!(!env.contains("AWS_ENDPOINT_URL_SIGNIN=") || env.contains(&s.fake.endpoint));
}

#[test]
fn tokens_go_only_to_https_or_the_loopback_endpoint_that_is_named() {
    let mut s = SignedIn::new();
    s.aws_login(30);
    s.home
        .env("AWS_ENDPOINT_URL_SIGNIN", "http://signin.example.com");
    let err = s
        .detached(&["exec", "gds-users", "--", "true"])
        .fails()
        .to_string();
    assert!(err.contains("AWS_ENDPOINT_URL_SIGNIN"), "{err}");
    assert!(err.contains("http on 127.0.0.1"), "{err}");
    assert_eq!(s.fake.calls(REFRESH), 0);
}

/// A browser: fetches the URL it is given (vault's local page), then the sign-in page that
/// one redirects to, following the redirects to vault's callback. Each run appends its argv
/// to `browser.log` (one line per tab opened).
const BROWSER: &str = r#"
import os, sys, urllib.error, urllib.request
url = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "browser.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
try:
    urllib.request.urlopen(url, timeout=30).read()
except urllib.error.HTTPError:
    pass
"#;

/// The review's mallory: follows vault's local page to the sign-in page (reading `state`
/// there), sends the callback with mallory's code as uid `MALLORY_UID`, then signs in.
const MALLORY_BROWSER: &str = r#"
import os, subprocess, sys, urllib.error, urllib.parse, urllib.request
url = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
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

impl SignedIn {
    /// The seed's config with `gds-users` not yet signed in, and a `BROWSER` that signs in.
    fn not_signed_in(&mut self, browser: &str) -> String {
        let text = format!(
            "\
# the seed's config
[default]
region = us-east-1

[profile gds-users]
region = eu-west-1   ; where we work

# roles on top
[profile signed-in-role]
source_profile = gds-users
role_arn = {readonly}
",
            readonly = self.moto.role_arn("readonly")
        );
        self.home.config(&text);
        let script = self.home.write("browser/browser.py", browser);
        self.home
            .env("BROWSER", format!("{} {}", python(), script.display()));
        text
    }

    fn config_text(&self) -> String {
        std::fs::read_to_string(self.home.path().join(".aws/config")).unwrap()
    }
}

#[test]
fn signin_through_the_browser_writes_login_session_and_keeps_every_other_byte() {
    let mut s = SignedIn::new();
    let before = s.not_signed_in(BROWSER);
    let run = bounded(
        s.home.command(["signin", "gds-users"]),
        Duration::from_secs(120),
    );
    assert_eq!(run.ok(), "", "nothing on stdout");
    assert!(
        run.stderr.contains(&format!(
            "Profile `gds-users` is signed in as {} (`login_session`); the session's token is in vault's store.",
            s.session
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        s.config_text(),
        before.replace(
            "region = eu-west-1   ; where we work\n",
            &format!(
                "region = eu-west-1   ; where we work\nlogin_session = {}\n",
                s.session
            )
        ),
        "only the login_session line is new"
    );
    assert_eq!(s.fake.calls("Authorize"), 1);
    assert_eq!(s.fake.calls("CreateOAuth2Token.authorization_code"), 1);
    assert_eq!(
        s.fake.calls("refused"),
        0,
        "PKCE, state and DPoP all checked by the fake"
    );
    // The browser got vault's local page only: no state, no authorize URL in its argv.
    let argv = std::fs::read_to_string(s.home.path().join("browser/browser.log")).unwrap();
    assert_eq!(argv.lines().count(), 1, "{argv}");
    assert!(
        argv.starts_with("http://127.0.0.1:") && !argv.contains('?'),
        "{argv}"
    );
    // The token is in vault's store, not in the AWS CLI's folder.
    assert!(!s.cache_file().exists());
    // `show` tells where the token is and how long its credentials last, with no passphrase.
    let show = s.run(&["show", "signed-in-role"]).ok().to_string();
    let line = format!(
        "Sign-in session ({}): a token in vault's store: its credentials last 1",
        s.session
    );
    assert!(show.contains(&line), "{show}");
    let arn = s.caller_arn(&["signed-in-role"]);
    assert!(arn.contains(":assumed-role/readonly/"), "{arn}");
    assert_eq!(s.fake.calls(REFRESH), 0, "15 minutes left: no refresh");
    // `vault signout`: the token and the sessions go, the config stays, nothing is revoked.
    let out = s.run(&["signout", "gds-users"]);
    assert_eq!(out.ok(), "");
    assert!(
        out.stderr
            .contains("Removed the sign-in session's token for `gds-users`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Nothing is revoked at AWS"),
        "{}",
        out.stderr
    );
    assert!(s.config_text().contains("login_session = "));
    s.home.env("BROWSER", "");
    let err = s
        .detached(&["exec", "signed-in-role", "--", "true"])
        .fails()
        .to_string();
    assert!(
        err.contains("profile `gds-users` is not signed in"),
        "{err}"
    );
    let show = s.run(&["show", "signed-in-role"]).ok().to_string();
    let line = format!(
        "Sign-in session ({}): not signed in; `vault signin gds-users` signs in",
        s.session
    );
    assert!(show.contains(&line), "{show}");
}

#[test]
fn with_the_shared_cache_the_token_is_the_aws_clis_file_and_botocore_uses_it() {
    let mut s = SignedIn::new();
    s.not_signed_in(BROWSER);
    s.home.env("AWS_VAULT_LOGIN_TOKEN_CACHE", "shared");
    // The profile's region, not the environment's, is the one signed in to.
    s.home.env("AWS_DEFAULT_REGION", "");
    let run = bounded(
        s.home.command(["signin", "gds-users"]),
        Duration::from_secs(120),
    );
    assert_eq!(run.ok(), "");
    assert!(
        run.stderr.contains("(plaintext, as the AWS CLI keeps it)"),
        "{}",
        run.stderr
    );
    let token = s.token();
    assert!(
        token["dpopKey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
    );
    assert_eq!(
        token["signInRegion"], "eu-west-1",
        "the region is kept with the token"
    );
    assert_eq!(token["clientId"], "arn:aws:signin:::devtools/same-device");
    let mode = std::fs::metadata(s.cache_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let show = s.run(&["show", "gds-users"]).ok().to_string();
    let file = s.cache_file();
    let line = format!(
        "Sign-in session ({}): a token in `~/.aws/login/cache/{}`: its credentials last 1",
        s.session,
        file.file_name().unwrap().to_str().unwrap()
    );
    assert!(show.contains(&line), "{show}");
    assert_eq!(
        s.botocore()["access_key_id"],
        token["accessToken"]["accessKeyId"]
    );
    // botocore refreshes vault's sign-in with vault's key: the key binding holds.
    s.expire_in(60);
    s.botocore();
    assert_eq!(s.fake.calls(REFRESH), 1);
    assert_eq!(s.fake.calls("refused"), 0);
}

#[test]
fn another_users_callback_is_refused_and_the_sign_in_goes_on() {
    let Some((_, mallory)) = support::users::LocalUser::pair(
        "another_users_callback_is_refused_and_the_sign_in_goes_on",
    ) else {
        return;
    };
    let mut s = SignedIn::new();
    s.not_signed_in(MALLORY_BROWSER);
    s.home.env("MALLORY_UID", mallory.uid.to_string());
    let run = bounded(
        s.home.command(["signin", "gds-users"]),
        Duration::from_secs(120),
    );
    assert_eq!(run.ok(), "");
    let saw = std::fs::read_to_string(s.home.path().join("browser/mallory.out")).unwrap();
    assert!(saw.starts_with("refused:"), "{saw}");
    assert!(
        run.stderr
            .contains(&format!("from another user (uid {})", mallory.uid)),
        "{}",
        run.stderr
    );
    let codes: Vec<Value> = s
        .fake
        .log()
        .into_iter()
        .filter(|e| e["grant"] == "authorization_code")
        .collect();
    assert_eq!(
        codes.len(),
        1,
        "only the browser's code was redeemed: {codes:?}"
    );
    assert_eq!(codes[0]["status"], 200);
}

#[test]
fn ctrl_c_during_sign_in_caches_nothing_frees_the_lock_and_keeps_the_config() {
    use std::io::Read;
    let mut s = SignedIn::new();
    let before = s.not_signed_in("import sys\n");
    let mut child = s
        .home
        .command(["signin", "gds-users"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 256];
    while !seen.contains("To sign in") {
        let n = stderr.read(&mut buffer).unwrap();
        assert!(n > 0, "{seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert!(!child.wait().unwrap().success());
    assert_eq!(s.config_text(), before, "the config is unchanged");
    assert!(!s.cache_file().exists());
    let sessions = s.run(&["list", "--sessions"]);
    assert!(!sessions.ok().contains("signin"), "{sessions:?}");
    // The lock went with the process: the next sign-in does not wait.
    let script = s.home.write("browser/browser.py", BROWSER);
    s.home
        .env("BROWSER", format!("{} {}", python(), script.display()));
    let run = bounded(
        s.home.command(["signin", "gds-users"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.ok(), "");
}

#[test]
fn an_expired_session_signs_in_by_itself_when_a_browser_can_be_opened() {
    let mut s = SignedIn::new();
    s.aws_login(30);
    let script = s.home.write("browser/browser.py", BROWSER);
    s.home
        .env("BROWSER", format!("{} {}", python(), script.display()));
    s.fake.fail(&["TOKEN_EXPIRED"]);
    let run = bounded(
        s.home.command([
            "exec",
            "gds-users",
            "--",
            "sh",
            "-c",
            "echo $AWS_ACCESS_KEY_ID",
        ]),
        Duration::from_secs(120),
    );
    let key = run.ok().trim().to_string();
    assert!(
        run.stderr.starts_with(
            "profile `gds-users`: the sign-in session has expired (`TOKEN_EXPIRED`): The refresh token has expired.\nSigning in again.\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(s.fake.calls("Authorize"), 1);
    // The session `aws login` made is replaced in its own file.
    assert_eq!(s.token()["accessToken"]["accessKeyId"], key.as_str());
}

#[test]
fn a_remote_sign_in_prints_the_url_and_takes_the_pasted_code() {
    let mut s = SignedIn::new();
    s.not_signed_in(BROWSER);
    let command = s.home.command(["signin", "--remote", "gds-users"]);
    let mut session = rexpect::session::spawn_command(command, Some(60_000)).unwrap();
    session
        .exp_string("open this page in a browser on any device:")
        .unwrap();
    let (_, url) = session
        .exp_regex(r"http://127\.0\.0\.1:[0-9]+/v1/authorize\?[^\s]+")
        .unwrap();
    assert!(url.contains("devtools%2Fcross-device"), "{url}");
    session
        .exp_string("Enter the authorization code displayed in your browser: ")
        .unwrap();
    // The other device: signs in, and its confirmation page shows the code to paste.
    let page = r#"
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=30).read().decode()
print([l.split()[1] for l in text.splitlines() if l.startswith("CODE ")][0])
"#;
    let out = s
        .home
        .child(&python(), &["-c", page, &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap();
    session.send_line(code.trim()).unwrap();
    let output = session.exp_eof().unwrap();
    assert!(
        output.contains(&format!(
            "Profile `gds-users` is signed in as {}",
            s.session
        )),
        "{output}"
    );
    assert!(
        !output.contains(code.trim()),
        "the pasted code is not echoed back in a message"
    );
    assert!(
        s.config_text()
            .contains(&format!("login_session = {}\n", s.session))
    );
    assert_eq!(s.fake.calls("CreateOAuth2Token.authorization_code"), 1);
    assert_eq!(s.fake.calls("refused"), 0);
    assert!(
        s.caller_arn(&["signed-in-role"])
            .contains(":assumed-role/readonly/")
    );
}

#[test]
fn credential_process_and_the_aws_cli_use_a_sign_in_session() {
    let s = SignedIn::new();
    s.aws_login(240);
    let mut config = std::fs::read_to_string(s.home.path().join(".aws/config")).unwrap();
    config.push_str(&format!(
        "\n[profile via-process]\ncredential_process = {} export --format json signed-in-role\n",
        env!("CARGO_BIN_EXE_vault")
    ));
    s.home.config(&config);
    let out = s
        .home
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arn = String::from_utf8(out.stdout).unwrap();
    assert!(arn.contains(":assumed-role/readonly/"), "{arn}");
    assert_eq!(s.fake.calls(REFRESH), 1);
}

#[test]
fn one_sign_in_and_one_browser_tab_serve_every_waiting_caller() {
    let mut s = SignedIn::new();
    s.aws_login(30);
    let script = s.home.write("browser/browser.py", BROWSER);
    s.home
        .env("BROWSER", format!("{} {}", python(), script.display()));
    s.fake.config(json!({"sticky_error": "TOKEN_EXPIRED"}));
    let children: Vec<_> = (0..5)
        .map(|_| {
            s.home
                .command([
                    "exec",
                    "gds-users",
                    "--",
                    "sh",
                    "-c",
                    "echo $AWS_ACCESS_KEY_ID",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let keys = wait_all(children);
    assert_eq!(s.fake.calls("Authorize"), 1, "one sign-in");
    let tabs = std::fs::read_to_string(s.home.path().join("browser/browser.log")).unwrap();
    assert_eq!(tabs.lines().count(), 1, "one browser tab: {tabs}");
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
}

/// The servers and console `login` serve a sign-in session as they serve stored keys:
/// `--server` and `--ec2-server` hand the aws CLI the role assumed on top of it, and `login
/// --stdout` signs in to the console with that role's cached session; one refresh for all.
#[test]
fn the_servers_and_console_login_use_a_sign_in_session() {
    let mut s = SignedIn::new();
    s.aws_login(240);
    for flag in ["--server", "--ec2-server"] {
        let arn = s.caller_arn(&[flag, "signed-in-role"]);
        assert!(arn.contains(":assumed-role/readonly/"), "{flag}: {arn}");
    }
    assert_eq!(s.fake.calls(REFRESH), 1);
    let federation = FakeFederation::start("200 OK");
    s.home.env("AWS_VAULT_FEDERATION_URL", &federation.url);
    let run = s.detached(&["login", "--stdout", "signed-in-role"]);
    assert!(
        run.ok()
            .starts_with(&format!("{}?Action=login&Issuer=vault&", federation.url)),
        "{run:?}"
    );
    let session = federation.session();
    let export = s.run(&["export", "--format", "json", "signed-in-role"]);
    let role: Value = serde_json::from_str(export.ok()).unwrap();
    assert_eq!(session["sessionId"], role["AccessKeyId"]);
    assert_eq!(session["sessionToken"], role["SessionToken"]);
    assert_eq!(s.fake.calls(REFRESH), 1);
}
