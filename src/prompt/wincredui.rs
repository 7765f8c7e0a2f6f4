//! The `wincredui` driver (Windows): MFA codes in the Windows credential dialog, as aws-vault's
//! `wincredui` asks them (the serial as a read-only user name, the code as the password).
//! vault opens the dialog through Windows PowerShell's `$Host.UI.PromptForCredential` rather
//! than calling `credui.dll` itself, so there is no `unsafe`: the script is fixed, the texts
//! travel in environment variables (no quoting), the code comes back on stdout. Untested: it
//! needs Windows; only the command is checked here.
//! Must not: put the code in argv, or answer any question but an MFA code.

use std::process::Command;

use base64::Engine;

use super::{Driver, dialog};
use crate::error::Result;

/// Where the script finds its texts.
const CAPTION: &str = "VAULT_WINCREDUI_CAPTION";
const MESSAGE: &str = "VAULT_WINCREDUI_MESSAGE";
const USER: &str = "VAULT_WINCREDUI_USER";

/// Exit 0 with the code on stdout; 1 is Cancel (as for the other dialogs); 2 is an error.
/// `AlwaysPrompt`: never an answer Windows remembered for the target instead of a dialog.
const SCRIPT: &str = r#"trap { [Console]::Error.WriteLine($_); exit 2 }
$options = [System.Management.Automation.PSCredentialUIOptions]'ReadOnlyUserName, AlwaysPrompt'
$credential = $Host.UI.PromptForCredential($env:VAULT_WINCREDUI_CAPTION, $env:VAULT_WINCREDUI_MESSAGE, $env:VAULT_WINCREDUI_USER, 'vault', [System.Management.Automation.PSCredentialTypes]::Generic, $options)
if ($null -eq $credential) { exit 1 }
[Console]::Out.Write($credential.GetNetworkCredential().Password)
exit 0
"#;

/// The code for `serial`, asked for `profile`.
pub fn code(profile: &str, serial: &str) -> Result<String> {
    let question = format!("Enter MFA code for {serial}: ");
    let mut command = command(profile, serial);
    let code = dialog::answer(Driver::Wincredui, &mut command, &question)?;
    Ok(code.trim().to_string())
}

/// `powershell.exe` (Windows PowerShell 5.1, whose `PromptForCredential` is the dialog; `pwsh`
/// asks in its console) with the script and its texts.
fn command(profile: &str, serial: &str) -> Command {
    let caption = format!("vault: MFA code for profile {profile}");
    let message = format!("Enter the MFA code for {serial}");
    let mut command = crate::process::command("powershell.exe");
    command
        .args(["-NoProfile", "-NonInteractive", "-EncodedCommand"])
        .arg(encoded(SCRIPT))
        .env(CAPTION, &*crate::text::printable(&caption))
        .env(MESSAGE, &*crate::text::printable(&message))
        .env(USER, &*crate::text::printable(&short_serial(serial)));
    // Started from an IDE (no console), powershell.exe would open a console window too.
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        command.creation_flags(CREATE_NO_WINDOW);
    }
    command
}

/// aws-vault's user name for the dialog: `arn:aws:iam::111111111111:mfa/jane` is
/// `111111111111/jane`.
fn short_serial(serial: &str) -> String {
    serial.replace("arn:aws:iam::", "").replace(":mfa", "")
}

/// `-EncodedCommand` takes base64 of UTF-16LE: no quoting rules of cmd.exe or PowerShell
/// apply to the script.
fn encoded(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> String {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    }

    #[test]
    fn the_script_is_fixed_and_the_texts_travel_in_the_environment() {
        let serial = "arn:aws:iam::111111111111:mfa/jane";
        let command = command("prod 'x' \u{2019}; $(evil)", serial);
        assert_eq!(command.get_program(), "powershell.exe");
        let args: Vec<_> = command.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args[..3],
            ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
        );
        assert_eq!(args.len(), 4);
        assert_eq!(decoded(args[3]), SCRIPT);
        let env = |name: &str| {
            command
                .get_envs()
                .find(|(key, _)| *key == name)
                .and_then(|(_, value)| value)
                .map(|value| value.to_str().unwrap().to_string())
        };
        assert_eq!(
            env(CAPTION).unwrap(),
            "vault: MFA code for profile prod 'x' \u{2019}; $(evil)"
        );
        assert_eq!(
            env(MESSAGE).unwrap(),
            format!("Enter the MFA code for {serial}")
        );
        assert_eq!(env(USER).unwrap(), "111111111111/jane");
        // vault's own secrets stay out, as for every program vault starts.
        assert!(
            command
                .get_envs()
                .any(|(key, value)| key == "AWS_VAULT_FILE_PASSPHRASE" && value.is_none())
        );
    }

    #[test]
    fn the_script_reads_only_its_variables_and_prints_only_the_password() {
        for name in [CAPTION, MESSAGE, USER] {
            assert!(SCRIPT.contains(&format!("$env:{name}")), "{name}");
        }
        assert_eq!(SCRIPT.matches("$env:").count(), 3);
        assert_eq!(SCRIPT.matches("[Console]::Out").count(), 1);
        assert!(
            SCRIPT.contains("[Console]::Out.Write($credential.GetNetworkCredential().Password)")
        );
    }

    #[test]
    fn control_characters_in_a_config_value_are_escaped() {
        let command = command("p\u{1b}[2J", "s");
        let caption = command
            .get_envs()
            .find(|(key, _)| *key == CAPTION)
            .and_then(|(_, value)| value)
            .unwrap();
        assert_eq!(caption, "vault: MFA code for profile p\\u{1b}[2J");
    }
}
