//! `exec --server`: vault stays the parent and serves the credentials to the command from a
//! container-credentials endpoint on 127.0.0.1 (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, with a
//! random `AWS_CONTAINER_AUTHORIZATION_TOKEN`), refreshing them before they expire. For
//! long-running work: the SDKs ask the endpoint again as the credentials near expiry.
//!
//! Signals sent to vault are forwarded to the command; vault exits with its status.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::exec::rfc3339;
use crate::store::{self, Credentials};

/// Gets fresh credentials when the served ones are within this of expiry.
pub type Refresh = Box<dyn FnMut() -> Result<Credentials> + Send>;

/// The variables the command gets instead of the keys themselves.
pub const URI_VAR: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const TOKEN_VAR: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

struct Served {
    credentials: Credentials,
    refresh: Refresh,
    min_ttl: Duration,
}

impl Served {
    /// The credentials to hand out: refreshed first when they are close to expiry.
    fn current(&mut self) -> Result<&Credentials> {
        let left = self.credentials.seconds_left(store::now());
        if left.is_some_and(|left| left <= self.min_ttl.as_secs() as i64) {
            crate::debug!(
                "server: refreshing credentials ({}s left)",
                left.unwrap_or(0)
            );
            self.credentials = (self.refresh)()?;
        }
        Ok(&self.credentials)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

/// Starts the endpoint, runs the command with `env` plus the endpoint's variables, forwards
/// signals, and returns the command's exit status.
pub fn run(
    credentials: Credentials,
    refresh: Refresh,
    min_ttl: Duration,
    program: &OsString,
    args: &[OsString],
    mut env: Vec<(OsString, OsString)>,
) -> Result<i32> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Server {
        problem: format!("could not listen on 127.0.0.1: {e}"),
    })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let token = SecretString::from(store::crypto::hex(&store::crypto::random::<32>()));
    let served = Arc::new(Mutex::new(Served {
        credentials,
        refresh,
        min_ttl,
    }));
    {
        let token = token.clone();
        let served = Arc::clone(&served);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Err(e) = answer(stream, &token, &served) {
                    crate::debug!("server: {e}");
                }
            }
        });
    }
    crate::debug!("server: listening on 127.0.0.1:{port}");

    // The command gets the endpoint, not the keys.
    env.retain(|(key, _)| {
        let key = key.to_string_lossy();
        !matches!(
            key.as_ref(),
            "AWS_ACCESS_KEY_ID"
                | "AWS_SECRET_ACCESS_KEY"
                | "AWS_SESSION_TOKEN"
                | "AWS_CREDENTIAL_EXPIRATION"
        )
    });
    env.push((URI_VAR.into(), format!("http://127.0.0.1:{port}/").into()));
    env.push((TOKEN_VAR.into(), token.expose_secret().into()));

    // Catch signals before the command starts, so none arrives unhandled in between.
    let signals = catch_signals();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env)
        .spawn()
        .map_err(|source| Error::Exec {
            program: program.to_string_lossy().into_owned(),
            source,
        })?;
    if let Some(signals) = signals {
        forward_signals(signals, child.id());
    }
    let status = child.wait().map_err(|source| Error::Exec {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    Ok(exit_status(status))
}

/// The status a shell would report: the code, or 128 + the signal that ended the command.
fn exit_status(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// The signals a terminal or supervisor sends, caught instead of ending vault.
fn catch_signals() -> Option<signal_hook::iterator::Signals> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    let signals =
        signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2]);
    if signals.is_err() {
        crate::debug!("server: could not catch signals; they reach vault only");
    }
    signals.ok()
}

/// Sends the caught signals on to the command.
fn forward_signals(mut signals: signal_hook::iterator::Signals, child: u32) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    std::thread::spawn(move || {
        for number in signals.forever() {
            if let Ok(signal) = Signal::try_from(number) {
                let _ = kill(Pid::from_raw(child as i32), signal);
            }
        }
    });
}

/// Answers one request: the credentials for the right token, 403 otherwise.
fn answer(stream: TcpStream, token: &SecretString, served: &Mutex<Served>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_string());
        }
    }
    let authorized = authorization
        .as_deref()
        .is_some_and(|given| constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes()));
    let (status, body) = if !request_line.starts_with("GET ") {
        (
            "405 Method Not Allowed",
            r#"{"Message":"only GET is served"}"#.to_string(),
        )
    } else if !authorized {
        (
            "403 Forbidden",
            r#"{"Message":"invalid Authorization token"}"#.to_string(),
        )
    } else {
        let mut served = served
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match served.current() {
            Ok(c) => {
                let response = Response {
                    access_key_id: &c.access_key_id,
                    secret_access_key: c.secret_access_key.expose_secret(),
                    token: c.session_token.as_ref().map(|t| t.expose_secret()),
                    expiration: c.expiration.map(rfc3339),
                };
                (
                    "200 OK",
                    serde_json::to_string(&response).expect("credentials serialize"),
                )
            }
            Err(e) => {
                eprintln!("error: {e}");
                let message = serde_json::json!({ "Message": e.to_string() }).to_string();
                ("500 Internal Server Error", message)
            }
        }
    };
    let mut stream = &stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
