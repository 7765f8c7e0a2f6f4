//! SIGINT, SIGTERM and SIGHUP held back while a question is open (the terminal's, or a
//! dialog's), and read from a signalfd (Linux), so that the asker can clean up (restore the
//! terminal's mode, close the dialog) and end vault with 128 + the signal.
//! Must not: install a signal handler (the default actions stay), or outlive the question.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

/// The signals blocked in this thread and readable from a signalfd, until dropped, which
/// puts the thread's mask back (a signal still pending then takes its default action).
#[cfg(target_os = "linux")]
pub struct Signals {
    previous: nix::sys::signal::SigSet,
    fd: nix::sys::signalfd::SignalFd,
}

#[cfg(target_os = "linux")]
impl Signals {
    pub fn block() -> io::Result<Signals> {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal};
        use nix::sys::signalfd::{SfdFlags, SignalFd};
        let mut set = SigSet::empty();
        for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            set.add(signal);
        }
        let previous = set.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let fd = match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = previous.thread_set_mask();
                return Err(e.into());
            }
        };
        Ok(Signals { previous, fd })
    }

    /// Waits until `other` can be read or `timeout` passes (`None`), or a signal came
    /// (`Some(number)`).
    pub fn wait(
        &self,
        other: Option<BorrowedFd>,
        timeout: Option<Duration>,
    ) -> io::Result<Option<i32>> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let timeout = match timeout {
            Some(t) => PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        loop {
            let mut fds = vec![PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            if let Some(other) = other {
                fds.push(PollFd::new(other, PollFlags::POLLIN));
            }
            let ready = match poll(&mut fds, timeout) {
                Ok(ready) => ready,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            if fds[0].any().unwrap_or(false)
                && let Some(info) = self.fd.read_signal()?
            {
                return Ok(Some(info.ssi_signo as i32));
            }
            let readable = fds.get(1).is_some_and(|fd| fd.any().unwrap_or(false));
            if ready == 0 || readable {
                return Ok(None);
            }
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for Signals {
    fn drop(&mut self) {
        let _ = self.previous.thread_set_mask();
    }
}

/// Elsewhere no signalfd: signals keep their default action (the terminal's mode is still
/// restored on every other way out). Only the Linux build is tested.
#[cfg(not(target_os = "linux"))]
pub struct Signals;

#[cfg(not(target_os = "linux"))]
impl Signals {
    pub fn block() -> io::Result<Signals> {
        Ok(Signals)
    }

    pub fn wait(
        &self,
        _other: Option<BorrowedFd>,
        timeout: Option<Duration>,
    ) -> io::Result<Option<i32>> {
        if let Some(timeout) = timeout {
            std::thread::sleep(timeout);
        }
        Ok(None)
    }
}
