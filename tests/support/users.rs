//! Other local users, for the hostile-local-user tests (the security review's "alice" and
//! "mallory"). Each `LocalUser` is a fresh numeric uid and gid that no other test uses, and
//! commands run as it through `setpriv` (util-linux): the kernel then treats it as any other
//! unprivileged account (file modes, `/proc`, the kernel keyring, socket owners). No passwd
//! entry is needed, so nothing on the machine is changed and nothing is left behind.
//!
//! Needs root, as CI runs. Elsewhere `LocalUser::pair` returns `None` and the test says it
//! was skipped.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::Home;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// An unprivileged uid (with the same number as its gid) for one test.
#[derive(Clone, Copy, Debug)]
pub struct LocalUser {
    pub uid: u32,
}

impl LocalUser {
    /// Two fresh users, a victim and an attacker; `None` (after printing why) when the tests
    /// do not run as root or `setpriv` is missing.
    pub fn pair(test: &str) -> Option<(LocalUser, LocalUser)> {
        let root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
        if !root || !setpriv {
            eprintln!(
                "SKIPPED {test}: needs root and setpriv (util-linux) to run as two other users; CI runs as root"
            );
            return None;
        }
        Some((LocalUser::fresh(), LocalUser::fresh()))
    }

    fn fresh() -> LocalUser {
        // Spread by process id so that test binaries running at once do not share a uid (and
        // so a kernel user keyring).
        let base = 200_000 + (std::process::id() % 10_000) * 64;
        LocalUser {
            uid: base + NEXT.fetch_add(1, Ordering::Relaxed) % 64,
        }
    }

    fn setpriv(&self) -> Vec<String> {
        vec![
            "setpriv".into(),
            format!("--reuid={}", self.uid),
            format!("--regid={}", self.uid),
            "--clear-groups".into(),
        ]
    }

    /// Gives `path` and everything below it to this user.
    pub fn own(&self, path: &Path) {
        let status = Command::new("chown")
            .arg("-R")
            .arg(format!("{0}:{0}", self.uid))
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "chown {}", path.display());
    }

    /// `vault ARGS` in `home`, as this user (give it the HOME first with `own`).
    pub fn vault<I, S>(&self, home: &Home, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let wrapper = self.setpriv();
        let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
        home.wrapped(&wrapper, args)
    }

    /// `program ARGS` as this user, with `home`'s environment.
    pub fn command(&self, home: &Home, program: &str, args: &[&str]) -> Command {
        let wrapper = self.setpriv();
        let mut all: Vec<&str> = wrapper[1..].iter().map(String::as_str).collect();
        all.push(program);
        all.extend(args);
        home.child("setpriv", &all)
    }
}
