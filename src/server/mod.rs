//! `exec --server`: vault stays the parent and serves the credentials to the command from a
//! container-credentials endpoint on 127.0.0.1 (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, with a
//! random `AWS_CONTAINER_AUTHORIZATION_TOKEN`), refreshing them before they expire. For
//! long-running work: the SDKs ask the endpoint again as the credentials near expiry.
//!
//! This file owns the listener, the command and signal forwarding; `http.rs` the connections
//! (who may connect, how much they may send), `ecs.rs` the route. Nothing here may listen
//! anywhere but 127.0.0.1 or give the command the keys themselves.
//!
//! Signals sent to vault are forwarded to the command; vault exits with its status.

pub mod ecs;
pub mod http;

use std::ffi::OsString;
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::store::{self, Credentials};

/// Gets fresh credentials when the served ones are within this of expiry.
pub type Refresh = Box<dyn FnMut() -> Result<Credentials> + Send>;

/// The variables the command gets instead of the keys themselves.
pub const URI_VAR: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const TOKEN_VAR: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// Starts the endpoint (credentials `None`: fetched at the first request), runs the command with `env` plus the endpoint's variables, forwards
/// signals, and returns the command's exit status.
pub fn run(
    credentials: Option<Credentials>,
    refresh: Refresh,
    assume: ecs::Assume,
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
    let ecs = ecs::Ecs::new(token.clone(), credentials, refresh, min_ttl).with_roles(assume);
    let server = http::Server::new(Arc::new(ecs), http::Limits::default());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => server.handle(stream),
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    crate::debug!("server: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    });
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
    let mut command = Command::new(program);
    command.args(args).env_clear().envs(env);
    let mut child =
        crate::process::with_child_limits(|| command.spawn()).map_err(|source| Error::Exec {
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
