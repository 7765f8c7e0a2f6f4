//! Running the `pass` command (or a compatible one, e.g. gopass) on a password store: with
//! stdin given or null, output captured, and a time limit, so that a gpg-agent that cannot
//! ask for a passphrase never hangs vault. It must not put a secret in argv or the
//! environment, nor decide what the entries mean.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// How long one `pass` call may take: gpg-agent may be showing a passphrase prompt.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Why a `pass` call gave no output.
#[derive(Debug)]
pub enum RunError {
    /// The program is not on PATH.
    NotFound(String),
    TimedOut,
    Other(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NotFound(cmd) => write!(f, "`{cmd}` is not installed (not found on PATH)"),
            RunError::TimedOut => write!(
                f,
                "`pass` did not finish within {} s (gpg-agent may be waiting for a passphrase no one can type)",
                TIMEOUT.as_secs()
            ),
            RunError::Other(problem) => f.write_str(problem),
        }
    }
}

/// `cmd ARGS` on the store at `dir` (`PASSWORD_STORE_DIR`), `input` on stdin (else
/// /dev/null), stdout and stderr captured, stopped after `timeout`.
pub fn run(
    cmd: &str,
    dir: &Path,
    args: &[&str],
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, RunError> {
    let mut command = crate::process::command(cmd);
    command
        .args(args)
        .env("PASSWORD_STORE_DIR", dir)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = crate::process::with_child_limits(|| command.spawn()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RunError::NotFound(cmd.to_string())
        } else {
            RunError::Other(format!("could not start `{cmd}`: {e}"))
        }
    })?;
    let writer = child.stdin.take().map(|mut stdin| {
        let bytes = zeroize::Zeroizing::new(input.unwrap_or_default().to_vec());
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        })
    });
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut);
            }
            Err(e) => return Err(RunError::Other(format!("`{cmd}` failed: {e}"))),
        }
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The first line of a failed call's stderr, for a message.
pub fn first_line(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    format!("{line} ({})", output.status)
}
