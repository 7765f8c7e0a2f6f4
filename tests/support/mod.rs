//! Test support: the real `vault` binary in a temp HOME with a scrubbed environment, and a
//! local STS/IAM (moto, extended by `vault_moto.py`) on 127.0.0.1.
//!
//! Each integration test file declares `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod desktop;
pub mod federation;
pub mod signin;
pub mod users;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// A fresh HOME for one test, and a builder of `vault` commands run in it.
pub struct Home {
    pub dir: TempDir,
    env: Vec<(String, String)>,
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::Builder::new()
            .prefix("vault-test-")
            .tempdir()
            .unwrap();
        let home = Home {
            dir,
            env: Vec::new(),
        };
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        home
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sets a variable for every command run in this HOME.
    pub fn env(&mut self, key: &str, value: impl AsRef<str>) -> &mut Home {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.as_ref().to_string()));
        self
    }

    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn config(&self, text: &str) -> PathBuf {
        self.write(".aws/config", text)
    }

    pub fn credentials(&self, text: &str) -> PathBuf {
        self.write(".aws/credentials", text)
    }

    /// `vault ARGS` with only HOME, PATH and this test's variables set.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vault"));
        command.args(args).env_clear().current_dir(self.path());
        command.env("HOME", self.path());
        command.env("PATH", test_path());
        command.env("XDG_CONFIG_HOME", self.path().join(".config"));
        command.env("XDG_DATA_HOME", self.path().join(".local/share"));
        command.env("XDG_CACHE_HOME", self.path().join(".cache"));
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command.stdin(Stdio::null());
        command
    }

    /// `vault ARGS` as `command` builds it (same variables, same folder), run through
    /// `wrapper` (setsid, setpriv, prlimit, faketime).
    pub fn wrapped<I, S>(&self, wrapper: &[&str], args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let inner = self.command(args);
        let mut command = self.child(wrapper[0], &wrapper[1..]);
        command.arg(inner.get_program()).args(inner.get_args());
        command.envs(inner.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
        command
    }

    /// `vault ARGS` with no controlling terminal (under `setsid`), as under cron or CI.
    pub fn detached<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.wrapped(&["setsid", "-w"], args)
    }

    /// `program ARGS` with the environment and folder this HOME gives `vault`.
    pub fn child(&self, program: &str, args: &[&str]) -> Command {
        let template = self.command(["unused"]);
        let mut command = Command::new(program);
        command.args(args).env_clear().current_dir(self.path());
        command.envs(template.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
        command.stdin(Stdio::null());
        command
    }

    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::from(self.command(args).output().unwrap())
    }

    /// `vault add PROFILE --env --no-add-config` with these keys in the environment.
    pub fn add_keys(&self, profile: &str, access_key_id: &str, secret_access_key: &str) -> Run {
        let mut command = self.command(["add", profile, "--env", "--no-add-config"]);
        command
            .env("AWS_ACCESS_KEY_ID", access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret_access_key);
        Run::from(command.output().unwrap())
    }
}

/// Whether `program` is in the test PATH.
pub fn installed(program: &str) -> bool {
    std::env::split_paths(&test_path()).any(|dir| dir.join(program).is_file())
}

/// PATH for children: the `vault` under test, then the test venv's `bin` (aws CLI, python
/// with boto3), then the system's.
pub fn test_path() -> String {
    let vault = Path::new(env!("CARGO_BIN_EXE_vault"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    let system = "/usr/local/bin:/usr/bin:/bin";
    match venv_bin() {
        Some(bin) => format!("{vault}:{}:{system}", bin.display()),
        None => format!("{vault}:{system}"),
    }
}

fn venv_bin() -> Option<PathBuf> {
    let python = PathBuf::from(python());
    let bin = python.parent()?;
    bin.join("aws").exists().then(|| bin.to_path_buf())
}

/// The Python with moto: `VAULT_TEST_PYTHON`, else the repo's `.venv`, else `python3`.
pub fn python() -> String {
    if let Ok(python) = std::env::var("VAULT_TEST_PYTHON") {
        return python;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv.display().to_string();
    }
    "python3".to_string()
}

/// Waits for every child; each must succeed. Returns their stdouts.
#[track_caller]
pub fn wait_all(children: Vec<Child>) -> Vec<String> {
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap()
        })
        .collect()
}

