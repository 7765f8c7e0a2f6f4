//! The `osascript` driver (macOS): `display dialog ... default answer ""`, `with hidden
//! answer` for passphrases. Texts travel as script arguments, never inside the script, so no
//! quoting is needed. Untested: it needs macOS.
//! Must not: put an answer in argv.

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

const NOTICE: &str = r#"on run argv
display notification (item 1 of argv) with title "vault"
delay 60
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
        let mut command = crate::process::command("osascript");
        command
            .arg("-e")
            .arg(if hidden { ASK_HIDDEN } else { ASK })
            .arg("--")
            .arg(&*crate::text::printable(
                question.trim_end_matches([':', ' ']),
            ))
            .arg(&*crate::text::printable(title));
        dialog::answer(Driver::Osascript, &mut command, question)
    }

    fn notice(&mut self, text: &str) -> Notice {
        let mut command = crate::process::command("osascript");
        command
            .args(["-e", NOTICE, "--"])
            .arg(&*crate::text::printable(text));
        dialog::notice(Driver::Osascript, &mut command, text)
    }
}
