//! The `vault` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    vault::run(std::env::args_os())
}
