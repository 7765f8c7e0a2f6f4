//! Editing `~/.aws/config` as text: setting keys in `[profile X]`, appending a section, and
//! rewriting one managed block between two marker comments that name its source. Text in,
//! text out (pure), plus the one file edge that reads the file for an edit and writes it back
//! atomically (`read_for_edit`, `write_edited`).
//!
//! Every byte vault does not mean to change stays as it was: line endings (a CRLF file gets
//! CRLF lines), comments, odd spacing, `include_profile`, sections vault never heard of.
//! Must not: write a value that could end its line or start a comment (`check_value`), follow
//! a link, write a read-only file, or leave a half-written file.

use std::fmt;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::parse::{self, ParseError};
use super::profiles::is_valid_name;

/// Why an edit was refused; nothing was written.
#[derive(Debug)]
pub enum EditError {
    /// A value that would not read back as written (or would add a line).
    BadValue {
        key: String,
        problem: &'static str,
    },
    BadName {
        name: String,
    },
    /// The text to edit does not parse: the edit could not know where things are.
    Parse(ParseError),
    /// A begin marker with no end marker after it (or the other way round).
    BlockUnclosed {
        marker: String,
        line: usize,
    },
    BlockTwice {
        marker: String,
        lines: (usize, usize),
    },
    // The file edge.
    Symlink {
        path: PathBuf,
        target: Option<PathBuf>,
    },
    NotRegular {
        path: PathBuf,
    },
    ReadOnly {
        path: PathBuf,
    },
    NotUtf8 {
        path: PathBuf,
        line: usize,
    },
    Changed {
        path: PathBuf,
    },
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |p: &Path| crate::paths::display_path(p);
        match self {
            EditError::BadValue { key, problem } => write!(f, "the value of `{key}` {problem}"),
            EditError::BadName { name } => write!(
                f,
                "`{name}` is not a valid name (letters, digits and -/.%@_:+ only)"
            ),
            EditError::Parse(e) => write!(f, "the config does not parse: {e}"),
            EditError::BlockUnclosed { marker, line } => {
                write!(
                    f,
                    "line {line} opens or closes a block with no partner: `{marker}`"
                )
            }
            EditError::BlockTwice { marker, lines } => write!(
                f,
                "lines {} and {} both open the block `{marker}`",
                lines.0, lines.1
            ),
            EditError::Symlink { path, .. } => write!(
                f,
                "vault will not rewrite `{}`: it is a symbolic link",
                shown(path)
            ),
            EditError::NotRegular { path } => write!(
                f,
                "vault will not rewrite `{}`: it is not a regular file",
                shown(path)
            ),
            EditError::ReadOnly { path } => {
                write!(
                    f,
                    "vault will not rewrite `{}`: it is read-only",
                    shown(path)
                )
            }
            EditError::NotUtf8 { path, line } => write!(
                f,
                "vault will not rewrite `{}`: line {line} is not UTF-8 text",
                shown(path)
            ),
            EditError::Changed { path } => write!(
                f,
                "`{}` changed while vault was editing it; nothing was written",
                shown(path)
            ),
            EditError::Io {
                action,
                path,
                source,
            } => write!(f, "could not {action} `{}`: {source}", shown(path)),
        }
    }
}

impl EditError {
    /// The next step, for `hint:`.
    pub fn hint(&self) -> Option<String> {
        match self {
            EditError::Symlink { target, .. } => Some(match target {
                Some(target) => format!(
                    "vault writes only a regular file; set AWS_CONFIG_FILE={} to edit the file the link points to, or make the change there by hand",
                    target.display()
                ),
                None => "vault writes only a regular file; make the change by hand".to_string(),
            }),
            EditError::ReadOnly { path } => Some(format!(
                "the file was left as it is; make it writable (`chmod u+w {}`) if vault should edit it",
                crate::paths::display_path(path)
            )),
            EditError::Changed { .. } => Some("run the command again".to_string()),
            EditError::BlockUnclosed { .. } | EditError::BlockTwice { .. } => Some(
                "vault rewrites only what is between its two marker lines: put the missing marker back, or delete the other one"
                    .to_string(),
            ),
            EditError::Parse(_) => Some("fix that line, then run the command again".to_string()),
            _ => None,
        }
    }
}

