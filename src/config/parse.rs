//! Text of one AWS shared config or credentials file -> raw sections, with line numbers.
//!
//! Follows the cross-SDK parser rules (`tests/data/profile-parser-tests.json`). Does no I/O
//! and knows nothing of profile-name prefixes: that is `profiles.rs`'s job.

use std::fmt;

/// One `[...]` section as written, before names are validated or merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSection {
    /// What stood between the brackets, trimmed and with comments removed.
    pub header: String,
    /// 1-based line of the `[` line.
    pub line: usize,
    pub properties: Vec<RawProperty>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct RawProperty {
    /// Lower-cased: keys are case-insensitive.
    pub key: String,
    pub value: String,
    pub line: usize,
}

impl fmt::Debug for RawProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawProperty")
            .field("key", &self.key)
            .field("value", &redacted(&self.key, &self.value))
            .field("line", &self.line)
            .finish()
    }
}

/// Keys whose values are secrets wherever they are written.
pub fn is_secret_key(key: &str) -> bool {
    matches!(
        key,
        "aws_secret_access_key" | "aws_session_token" | "aws_security_token"
    )
}

/// The value to show in `Debug` output: secrets never appear there.
pub fn redacted<'a>(key: &str, value: &'a str) -> &'a str {
    if is_secret_key(key) {
        "<redacted>"
    } else {
        value
    }
}

/// A line the parser cannot read. `Display` is the problem alone; callers add the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Where a continuation line would go.
enum State {
    /// Before the first section header.
    Start,
    /// Inside a section, after a header or a property.
    InSection {
        /// Index of the property a continuation extends; `None` right after a header.
        property: Option<usize>,
        /// The property's own value was empty, so continuations are `name = value` pairs.
        sub_properties: bool,
    },
}

/// Parses one file's text into its sections, in file order.
pub fn parse(text: &str) -> Result<Vec<RawSection>, ParseError> {
    let mut sections: Vec<RawSection> = Vec::new();
    let mut state = State::Start;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let error = |message| ParseError {
            line: line_no,
            message,
        };
        if line.trim().is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            let header = strip_comment(line, false);
            let header = header
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .ok_or_else(|| error("Profile definition must end with ']'"))?;
            sections.push(RawSection {
                header: header.trim().to_string(),
                line: line_no,
                properties: Vec::new(),
            });
            state = State::InSection {
                property: None,
                sub_properties: false,
            };
        } else if line.starts_with(char::is_whitespace) {
            let State::InSection {
                property,
                sub_properties,
            } = state
            else {
                return Err(error(
                    "Expected a profile definition before this continuation",
                ));
            };
            let Some(property) = property else {
                return Err(error("Expected a property definition, found continuation"));
            };
            let continuation = line.trim();
            if sub_properties {
                split_property(continuation).map_err(|problem| {
                    error(match problem {
                        PropertyProblem::NoEquals => "Expected an '=' sign defining a sub-property",
                        PropertyProblem::NoName => "Sub-property did not have a name",
                    })
                })?;
            }
            let section = sections
                .last_mut()
                .expect("a continuation follows a section");
            let value = &mut section.properties[property].value;
            value.push('\n');
            value.push_str(continuation);
        } else {
            let Some(section) = sections.last_mut() else {
                return Err(error("Expected a profile definition before this property"));
            };
            let (key, value) = split_property(strip_comment(line, true)).map_err(|problem| {
                error(match problem {
                    PropertyProblem::NoEquals => "Expected an '=' sign defining a property",
                    PropertyProblem::NoName => "Property did not have a name",
                })
            })?;
            section.properties.push(RawProperty {
                key: key.to_ascii_lowercase(),
                value: value.to_string(),
                line: line_no,
            });
            state = State::InSection {
                property: Some(section.properties.len() - 1),
                sub_properties: value.is_empty(),
            };
        }
    }
    Ok(sections)
}

enum PropertyProblem {
    NoEquals,
    NoName,
}

fn split_property(line: &str) -> Result<(&str, &str), PropertyProblem> {
    let (key, value) = line.split_once('=').ok_or(PropertyProblem::NoEquals)?;
    let key = key.trim();
    if key.is_empty() {
        return Err(PropertyProblem::NoName);
    }
    Ok((key, value.trim()))
}

/// Cuts a `#` or `;` comment off a line and trims it. In property values a comment must
/// follow white space (`value;x` keeps its `;`); in section headers it may follow anything.
fn strip_comment(line: &str, needs_whitespace: bool) -> &str {
    let mut previous_is_space = false;
    for (at, c) in line.char_indices() {
        if (c == '#' || c == ';') && (!needs_whitespace || previous_is_space) {
            return line[..at].trim();
        }
        previous_is_space = c.is_whitespace();
    }
    line.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &[(&str, &[(&str, &str)])]) {
        let sections = parse(text).expect("parses");
        let got: Vec<(String, Vec<(String, String)>)> = sections
            .into_iter()
            .map(|s| {
                let props = s.properties.into_iter().map(|p| (p.key, p.value)).collect();
                (s.header, props)
            })
            .collect();
        let expect: Vec<(String, Vec<(String, String)>)> = expect
            .iter()
            .map(|(h, props)| {
                let props = props
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (h.to_string(), props)
            })
            .collect();
        assert_eq!(got, expect);
    }

    fn check_error(text: &str, line: usize, message: &str) {
        let err = parse(text).expect_err("fails");
        assert_eq!((err.line, err.message), (line, message));
    }

    #[test]
    fn headers_keep_raw_names() {
        check(
            "[ profile  a ] # c\n[default];x",
            &[("profile  a", &[]), ("default", &[])],
        );
    }

    #[test]
    fn properties_and_continuations() {
        check(
            "[p]\nK = v ;c\n  more ; kept\n",
            &[("p", &[("k", "v\nmore ; kept")])],
        );
        check(
            "[p]\ns3 =\n  a = 1\n\n  b = 2",
            &[("p", &[("s3", "\na = 1\nb = 2")])],
        );
    }

    #[test]
    fn errors_name_the_line() {
        check_error(
            "[p]\n\nkey value",
            3,
            "Expected an '=' sign defining a property",
        );
        check_error(
            "[p]\n  cont",
            2,
            "Expected a property definition, found continuation",
        );
        check_error("# c\n[p", 2, "Profile definition must end with ']'");
        check_error(
            "[p]\ns3 =\n  x",
            3,
            "Expected an '=' sign defining a sub-property",
        );
    }
}
