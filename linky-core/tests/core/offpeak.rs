//! The off-peak schedule language through the public API.

use std::path::Path;

use chrono::NaiveDateTime;
use linky_core::{CompiledSchedule, Flow, HolidayZone, OffPeakConfig};

fn examples_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/examples/offpeak-examples.jsonl")
}

/// Reads a string field of a one-line JSON object without a JSON dependency: the
/// examples' fields are plain strings and booleans without escapes.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\": ");
    let start = line.find(&key).map(|i| i + key.len()).expect(name);
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        &quoted[..quoted.find('"').expect("closing quote")]
    } else {
        &rest[..rest.find([',', '}']).expect("end of value")]
    }
}

/// Whether the original plugin misreads `grammar`: its regular expression lets white
/// space and any run of digits follow the `h` of a time as its minutes, so in
/// `... to 21h 11453290002823 ...` it reads 21:59 (clamped) and loses the PDL, and the
/// ranges after it land in another section. This library reads `21h` and a PDL section
/// (spec/offpeak.md: bad times are not clamped, words are not swallowed).
fn misread_by_the_original(grammar: &str) -> bool {
    let chars: Vec<char> = grammar.chars().collect();
    chars.windows(2).enumerate().any(|(index, pair)| {
        pair[0].is_ascii_digit()
            && matches!(pair[1], 'h' | 'H')
            && chars.get(index + 2).is_some_and(|c| c.is_whitespace())
            && chars[index + 2..]
                .iter()
                .find(|c| !c.is_whitespace())
                .is_some_and(char::is_ascii_digit)
    })
}

#[test]
fn every_classification_of_the_original_matches_where_it_reads_the_text_right() {
    let text = std::fs::read_to_string(examples_file()).unwrap();
    let mut checked = 0;
    let mut misread_grammars = std::collections::BTreeSet::new();
    let mut differing = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let grammar = field(line, "grammar");
        let pdl = field(line, "pdl");
        let flow = if field(line, "production") == "true" {
            Flow::Production
        } else {
            Flow::Consumption
        };
        let at = NaiveDateTime::parse_from_str(field(line, "at"), "%Y-%m-%dT%H:%M").unwrap();
        let expected = field(line, "off_peak") == "true";
        let config: OffPeakConfig = grammar
            .parse()
            .unwrap_or_else(|e| panic!("{grammar:?}: {e}"));
        let plain = config.is_off_peak(pdl, flow, at, HolidayZone::Metropole);
        let compiled = CompiledSchedule::new(&config, pdl, flow, HolidayZone::Metropole);
        let minute = (at.time() - chrono::NaiveTime::MIN).num_minutes() as u16;
        let fast = compiled.tariff_at(at.date(), minute).0 == linky_core::Tariff::OffPeak;
        assert_eq!(plain, fast, "compiled and plain lookups differ: {line}");
        if misread_by_the_original(grammar) {
            misread_grammars.insert(grammar.to_owned());
            differing += usize::from(plain != expected);
            continue;
        }
        assert_eq!(plain, expected, "{line}");
        checked += 1;
    }
    // 43 grammars of 40 classifications (the empty one four times over); 11 of them hold
    // a time that the original misreads (see misread_by_the_original), and there 49 of
    // their 440 classifications differ, by design.
    assert_eq!(misread_grammars.len(), 11, "{misread_grammars:#?}");
    assert_eq!(checked, 1840 - 11 * 40);
    assert_eq!(differing, 49);
}

#[test]
fn the_original_swallows_a_pdl_after_an_hour_without_minutes() {
    // The original reads "21h 11453290002823" as 21:59 and gives 11453290002823 the
    // default section; here the range ends at 21:00 and the PDL keeps its own section.
    let config: OffPeakConfig = "18:30 to 10:00 P Sunday 01h30 to 21h 11453290002823 0h00-1:30"
        .parse()
        .unwrap();
    assert_eq!(
        config.to_string(),
        "18:30-10:00 P sun 01:30-21:00 11453290002823 00:00-01:30"
    );
    let friday_evening =
        NaiveDateTime::parse_from_str("2024-02-09 18:45", "%Y-%m-%d %H:%M").unwrap();
    assert!(!config.is_off_peak(
        "11453290002823",
        Flow::Consumption,
        friday_evening,
        HolidayZone::Metropole
    ));
    assert!(config.is_off_peak(
        "22516914714270",
        Flow::Consumption,
        friday_evening,
        HolidayZone::Metropole
    ));
}
