//! Timing for the in-process benchmarks: the median of repeated runs after one warm-up.

use std::time::{Duration, Instant};

/// The median time of `runs` calls of `f`, after one call that is not counted.
pub fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}