impl EditError {
    /// The user-facing error for an edit of the config at `path`.
    pub fn into_error(self, path: &Path) -> crate::error::Error {
        let problem = match &self {
            EditError::BadValue { .. }
            | EditError::BadName { .. }
            | EditError::Parse(_)
            | EditError::BlockUnclosed { .. }
            | EditError::BlockTwice { .. } => format!(
                "vault did not edit `{}`: {self}",
                crate::paths::display_path(path)
            ),
            _ => self.to_string(),
        };
        crate::error::Error::ConfigEdit {
            problem,
            hint: self.hint(),
        }
    }
}

type Result<T> = std::result::Result<T, EditError>;

/// Refuses a value that would not read back as itself: one that is empty, holds a control
/// character or a line separator (a new line, so a new setting), starts or ends with white
/// space (trimmed when read), or has a `#`/`;` after white space (read as a comment).
pub fn check_value(key: &str, value: &str) -> Result<()> {
    if !is_valid_name(key) {
        return Err(EditError::BadName {
            name: key.to_string(),
        });
    }
    let bad = |problem| {
        Err(EditError::BadValue {
            key: key.to_string(),
            problem,
        })
    };
    if value.is_empty() {
        return bad("is empty");
    }
    if value
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return bad("holds a control character or a line break");
    }
    if value.trim() != value {
        return bad("starts or ends with white space");
    }
    let mut previous_is_space = false;
    for c in value.chars() {
        if matches!(c, '#' | ';') && previous_is_space {
            return bad("has `#` or `;` after a space, which would start a comment");
        }
        previous_is_space = c.is_whitespace();
    }
    Ok(())
}

/// The line ending the file uses: CRLF when its first line ends so, else LF.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(at) if text[..at].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// `profile NAME` or `default` (a config file's header) -> `NAME`.
fn header_profile(header: &str) -> Option<&str> {
    if header == "default" {
        return Some("default");
    }
    let rest = header.strip_prefix("profile")?;
    rest.starts_with(char::is_whitespace).then(|| rest.trim())
}

/// The header vault writes for a profile.
pub fn header_for(profile: &str) -> String {
    if profile == "default" {
        "[default]".to_string()
    } else {
        format!("[profile {profile}]")
    }
}

/// What each line is, by the parser's own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Header,
    Property,
    Continuation,
}

fn kind(line: &str) -> Kind {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        Kind::Blank
    } else if line.starts_with(['#', ';']) {
        Kind::Comment
    } else if line.starts_with('[') {
        Kind::Header
    } else if line.starts_with(char::is_whitespace) {
        Kind::Continuation
    } else {
        Kind::Property
    }
}

/// The file as lines, each with its own ending, and what the parser made of them.
struct Doc<'a> {
    lines: Vec<&'a str>,
    sections: Vec<parse::RawSection>,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str) -> Result<Doc<'a>> {
        let sections = parse::parse(text).map_err(EditError::Parse)?;
        Ok(Doc {
            lines: text.split_inclusive('\n').collect(),
            sections,
        })
    }

    /// The sections that define `profile`, in file order (`[profile default]` hides a bare
    /// `[default]`, as when reading).
    fn sections_of(&self, profile: &str) -> Vec<&parse::RawSection> {
        let named = |s: &&parse::RawSection| header_profile(&s.header) == Some(profile);
        let all: Vec<_> = self.sections.iter().filter(named).collect();
        if profile == "default" && all.iter().any(|s| s.header != "default") {
            return all.into_iter().filter(|s| s.header != "default").collect();
        }
        all
    }

    /// 0-based index one past the section's last line (the next header, or the end).
    fn section_end(&self, section: &parse::RawSection) -> usize {
        (section.line..self.lines.len())
            .find(|&i| kind(self.lines[i]) == Kind::Header)
            .unwrap_or(self.lines.len())
    }

    /// 0-based index one past the continuation lines of the property on 0-based `at`.
    fn property_end(&self, at: usize) -> usize {
        (at + 1..self.lines.len())
            .find(|&i| kind(self.lines[i]) != Kind::Continuation)
            .unwrap_or(self.lines.len())
    }
}

