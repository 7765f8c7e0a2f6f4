//! Asking a person: passphrases, keys, MFA codes, yes/no. Owns the prompt drivers (one file
//! each), their names, and the automatic choice between them. The only module that touches
//! the terminal, and it reads `/dev/tty`, never stdin, so it works under pipes and
//! `credential_process`. With no way to ask it fails at once instead of waiting.
//! Must not: print to stdout, or put an answer in argv, a log or an error.

mod dialog;
mod kdialog;
mod osascript;
pub mod picker;
mod signals;
mod terminal;
pub mod wincredui;
pub mod ykman;
mod zenity;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub use terminal::Terminal;

/// Whether there is a terminal to ask on (`/dev/tty` opens; it does not under `setsid`).
pub fn terminal_available() -> bool {
    terminal::available()
}

/// Something that can answer questions.
pub trait Prompt {
    /// Asks `question` and returns the answer without its line ending. `hidden` answers are
    /// not echoed.
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>>;

    /// `ask`, with a title for drivers that show a window (`vault: ...`).
    fn ask_titled(
        &mut self,
        _title: &str,
        question: &str,
        hidden: bool,
    ) -> Result<Zeroizing<String>> {
        self.ask(question, hidden)
    }

    /// Shows `text` while something else happens (ykman waiting for a touch), until the
    /// returned `Notice` is dropped.
    fn notice(&mut self, text: &str) -> Notice {
        eprintln!("{}", crate::text::printable(text));
        Notice::none()
    }
}

/// A message on show; a window is closed when this is dropped.
pub struct Notice(Option<std::process::Child>);

impl Notice {
    pub fn none() -> Notice {
        Notice(None)
    }
}

impl Drop for Notice {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// aws-vault's prompt driver names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Terminal,
    Zenity,
    Kdialog,
    Osascript,
    Ykman,
    /// Windows only: `parse` refuses it elsewhere.
    Wincredui,
}

/// The drivers `--prompt` takes here.
pub const DRIVERS: &[Driver] = &[
    Driver::Terminal,
    Driver::Zenity,
    Driver::Kdialog,
    Driver::Osascript,
    Driver::Ykman,
    #[cfg(windows)]
    Driver::Wincredui,
];

/// The GUI drivers, in the order the automatic choice tries them.
const GUI: [Driver; 3] = [Driver::Zenity, Driver::Kdialog, Driver::Osascript];

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Terminal => "terminal",
            Driver::Zenity => "zenity",
            Driver::Kdialog => "kdialog",
            Driver::Osascript => "osascript",
            Driver::Ykman => "ykman",
            Driver::Wincredui => "wincredui",
        }
    }

    /// A driver's name; the error lists the valid ones.
    pub fn parse(name: &str) -> std::result::Result<Driver, String> {
        if let Some(&driver) = DRIVERS.iter().find(|d| d.name() == name) {
            return Ok(driver);
        }
        let valid = DRIVERS
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(", ");
        Err(match name {
            "wincredui" => format!("`wincredui` works on Windows only; choose one of {valid}"),
            "pass" => format!(
                "`pass` is not a prompt driver: set `mfa_process = pass otp SERIAL` in the profile, or choose one of {valid}"
            ),
            _ => format!("unknown prompt driver `{name}`; choose one of {valid}"),
        })
    }

    /// The program a driver runs, and the package that has it (Debian, Homebrew).
    pub fn program(self) -> Option<(&'static str, &'static str)> {
        match self {
            Driver::Terminal => None,
            Driver::Zenity => Some(("zenity", "Debian `zenity`")),
            Driver::Kdialog => Some(("kdialog", "Debian `kdialog`")),
            Driver::Osascript => Some(("osascript", "macOS's own")),
            Driver::Ykman => Some(("ykman", "Debian `yubikey-manager`, Homebrew `ykman`")),
            Driver::Wincredui => Some(("powershell.exe", "Windows's own")),
        }
    }

    /// A window-showing driver as a `Prompt`; the terminal for the others.
    fn open(self) -> Box<dyn Prompt> {
        match self {
            Driver::Zenity => Box::new(zenity::Zenity),
            Driver::Kdialog => Box::new(kdialog::Kdialog),
            Driver::Osascript => Box::new(osascript::Osascript),
            Driver::Terminal | Driver::Ykman | Driver::Wincredui => Box::new(Terminal),
        }
    }
}

