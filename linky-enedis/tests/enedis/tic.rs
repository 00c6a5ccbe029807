//! The TIC decoder through the public API: the specification's examples and faults,
//! typed frames, timestamps, the simulated meter, and properties over any byte stream.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use linky_core::{DayColour, Tariff};
use linky_enedis::tic::{
    ClassIndexes, CutOff, GroupFault, MeterFrame, ModeSetting, TariffOption, TicCapture,
    TicDecoder, TicMode, TicPeriod, TicSeason, TicTimestamp, checksum, encode_group,
    simulated::{self, SimulatedMeter, SimulatedOption},
};
use proptest::prelude::*;

fn decode(bytes: &[u8]) -> (Vec<linky_enedis::tic::Frame>, TicDecoder) {
    let mut decoder = TicDecoder::new();
    let frames = decoder.push(bytes);
    (frames, decoder)
}

#[test]
fn the_worked_checksums_of_the_specification() {
    assert_eq!(checksum(b"HCHC 012345678"), b'*');
    assert_eq!(checksum(b"EAST\t011890456\t"), b'1');
    assert_eq!(checksum(b"SMAXSN\tH260115081522\t05120\t"), b'6');
}

#[test]
fn the_three_example_frames_decode_whole() {
    for (bytes, mode, groups, size) in [
        (
            simulated::historic_peak_off_peak_example(),
            TicMode::Historic,
            11,
            170,
        ),
        (
            simulated::historic_tempo_example(),
            TicMode::Historic,
            16,
            275,
        ),
        (
            simulated::standard_tempo_example(),
            TicMode::Standard,
            38,
            865,
        ),
    ] {
        assert_eq!(bytes.len(), size);
        let (frames, decoder) = decode(&bytes);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].mode, mode);
        assert_eq!(frames[0].groups.len(), groups);
        assert!(frames[0].bad_groups.is_empty());
        assert_eq!(decoder.counters().bad_groups(), 0);
    }
}

#[test]
fn a_space_checksum_and_an_empty_date_are_read() {
    // Example 1's PTEC group ends with two spaces: separator, then the checksum space.
    let (frames, _) = decode(&simulated::historic_peak_off_peak_example());
    assert_eq!(frames[0].data("PTEC"), Some("HP.."));
    let (frames, _) = decode(&simulated::standard_tempo_example());
    let date = frames[0].group("DATE").unwrap();
    assert_eq!(
        (date.timestamp.as_deref(), date.data.as_str()),
        (Some("H260115143005"), "")
    );
    assert_eq!(
        frames[0].data("PJOURF+1").map(str::len),
        Some(98),
        "data with spaces is kept whole"
    );
}

#[test]
fn example_one_typed() {
    let (frames, _) = decode(&simulated::historic_peak_off_peak_example());
    let meter = MeterFrame::from_frame(&frames[0]);
    assert_eq!(meter.meter_id.as_deref(), Some("041876543210"));
    assert_eq!(meter.option, Some(TariffOption::PeakOffPeak));
    assert_eq!(meter.period, Some(TicPeriod::Tariff(Tariff::Peak)));
    assert_eq!(
        meter.class_indexes(),
        Some(ClassIndexes::Tariffs([23_456_789, 12_345_678]))
    );
    assert_eq!(meter.apparent_power, Some(1_610));
    assert_eq!(meter.currents, [Some(7), None, None]);
    assert_eq!(meter.subscribed_current, Some(45));
    assert!(!meter.overpower());
    assert!(meter.errors.is_empty(), "{:?}", meter.errors);
}

#[test]
fn example_two_typed_tempo_historic() {
    let (frames, _) = decode(&simulated::historic_tempo_example());
    let meter = MeterFrame::from_frame(&frames[0]);
    assert_eq!(meter.option, Some(TariffOption::Tempo));
    assert_eq!(
        meter.period,
        Some(TicPeriod::Tempo(DayColour::White, Tariff::OffPeak))
    );
    assert_eq!(meter.tempo_tomorrow(), Some(DayColour::Red));
    // TEMPO_CLASSES order: blue peak, blue off-peak, white peak, white off-peak, red...
    assert_eq!(
        meter.class_indexes(),
        Some(ClassIndexes::Tempo([
            6_123_457, 4_210_345, 987_650, 712_004, 356_102, 201_733
        ]))
    );
}

