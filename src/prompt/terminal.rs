//! The `terminal` driver: questions on `/dev/tty` (never stdin, never stdout), and the
//! terminal left in the mode it was found in, whatever ends the question.
//! Must not: leave echo off, let SIGINT/SIGTERM/SIGHUP kill vault mid-question, or keep a
//! partial answer.
//!
//! While a question is open, SIGINT, SIGTERM and SIGHUP are blocked in the asking thread and
//! read from a `signalfd` polled beside the tty (Linux). A signal restores the saved mode,
//! prints a newline and ends vault with 128 + the signal, through `Error::Interrupted`, so
//! locks are released and nothing is cached. On the normal path the mode is restored first and
//! the signals unblocked after, so a signal that came in between takes its default action on a
//! terminal already restored. No signal handler is installed: the default actions stay.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;

use zeroize::Zeroizing;

use super::Prompt;
use super::signals::Signals;
use crate::error::{Error, Result};

/// The controlling terminal.
pub struct Terminal;

const TTY: &str = "/dev/tty";

/// Whether vault has a terminal to ask on: `/dev/tty` opens (it does not under `setsid`).
pub fn available() -> bool {
    OpenOptions::new().read(true).write(true).open(TTY).is_ok()
}

impl Prompt for Terminal {
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>> {
        // Questions quote config values (an MFA serial): shown escaped.
        let question = &*crate::text::printable(question);
        let short = || question.trim_end_matches([':', ' ']).to_string();
        let no_terminal = |e: io::Error| Error::NoTerminal {
            question: short(),
            problem: e.to_string(),
        };
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open(TTY)
            .map_err(no_terminal)?;
        match read_answer(&tty, question, hidden) {
            Ok(Ended::Line(line)) => Ok(line),
            Ok(Ended::Eof) => Err(Error::NoAnswer { question: short() }),
            Ok(Ended::Signal(signal)) => Err(Error::Interrupted { signal }),
            Err(e) => Err(no_terminal(e)),
        }
    }

    fn notice(&mut self, text: &str) -> super::Notice {
        let text = crate::text::printable(text);
        let shown = OpenOptions::new()
            .write(true)
            .open(TTY)
            .and_then(|mut tty| writeln!(tty, "{text}"));
        if shown.is_err() {
            eprintln!("{text}");
        }
        super::Notice::none()
    }
}

enum Ended {
    Line(Zeroizing<String>),
    Eof,
    Signal(i32),
}

/// Writes `question` to the tty and reads one line, with echo off when `hidden`.
fn read_answer(tty: &File, question: &str, hidden: bool) -> io::Result<Ended> {
    // Declared first, dropped last: signals are unblocked after the mode is restored.
    let signals = Signals::block()?;
    let echo = if hidden {
        Some(EchoOff::new(tty)?)
    } else {
        None
    };
    let mut writer = tty;
    writer.write_all(question.as_bytes())?;
    writer.flush()?;
    // A tty line holds at most 4096 bytes: the buffer never grows, so leaves no copy behind.
    let mut line = Zeroizing::new(Vec::with_capacity(4096));
    let mut chunk = Zeroizing::new([0u8; 128]);
    let ended = loop {
        if let Some(signal) = signals.wait(Some(tty.as_fd()), None)? {
            break Ended::Signal(signal);
        }
        let n = match (&*tty).read(&mut chunk[..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break Ended::Eof;
        }
        line.extend_from_slice(&chunk[..n]);
        if let Some(end) = line.iter().position(|&b| b == b'\n') {
            let text = std::str::from_utf8(&line[..end]).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "the answer is not UTF-8")
            })?;
            break Ended::Line(Zeroizing::new(text.trim_end_matches('\r').to_string()));
        }
    };
    drop(echo);
    // Enter was echoed (ECHONL when hidden); anything else left the cursor after the question.
    if !matches!(ended, Ended::Line(_)) {
        let _ = writer.write_all(b"\n");
    }
    Ok(ended)
}

/// Echo off (but the final newline) until dropped, which restores the mode found.
struct EchoOff<'a> {
    tty: &'a File,
    saved: nix::sys::termios::Termios,
}

impl<'a> EchoOff<'a> {
    fn new(tty: &'a File) -> io::Result<EchoOff<'a>> {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let saved = tcgetattr(tty)?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        tcsetattr(tty, SetArg::TCSANOW, &quiet)?;
        Ok(EchoOff { tty, saved })
    }
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        use nix::sys::termios::{SetArg, tcsetattr};
        let _ = tcsetattr(self.tty, SetArg::TCSANOW, &self.saved);
    }
}
