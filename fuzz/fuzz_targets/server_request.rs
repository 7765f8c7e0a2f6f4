//! Any bytes as what a client sent to one of vault's local servers (`exec --server`,
//! `login`'s redirect): the request parser never panics, never asks for more than
//! `MAX_REQUEST` bytes, and what it accepts is clean (tokens, a path, no control characters)
//! and does not depend on what follows the head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vault::server::http::{MAX_REQUEST, ParseError, parse_request};

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_request(data);
    if data.len() >= MAX_REQUEST {
        assert_ne!(parsed, Err(ParseError::Incomplete), "a full buffer must be decided");
    }
    // Whatever came before the cap decides; bytes after it are never looked at.
    if data.len() > MAX_REQUEST {
        assert_eq!(parse_request(&data[..MAX_REQUEST]), parsed);
    }
    let Ok(request) = parsed else { return };
    assert!(!request.method.is_empty() && request.method.bytes().all(is_tchar));
    assert!(request.target.starts_with('/'));
    assert!(request.target.bytes().all(|b| b.is_ascii_graphic()));
    assert!(request.target.starts_with(request.path()));
    for (name, value) in request.headers() {
        assert!(!name.is_empty() && name.bytes().all(is_tchar), "{name:?}");
        assert!(!value.contains(['\r', '\n', '\0']), "{value:?}");
        assert_eq!(value, value.trim_matches([' ', '\t']));
        // Lookup ignores case and finds a header of that name (the first one).
        let found = request.header(&name.to_ascii_uppercase()).expect("found by name");
        assert!(request.headers().any(|(n, v)| n.eq_ignore_ascii_case(name) && v == found));
    }
    // The head ends at the first empty line: cutting just after it changes nothing, and
    // what follows it is not read.
    let end = head_end(data).expect("an accepted request has an end");
    assert_eq!(parse_request(&data[..end]).as_ref(), Ok(&request));
    let mut longer = data[..end].to_vec();
    longer.extend_from_slice(b"GARBAGE \x00\r\n\r\n");
    assert_eq!(parse_request(&longer).as_ref(), Ok(&request));
    let _ = format!("{request:?}");
});

/// Just past the first empty line (`\n\n` or `\n\r\n`).
fn head_end(data: &[u8]) -> Option<usize> {
    (0..data.len()).find_map(|i| {
        if data[i] != b'\n' {
            return None;
        }
        match &data[i + 1..] {
            [b'\n', ..] => Some(i + 2),
            [b'\r', b'\n', ..] => Some(i + 3),
            _ => None,
        }
    })
}