/// What a finished command did.
#[derive(Debug)]
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.status, Some(0), "failed: {self:#?}");
        &self.stdout
    }

    /// Asserts exit status 1 with nothing on stdout, and returns stderr.
    #[track_caller]
    pub fn fails(&self) -> &str {
        assert_eq!(self.status, Some(1), "did not fail with 1: {self:#?}");
        assert_eq!(self.stdout, "", "printed on stdout while failing");
        &self.stderr
    }
}

/// A moto server with vault's extensions (`vault_moto.py`), bootstrapped: user `jane` with
/// keys and a virtual MFA device, user `bob`, roles `admin`, `readonly`, `partner` and
/// `chained`, authentication on. Stopped when dropped (and by itself if the test dies,
/// since it exits when its stdin closes).
pub struct Moto {
    child: Child,
    _stdin: ChildStdin,
    _dir: TempDir,
    pub endpoint: String,
    pub state: Value,
}

impl Moto {
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let state_file = dir.path().join("state.json");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/vault_moto.py");
        let python = python();
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--port", "0", "--state-file"])
            .arg(&state_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start `{python}` (run scripts/setup for the test venv): {e}")
            });
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let started = Instant::now();
        stdout.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("READY "),
            "moto did not start after {:?} (is moto installed for `{python}`? run scripts/setup): {line:?}",
            started.elapsed()
        );
        let endpoint = line["READY ".len()..].trim().to_string();
        let state: Value =
            serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
        Moto {
            child,
            _stdin: stdin,
            _dir: dir,
            endpoint,
            state,
        }
    }

    pub fn user(&self, name: &str) -> &Value {
        &self.state["users"][name]
    }

    pub fn role_arn(&self, name: &str) -> String {
        self.state["roles"][name].as_str().unwrap().to_string()
    }

    fn get(&self, path: &str) -> String {
        http(&self.endpoint, "GET", path, "")
    }

    /// The TOTP code for the current 30-second window plus `offset`.
    pub fn totp(&self, serial: &str, offset: i64) -> String {
        self.get(&format!(
            "/_vault_test/totp?serial={serial}&offset={offset}"
        ))
    }

    pub fn start_recording(&self) {
        http(
            &self.endpoint,
            "POST",
            "/moto-api/recorder/clear-recording",
            "",
        );
        http(
            &self.endpoint,
            "POST",
            "/moto-api/recorder/start-recording",
            "",
        );
    }

    /// The actions recorded since `start_recording`, in order.
    pub fn sts_calls(&self) -> Vec<String> {
        self.recorded().iter().filter_map(action_of).collect()
    }

    /// The STS calls that made credentials (GetSessionToken, AssumeRole...), leaving out
    /// what the tests' children asked (GetCallerIdentity).
    pub fn credential_calls(&self) -> Vec<String> {
        self.sts_calls()
            .into_iter()
            .filter(|a| a != "GetCallerIdentity")
            .collect()
    }

    /// The bodies of recorded requests, for checking parameters (`TokenCode=...`).
    pub fn recorded_bodies(&self) -> Vec<String> {
        self.recorded()
            .iter()
            .map(|entry| entry["body"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn recorded(&self) -> Vec<Value> {
        let log = self.get("/moto-api/recorder/download-recording");
        log.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `Action=GetSessionToken` from a recorded request's body or query string.
fn action_of(entry: &Value) -> Option<String> {
    let body = entry["body"].as_str().unwrap_or("");
    let query = entry["qs"].to_string();
    for text in [body, query.as_str()] {
        if let Some(at) = text.find("Action=") {
            let rest = &text[at + "Action=".len()..];
            let end = rest.find(['&', '"', '\'', ' ']).unwrap_or(rest.len());
            return Some(rest[..end].to_string());
        }
    }
    None
}

/// A minimal HTTP/1.1 request to the local server (tests need no HTTP client crate).
pub fn http(endpoint: &str, method: &str, path: &str, body: &str) -> String {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap_or(("", &response));
    body.to_string()
}

pub const PASSPHRASE: &str = "exec test passphrase";

/// A local STS, and a HOME with jane's keys stored as `gds-users` and a config of roles.
pub struct World {
    pub moto: Moto,
    pub home: Home,
    pub serial: String,
}

impl World {
    pub fn new() -> World {
        let moto = Moto::start();
        let mut home = Home::new();
        home.env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_VAULT_BACKEND", "file")
            .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
            .env("AWS_VAULT_UNLOCK_TTL", "0")
            .env("USER", "jane")
            .env("AWS_DEFAULT_REGION", "eu-west-2");
        let jane = moto.user("jane");
        let serial = jane["mfa_serial"].as_str().unwrap().to_string();
        let role = |name: &str| moto.role_arn(name);
        home.config(&format!(
            "\
[profile gds-users]
region = eu-west-1

[profile target-account]
source_profile = gds-users
region = eu-west-1
role_arn = {admin}
mfa_serial = {serial}

[profile chained]
source_profile = target-account
role_arn = {chained}
mfa_serial = {serial}

[profile readonly]
source_profile = gds-users
role_arn = {readonly}

[profile partner-ok]
source_profile = gds-users
role_arn = {partner}
external_id = ext-123

[profile partner-missing]
source_profile = gds-users
role_arn = {partner}
",
            admin = role("admin"),
            chained = role("chained"),
            readonly = role("readonly"),
            partner = role("partner"),
        ));
        let world = World { moto, home, serial };
        world.add_keys("gds-users", "jane");
        world
    }

    pub fn add_keys(&self, profile: &str, user: &str) {
        let user = self.moto.user(user);
        let key = |name: &str| user[name].as_str().unwrap();
        self.home
            .add_keys(profile, key("access_key_id"), key("secret_access_key"))
            .ok();
    }

    pub fn code(&self, offset: i64) -> String {
        self.moto.totp(&self.serial, offset)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.home.run(args)
    }

    /// The ARN `aws sts get-caller-identity` prints when run by `vault exec ARGS --`.
    pub fn caller_arn(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = vec!["exec"];
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

    /// Session entries in the store, as `vault list --sessions` shows them.
    pub fn sessions(&self) -> Vec<String> {
        let run = self.run(&["list", "--sessions"]);
        run.ok().lines().map(str::to_string).collect()
    }
}

/// The fake IAM Identity Center (`fake_sso.py`): SSO OIDC, the portal and `/authorize` on
/// 127.0.0.1. With a `Moto`, its role credentials are real sessions of moto's STS. Stopped
/// when dropped (and by itself when the test dies: it exits when its stdin closes).
pub struct FakeSso {
    child: Child,
    _stdin: ChildStdin,
    _dir: TempDir,
    pub endpoint: String,
}

impl FakeSso {
    pub fn start(moto: Option<&Moto>) -> FakeSso {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_sso.py");
        let mut command = Command::new(python());
        command.arg(&script);
        if let Some(moto) = moto {
            let state = dir.path().join("moto-state.json");
            std::fs::write(&state, moto.state.to_string()).unwrap();
            command.arg("--moto-state").arg(&state);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("READY "),
            "fake_sso.py did not start: {line:?}"
        );
        FakeSso {
            child,
            _stdin: stdin,
            _dir: dir,
            endpoint: line["READY ".len()..].trim().to_string(),
        }
    }

    /// A control call (`/_fake/...`) with a JSON body; its JSON answer.
    pub fn control(&self, path: &str, body: Value) -> Value {
        let text = if body.is_null() {
            http(&self.endpoint, "GET", path, "")
        } else {
            http(&self.endpoint, "POST", path, &body.to_string())
        };
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Calls per operation so far (`RegisterClient`, `CreateToken.refresh_token`, ...).
    pub fn calls(&self, op: &str) -> u64 {
        self.control("/_fake/calls", Value::Null)[op]
            .as_u64()
            .unwrap_or(0)
    }

    pub fn config(&self, knobs: Value) {
        self.control("/_fake/config", knobs);
    }

    pub fn reset(&self) {
        self.control("/_fake/reset", serde_json::json!({}));
    }
}

impl Drop for FakeSso {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The HTTP client for a Rust SDK client in a test: the SDK's own hyper/rustls stack on ring.
/// vault builds the SDK without its default HTTPS client (aws-lc), so `aws_config::defaults`
/// has none of its own in the test build either.
pub fn sdk_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// `command`'s output, or a failure (after killing it) if it runs longer than `limit`: a
/// hang is the bug some tests look for.
pub fn bounded(mut command: Command, limit: Duration) -> Run {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match outcome.recv_timeout(limit) {
        Ok(output) => Run::from(output.unwrap()),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("vault did not end within {limit:?}");
        }
    }
}