fn ending_of(line: &str) -> &str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    }
}

/// `line` with its value replaced by `value`: the key's spelling, the spacing and a trailing
/// comment stay.
fn with_value(line: &str, value: &str) -> String {
    let ending = ending_of(line);
    let body = &line[..line.len() - ending.len()];
    let Some(eq) = body.find('=') else {
        return format!("{body}{ending}");
    };
    let after = &body[eq + 1..];
    let start = eq + 1 + (after.len() - after.trim_start().len());
    // The old value ends where a comment starts (after white space), else at the line's end.
    let rest = &body[start..];
    let mut end = rest.len();
    let mut previous_is_space = false;
    for (at, c) in rest.char_indices() {
        if matches!(c, '#' | ';') && previous_is_space {
            end = at;
            break;
        }
        previous_is_space = c.is_whitespace();
    }
    let old = rest[..end].trim_end();
    let tail = &rest[old.len()..];
    let space = if start == eq + 1 { " " } else { "" };
    format!("{}{space}{value}{tail}{ending}", &body[..start])
}

/// What `set_keys` did to each key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChange {
    Unchanged,
    Added,
    Changed { from: String },
}

/// Sets `keys` in `[profile PROFILE]`: a key the profile has gets the new value on its own
/// line (where the last of its sections that sets it has it, since the last one wins); one
/// it lacks goes after the last setting of its first section; a profile with no section
/// gets one at the end. Returns the new text and what happened to each key.
pub fn set_keys(
    text: &str,
    profile: &str,
    keys: &[(&str, &str)],
) -> Result<(String, Vec<KeyChange>)> {
    if !is_valid_name(profile) {
        return Err(EditError::BadName {
            name: profile.to_string(),
        });
    }
    for (key, value) in keys {
        check_value(key, value)?;
    }
    let doc = Doc::new(text)?;
    if doc.sections_of(profile).is_empty() {
        let changes = vec![KeyChange::Added; keys.len()];
        return Ok((append_section(text, profile, keys)?, changes));
    }
    let mut text = text.to_string();
    let mut changes = Vec::new();
    for (key, value) in keys {
        let (new, change) = set_one(&text, profile, key, value)?;
        text = new;
        changes.push(change);
    }
    Ok((text, changes))
}

fn set_one(text: &str, profile: &str, key: &str, value: &str) -> Result<(String, KeyChange)> {
    let doc = Doc::new(text)?;
    let sections = doc.sections_of(profile);
    let lower = key.to_ascii_lowercase();
    let existing = sections
        .iter()
        .flat_map(|s| s.properties.iter())
        .rfind(|p| p.key == lower);
    let mut lines: Vec<String> = doc.lines.iter().map(|l| l.to_string()).collect();
    let change = match existing {
        Some(property) if property.value == value => {
            return Ok((text.to_string(), KeyChange::Unchanged));
        }
        Some(property) => {
            let at = property.line - 1;
            let end = doc.property_end(at);
            lines[at] = with_value(doc.lines[at], value);
            lines.drain(at + 1..end);
            KeyChange::Changed {
                from: property.value.clone(),
            }
        }
        None => {
            let section = sections[0];
            let end = doc.section_end(section);
            // After the last line that belongs to the section's settings (header included):
            // blank lines and comments before the next header stay with that header.
            let last = (section.line - 1..end)
                .rev()
                .find(|&i| !matches!(kind(doc.lines[i]), Kind::Blank | Kind::Comment))
                .expect("the header line is in the range");
            let eol = line_ending(text);
            if ending_of(&lines[last]).is_empty() {
                lines[last].push_str(eol);
            }
            lines.insert(last + 1, format!("{key} = {value}{eol}"));
            KeyChange::Added
        }
    };
    Ok((lines.concat(), change))
}