#[test]
fn example_three_typed_standard_tempo() {
    let (frames, _) = decode(&simulated::standard_tempo_example());
    let meter = MeterFrame::from_frame(&frames[0]);
    assert_eq!(meter.mode, TicMode::Standard);
    assert_eq!(meter.usage_point.as_deref(), Some("09876543210987"));
    assert_eq!(meter.calendar_name.as_deref(), Some("TEMPO"));
    assert_eq!(meter.tariff_label.as_deref(), Some("HP  BLEU"));
    assert_eq!(meter.supplier_index, Some(2));
    assert_eq!(
        meter.period,
        Some(TicPeriod::Tempo(DayColour::Blue, Tariff::Peak))
    );
    assert_eq!(meter.indexes.total, Some(11_890_456));
    assert_eq!(
        meter.class_indexes(),
        Some(ClassIndexes::Tempo([
            6_123_457, 4_210_345, 487_650, 712_004, 155_267, 201_733
        ]))
    );
    let time = meter.time.unwrap();
    assert_eq!(time.season, TicSeason::Winter);
    assert_eq!(
        time.utc(),
        Some(Utc.with_ymd_and_hms(2026, 1, 15, 13, 30, 5).unwrap())
    );
    assert_eq!(meter.reference_power_kva, Some(9));
    assert_eq!(meter.max_power_today.map(|m| m.value), Some(5_120));
    assert_eq!(meter.max_power_yesterday.map(|m| m.value), Some(6_340));
    assert_eq!(meter.curve_points.len(), 2);
    assert_eq!(meter.curve_points[0].watts, 2_630);
    let status = meter.status.unwrap();
    assert!(status.dry_contact_open());
    assert_eq!(status.cut_off(), CutOff::Closed);
    assert!(status.standard_mode() && status.cpl_synchronised());
    assert_eq!(status.supplier_index(), 2);
    assert_eq!(meter.tempo_today(), Some(DayColour::Blue));
    assert_eq!(meter.tempo_tomorrow(), Some(DayColour::White));
    assert_eq!(meter.message.as_deref(), Some("PAS DE          MESSAGE"));
    assert!(meter.errors.is_empty(), "{:?}", meter.errors);
}

#[test]
fn a_real_status_register_from_a_three_phase_meter() {
    // TNOM's real 463A0800: consumer, index 3, standard, Euridis secured, CPL New/Lock,
    // today white, tomorrow blue, mobile peak 1 in progress.
    let status: linky_enedis::tic::StatusRegister = "463A0800".parse().unwrap();
    assert!(!status.producer());
    assert_eq!(status.supplier_index(), 3);
    assert!(status.standard_mode());
    assert_eq!(status.euridis(), linky_enedis::tic::Euridis::OnSecured);
    assert_eq!(status.cpl_status(), linky_enedis::tic::CplStatus::NewLocked);
    assert_eq!(status.tempo_today(), Some(DayColour::White));
    assert_eq!(status.tempo_tomorrow(), Some(DayColour::Blue));
    assert_eq!(status.mobile_peak_in_progress(), Some(1));
    assert_eq!(status.mobile_peak_notice(), None);
}

#[test]
fn timestamps_say_their_season_and_a_degraded_clock() {
    // The repeated October hour: 02:30 in summer time, then 02:30 in winter time.
    let summer: TicTimestamp = "E251026023000".parse().unwrap();
    let winter: TicTimestamp = "H251026023000".parse().unwrap();
    assert_eq!(
        summer.utc(),
        Some(Utc.with_ymd_and_hms(2025, 10, 26, 0, 30, 0).unwrap())
    );
    assert_eq!(
        winter.utc(),
        Some(Utc.with_ymd_and_hms(2025, 10, 26, 1, 30, 0).unwrap())
    );
    let degraded: TicTimestamp = "h260115143005".parse().unwrap();
    assert!(degraded.degraded && degraded.season == TicSeason::Winter);
    let unstated: TicTimestamp = " 260115060000".parse().unwrap();
    assert_eq!(unstated.utc(), None);
    for bad in [
        "X260115143005",
        "H2601151430",
        "H261315143005",
        "H26011514300x",
        "",
    ] {
        assert!(bad.parse::<TicTimestamp>().is_err(), "{bad:?}");
    }
}