/// `--prompt` or `AWS_VAULT_PROMPT` as given: empty is "choose automatically", as in
/// aws-vault (and as an empty variable means everywhere else in vault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named(pub Option<Driver>);

impl Named {
    pub fn parse(text: &str) -> std::result::Result<Named, String> {
        if text.is_empty() {
            return Ok(Named(None));
        }
        Driver::parse(text).map(|driver| Named(Some(driver)))
    }
}

/// What the automatic choice looks at.
pub struct Surroundings<'a> {
    /// `/dev/tty` opens, and vault may use it (not for `exec --server` refreshes).
    pub terminal: bool,
    /// DISPLAY or WAYLAND_DISPLAY is set, or this is macOS.
    pub display: bool,
    pub installed: &'a dyn Fn(&str) -> bool,
    pub macos: bool,
}

/// The driver that asks questions: the one named, else the terminal when there is one, else
/// the first GUI driver that can show a window. `None`: no way to ask. The reason is for
/// `--debug`.
pub fn choose(named: Option<Driver>, around: &Surroundings) -> (Option<Driver>, String) {
    match named {
        Some(
            driver @ (Driver::Terminal | Driver::Zenity | Driver::Kdialog | Driver::Osascript),
        ) => {
            return (Some(driver), format!("`{}` was named", driver.name()));
        }
        Some(Driver::Ykman | Driver::Wincredui) | None => {}
    }
    let why = match named {
        Some(driver) => format!(
            "{} gives MFA codes only; for other questions, ",
            driver.name()
        ),
        None => String::new(),
    };
    if around.terminal {
        return (Some(Driver::Terminal), format!("{why}there is a terminal"));
    }
    let can_show = |driver: Driver| match driver {
        Driver::Osascript => around.macos,
        _ => around.display && !around.macos,
    };
    for driver in GUI {
        let program = driver.program().expect("GUI drivers run a program").0;
        if can_show(driver) && (around.installed)(program) {
            return (
                Some(driver),
                format!("{why}no terminal; `{program}` is installed and can show a window"),
            );
        }
    }
    let reason = if around.display || around.macos {
        "no terminal, and none of zenity, kdialog, osascript is installed"
    } else {
        "no terminal, and no DISPLAY or WAYLAND_DISPLAY for a GUI driver"
    };
    (None, format!("{why}{reason}"))
}

/// The prompt for questions, chosen as `choose` says when the first question comes (the warm
/// path asks none), with `--debug` saying why. `terminal` is false where the terminal must
/// not be used (refreshes under `exec --server`).
pub fn asker(named: Option<Driver>, terminal: bool) -> Box<dyn Prompt> {
    Box::new(Chosen {
        named,
        terminal,
        chosen: None,
    })
}

struct Chosen {
    named: Option<Driver>,
    terminal: bool,
    chosen: Option<Box<dyn Prompt>>,
}

impl Chosen {
    fn prompt(&mut self) -> &mut dyn Prompt {
        let (named, terminal) = (self.named, self.terminal);
        self.chosen
            .get_or_insert_with(|| {
                if !terminal {
                    crate::debug!("prompt: not the terminal, which the command owns");
                }
                let display = ["DISPLAY", "WAYLAND_DISPLAY"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
                let around = Surroundings {
                    terminal: terminal && terminal::available(),
                    display,
                    installed: &|program| find_program(program).is_some(),
                    macos: cfg!(target_os = "macos"),
                };
                match choose(named, &around) {
                    (Some(driver), why) => {
                        crate::debug!("prompt: `{}` ({why})", driver.name());
                        driver.open()
                    }
                    (None, why) => {
                        crate::debug!("prompt: none ({why})");
                        // Shown after "no terminal".
                        let problem = why.strip_prefix("no terminal, ").unwrap_or(&why);
                        Box::new(Nowhere {
                            problem: problem.to_string(),
                        })
                    }
                }
            })
            .as_mut()
    }
}

impl Prompt for Chosen {
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>> {
        self.prompt().ask(question, hidden)
    }

    fn ask_titled(
        &mut self,
        title: &str,
        question: &str,
        hidden: bool,
    ) -> Result<Zeroizing<String>> {
        self.prompt().ask_titled(title, question, hidden)
    }