/// `text` with a new `[profile PROFILE]` section holding `keys` at the end, after a blank
/// line; the existing bytes are kept (a missing final line ending is added).
pub fn append_section(text: &str, profile: &str, keys: &[(&str, &str)]) -> Result<String> {
    if !is_valid_name(profile) {
        return Err(EditError::BadName {
            name: profile.to_string(),
        });
    }
    for (key, value) in keys {
        check_value(key, value)?;
    }
    let eol = line_ending(text);
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(text);
    separate(&mut out, eol);
    out.push_str(&section_text(profile, keys, eol));
    Ok(out)
}

/// Ends `out` with a line ending, then a blank line, unless it is empty or already so.
fn separate(out: &mut String, eol: &str) {
    if out.is_empty() {
        return;
    }
    if !out.ends_with('\n') {
        out.push_str(eol);
    }
    let last_line = out[..out.len() - 1].rsplit('\n').next().unwrap_or_default();
    if !last_line.trim().is_empty() {
        out.push_str(eol);
    }
}

/// One section's text; values must have passed `check_value`.
pub fn section_text(profile: &str, keys: &[(&str, &str)], eol: &str) -> String {
    let mut out = format!("{}{eol}", header_for(profile));
    for (key, value) in keys {
        out.push_str(&format!("{key} = {value}{eol}"));
    }
    out
}

/// The two marker comments around the block a source owns.
pub fn markers(source: &str) -> (String, String) {
    (
        format!("# BEGIN vault config sync from {source}"),
        format!("# END vault config sync from {source}"),
    )
}

/// Where a source's block is: 0-based lines of its markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub begin: usize,
    pub end: usize,
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.trim_end() == marker
}

/// The block of `source`, when the text has one; markers out of pairs are refused.
pub fn find_block(text: &str, source: &str) -> Result<Option<Block>> {
    check_value("source", source)?;
    let (begin, end) = markers(source);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut found: Option<Block> = None;
    let mut open: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if is_marker(line, &begin) {
            if let Some(first) = open.or(found.map(|b| b.begin)) {
                return Err(EditError::BlockTwice {
                    marker: begin,
                    lines: (first + 1, i + 1),
                });
            }
            open = Some(i);
        } else if is_marker(line, &end) {
            match open.take() {
                Some(b) => found = Some(Block { begin: b, end: i }),
                None => {
                    return Err(EditError::BlockUnclosed {
                        marker: end,
                        line: i + 1,
                    });
                }
            }
        }
    }
    if let Some(b) = open {
        return Err(EditError::BlockUnclosed {
            marker: begin,
            line: b + 1,
        });
    }
    Ok(found)
}

