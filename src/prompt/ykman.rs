//! The `ykman` driver: MFA codes from a YubiKey's OATH applet, as aws-vault reads them
//! (`YKMAN_OATH_CREDENTIAL_NAME`, `YKMAN_OATH_DEVICE_SERIAL`, `AWS_VAULT_YKMAN_VERSION`). The
//! "touch your key" message goes where questions would: the terminal, else a GUI driver's
//! window (closed when ykman ends), else stderr.
//! Must not: answer any question but an MFA code.

use std::process::Stdio;

use super::Prompt;
use crate::error::{Error, Result};

/// The current code for `serial` (the OATH account name unless one is given).
pub fn code(serial: &str, prompt: &mut dyn Prompt) -> Result<String> {
    let name = std::env::var("YKMAN_OATH_CREDENTIAL_NAME").unwrap_or_else(|_| serial.to_string());
    let mut command = crate::process::command("ykman");
    if let Ok(device) = std::env::var("YKMAN_OATH_DEVICE_SERIAL") {
        command.args(["--device", &device]);
    }
    // ykman before 4 called the subcommand `oath code`.
    match std::env::var("AWS_VAULT_YKMAN_VERSION").as_deref() {
        Ok("1" | "2" | "3") => command.args(["oath", "code"]),
        _ => command.args(["oath", "accounts", "code"]),
    };
    command
        // `--` first: an account name (`mfa_serial`) that starts with `-` is not an option.
        .args(["--single", "--", &name])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let _shown = prompt.notice(&format!("Touch your YubiKey for {serial}..."));
    let output = crate::process::output(&mut command).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::PromptProgramMissing {
                driver: "ykman",
                program: "ykman",
                package: super::Driver::Ykman.program().expect("ykman runs ykman").1,
            }
        } else {
            Error::MfaProcess {
                serial: serial.to_string(),
                problem: format!("could not run ykman: {e}"),
            }
        }
    })?;
    if !output.status.success() {
        return Err(Error::MfaProcess {
            serial: serial.to_string(),
            problem: format!("ykman exited with {}", output.status),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