/// The specification's fault run (§8): noise, a cut frame, a flipped bit in `EAST`, a
/// frame interrupted by EOT, a good frame, a frame with bit 7 set on every byte.
#[test]
fn the_specifications_fault_run() {
    let good = simulated::standard_tempo_example();
    let mut stream: Vec<u8> = (0..300u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    stream.extend_from_slice(&good[..good.len() / 2]);
    let mut flipped = good.clone();
    let east = flipped.windows(4).position(|w| w == b"EAST").unwrap();
    flipped[east + 6] ^= 0x01;
    stream.extend(&flipped);
    stream.extend_from_slice(&good[..400]);
    stream.push(0x04);
    stream.extend(&good);
    stream.extend(good.iter().map(|byte| byte | 0x80));
    stream.extend(&good);
    let (frames, decoder) = decode(&stream);
    let groups: Vec<usize> = frames.iter().map(|frame| frame.groups.len()).collect();
    assert_eq!(groups, [37, 38, 38, 38]);
    assert_eq!(frames[0].group("EAST"), None);
    assert_eq!(frames[0].bad_groups.len(), 1);
    assert_eq!(frames[0].bad_groups[0].fault, GroupFault::BadChecksum);
    let counters = decoder.counters();
    assert_eq!(counters.bad_checksums, 1);
    assert!(counters.interrupted_frames >= 1, "{counters:?}");
    assert!(counters.cut_frames >= 1, "{counters:?}");
    assert!(counters.stray_bytes > 0);
}

#[test]
fn a_group_without_its_cr_or_too_long_costs_only_itself() {
    let mut frame = vec![0x02];
    frame.extend(encode_group(
        TicMode::Historic,
        "ADCO",
        None,
        "041876543210",
    ));
    // A lost CR glues two groups: the first is unterminated.
    let mut glued = encode_group(TicMode::Historic, "HCHC", None, "012345678");
    glued.pop();
    frame.extend(glued);
    frame.extend(encode_group(TicMode::Historic, "HCHP", None, "023456789"));
    frame.push(b'\n');
    frame.extend(std::iter::repeat_n(b'A', 300));
    frame.push(b'\r');
    frame.extend(encode_group(TicMode::Historic, "PAPP", None, "01610"));
    frame.push(0x03);
    let (frames, decoder) = decode(&frame);
    let labels: Vec<&str> = frames[0].groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["ADCO", "HCHP", "PAPP"]);
    let faults: Vec<GroupFault> = frames[0].bad_groups.iter().map(|b| b.fault).collect();
    assert_eq!(faults, [GroupFault::Unterminated, GroupFault::TooLong]);
    assert_eq!(decoder.counters().malformed_groups, 2);
}

#[test]
fn a_fixed_mode_counts_the_other_modes_groups() {
    let mut decoder = TicDecoder::with_mode(ModeSetting::Fixed(TicMode::Historic));
    let frames = decoder.push(&simulated::standard_tempo_example());
    assert!(frames.is_empty());
    assert_eq!(decoder.counters().wrong_mode_groups, 38);
    assert_eq!(decoder.counters().empty_frames, 1);
    let frames = decoder.push(&simulated::historic_tempo_example());
    assert_eq!(frames.len(), 1);
    assert_eq!(decoder.detected_mode(), Some(TicMode::Historic));
}

#[test]
fn the_mode_is_detected_after_three_good_groups() {
    let frame = simulated::standard_tempo_example();
    let mut decoder = TicDecoder::new();
    // STX and two groups.
    let second_cr = frame
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\r')
        .nth(1)
        .unwrap()
        .0;
    decoder.push(&frame[..=second_cr]);
    assert_eq!(decoder.detected_mode(), None);
    decoder.push(&frame[second_cr + 1..]);
    assert_eq!(decoder.detected_mode(), Some(TicMode::Standard));
}

#[test]
fn non_numbers_are_field_errors_not_values() {
    let bytes = linky_enedis::tic::encode_frame(
        TicMode::Historic,
        [
            ("OPTARIF", None, "HC.."),
            ("HCHC", None, "01234x678"),
            ("HCHP", None, "023456789"),
            ("PTEC", None, "ZZ.."),
        ],
    );
    let (frames, _) = decode(&bytes);
    let meter = MeterFrame::from_frame(&frames[0]);
    assert_eq!(meter.indexes.off_peak, None);
    assert_eq!(
        meter.class_indexes(),
        None,
        "never a partial set of indexes"
    );
    let labels: Vec<&str> = meter.errors.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["HCHC", "PTEC"]);
}

