//! `vault`: the warm path (`warm`), small enough to start in a fraction of a millisecond;
//! every other command line goes to `vault-full`, the whole program, unchanged.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(status) = vault::warm::run(&args) {
        return ExitCode::from(status);
    }
    let problem = vault::warm::hand_over(&args);
    eprintln!("error: {}", vault::text::printable(&problem));
    ExitCode::from(1)
}
