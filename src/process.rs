//! vault's own process, and the programs it starts.
//!
//! At start-up (`harden`) vault makes itself non-dumpable and lowers its core-file limit to
//! 0: keys, the passphrase and the data key live in its memory, and a crash or Ctrl-\ must
//! not write them to disk. The hard limit is kept, so that the programs vault starts (`exec`'s
//! command, `credential_process`, `mfa_process`, ykman, the browser) get the limit the person
//! gave vault back (`with_child_limits`): their debugger and their core files work as before.
//! `execve` makes them dumpable again by itself.
//!
//! Every program vault starts begins from `command`: vault's environment without vault's own
//! secrets. (`exec`'s command gets a whole environment built by `exec::child_env`.)
//! Must not: hold or print a secret.

use std::ffi::OsStr;
use std::io;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

/// Variables that hold vault's own secrets: no program vault starts inherits them.
pub const SECRET_VARS: &[&str] = &["AWS_VAULT_FILE_PASSPHRASE"];

/// The core-file soft limit vault was started with, once `harden` has lowered it.
static CHILD_CORE_LIMIT: OnceLock<u64> = OnceLock::new();

/// Held while the limit is raised for a child, so that two threads starting programs at
/// once do not lower it under each other.
static RAISED: Mutex<()> = Mutex::new(());

/// No core dumps from vault: non-dumpable (Linux), core-file soft limit 0 (Unix). Failures
/// are reported under `--debug` only: neither call fails on a supported system, and vault
/// still works without them.
pub fn harden() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        crate::debug!("could not make vault non-dumpable: {e}");
    }
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        match getrlimit(Resource::RLIMIT_CORE) {
            Ok((0, _)) => {}
            Ok((soft, hard)) => match setrlimit(Resource::RLIMIT_CORE, 0, hard) {
                Ok(()) => {
                    let _ = CHILD_CORE_LIMIT.set(soft);
                }
                Err(e) => crate::debug!("could not turn core dumps off: {e}"),
            },
            Err(e) => crate::debug!("could not read the core-file limit: {e}"),
        }
    }
}

/// The process's name (`comm`: what ps, top, pgrep and killall show) from `argv[0]`: when
/// `vault` hands a command to `vault-full`, the process is still called `vault`.
pub fn name_from_argv0() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let Some(argv0) = std::env::args_os().next() else {
            return;
        };
        let Some(name) = std::path::Path::new(&argv0).file_name() else {
            return;
        };
        if let Ok(name) = std::ffi::CString::new(name.as_bytes())
            && let Err(e) = nix::sys::prctl::set_name(&name)
        {
            crate::debug!("could not name the process: {e}");
        }
    }
}

/// A program to start, with vault's environment less `SECRET_VARS`.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for var in SECRET_VARS {
        command.env_remove(var);
    }
    command
}

/// `command.output()`, the program started with the limits vault was started with (but
/// vault's limit raised only while it starts, not while it runs). Its stdout is captured;
/// its stdin and stderr are as `command` says.
pub fn output(command: &mut Command) -> io::Result<Output> {
    command.stdout(Stdio::piped());
    with_child_limits(|| command.spawn())?.wait_with_output()
}

/// Runs `start` (which starts or execs a program) with the core-file limit vault was started
/// with, then lowers it again. vault stays non-dumpable meanwhile, so it still cannot dump.
/// `start` must not wait for the program: the limit is vault's too while it is raised.
pub fn with_child_limits<T>(start: impl FnOnce() -> T) -> T {
    #[cfg(unix)]
    if let Some(&soft) = CHILD_CORE_LIMIT.get() {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let _raised = RAISED.lock().unwrap_or_else(|e| e.into_inner());
        let hard = getrlimit(Resource::RLIMIT_CORE).map(|(_, hard)| hard);
        let Ok(hard) = hard else {
            return start();
        };
        let _ = setrlimit(Resource::RLIMIT_CORE, soft, hard);
        let result = start();
        let _ = setrlimit(Resource::RLIMIT_CORE, 0, hard);
        return result;
    }
    start()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_start_without_vault_secrets() {
        let command = command("/bin/true");
        let removed: Vec<_> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| key.to_string_lossy().into_owned())
            .collect();
        assert_eq!(removed, SECRET_VARS);
    }
}