#[test]
fn simulated_meters_write_frames_that_decode_whole() {
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 4, 0, 0).unwrap();
    for mode in [TicMode::Historic, TicMode::Standard] {
        for option in [
            SimulatedOption::Base,
            SimulatedOption::PeakOffPeak,
            SimulatedOption::Tempo,
        ] {
            for three_phase in [false, true] {
                let mut meter = SimulatedMeter::new(mode, option);
                meter.three_phase = three_phase;
                meter.producer = mode == TicMode::Standard && three_phase;
                meter.colours.insert(
                    NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
                    DayColour::Red,
                );
                let mut decoder = TicDecoder::new();
                let mut previous: Option<Vec<u64>> = None;
                for step in 0..=8 {
                    let at = start + Duration::hours(step);
                    let frames = decoder.push(&meter.frame(at, 2_000 + 500 * step as u32, 300));
                    assert_eq!(frames.len(), 1, "{mode} {option:?}");
                    assert!(frames[0].bad_groups.is_empty());
                    let typed = MeterFrame::from_frame(&frames[0]);
                    assert!(typed.errors.is_empty(), "{:?}", typed.errors);
                    let indexes = typed
                        .class_indexes()
                        .expect("every class index")
                        .values()
                        .to_vec();
                    if let Some(previous) = &previous {
                        assert!(
                            indexes
                                .iter()
                                .zip(previous)
                                .all(|(now, before)| now >= before)
                        );
                        assert!(indexes.iter().sum::<u64>() > previous.iter().sum::<u64>());
                    }
                    previous = Some(indexes);
                }
            }
        }
    }
}

#[test]
fn captures_round_trip_and_report_their_line() {
    let mut meter = SimulatedMeter::new(TicMode::Historic, SimulatedOption::PeakOffPeak);
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 4, 0, 0).unwrap();
    let capture = simulated::capture(&mut meter, start, 10, 2, |_| (1_500, 0));
    let text = capture.to_text();
    assert_eq!(TicCapture::parse(&text).unwrap(), capture);
    let (frames, _) = decode(&capture.bytes());
    assert_eq!(frames.len(), 6);
    let broken = text.replacen("\n0 ", "\n0 zz", 1);
    let error = TicCapture::parse(&broken).unwrap_err();
    assert_eq!(error.line, 2);
    assert!(
        TicCapture::parse("hello")
            .unwrap_err()
            .to_string()
            .contains("line 1")
    );
}

/// Any bytes, in any chunks: the decoder never panics, every group it gives out passed
/// its mode's checksum, and the chunking changes nothing.
fn streams() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(simulated::historic_tempo_example()),
        Just(simulated::standard_tempo_example()),
        Just(simulated::historic_peak_off_peak_example()),
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(
            prop_oneof![
                Just(0x02u8),
                Just(0x03),
                Just(0x04),
                Just(b'\n'),
                Just(b'\r'),
                Just(b'\t'),
                Just(b' ')
            ],
            0..10
        ),
    ];
    (
        prop::collection::vec(piece, 0..8),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
    )
        .prop_map(|(pieces, flips)| {
            let mut stream = pieces.concat();
            if !stream.is_empty() {
                for (at, bits) in flips {
                    let index = at.index(stream.len());
                    stream[index] ^= bits;
                }
            }
            stream
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_group_given_out_passed_its_checksum(stream in streams(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10)) {
        let (whole, decoder) = decode(&stream);
        let masked: Vec<u8> = stream.iter().map(|byte| byte & 0x7f).collect();
        for frame in &whole {
            for group in &frame.groups {
                // The group as its mode writes it, with the right checksum, is in the
                // stream byte for byte: the checksum it came with was right.
                let encoded = encode_group(frame.mode, &group.label, group.timestamp.as_deref(), &group.data);
                prop_assert!(masked.windows(encoded.len()).any(|window| window == encoded), "{:?}", group);
            }
        }
        prop_assert_eq!(decoder.counters().frames as usize, whole.len());
        // Any chunking gives the same frames.
        let mut positions: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len() + 1)).collect();
        positions.sort_unstable();
        let mut chunked = TicDecoder::new();
        let mut frames = Vec::new();
        let mut from = 0;
        for to in positions.into_iter().chain([stream.len()]) {
            frames.extend(chunked.push(&stream[from..to]));
            from = to;
        }
        prop_assert_eq!(frames, whole);
        prop_assert_eq!(chunked.counters(), decoder.counters());
    }
}

