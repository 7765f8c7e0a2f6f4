//! The `kdialog` driver (KDE): `--inputbox`, `--password` for passphrases, a passive popup for
//! notices. Untested: Debian's kdialog pulls in most of KDE Frameworks.
//! Must not: put an answer in argv.

use zeroize::Zeroizing;

use super::{Driver, Notice, Prompt, dialog};
use crate::error::Result;

pub struct Kdialog;

impl Prompt for Kdialog {
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>> {
        self.ask_titled("vault", question, hidden)
    }

    fn ask_titled(
        &mut self,
        title: &str,
        question: &str,
        hidden: bool,
    ) -> Result<Zeroizing<String>> {
        let text = shown(question);
        let mut command = crate::process::command("kdialog");
        command
            .arg("--title")
            .arg(&*crate::text::printable(title))
            .arg(if hidden { "--password" } else { "--inputbox" })
            .arg(text);
        dialog::answer(Driver::Kdialog, &mut command, question)
    }

    fn notice(&mut self, text: &str) -> Notice {
        let mut command = crate::process::command("kdialog");
        command
            .args(["--title", "vault", "--passivepopup"])
            .arg(shown(text))
            .arg("60");
        dialog::notice(Driver::Kdialog, &mut command, text)
    }
}

/// Escaped, and never taken for rich text (Qt treats text that starts with a tag as HTML).
fn shown(text: &str) -> String {
    let text = crate::text::printable(text.trim_end_matches([':', ' '])).into_owned();
    if text.starts_with('<') {
        format!(" {text}")
    } else {
        text
    }
}
