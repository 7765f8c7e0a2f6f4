//! A command's output on stdout, written whole at once. It writes bytes as given: escaping
//! outside text is the caller's (`text::printable`), and machine-readable output (`--json`,
//! `export`) must stay exact. It must not import from `commands/` or `cli.rs`, the rooms above it.

use std::io::{self, Write};

use crate::error::{Error, Result};

/// Writes a command's whole output to stdout at once.
pub fn print(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Output)
}
