//! The `kdialog` driver (KDE): `--inputbox`, `--password` for passphrases, a `--msgbox` for
//! notices (closed when the notice ends, unlike a passive popup that a notification daemon
//! keeps). Tested for real under Xvfb (tests/gui.rs).
//! Must not: put an answer in argv, or let a config value become Qt rich text.

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
        let mut command = crate::process::command("kdialog");
        command.arg("--title").arg(&*crate::text::printable(title));
        if hidden {
            command.arg("--password").arg(shown(question, Label::Plain));
        } else {
            command
                .arg("--inputbox")
                .arg(shown(question, Label::Mnemonic));
        }
        dialog::answer(Driver::Kdialog, &mut command, question)
    }

    fn notice(&mut self, text: &str) -> Notice {
        let mut command = crate::process::command("kdialog");
        command
            .args(["--title", "vault", "--msgbox"])
            .arg(shown(text, Label::Plain));
        dialog::notice(Driver::Kdialog, &mut command, text)
    }
}

/// How Qt reads a label's `&`.
#[derive(Clone, Copy)]
enum Label {
    /// `--password`, `--msgbox`: `&` is itself.
    Plain,
    /// `--inputbox`: the label names the entry's shortcut, so a lone `&` underlines the next
    /// letter and `&&` is one `&`.
    Mnemonic,
}

/// Qt shows a label as rich text when a tag appears anywhere in its first line, so a serial
/// with `<b>` in it would be markup. Always rich text, then, with everything escaped: the
/// person sees the text as written (checked on kdialog 22.12's screen).
fn shown(text: &str, label: Label) -> String {
    let text = crate::text::printable(text.trim_end_matches([':', ' ']));
    let ampersand = match label {
        Label::Plain => "&amp;",
        Label::Mnemonic => "&amp;&amp;",
    };
    let escaped = text
        .replace('&', ampersand)
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<qt>{escaped}</qt>")
}

#[cfg(test)]
mod tests {
    use super::{Label, shown};

    #[test]
    fn config_values_are_not_rich_text_or_shortcuts() {
        let question = "Enter MFA code for `<b>x&y</b>\u{1b}`: ";
        assert_eq!(
            shown(question, Label::Plain),
            "<qt>Enter MFA code for `&lt;b&gt;x&amp;y&lt;/b&gt;\\u{1b}`</qt>"
        );
        assert_eq!(
            shown(question, Label::Mnemonic),
            "<qt>Enter MFA code for `&lt;b&gt;x&amp;&amp;y&lt;/b&gt;\\u{1b}`</qt>"
        );
    }
}