/// The text between a source's markers (empty when there is no block).
pub fn block_body(text: &str, source: &str) -> Result<String> {
    let Some(block) = find_block(text, source)? else {
        return Ok(String::new());
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    Ok(lines[block.begin + 1..block.end].concat())
}

/// `text` without a source's block (markers included): what lies outside it.
pub fn without_block(text: &str, source: &str) -> Result<String> {
    let Some(block) = find_block(text, source)? else {
        return Ok(text.to_string());
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    Ok([&lines[..block.begin], &lines[block.end + 1..]]
        .concat()
        .concat())
}

/// `text` with the block of `source` holding `body` (lines ending in `\n`; they are given
/// the file's line ending): rewritten in place when it exists, else appended at the end.
/// Nothing outside the block changes.
pub fn replace_block(text: &str, source: &str, body: &str) -> Result<String> {
    let block = find_block(text, source)?;
    let eol = line_ending(text);
    let (begin, end) = markers(source);
    let mut new = format!("{begin}{eol}");
    for line in body.lines() {
        new.push_str(line);
        new.push_str(eol);
    }
    new.push_str(&end);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match block {
        Some(block) => {
            // The end marker keeps whatever ended its line (none at the end of a file).
            new.push_str(ending_of(lines[block.end]));
            Ok([
                lines[..block.begin].concat(),
                new,
                lines[block.end + 1..].concat(),
            ]
            .concat())
        }
        None => {
            let mut out = text.to_string();
            separate(&mut out, eol);
            out.push_str(&new);
            out.push_str(eol);
            Ok(out)
        }
    }
}

/// A config file read for an edit: its text, and what it was, to check nothing changed it
/// before the new text replaces it.
#[derive(Debug)]
pub struct Current {
    pub path: PathBuf,
    pub text: String,
    /// `None`: there was no file.
    stamp: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    mode: u32,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            mode: meta.mode(),
        }
    }
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> EditError + 'a {
    move |source| EditError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The file's state, refusing what vault will not rewrite: a link, a file that is not
/// regular, a read-only file.
fn stamp(path: &Path) -> Result<Option<Stamp>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).ok();
        return Err(EditError::Symlink {
            path: path.to_path_buf(),
            target,
        });
    }
    if !meta.file_type().is_file() {
        return Err(EditError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.mode() & 0o200 == 0 {
        return Err(EditError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    Ok(Some(Stamp::of(&meta)))
}

/// Reads the config for an edit (a missing file is empty). Refuses, before anything is
/// asked or written, a file vault would not write back.
pub fn read_for_edit(path: &Path) -> Result<Current> {
    let stamp = stamp(path)?;
    let text = match &stamp {
        None => String::new(),
        Some(_) => {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(path)
                .map_err(io_error("read", path))?;
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut file, &mut bytes).map_err(io_error("read", path))?;
            String::from_utf8(bytes).map_err(|e| EditError::NotUtf8 {
                path: path.to_path_buf(),
                line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count(),
            })?
        }
    };
    Ok(Current {
        path: path.to_path_buf(),
        text,
        stamp,
    })
}

/// Replaces the file read as `current` with `text`: a temp file beside it with the file's
/// mode (0600 for a new file, in a 0700 folder made if needed), fsynced, renamed over it,
/// the folder fsynced. Refused, with nothing written, when the file changed since it was
/// read or became something vault does not rewrite.
pub fn write_edited(current: &Current, text: &str) -> Result<()> {
    let path = &current.path;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if current.stamp.is_none() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error("create the folder of", path))?;
    }
    let mode = current.stamp.as_ref().map_or(0o600, |s| s.mode & 0o7777);
    let suffix: String = {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| EditError::Io {
            action: "write",
            path: path.clone(),
            source: io::Error::other(e.to_string()),
        })?;
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".to_string());
    let temp = dir.join(format!(".{name}.vault-{suffix}"));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)?;
        // The umask does not apply to `set_permissions`: the new file gets the old mode.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    })();
    let result = written.map_err(io_error("write", path)).and_then(|()| {
        if stamp(path)? != current.stamp {
            return Err(EditError::Changed { path: path.clone() });
        }
        std::fs::rename(&temp, path).map_err(io_error("write", path))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("write", path))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, profile: &str, keys: &[(&str, &str)]) -> String {
        set_keys(text, profile, keys).unwrap().0
    }

    #[test]
    fn values_that_could_add_a_line_are_refused() {
        let bad = [
            "a\nb",
            "a\rcredential_process = x",
            "x\u{2028}y",
            "tab\there",
            "esc\u{1b}[2J",
            " lead",
            "trail ",
            "",
            "arn #comment",
            "arn ;comment",
        ];
        for value in bad {
            assert!(check_value("mfa_serial", value).is_err(), "{value:?}");
        }
        for value in [
            "arn:aws:iam::111111111111:mfa/jane",
            "a#b",
            "a;b",
            "two words",
        ] {
            check_value("mfa_serial", value).unwrap();
        }
        assert!(check_value("bad key", "x").is_err());
        assert!(set_keys("", "p", &[("region", "eu\nx = y")]).is_err());
        assert!(set_keys("", "bad name", &[]).is_err());
    }

    #[test]
    fn sets_keys_and_keeps_every_other_byte() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            // A new section at the end, after a blank line.
            (
                "",
                "p",
                &[("region", "eu-west-1")],
                "[profile p]\nregion = eu-west-1\n",
            ),
            (
                "[profile a]\nx = 1",
                "p",
                &[("k", "v")],
                "[profile a]\nx = 1\n\n[profile p]\nk = v\n",
            ),
            (
                "[profile a]\n\n",
                "p",
                &[("k", "v")],
                "[profile a]\n\n[profile p]\nk = v\n",
            ),
            ("", "default", &[("k", "v")], "[default]\nk = v\n"),
            // A key it lacks goes after the section's last setting, before comments and
            // blank lines that lead into the next section.
            (
                "[profile p]\nregion = x\n\n# prod\n[profile q]\n",
                "p",
                &[("mfa_serial", "m")],
                "[profile p]\nregion = x\nmfa_serial = m\n\n# prod\n[profile q]\n",
            ),
            ("[profile p]", "p", &[("k", "v")], "[profile p]\nk = v\n"),
            // An existing value is replaced in place: the key's spelling, odd spacing and a
            // trailing comment stay.
            (
                "[ profile   p ] # mine\nMFA_Serial=old   # my phone\nregion = r\n",
                "p",
                &[("mfa_serial", "new")],
                "[ profile   p ] # mine\nMFA_Serial= new   # my phone\nregion = r\n",
            ),
            (
                "[profile p]\nmfa_serial   =   old\n",
                "p",
                &[("mfa_serial", "new")],
                "[profile p]\nmfa_serial   =   new\n",
            ),
            // The last section that sets a key is the one that counts, so the one edited.
            (
                "[profile p]\nk = 1\n[profile p]\nk = 2\n",
                "p",
                &[("k", "3")],
                "[profile p]\nk = 1\n[profile p]\nk = 3\n",
            ),
            // Continuation lines of a replaced value go with it.
            (
                "[profile p]\ns3 =\n  max = 1\nregion = r\n",
                "p",
                &[("s3", "x")],
                "[profile p]\ns3 = x\nregion = r\n",
            ),
            // `[profile default]` hides `[default]`: it is the one written.
            (
                "[default]\nregion = a\n[profile default]\n",
                "default",
                &[("region", "b")],
                "[default]\nregion = a\n[profile default]\nregion = b\n",
            ),
        ];
        for (text, profile, keys, expect) in cases {
            assert_eq!(&set(text, profile, keys), expect, "{text:?}");
        }
    }

    #[test]
    fn crlf_comments_and_include_profile_are_kept() {
        let text = "; team config\r\n[profile base]\r\ninclude_profile = common\r\n  \r\n[profile common]   \r\nregion=eu-west-2 ; london\r\n";
        let (out, changes) = set_keys(
            text,
            "base",
            &[
                ("mfa_serial", "arn:aws:iam::1:mfa/j"),
                ("region", "eu-west-1"),
            ],
        )
        .unwrap();
        assert_eq!(changes, [KeyChange::Added, KeyChange::Added]);
        assert_eq!(
            out,
            "; team config\r\n[profile base]\r\ninclude_profile = common\r\nmfa_serial = arn:aws:iam::1:mfa/j\r\nregion = eu-west-1\r\n  \r\n[profile common]   \r\nregion=eu-west-2 ; london\r\n"
        );
        let appended = append_section(text, "new", &[("k", "v")]).unwrap();
        assert!(appended.starts_with(text));
        assert_eq!(&appended[text.len()..], "\r\n[profile new]\r\nk = v\r\n");
    }

    #[test]
    fn setting_the_same_value_changes_nothing() {
        let text = "[profile p]\nregion = r\n";
        let (out, changes) = set_keys(text, "p", &[("region", "r")]).unwrap();
        assert_eq!((out.as_str(), changes), (text, vec![KeyChange::Unchanged]));
        let (_, changes) = set_keys(text, "p", &[("region", "s")]).unwrap();
        assert_eq!(changes, [KeyChange::Changed { from: "r".into() }]);
    }

    #[test]
    fn a_text_that_does_not_parse_is_not_edited() {
        let err = set_keys("[profile p\n", "p", &[("k", "v")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the config does not parse: line 1: Profile definition must end with ']'"
        );
    }

    #[test]
    fn the_managed_block_is_replaced_and_nothing_else() {
        let (begin, end) = markers("team.ini");
        let text = "[profile base]\r\nregion = r\r\n";
        let once = replace_block(text, "team.ini", "[profile a]\nrole_arn = x\n").unwrap();
        assert_eq!(
            once,
            format!("{text}\r\n{begin}\r\n[profile a]\r\nrole_arn = x\r\n{end}\r\n")
        );
        let tail = "\r\n# after\r\n[profile z]\r\n";
        let with_tail = format!("{once}{tail}");
        let twice = replace_block(&with_tail, "team.ini", "[profile b]\n").unwrap();
        assert_eq!(
            twice,
            format!("{text}\r\n{begin}\r\n[profile b]\r\n{end}\r\n{tail}")
        );
        assert_eq!(block_body(&twice, "team.ini").unwrap(), "[profile b]\r\n");
        assert_eq!(
            without_block(&twice, "team.ini").unwrap(),
            format!("{text}\r\n{tail}")
        );
        // Another source's block is another block.
        let other = replace_block(&twice, "other.ini", "").unwrap();
        assert!(other.starts_with(&twice));
        // An end marker at the very end of a file keeps having no line ending.
        let bare = format!("{begin}\n{end}");
        assert_eq!(
            replace_block(&bare, "team.ini", "[profile a]\n").unwrap(),
            format!("{begin}\n[profile a]\n{end}")
        );
    }

    #[test]
    fn markers_out_of_pairs_are_refused() {
        let (begin, end) = markers("t");
        let cases = [
            (format!("{begin}\n"), "line 1 opens or closes"),
            (format!("{end}\n"), "line 1 opens or closes"),
            (format!("{begin}\n{end}\n{begin}\n{end}\n"), "lines 1 and 3"),
            (format!("{begin}\n{begin}\n{end}\n"), "lines 1 and 2"),
        ];
        for (text, expect) in cases {
            let err = replace_block(&text, "t", "").unwrap_err().to_string();
            assert!(err.contains(expect), "{text:?}: {err}");
        }
        assert!(find_block("x", "a\nb").is_err());
    }

    #[test]
    fn the_file_edge_refuses_links_and_read_only_files_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "[profile a]\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let current = read_for_edit(&path).unwrap();
        write_edited(&current, "[profile b]\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[profile b]\n");
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        // Only the config is left in the folder: no temp file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // Changed between read and write: refused, the other writer's bytes stay.
        let current = read_for_edit(&path).unwrap();
        std::fs::write(&path, "[profile other-writer]\n").unwrap();
        let err = write_edited(&current, "[profile c]\n").unwrap_err();
        assert!(matches!(err, EditError::Changed { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[profile other-writer]\n"
        );

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = read_for_edit(&link).unwrap_err();
        assert!(err.to_string().ends_with("it is a symbolic link"), "{err}");
        assert!(err.hint().unwrap().contains("AWS_CONFIG_FILE="), "{err:?}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = read_for_edit(&path).unwrap_err();
        assert!(err.to_string().ends_with("it is read-only"), "{err}");

        // No file yet: made 0600 in a 0700 folder.
        let new = dir.path().join("aws/config");
        let current = read_for_edit(&new).unwrap();
        assert_eq!(current.text, "");
        write_edited(&current, "[profile a]\n").unwrap();
        let meta = std::fs::metadata(&new).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o600);
        let dir_mode = std::fs::metadata(new.parent().unwrap()).unwrap().mode();
        assert_eq!(dir_mode & 0o7777, 0o700);
    }
}
