//! `exec --server`: vault stays the parent and serves the credentials to the command from a
//! container-credentials endpoint on 127.0.0.1 (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, with a
//! random `AWS_CONTAINER_AUTHORIZATION_TOKEN`), refreshing them before they expire. For
//! long-running work: the SDKs ask the endpoint again as the credentials near expiry.
//!
//! `exec --ec2-server` serves the EC2 instance metadata protocol instead (`imds.rs`), at
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
//!
//! This file owns the listener, the command and signal forwarding; `connections.rs` the
//! connections (who may connect, how many at once), `peer.rs` who owns a connection's other
//! end, `http.rs` the requests (how much a peer may send, how fast), `ecs.rs` and `imds.rs`
//! the routes; `callback.rs` the one-shot loopback pages of browser sign-ins (SSO's PKCE
//! flow, `vault signin`). Nothing here may listen
//! anywhere but 127.0.0.1 or give the command the keys themselves.
//!
//! Signals sent to vault are forwarded to the command; vault exits with its status.

pub mod callback;
pub mod connections;
pub mod ecs;
pub mod http;
pub mod imds;
pub mod peer;

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
pub const IMDS_VAR: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";

/// Which protocol the endpoint speaks.
pub enum Endpoint {
    /// Container credentials; `/role-arn/<ARN>` assumes roles with this.
    Ecs(ecs::Assume),
    /// EC2 instance metadata (IMDSv2; v1 too when `v1`).
    Imds { v1: bool, region: Option<String> },
}

/// Starts the endpoint (credentials `None`: fetched at the first request), runs the command with `env` plus the endpoint's variables, forwards
/// signals, and returns the command's exit status.
pub fn run(
    credentials: Option<Credentials>,
    refresh: Refresh,
    endpoint: Endpoint,
    min_ttl: Duration,
    program: &OsString,
    args: &[OsString],
    mut env: Vec<(OsString, OsString)>,
) -> Result<i32> {
    let listener = http::listen_loopback().map_err(|e| Error::Server {
        problem: format!("could not listen on 127.0.0.1: {e}"),
    })?;
    let address = listener.local_addr().map_err(|e| Error::Server {
        problem: format!("could not listen on 127.0.0.1: {e}"),
    })?;
    let port = address.port();
    // The command gets the endpoint, not the keys.
    env.retain(|(key, _)| {
        let key = key.to_string_lossy();
        !crate::exec::CREDENTIAL_VARS.contains(&key.as_ref())
            && !matches!(
                key.as_ref(),
                URI_VAR
                    | TOKEN_VAR
                    | IMDS_VAR
                    | "AWS_EC2_METADATA_DISABLED"
                    | "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                    | "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
            )
    });
    match endpoint {
        Endpoint::Ecs(assume) => {
            let token = SecretString::from(store::crypto::hex(&store::crypto::random::<32>()));
            let ecs =
                ecs::Ecs::new(token.clone(), credentials, refresh, min_ttl).with_roles(assume);
            serve(
                listener,
                http::Server::new(Arc::new(ecs), http::Limits::default()),
            );
            env.push((URI_VAR.into(), format!("http://127.0.0.1:{port}/").into()));
            env.push((TOKEN_VAR.into(), token.expose_secret().into()));
        }
        Endpoint::Imds { v1, region } => {
            if !peer::CHECKED {
                // Review 2, finding 10: served as aws-vault serves it, but said.
                crate::text::warn(
                    "on this platform vault cannot tell which user a connection comes from, and IMDS has no secret: while the command runs, any local user who finds the port of `--ec2-server` can read these credentials (as with aws-vault's); `--server` also needs its token",
                );
            }
            let imds = imds::Imds::new(address, v1, region, credentials, refresh, min_ttl);
            serve(
                listener,
                http::Server::new(Arc::new(imds), http::Limits::default()),
            );
            env.push((IMDS_VAR.into(), format!("http://127.0.0.1:{port}/").into()));
        }
    }
    crate::debug!("server: listening on 127.0.0.1:{port}");

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

/// Answers the listener's connections on a thread of its own.
fn serve<H: http::Handler>(listener: TcpListener, server: http::Server<H>) {
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
