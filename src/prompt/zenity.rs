//! The `zenity` driver (GNOME, and most X11/Wayland desktops): `--entry`, with
//! `--hide-text` for passphrases.
//! Must not: put an answer in argv, or let a config value become Pango markup.

use zeroize::Zeroizing;

use super::{Driver, Notice, Prompt, dialog};
use crate::error::Result;

pub struct Zenity;

impl Prompt for Zenity {
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>> {
        self.ask_titled("vault", question, hidden)
    }

    fn ask_titled(
        &mut self,
        title: &str,
        question: &str,
        hidden: bool,
    ) -> Result<Zeroizing<String>> {
        let mut command = crate::process::command("zenity");
        command
            .arg("--entry")
            .arg(format!("--title={}", crate::text::printable(title)))
            .arg(format!("--text={}", markup_escaped(question)));
        if hidden {
            command.arg("--hide-text");
        }
        dialog::answer(Driver::Zenity, &mut command, question)
    }

    fn notice(&mut self, text: &str) -> Notice {
        let mut command = crate::process::command("zenity");
        command
            .arg("--info")
            .arg("--title=vault")
            .arg(format!("--text={}", markup_escaped(text)));
        dialog::notice(Driver::Zenity, &mut command, text)
    }
}

/// zenity reads `--text` as Pango markup: `<`, `>` and `&` in a config value are shown as
/// themselves. Control characters are escaped as everywhere else.
fn markup_escaped(text: &str) -> String {
    crate::text::printable(text.trim_end_matches([':', ' ']))
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_values_are_not_markup() {
        assert_eq!(
            super::markup_escaped("Enter MFA code for `<b>x&y</b>\u{1b}`: "),
            "Enter MFA code for `&lt;b&gt;x&amp;y&lt;/b&gt;\\u{1b}`"
        );
    }
}
