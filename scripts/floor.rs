//! The floor for `vault exec`: the least any wrapper that execs a command can cost. It reads
//! one small file (as vault reads its cached session) and execs its arguments. Built by
//! `scripts/bench` with plain `rustc`, statically linked, and timed beside vault.
use std::os::unix::process::CommandExt;
fn main() {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let _ = std::fs::read("/etc/hostname");
    let error = std::process::Command::new(&args[0]).args(&args[1..]).exec();
    panic!("exec failed: {error}")
}
