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

/// Like [`best_time`] for several pieces of work run in turn (one run of each, again and
/// again, for at least `budget` in all), returning each one's best time: a ratio between
/// them then compares runs made under the same load, which matters on a shared machine.
pub fn best_times_in_turn(budget: Duration, works: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let began = Instant::now();
    let mut best = vec![Duration::MAX; works.len()];
    while began.elapsed() < budget || best.contains(&Duration::MAX) {
        for (work, best) in works.iter_mut().zip(best.iter_mut()) {
            let run = Instant::now();
            work();
            *best = (*best).min(run.elapsed());
        }
    }
    best
}
