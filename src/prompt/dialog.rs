//! Running one dialog program (zenity, kdialog, osascript) and reading its answer from its
//! stdout: a missing program, Cancel, and `AWS_VAULT_PROMPT_TIMEOUT` become clear errors.
//! Must not: pass an answer in argv, log it, or keep a copy outside `Zeroizing`.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::signals::Signals;
use super::{Driver, Notice};
use crate::error::{Error, Result};

/// Starts `command` (built with `process::command`) for `driver`; its stdout is piped.
fn spawn(driver: Driver, command: &mut Command) -> Result<Child> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // GTK and Qt warn on stderr about things that do not matter here.
        .stderr(Stdio::null());
    crate::process::with_child_limits(|| command.spawn()).map_err(|e| {
        let (program, package) = driver.program().expect("dialog drivers run a program");
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::PromptProgramMissing {
                driver: driver.name(),
                program,
                package,
            }
        } else {
            Error::PromptFailed {
                driver: driver.name(),
                problem: format!("could not start `{program}`: {e}"),
            }
        }
    })
}

/// Runs a dialog and returns what it printed, less the final newline. Exit status 1 is
/// Cancel (zenity, kdialog, osascript all use it).
pub fn answer(driver: Driver, command: &mut Command, question: &str) -> Result<Zeroizing<String>> {
    let mut child = spawn(driver, command)?;
    let status = wait(driver, &mut child)?;
    let mut output = Zeroizing::new(Vec::with_capacity(64));
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_end(&mut output)
            .map_err(|e| Error::PromptFailed {
                driver: driver.name(),
                problem: format!("could not read the answer: {e}"),
            })?;
    }
    match status.code() {
        Some(0) => {}
        Some(1) => {
            return Err(Error::PromptCancelled {
                driver: driver.name(),
                question: question.trim_end_matches([':', ' ']).to_string(),
            });
        }
        _ => {
            return Err(Error::PromptFailed {
                driver: driver.name(),
                problem: format!("the dialog ended with {status}"),
            });
        }
    }
    let text = std::str::from_utf8(&output).map_err(|_| Error::PromptFailed {
        driver: driver.name(),
        problem: "the answer is not UTF-8".to_string(),
    })?;
    Ok(Zeroizing::new(
        text.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

/// Starts a window that stays up until the `Notice` is dropped.
pub fn notice(driver: Driver, command: &mut Command, text: &str) -> Notice {
    match spawn(driver, command) {
        Ok(child) => Notice(Some(child)),
        Err(_) => {
            eprintln!("{}", crate::text::printable(text));
            Notice::none()
        }
    }
}

/// Waits for the dialog. Past `AWS_VAULT_PROMPT_TIMEOUT`, or when vault gets SIGINT,
/// SIGTERM or SIGHUP (an IDE giving up on `credential_process`), the dialog is closed first,
/// so none is left on the screen.
fn wait(driver: Driver, child: &mut Child) -> Result<std::process::ExitStatus> {
    let failed = |e: std::io::Error| Error::PromptFailed {
        driver: driver.name(),
        problem: e.to_string(),
    };
    let limit = timeout()?;
    let signals = Signals::block().map_err(failed)?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(failed)? {
            return Ok(status);
        }
        if let Some(limit) = limit
            && started.elapsed() >= limit
        {
            close(child);
            return Err(Error::PromptTimeout {
                driver: driver.name(),
                after: humantime::format_duration(limit).to_string(),
            });
        }
        if let Some(signal) = signals
            .wait(None, Some(Duration::from_millis(50)))
            .map_err(failed)?
        {
            close(child);
            return Err(Error::Interrupted { signal });
        }
    }
}

fn close(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn timeout() -> Result<Option<Duration>> {
    const NAME: &str = "AWS_VAULT_PROMPT_TIMEOUT";
    match crate::env::var(NAME) {
        None => Ok(None),
        Some(text) => {
            let limit = crate::settings::parse_duration(&text, NAME)?;
            Ok((!limit.is_zero()).then_some(limit))
        }
    }
}
