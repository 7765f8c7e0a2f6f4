//! `--debug`: each step to stderr. Callers must never pass a secret to `debug!`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

pub fn enable() {
    START.get_or_init(Instant::now);
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Milliseconds since `--debug` was turned on, for the timestamps.
pub fn elapsed_ms() -> f64 {
    START
        .get()
        .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1000.0)
}

/// Prints `debug [  1.2ms] message` to stderr when `--debug` is on.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::debug::enabled() {
            eprintln!(
                "debug [{:7.1}ms] {}",
                $crate::debug::elapsed_ms(),
                $crate::text::printable(&format!($($arg)*))
            );
        }
    };
}
