//! The `osascript` driver (macOS): `display dialog ... default answer ""`, `with hidden
//! answer` for passphrases. Texts travel as script arguments, never inside the script, so no
//! quoting is needed and a profile name cannot become AppleScript. Untested: it needs macOS;
//! only the commands are checked here.
//! Must not: put an answer in argv, or a text in a script.

use std::process::Command;

use zeroize::Zeroizing;

use super::{Driver, Notice, Prompt, dialog};
use crate::error::Result;

pub struct Osascript;

const ASK: &str = r#"on run argv
display dialog (item 1 of argv) with title (item 2 of argv) default answer ""
return text returned of result
end run"#;

const ASK_HIDDEN: &str = r#"on run argv
display dialog (item 1 of argv) with title (item 2 of argv) default answer "" with hidden answer
return text returned of result
end run"#;

/// A dialog, not a notification: it goes when vault kills osascript (ykman is done), where
/// Notification Center would keep a stale "touch your key".
const NOTICE: &str = r#"on run argv
display dialog (item 1 of argv) with title "vault" buttons {"OK"} default button 1 giving up after 60
end run"#;

impl Prompt for Osascript {
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>> {
        self.ask_titled("vault", question, hidden)
    }

    fn ask_titled(
        &mut self,
        title: &str,
        question: &str,
        hidden: bool,
    ) -> Result<Zeroizing<String>> {
        let mut command = ask(title, question, hidden);
        dialog::answer(Driver::Osascript, &mut command, question)
    }

    fn notice(&mut self, text: &str) -> Notice {
        let mut command = script(NOTICE, &[text]);
        dialog::notice(Driver::Osascript, &mut command, text)
    }
}

fn ask(title: &str, question: &str, hidden: bool) -> Command {
    let text = if hidden { ASK_HIDDEN } else { ASK };
    script(text, &[question.trim_end_matches([':', ' ']), title])
}

/// `osascript -e SCRIPT -- TEXTS...`: the script's `argv` are the texts, with control
/// characters escaped as everywhere else.
fn script(script: &str, texts: &[&str]) -> Command {
    let mut command = crate::process::command("osascript");
    command.args(["-e", script, "--"]);
    for text in texts {
        command.arg(&*crate::text::printable(text));
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|a| a.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn texts_are_arguments_never_script() {
        // A profile name that would end an AppleScript string and run a shell command.
        let title = r#"vault: MFA code for profile x" & (do shell script "touch /tmp/p") & ""#;
        let question = "Enter MFA code for arn:aws:iam::1:mfa/j\\\"\u{1b}: ";
        let command = ask(title, question, false);
        assert_eq!(command.get_program(), "osascript");
        assert_eq!(
            args(&command),
            [
                "-e",
                ASK,
                "--",
                "Enter MFA code for arn:aws:iam::1:mfa/j\\\"\\u{1b}",
                title
            ]
        );
        assert_eq!(args(&ask(title, question, true))[1], ASK_HIDDEN);
        assert_eq!(
            args(&script(NOTICE, &["Touch your YubiKey"])),
            ["-e", NOTICE, "--", "Touch your YubiKey"]
        );
    }

    #[test]
    fn the_scripts_hold_no_text_but_their_own() {
        for script in [ASK, ASK_HIDDEN, NOTICE] {
            assert!(script.starts_with("on run argv\n"), "{script}");
            assert!(script.ends_with("\nend run"), "{script}");
            // The only string literals: the empty default answer, the title, the button.
            let literals: Vec<&str> = script.split('"').skip(1).step_by(2).collect();
            assert!(
                literals.iter().all(|l| ["", "vault", "OK"].contains(l)),
                "{literals:?}"
            );
        }
        assert!(ASK_HIDDEN.contains("with hidden answer"));
        assert!(!ASK.contains("hidden"));
    }
}
