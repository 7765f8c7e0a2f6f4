//! Where an MFA code comes from: `--mfa-token`, else the profile's `mfa_process`, else the
//! prompt driver (`ykman` or `wincredui` when named, else the driver that asks questions).
//! A code must be six digits before it is sent.

use std::process::Stdio;

use crate::error::{Error, Result};
use crate::prompt::{Driver, Prompt};

/// The ways to get a code, in the order they are tried.
pub struct MfaSource<'a> {
    /// `-t/--mfa-token`, used for the first code asked for (a code works once).
    pub token: Option<String>,
    /// The prompt driver named, if any: `ykman` reads codes from a YubiKey, `wincredui` asks
    /// in the Windows credential dialog; the others ask through `prompt`.
    pub named: Option<Driver>,
    /// The driver that asks questions (and shows ykman's "touch your key").
    pub prompt: &'a mut dyn Prompt,
}

impl MfaSource<'_> {
    /// A code for the device `serial`, asked for `profile` (the one the person named);
    /// `process` is the step's `mfa_process`.
    pub fn code(&mut self, profile: &str, serial: &str, process: Option<&str>) -> Result<String> {
        let code = if let Some(token) = self.token.take() {
            token
        } else if let Some(command) = process {
            crate::debug!("mfa: running mfa_process");
            run_process(command, serial)?
        } else if self.named == Some(Driver::Ykman) {
            crate::prompt::ykman::code(serial, &mut *self.prompt)?
        } else if self.named == Some(Driver::Wincredui) {
            crate::prompt::wincredui::code(profile, serial)?
        } else {
            let title = format!("vault: MFA code for profile {profile} ({serial})");
            let question = format!("Enter MFA code for {serial}: ");
            self.prompt
                .ask_titled(&title, &question, false)?
                .trim()
                .to_string()
        };
        check(&code, serial)?;
        Ok(code)
    }
}

/// Six ASCII digits.
pub fn check(code: &str, serial: &str) -> Result<()> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::BadMfaCode {
            serial: serial.to_string(),
        })
    }
}

/// Runs `mfa_process` through the shell; its stdout, trimmed, is the code.
fn run_process(command: &str, serial: &str) -> Result<String> {
    let mut process = crate::process::command("/bin/sh");
    process
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let output = crate::process::output(&mut process).map_err(|e| Error::MfaProcess {
        serial: serial.to_string(),
        problem: e.to_string(),
    })?;
    if !output.status.success() {
        return Err(Error::MfaProcess {
            serial: serial.to_string(),
            problem: format!("it exited with {}", output.status),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::Scripted;

    #[test]
    fn codes_are_six_digits() {
        assert!(check("123456", "s").is_ok());
        for bad in ["12345", "1234567", "12345a", " 12345", ""] {
            assert!(check(bad, "s").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn token_then_process_then_prompt() {
        let mut prompt = Scripted::new(&["654321"]);
        let mut source = MfaSource {
            token: Some("111111".into()),
            named: None,
            prompt: &mut prompt,
        };
        assert_eq!(
            source.code("p", "s", Some("echo 333333")).unwrap(),
            "111111"
        );
        assert_eq!(source.code("p", "s", None).unwrap(), "654321");
        assert_eq!(
            source.code("p", "s", Some("echo ' 222222 '")).unwrap(),
            "222222"
        );
        assert!(source.code("p", "s", Some("echo 12")).is_err());
        assert!(source.code("p", "s", Some("exit 3")).is_err());
        assert_eq!(prompt.asked, ["Enter MFA code for s: "]);
    }
}
