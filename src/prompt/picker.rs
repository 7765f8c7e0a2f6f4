//! The profile picker: a filterable list on `/dev/tty` (type to filter, arrow keys or
//! Ctrl-P/Ctrl-N/Tab to move, Enter picks, Esc, Ctrl-C or Ctrl-D cancels). Each row shows the
//! profile, what it is and its session's time left; the profile picked last comes first.
//!
//! The list, the filter, the keys and the drawing are pure (`order`, `filter`, `Keys`,
//! `State`, `frame`); `pick` is the terminal edge. As in `terminal.rs`: the tty's mode is
//! saved and restored by a guard, and SIGINT, SIGTERM and SIGHUP are blocked and read from a
//! signalfd while the list is open, so whatever ends it the terminal is left as it was
//! found, the list wiped, and a signal ends vault with 128 + its number.
//! Must not: read stdin, write to stdout, or leave the terminal raw.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use super::signals::Signals;
use crate::error::{Error, Result};

/// One profile in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub profile: String,
    /// `keys`, `role`, `sso`, ...
    pub kind: String,
    /// The time left of its cached session (`42m`), if it has one.
    pub session: Option<String>,
}

/// The rows with `last` (the profile picked last time) first, the rest in their order.
pub fn order(mut rows: Vec<Row>, last: Option<&str>) -> Vec<Row> {
    if let Some(at) = rows.iter().position(|r| Some(r.profile.as_str()) == last) {
        let row = rows.remove(at);
        rows.insert(0, row);
    }
    rows
}

/// The rows that match `query` (case-insensitive), best first: names that start with it,
/// then names that hold it, then names that hold its characters in order; each group keeps
/// the rows' order.
pub fn filter(rows: &[Row], query: &str) -> Vec<usize> {
    let query = query.to_lowercase();
    let mut ranked: Vec<(u8, usize)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let name = row.profile.to_lowercase();
            let rank = if name.starts_with(&query) {
                0
            } else if name.contains(&query) {
                1
            } else if is_subsequence(&query, &name) {
                2
            } else {
                return None;
            };
            Some((rank, i))
        })
        .collect();
    ranked.sort();
    ranked.into_iter().map(|(_, i)| i).collect()
}

fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut hay = hay.chars();
    needle.chars().all(|c| hay.any(|h| h == c))
}

/// A key, as the picker understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Backspace,
    /// Ctrl-U, Ctrl-W: the whole filter.
    Clear,
    Up,
    Down,
    PageUp,
    PageDown,
    Enter,
    Esc,
    CtrlC,
    /// Ctrl-D.
    Eof,
    /// A key or sequence the picker does not use.
    Other,
}

/// Turns the bytes read from the terminal into keys. A lone ESC at the end of what was read
/// may be the start of a sequence still on its way: `pending_esc` says so, and the caller
/// waits a moment before taking it as Esc.
#[derive(Default)]
pub struct Keys {
    buffer: Vec<u8>,
}

impl Keys {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Key> {
        self.buffer.extend_from_slice(bytes);
        let mut keys = Vec::new();
        let mut at = 0;
        while at < self.buffer.len() {
            let Some((key, used)) = decode(&self.buffer[at..]) else {
                break;
            };
            keys.push(key);
            at += used;
        }
        self.buffer.drain(..at);
        keys
    }

