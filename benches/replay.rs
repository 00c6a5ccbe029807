//! A generated two-year backfill of a consumer and a producer (215 requests, about 6 MB
//! of bodies) replayed through the real client on 127.0.0.1, the rate limit lifted, synced
//! into the memory sink with the state in memory: the replay example's `--two-years`.
//! Outside `--test` runs it prints the wall time and the peak of heap memory in use
//! during the replay (a counting allocator), against the targets: under 3 s and 50 MB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use linky_examples::{Target, replay_job, two_year_session};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// One whole replay: generate, serve, sync, print into a sink that drops the text.
fn replay(runtime: &tokio::runtime::Runtime) -> bool {
    runtime.block_on(async {
        let mut out = std::io::sink();
        replay_job(two_year_session(7), Target::Memory, None, &mut out)
            .await
            .map(|replayed| replayed.as_recorded)
            .unwrap_or(false)
    })
}

fn two_years(c: &mut Criterion) {
    let runtime = runtime();
    assert!(replay(&runtime), "the generated session replays exactly");
    if !std::env::args().any(|argument| argument == "--test") {
        let mut best = Duration::MAX;
        let mut peak = 0;
        for _ in 0..5 {
            let before = IN_USE.load(Ordering::Relaxed);
            PEAK.store(before, Ordering::Relaxed);
            let started = Instant::now();
            black_box(replay(&runtime));
            best = best.min(started.elapsed());
            peak = peak.max(PEAK.load(Ordering::Relaxed) - before);
        }
        println!(
            "replay of a two-year backfill: {:.2} s wall (target 3 s), peak heap {:.1} MB (target 50 MB)",
            best.as_secs_f64(),
            peak as f64 / 1e6
        );
    }
    let mut group = c.benchmark_group("replay_two_years");
    group.sample_size(10);
    group.bench_function("generate_serve_sync", |b| b.iter(|| replay(&runtime)));
    group.finish();
}

criterion_group!(benches, two_years);
criterion_main!(benches);
