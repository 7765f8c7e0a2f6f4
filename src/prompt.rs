//! Asking a person: passphrases, keys, MFA codes, yes/no. The only module that touches the
//! terminal, and it reads `/dev/tty`, never stdin, so it works under pipes and
//! `credential_process`. With no terminal it fails at once instead of waiting.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Something that can answer questions.
pub trait Prompt {
    /// Asks `question` and returns the answer without its line ending. `hidden` answers are
    /// not echoed.
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>>;
}

/// The controlling terminal.
pub struct Terminal;

const TTY: &str = "/dev/tty";

impl Prompt for Terminal {
    fn ask(&mut self, question: &str, hidden: bool) -> Result<Zeroizing<String>> {
        // Questions quote config values (an MFA serial): shown escaped.
        let question = &*crate::text::printable(question);
        let no_terminal = |e: std::io::Error| Error::NoTerminal {
            question: question.trim_end_matches([':', ' ']).to_string(),
            problem: e.to_string(),
        };
        if hidden {
            return rpassword::prompt_password(question)
                .map(Zeroizing::new)
                .map_err(no_terminal);
        }
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open(TTY)
            .map_err(no_terminal)?;
        let mut writer = &tty;
        writer
            .write_all(question.as_bytes())
            .and_then(|()| writer.flush())
            .map_err(no_terminal)?;
        let mut line = Zeroizing::new(String::new());
        BufReader::new(&tty)
            .read_line(&mut line)
            .map_err(no_terminal)?;
        let answer = line.trim_end_matches(['\r', '\n']).to_string();
        Ok(Zeroizing::new(answer))
    }
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
