//! `vault-full`: the whole program. `vault` hands it every command line its warm path
//! does not serve; it also runs on its own, with the same command lines.

fn main() -> std::process::ExitCode {
    vault::process::name_from_argv0();
    vault::run(std::env::args_os())
}
