//! The process environment as vault reads it: a variable set to the empty string counts as
//! unset, as in aws-vault. Reading only: it must not set or remove a variable, nor name
//! `commands/` or `cli.rs`, the rooms above it.

/// An environment variable, empty treated as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