    /// What is left undecoded: an ESC (or an unfinished sequence or character).
    pub fn pending(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Nothing more came: a pending ESC was the Esc key.
    pub fn flush(&mut self) -> Vec<Key> {
        let esc = self.buffer.first() == Some(&0x1b);
        self.buffer.clear();
        if esc { vec![Key::Esc] } else { Vec::new() }
    }
}

/// The first key in `bytes` and how many bytes it took; `None` when it is not complete yet.
fn decode(bytes: &[u8]) -> Option<(Key, usize)> {
    let key = match bytes[0] {
        0x03 => Key::CtrlC,
        0x04 => Key::Eof,
        b'\r' | b'\n' => Key::Enter,
        0x7f | 0x08 => Key::Backspace,
        0x15 | 0x17 => Key::Clear,
        0x10 => Key::Up,
        0x0e | b'\t' => Key::Down,
        0x1b => return escape(bytes),
        b if b < 0x20 => Key::Other,
        _ => {
            let len = match bytes[0] {
                b if b < 0x80 => 1,
                b if b >= 0xf0 => 4,
                b if b >= 0xe0 => 3,
                _ => 2,
            };
            if bytes.len() < len {
                return None;
            }
            return Some(match std::str::from_utf8(&bytes[..len]) {
                Ok(text) => {
                    let c = text.chars().next().expect("one character");
                    (
                        if c.is_control() {
                            Key::Other
                        } else {
                            Key::Char(c)
                        },
                        len,
                    )
                }
                Err(_) => (Key::Other, 1),
            });
        }
    };
    Some((key, 1))
}

/// An ESC and what follows it: a CSI or SS3 sequence (arrows, Page Up/Down), Alt+key, or
/// `None` while it may still be one.
fn escape(bytes: &[u8]) -> Option<(Key, usize)> {
    match bytes.get(1) {
        None => None,
        Some(b'[') => {
            // Parameters and intermediates, then a final byte in 0x40..=0x7e.
            let end = bytes[2..].iter().position(|b| (0x40..=0x7e).contains(b))?;
            let sequence = &bytes[2..2 + end + 1];
            let key = match sequence {
                b"A" => Key::Up,
                b"B" => Key::Down,
                b"5~" => Key::PageUp,
                b"6~" => Key::PageDown,
                _ => Key::Other,
            };
            Some((key, 2 + end + 1))
        }
        Some(b'O') => {
            let key = match bytes.get(2)? {
                b'A' => Key::Up,
                b'B' => Key::Down,
                _ => Key::Other,
            };
            Some((key, 3))
        }
        // ESC ESC: the first was the Esc key.
        Some(0x1b) => Some((Key::Esc, 1)),
        // Alt+key.
        Some(_) => Some((Key::Other, 2)),
    }
}

/// How the list ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Picked(usize),
    Cancelled,
    Interrupted,
}

/// The filter, the matching rows, the selection and the scroll position.
pub struct State<'a> {
    rows: &'a [Row],
    pub query: String,
    pub shown: Vec<usize>,
    pub selected: usize,
    pub top: usize,
    pub height: usize,
}