/// A day of a simulated Tempo meter in standard mode, a frame every 2 s: the meter's own
/// indexes make hour rows (neither the hour begun before the first frame nor the one the
/// last frame leaves open is given), each class booked by the meter.
#[test]
fn hour_rows_from_the_meters_own_indexes() {
    use linky_core::{ClassEnergies, Energy, IndexHours, PARIS};
    let mut meter = SimulatedMeter::new(TicMode::Standard, SimulatedOption::Tempo);
    meter.colours.insert(
        NaiveDate::from_ymd_opt(2026, 1, 14).unwrap(),
        DayColour::White,
    );
    meter.colours.insert(
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
        DayColour::Red,
    );
    // Local 2026-01-15 00:00 (UTC+1), minus one frame.
    let start = Utc.with_ymd_and_hms(2026, 1, 14, 22, 59, 58).unwrap();
    let mut decoder = TicDecoder::new();
    let mut hours = IndexHours::new(PARIS);
    let mut given = Vec::new();
    for step in 0..=(25 * 1800) {
        let at = start + Duration::seconds(2 * step);
        for frame in decoder.push(&meter.frame(at, 1_800, 0)) {
            let reading = MeterFrame::from_frame(&frame)
                .live_reading(at)
                .expect("a meter");
            assert_eq!(reading.at, at, "the meter's own clock");
            given.extend(hours.push(&reading));
        }
    }
    assert!(hours.anomalies().is_empty(), "{:?}", hours.anomalies());
    // Frames from 23:59:58 local to 00:59:58 the day after next: 24 whole hours.
    assert_eq!(given.len(), 24);
    for hour in &given {
        let ClassEnergies::Tempo(classes) = hour.drawn else {
            panic!("Tempo classes")
        };
        // 1.8 kW for an hour, give or take the index's whole Wh.
        let total: Energy = classes.iter().copied().sum();
        assert!((1_799.0..=1_801.0).contains(&total.as_wh_f64()), "{hour:?}");
        // One class per hour: the colour day (white until 06:00, red after) and 22-06.
        let local = hour.end - Duration::minutes(1);
        let time = local.time();
        let red_day = local
            >= NaiveDate::from_ymd_opt(2026, 1, 15)
                .unwrap()
                .and_hms_opt(6, 0, 0)
                .unwrap();
        let off_peak = !(chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap()
            ..chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap())
            .contains(&time);
        let class = if red_day { 4 } else { 2 } + usize::from(off_peak);
        assert_eq!(classes[class], total, "{hour:?}");
    }
    let first = given.first().unwrap();
    assert_eq!(
        first.end,
        NaiveDate::from_ymd_opt(2026, 1, 15)
            .unwrap()
            .and_hms_opt(1, 0, 0)
            .unwrap()
    );
}

/// A three-phase meter's short frames during an overpower: no index, which says nothing
/// of the indexes (no hour is made of them, none is lost).
#[test]
fn three_phase_short_frames_warn_and_carry_no_indexes() {
    let bytes = linky_enedis::tic::encode_frame(
        TicMode::Historic,
        [
            ("ADIR1", None, "012"),
            ("ADIR2", None, "031"),
            ("ADIR3", None, "000"),
            ("ADCO", None, "041876543210"),
            ("IINST1", None, "042"),
            ("IINST2", None, "061"),
            ("IINST3", None, "010"),
        ],
    );
    let (frames, _) = decode(&bytes);
    let meter = MeterFrame::from_frame(&frames[0]);
    assert!(meter.short_frame);
    assert!(meter.overpower());
    assert_eq!(meter.overpower_current, Some(31));
    assert_eq!(meter.currents, [Some(42), Some(61), Some(10)]);
    let reading = meter
        .live_reading(Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap())
        .unwrap();
    assert_eq!(reading.indexes, None);
    let mut hours = linky_core::IndexHours::new(linky_core::PARIS);
    assert!(hours.push(&reading).is_empty());
    assert!(hours.anomalies().is_empty());
}
