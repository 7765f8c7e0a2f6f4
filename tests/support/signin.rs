//! The fake AWS Sign-In service (`fake_signin.py`, proven against botocore's own
//! `LoginProvider` by `check_fake_signin.py`) for the sign-in session tests: started on
//! 127.0.0.1, its credentials minted from moto, stopped when dropped (and by itself when the
//! test dies: it exits when its stdin closes).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use super::{Moto, http, python};

pub struct FakeSignin {
    child: Child,
    _stdin: ChildStdin,
    _dir: TempDir,
    pub endpoint: String,
}

impl FakeSignin {
    pub fn start(moto: Option<&Moto>) -> FakeSignin {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_signin.py");
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
            "fake_signin.py did not start: {line:?}"
        );
        FakeSignin {
            child,
            _stdin: stdin,
            _dir: dir,
            endpoint: line["READY ".len()..].trim().to_string(),
        }
    }

    /// A control call (`/_fake/...`) with a JSON body (`null`: a GET); its JSON answer.
    pub fn control(&self, path: &str, body: Value) -> Value {
        let text = if body.is_null() {
            http(&self.endpoint, "GET", path, "")
        } else {
            http(&self.endpoint, "POST", path, &body.to_string())
        };
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Calls so far of `op` (`CreateOAuth2Token.refresh_token`, `Authorize`, `refused`, ...).
    pub fn calls(&self, op: &str) -> u64 {
        self.control("/_fake/calls", Value::Null)[op]
            .as_u64()
            .unwrap_or(0)
    }

    /// The cache file of a session as `aws login` leaves it, its access token expiring in
    /// `expires_in` seconds.
    pub fn issue(&self, expires_in: i64, options: Value) -> Value {
        let mut body = options;
        body["expires_in"] = expires_in.into();
        self.control("/_fake/issue", body)
    }

    /// The next token calls are refused with these codes, one each.
    pub fn fail(&self, codes: &[&str]) {
        self.control("/_fake/fail", serde_json::json!({ "codes": codes }));
    }

    pub fn config(&self, knobs: Value) {
        self.control("/_fake/config", knobs);
    }

    pub fn log(&self) -> Vec<Value> {
        match self.control("/_fake/log", Value::Null) {
            Value::Array(entries) => entries,
            _ => Vec::new(),
        }
    }
}

impl Drop for FakeSignin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
