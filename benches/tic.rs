//! The TIC decoder over the bundled captures (`testdata/tic/`, generated from the
//! specification: both modes, Base, HP/HC, Tempo, three-phase, a producer, a noisy line):
//! bytes to checked frames, and bytes to typed frames, in MB/s. A serial line brings 120
//! bytes/s (historic) or 960 bytes/s (standard): the figures say how far below a core's
//! worth a reader stays. Outside `--test` runs, it prints the rates.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linky_benches::best_times_in_turn;
use linky_enedis::tic::{MeterFrame, TicDecoder, simulated};

fn decoding(c: &mut Criterion) {
    let captures = simulated::bundled_captures();
    let bytes: Vec<u8> = captures
        .iter()
        .flat_map(|(_, capture)| capture.bytes())
        .collect();
    let frames_expected = TicDecoder::new().push(&bytes).len();
    assert!(frames_expected > 150, "{frames_expected} frames");
    let decode = || TicDecoder::new().push(black_box(&bytes)).len();
    let typed = || {
        TicDecoder::new()
            .push(black_box(&bytes))
            .iter()
            .map(MeterFrame::from_frame)
            .filter(|frame| frame.class_indexes().is_some())
            .count()
    };
    assert_eq!(decode(), frames_expected);
    if !std::env::args().any(|argument| argument == "--test") {
        let times = best_times_in_turn(
            Duration::from_secs(4),
            &mut [
                &mut || {
                    black_box(decode());
                },
                &mut || {
                    black_box(typed());
                },
            ],
        );
        let rate = |time: Duration| bytes.len() as f64 / time.as_secs_f64() / 1e6;
        println!(
            "tic: {} captures, {:.0} kB, {frames_expected} frames: decoder {:.0} MB/s, decoder and typed frames {:.0} MB/s ({:.1} µs a frame)",
            captures.len(),
            bytes.len() as f64 / 1e3,
            rate(times[0]),
            rate(times[1]),
            times[1].as_secs_f64() * 1e6 / frames_expected as f64,
        );
    }
    let mut group = c.benchmark_group("tic");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode", |b| b.iter(decode));
    group.bench_function("decode_and_type", |b| b.iter(typed));
    group.finish();
}

criterion_group!(benches, decoding);
criterion_main!(benches);