impl<'a> State<'a> {
    pub fn new(rows: &'a [Row], height: usize) -> State<'a> {
        State {
            rows,
            query: String::new(),
            shown: (0..rows.len()).collect(),
            selected: 0,
            top: 0,
            height: height.max(1),
        }
    }

    /// Applies one key; `Some` when the list is done.
    pub fn apply(&mut self, key: Key) -> Option<Outcome> {
        match key {
            Key::Char(c) => {
                self.query.push(c);
                self.refilter();
            }
            Key::Backspace => {
                self.query.pop();
                self.refilter();
            }
            Key::Clear => {
                self.query.clear();
                self.refilter();
            }
            Key::Up => self.selected = self.selected.saturating_sub(1),
            Key::Down => {
                self.selected = (self.selected + 1).min(self.shown.len().saturating_sub(1))
            }
            Key::PageUp => self.selected = self.selected.saturating_sub(self.height),
            Key::PageDown => {
                self.selected =
                    (self.selected + self.height).min(self.shown.len().saturating_sub(1))
            }
            Key::Enter => {
                if let Some(&row) = self.shown.get(self.selected) {
                    return Some(Outcome::Picked(row));
                }
            }
            Key::Esc | Key::Eof => return Some(Outcome::Cancelled),
            Key::CtrlC => return Some(Outcome::Interrupted),
            Key::Other => {}
        }
        // Keep the selection in view.
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + self.height {
            self.top = self.selected + 1 - self.height;
        }
        None
    }

    fn refilter(&mut self) {
        self.shown = filter(self.rows, &self.query);
        self.selected = 0;
        self.top = 0;
    }
}

/// The prompt line vault shows.
const QUESTION: &str = "Profile: ";

/// One frame, drawn from the start of the prompt's line; it ends with the cursor back after
/// the filter. Every line is cut to `width - 1` columns so that none wraps (the cursor
/// moves would be off).
pub fn frame(state: &State, width: usize) -> String {
    let width = width.max(20) - 1;
    let cut = |text: &str| -> String { text.chars().take(width).collect() };
    let query = crate::text::printable(&state.query);
    let mut out = format!("\r\x1b[J{}", cut(&format!("{QUESTION}{query}")));
    let name_width = state
        .rows
        .iter()
        .map(|r| r.profile.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    let visible = state.shown.iter().skip(state.top).take(state.height);
    let mut lines = 0;
    for (offset, &i) in visible.enumerate() {
        let row = &state.rows[i];
        let marker = if state.top + offset == state.selected {
            '>'
        } else {
            ' '
        };
        let line = format!(
            "{marker} {:<name_width$}  {:<5}  {}",
            crate::text::printable(&row.profile),
            row.kind,
            row.session.as_deref().unwrap_or("-"),
        );
        out.push_str("\r\n");
        out.push_str(cut(line.trim_end()).as_str());
        lines += 1;
    }
    if state.shown.is_empty() {
        out.push_str("\r\n  (no profile matches)");
        lines += 1;
    } else if state.shown.len() > state.top + state.height {
        out.push_str(&format!(
            "\r\n  ({} more)",
            state.shown.len() - state.top - state.height
        ));
        lines += 1;
    }
    let column = (QUESTION.len() + query.chars().count()).min(width);
    out.push_str(&format!("\x1b[{lines}A\r"));
    if column > 0 {
        out.push_str(&format!("\x1b[{column}C"));
    }
    out
}

const TTY: &str = "/dev/tty";

/// How long a lone ESC waits for the rest of a sequence.
const ESC_WAIT: Duration = Duration::from_millis(50);

/// Shows the list on the terminal and returns the profile picked.
pub fn pick(rows: &[Row]) -> Result<String> {
    let no_terminal = |e: io::Error| Error::NoTerminal {
        question: "Profile".to_string(),
        problem: e.to_string(),
    };
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open(TTY)
        .map_err(no_terminal)?;
    let outcome = run(&tty, rows).map_err(no_terminal)?;
    match outcome {
        Ended::Outcome(Outcome::Picked(i)) => Ok(rows[i].profile.clone()),
        Ended::Outcome(Outcome::Cancelled) => Err(Error::PickCancelled),
        Ended::Outcome(Outcome::Interrupted) => Err(Error::Interrupted { signal: 2 }),
        Ended::Signal(signal) => Err(Error::Interrupted { signal }),
        Ended::Eof => Err(Error::NoAnswer {
            question: "Profile".to_string(),
        }),
    }
}

enum Ended {
    Outcome(Outcome),
    Signal(i32),
    Eof,
}

fn run(tty: &File, rows: &[Row]) -> io::Result<Ended> {
    // Declared first, dropped last: signals are unblocked after the mode is restored.
    let signals = Signals::block()?;
    let raw = Raw::new(tty)?;
    let (width, height) = terminal_size::terminal_size_of(tty)
        .map(|(w, h)| (usize::from(w.0), usize::from(h.0)))
        .unwrap_or((80, 24));
    // The list and its two extra lines (the prompt, "N more") must fit on the screen.
    let mut state = State::new(rows, 10.min(height.saturating_sub(3)).max(1));
    let mut writer = tty;
    let mut keys = Keys::default();
    let mut chunk = [0u8; 64];
    let ended = 'outer: loop {
        writer.write_all(frame(&state, width).as_bytes())?;
        writer.flush()?;
        let wait = if keys.pending() { Some(ESC_WAIT) } else { None };
        if let Some(signal) = signals.wait(Some(tty.as_fd()), wait)? {
            break Ended::Signal(signal);
        }
        let new = match readable(tty, &mut chunk)? {
            Some(0) => break Ended::Eof,
            Some(n) => keys.push(&chunk[..n]),
            None => keys.flush(),
        };
        for key in new {
            if let Some(outcome) = state.apply(key) {
                break 'outer Ended::Outcome(outcome);
            }
        }
    };
    // Wipe the list; a pick leaves one line saying what was picked.
    let _ = writer.write_all(b"\r\x1b[J");
    if let Ended::Outcome(Outcome::Picked(i)) = ended {
        let picked = crate::text::printable(&rows[i].profile).into_owned();
        let _ = writer.write_all(format!("{QUESTION}{picked}\r\n").as_bytes());
    }
    let _ = writer.flush();
    drop(raw);
    Ok(ended)
}

/// Reads what the tty has, without blocking: `None` when nothing came (the ESC wait ran out).
fn readable(tty: &File, chunk: &mut [u8]) -> io::Result<Option<usize>> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::ZERO)? == 0 {
        return Ok(None);
    }
    loop {
        match (&*tty).read(chunk) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Keys one at a time, not echoed, Ctrl-C/Ctrl-Z/Ctrl-\ as keys (so none stops vault with the
/// terminal raw), until dropped, which restores the mode found.
struct Raw<'a> {
    tty: &'a File,
    saved: nix::sys::termios::Termios,
}

impl<'a> Raw<'a> {
    fn new(tty: &'a File) -> io::Result<Raw<'a>> {
        use nix::sys::termios::{
            InputFlags, LocalFlags, SetArg, SpecialCharacterIndices, tcgetattr, tcsetattr,
        };
        let saved = tcgetattr(tty)?;
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN);
        raw.input_flags.remove(InputFlags::IXON | InputFlags::ICRNL);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        tcsetattr(tty, SetArg::TCSANOW, &raw)?;
        Ok(Raw { tty, saved })
    }
}

impl Drop for Raw<'_> {
    fn drop(&mut self) {
        use nix::sys::termios::{SetArg, tcsetattr};
        let _ = tcsetattr(self.tty, SetArg::TCSANOW, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(names: &[&str]) -> Vec<Row> {
        names
            .iter()
            .map(|n| Row {
                profile: n.to_string(),
                kind: "role".to_string(),
                session: None,
            })
            .collect()
    }

    fn names(rows: &[Row], shown: &[usize]) -> Vec<String> {
        shown.iter().map(|&i| rows[i].profile.clone()).collect()
    }

    #[test]
    fn the_last_pick_comes_first() {
        let ordered = order(rows(&["a", "b", "c"]), Some("c"));
        assert_eq!(names(&ordered, &[0, 1, 2]), ["c", "a", "b"]);
        let same = order(rows(&["a", "b"]), Some("gone"));
        assert_eq!(names(&same, &[0, 1]), ["a", "b"]);
    }

    #[test]
    fn filters_prefix_then_substring_then_in_order() {
        let all = rows(&["prod-admin", "dev-admin", "admin", "a-d-m-i-n", "ops"]);
        assert_eq!(
            names(&all, &filter(&all, "ADM")),
            ["admin", "prod-admin", "dev-admin", "a-d-m-i-n"]
        );
        assert_eq!(names(&all, &filter(&all, "")).len(), 5);
        assert!(filter(&all, "zzz").is_empty());
    }

    #[test]
    fn keys_are_decoded_across_reads() {
        let mut keys = Keys::default();
        assert_eq!(
            keys.push(b"ab\x7f\r"),
            [Key::Char('a'), Key::Char('b'), Key::Backspace, Key::Enter]
        );
        assert_eq!(
            keys.push(b"\x1b[A\x1bOB\x1b[5~\x1b[1;5C"),
            [Key::Up, Key::Down, Key::PageUp, Key::Other]
        );
        // An arrow split over two reads, and a lone ESC that is the Esc key.
        assert_eq!(keys.push(b"\x1b"), []);
        assert!(keys.pending());
        assert_eq!(keys.push(b"[B"), [Key::Down]);
        assert_eq!(keys.push(b"\x1b"), []);
        assert_eq!(keys.flush(), [Key::Esc]);
        assert_eq!(
            keys.push("é\x03\x04".as_bytes()),
            [Key::Char('é'), Key::CtrlC, Key::Eof]
        );
        assert_eq!(keys.push(&"é".as_bytes()[..1]), []);
        assert_eq!(keys.push(&"é".as_bytes()[1..]), [Key::Char('é')]);
        assert_eq!(keys.push(b"\x1b\x1b"), [Key::Esc]);
        assert_eq!(keys.flush(), [Key::Esc]);
    }

    #[test]
    fn typing_moving_and_picking() {
        let all = rows(&["prod-admin", "dev-admin", "ops", "dev-ro"]);
        let mut state = State::new(&all, 10);
        for c in "dev".chars() {
            assert_eq!(state.apply(Key::Char(c)), None);
        }
        assert_eq!(names(&all, &state.shown), ["dev-admin", "dev-ro"]);
        state.apply(Key::Down);
        state.apply(Key::Down);
        assert_eq!(state.apply(Key::Enter), Some(Outcome::Picked(3)));
        state.apply(Key::Up);
        assert_eq!(state.apply(Key::Enter), Some(Outcome::Picked(1)));
        state.apply(Key::Clear);
        assert_eq!(state.shown.len(), 4);
        for c in "zz".chars() {
            state.apply(Key::Char(c));
        }
        // Enter with nothing matching picks nothing.
        assert_eq!(state.apply(Key::Enter), None);
        assert_eq!(state.apply(Key::Esc), Some(Outcome::Cancelled));
        assert_eq!(state.apply(Key::CtrlC), Some(Outcome::Interrupted));
        assert_eq!(state.apply(Key::Eof), Some(Outcome::Cancelled));
    }

    #[test]
    fn the_selection_scrolls_into_view() {
        let all = rows(&["a", "b", "c", "d", "e"]);
        let mut state = State::new(&all, 2);
        for _ in 0..3 {
            state.apply(Key::Down);
        }
        assert_eq!((state.selected, state.top), (3, 2));
        state.apply(Key::PageUp);
        assert_eq!((state.selected, state.top), (1, 1));
        state.apply(Key::PageDown);
        state.apply(Key::PageDown);
        assert_eq!((state.selected, state.top), (4, 3));
    }

    #[test]
    fn a_frame_shows_rows_and_puts_the_cursor_back() {
        let mut all = rows(&["gds-users", "target-account", "x"]);
        all[0].kind = "keys".to_string();
        all[1].session = Some("42m".to_string());
        let mut state = State::new(&all, 2);
        state.apply(Key::Down);
        assert_eq!(
            frame(&state, 80),
            "\r\x1b[JProfile: \
             \r\n  gds-users       keys   -\
             \r\n> target-account  role   42m\
             \r\n  (1 more)\
             \x1b[3A\r\x1b[9C"
        );
        state.apply(Key::Char('q'));
        assert_eq!(
            frame(&state, 80),
            "\r\x1b[JProfile: q\r\n  (no profile matches)\x1b[1A\r\x1b[10C"
        );
        // Nothing wider than the terminal: no line wraps.
        let wide = rows(&[&"w".repeat(200)]);
        let drawn = frame(&State::new(&wide, 5), 30);
        let line = drawn
            .split("\r\n")
            .nth(1)
            .unwrap()
            .split('\x1b')
            .next()
            .unwrap();
        assert_eq!(line.chars().count(), 29, "{line}");
        // A control character in the filter is shown escaped.
        let mut state = State::new(&all, 5);
        state.query.push('\u{1b}');
        assert!(frame(&state, 80).contains("Profile: \\u{1b}"));
    }
}
