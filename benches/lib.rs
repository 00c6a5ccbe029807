//! Unpublished package holding the workspace benchmarks (see `core.rs`), and what they
//! share.

use std::time::{Duration, Instant};

/// Runs `work` again and again for at least `budget` (once at the least), returning the
/// best time of one run: what the benchmarks print beside their baselines.
pub fn best_time(budget: Duration, mut work: impl FnMut()) -> Duration {
    let began = Instant::now();
    let mut best = Duration::MAX;
    while began.elapsed() < budget || best == Duration::MAX {
        let run = Instant::now();
        work();
        best = best.min(run.elapsed());
    }
    best
}