    fn notice(&mut self, text: &str) -> Notice {
        self.prompt().notice(text)
    }
}

/// No way to ask: every question fails at once.
struct Nowhere {
    problem: String,
}

impl Prompt for Nowhere {
    fn ask(&mut self, question: &str, _hidden: bool) -> Result<Zeroizing<String>> {
        Err(Error::NoTerminal {
            question: question.trim_end_matches([':', ' ']).to_string(),
            problem: self.problem.clone(),
        })
    }
}

/// `program` in PATH, as the shell would find it.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Answers given in advance, for tests. Records the questions asked.
#[derive(Debug, Default)]
pub struct Scripted {
    pub answers: VecDeque<String>,
    pub asked: Vec<String>,
}

impl Scripted {
    pub fn new(answers: &[&str]) -> Scripted {
        Scripted {
            answers: answers.iter().map(|a| a.to_string()).collect(),
            asked: Vec::new(),
        }
    }
}

impl Prompt for Scripted {
    fn ask(&mut self, question: &str, _hidden: bool) -> Result<Zeroizing<String>> {
        self.asked.push(question.to_string());
        self.answers
            .pop_front()
            .map(Zeroizing::new)
            .ok_or_else(|| Error::NoTerminal {
                question: question.to_string(),
                problem: "no scripted answer left".to_string(),
            })
    }
}

/// A yes/no question; only `y` or `yes` (any case) is yes.
pub fn confirm(prompt: &mut dyn Prompt, question: &str) -> Result<bool> {
    let answer = prompt.ask(question, false)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(
        named: Option<Driver>,
        terminal: bool,
        display: bool,
        installed: &[&str],
    ) -> Option<Driver> {
        let installed = |p: &str| installed.contains(&p);
        let around = Surroundings {
            terminal,
            display,
            installed: &installed,
            macos: false,
        };
        choose(named, &around).0
    }

    #[test]
    fn automatic_choice() {
        use Driver::*;
        let all = &["zenity", "kdialog", "osascript"];
        // (named, terminal, display, installed) -> chosen
        type Case<'a> = (Option<Driver>, bool, bool, &'a [&'a str], Option<Driver>);
        let cases: &[Case] = &[
            (None, true, true, all, Some(Terminal)),
            (None, false, true, all, Some(Zenity)),
            (None, false, true, &["kdialog"], Some(Kdialog)),
            (None, false, true, &["osascript"], None),
            (None, false, false, all, None),
            (None, false, true, &[], None),
            (Some(Ykman), false, true, &["zenity"], Some(Zenity)),
            (Some(Ykman), true, true, &["zenity"], Some(Terminal)),
            (Some(Wincredui), false, true, &["zenity"], Some(Zenity)),
            (Some(Wincredui), true, false, &[], Some(Terminal)),
            (Some(Wincredui), false, false, all, None),
            (Some(Kdialog), true, false, &[], Some(Kdialog)),
            (Some(Terminal), false, true, all, Some(Terminal)),
        ];
        for (named, terminal, display, installed, expected) in cases {
            assert_eq!(
                chosen(*named, *terminal, *display, installed),
                *expected,
                "{named:?} terminal={terminal} display={display} {installed:?}"
            );
        }
        let around = Surroundings {
            terminal: false,
            display: false,
            installed: &|p| p == "osascript",
            macos: true,
        };
        assert_eq!(choose(None, &around).0, Some(Osascript));
    }

    #[test]
    fn names_round_trip_and_errors_list_them() {
        for &driver in DRIVERS {
            assert_eq!(Driver::parse(driver.name()), Ok(driver));
        }
        let error = Driver::parse("gui").unwrap_err();
        assert!(
            error.contains("terminal, zenity, kdialog, osascript, ykman"),
            "{error}"
        );
        assert!(Driver::parse("pass").unwrap_err().contains("mfa_process"));
        assert_eq!(Named::parse(""), Ok(Named(None)));
        assert_eq!(Named::parse("zenity"), Ok(Named(Some(Driver::Zenity))));
        #[cfg(not(windows))]
        assert_eq!(
            Named::parse("wincredui").unwrap_err(),
            "`wincredui` works on Windows only; choose one of terminal, zenity, kdialog, osascript, ykman"
        );
    }
}
