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

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn parse(text: &str) -> OffPeakConfig {
    text.parse()
        .unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

/// Parses `input`, checks its canonical form, and that the canonical form parses back
/// to the same configuration.
fn check_canonical(input: &str, canonical: &str) -> OffPeakConfig {
    let config = parse(input);
    assert_eq!(config.to_string(), canonical, "{input:?}");
    assert_eq!(parse(canonical), config, "{canonical:?}");
    config
}

/// Checks the weekly timetable of `device` and `flow`, line by line.
fn check_timetable(config: &OffPeakConfig, device: &str, flow: Flow, expected: &str) {
    let text = config.timetable(device, flow).to_string();
    assert_eq!(text.trim_end(), expected.trim(), "{device} {flow}");
}

const CONSUMPTION: Flow = Flow::Consumption;
const PRODUCTION: Flow = Flow::Production;

#[test]
fn seed_readme_every_day_ranges() {
    // "configure les heures creuses de 2h à 7h et de 13h à 16h"
    for input in ["2h00-7h00 13h00-16h00", "2:00-7:00 13:00-16:00"] {
        let config = check_canonical(input, "02:00-07:00 13:00-16:00");
        check_timetable(
            &config,
            "12345678901234",
            CONSUMPTION,
            "consumption of 12345678901234: the default section, its consumption part
  mon  02:00-07:00 13:00-16:00
  tue  02:00-07:00 13:00-16:00
  wed  02:00-07:00 13:00-16:00
  thu  02:00-07:00 13:00-16:00
  fri  02:00-07:00 13:00-16:00
  sat  02:00-07:00 13:00-16:00
  sun  02:00-07:00 13:00-16:00
  holidays  as their weekday",
        );
    }
}

#[test]
fn seed_readme_weekday_sections() {
    // "de 8h à 15 le mercredi, de 9h à 11h et de 12h à 16h le samedi et de 2h à 7h et de
    // 13h à 16h les autres jours de la semaine"
    for input in [
        "2h00-7h00 13h00-16h00 mercredi 08h00-15h00 samedi 09h00-11h00 12h00-16h00",
        "2:00-7:00 13:00-16:00 Wednesday 8:00-15:00 Saturday 09:00-11:00 12:00-16:00",
    ] {
        let config = check_canonical(
            input,
            "02:00-07:00 13:00-16:00 wed 08:00-15:00 sat 09:00-11:00 12:00-16:00",
        );
        check_timetable(
            &config,
            "12345678901234",
            PRODUCTION,
            "production of 12345678901234: the default section, its consumption part (no production part)
  mon  02:00-07:00 13:00-16:00
  tue  02:00-07:00 13:00-16:00
  wed  08:00-15:00
  thu  02:00-07:00 13:00-16:00
  fri  02:00-07:00 13:00-16:00
  sat  09:00-11:00 12:00-16:00
  sun  02:00-07:00 13:00-16:00
  holidays  as their weekday",
        );
    }
    // Abbreviations: "me" and "sa" (French), "sat" (English).
    for input in [
        "2h00-7h00 13h00-16h00 me 08h00-15h00 sa 09h00-16h00",
        "2:00-7:00 13:00-16:00 me 08:00-15:00 sat 09:00-16:00",
    ] {
        check_canonical(
            input,
            "02:00-07:00 13:00-16:00 wed 08:00-15:00 sat 09:00-16:00",
        );
    }
}

#[test]
fn seed_readme_pdl_sections() {
    for input in [
        "12345678901234 1h00-6h00 12h00-14h00 88888888888888 13h00-16h00",
        "12345678901234 1:00-6:00 12:00-14:00 88888888888888 13:00-16:00",
    ] {
        let config = check_canonical(
            input,
            "12345678901234 01:00-06:00 12:00-14:00 88888888888888 13:00-16:00",
        );
        let monday_one = at("2024-06-03 01:00");
        let monday_thirteen = at("2024-06-03 13:00");
        let zone = HolidayZone::Metropole;
        assert!(config.is_off_peak("12345678901234", CONSUMPTION, monday_one, zone));
        assert!(config.is_off_peak("12345678901234", CONSUMPTION, monday_thirteen, zone));
        assert!(!config.is_off_peak("12345678901234", CONSUMPTION, at("2024-06-03 15:00"), zone));
        assert!(!config.is_off_peak("88888888888888", CONSUMPTION, monday_one, zone));
        assert!(config.is_off_peak("88888888888888", CONSUMPTION, monday_thirteen, zone));
        // No default section: any other PDL is all peak, with a single tariff.
        assert!(!config.is_off_peak("22516914714270", CONSUMPTION, monday_one, zone));
        assert!(!config.has_two_tariffs("22516914714270"));
        assert!(config.has_two_tariffs("88888888888888"));
    }
}

#[test]
fn seed_readme_default_and_pdl_sections() {
    for input in [
        "02h00-04h00 16h00-19h00 12345678901234 1h00-6h00 12h00-14h00 mercredi 11h00-16h00 88888888888888 13h00-16h00",
        "2:00-04:00 16:00-19:00 12345678901234 1:00-6:00 12:00-14:00 Wednesday 11:00-16:00 88888888888888 13:00-16:00",
    ] {
        let config = check_canonical(
            input,
            "02:00-04:00 16:00-19:00 12345678901234 01:00-06:00 12:00-14:00 wed 11:00-16:00 \
             88888888888888 13:00-16:00",
        );
        check_timetable(
            &config,
            "12345678901234",
            CONSUMPTION,
            "consumption of 12345678901234: the section of 12345678901234, its consumption part
  mon  01:00-06:00 12:00-14:00
  tue  01:00-06:00 12:00-14:00
  wed  11:00-16:00
  thu  01:00-06:00 12:00-14:00
  fri  01:00-06:00 12:00-14:00
  sat  01:00-06:00 12:00-14:00
  sun  01:00-06:00 12:00-14:00
  holidays  as their weekday",
        );
        // Every other PDL: the default section.
        let wednesday = at("2024-06-05 17:00");
        assert!(config.is_off_peak(
            "22516914714270",
            CONSUMPTION,
            wednesday,
            HolidayZone::Metropole
        ));
    }
}

#[test]
fn seed_readme_disabled_pdl_and_production_parts() {
    // "désactive les heures creuses pour le point de livraison 12345678901234"
    for input in [
        "02h00-04h00 16h00-19h00 12345678901234 88888888888888 13h00-16h00",
        "02:00-04:00 16:00-19:00 12345678901234 88888888888888 13:00-16:00",
    ] {
        let config = check_canonical(
            input,
            "02:00-04:00 16:00-19:00 12345678901234 88888888888888 13:00-16:00",
        );
        for flow in [CONSUMPTION, PRODUCTION] {
            check_timetable(
                &config,
                "12345678901234",
                flow,
                &format!(
                    "{flow} of 12345678901234: the section of 12345678901234, its consumption part{}
  mon  all peak
  tue  all peak
  wed  all peak
  thu  all peak
  fri  all peak
  sat  all peak
  sun  all peak
  holidays  as their weekday",
                    if flow == PRODUCTION { " (no production part)" } else { "" }
                ),
            );
        }
    }
    // Production: 17h-22h on every day but Wednesday (11h-16h), for the default section.
    for input in [
        "02h00-04h00 16h00-19h00 P 17h00-22h00 mercredi 11h00-16h00 12345678901234 88888888888888 13h00-16h00",
        "02:00-04:00 16:00-19:00 P 17:00-22:00 Wednesday 11:00-16:00 12345678901234 88888888888888 13:00-16:00",
    ] {
        let config = check_canonical(
            input,
            "02:00-04:00 16:00-19:00 P 17:00-22:00 wed 11:00-16:00 12345678901234 \
             88888888888888 13:00-16:00",
        );
        let zone = HolidayZone::Metropole;
        let wednesday_noon = at("2024-06-05 12:00");
        let thursday_evening = at("2024-06-06 18:00");
        assert!(config.is_off_peak("99999999999999", PRODUCTION, wednesday_noon, zone));
        assert!(!config.is_off_peak("99999999999999", CONSUMPTION, wednesday_noon, zone));
        assert!(config.is_off_peak("99999999999999", PRODUCTION, thursday_evening, zone));
        assert!(config.is_off_peak("99999999999999", CONSUMPTION, thursday_evening, zone));
        assert!(!config.is_off_peak("12345678901234", PRODUCTION, thursday_evening, zone));
    }
    // "désactive les heures creuses en production pour tous les points de livraison"
    for input in ["02h00-04h00 16h00-19h00 P", "02:00-04:00 16:00-19:00 P"] {
        let config = check_canonical(input, "02:00-04:00 16:00-19:00 P");
        let three = at("2024-06-05 03:00");
        assert!(config.is_off_peak("99999999999999", CONSUMPTION, three, HolidayZone::Metropole));
        assert!(!config.is_off_peak("99999999999999", PRODUCTION, three, HolidayZone::Metropole));
    }
}

#[test]
fn seed_readme_weekends_and_holidays() {
    // "pour la plage horaire 02h00-04h00, pour le week-end et pour les jours fériés"
    for input in [
        "02h00-04h00 sa 00h00-23h59 di 00h00-23h59 fe 00h00-23h59",
        "02:00-04:00 sa 00:00-23:59 su 00:00-23:59 ba 00:00-23:59",
    ] {
        let config = check_canonical(
            input,
            "02:00-04:00 sat 00:00-24:00 sun 00:00-24:00 holiday 00:00-24:00",
        );
        check_timetable(
            &config,
            "12345678901234",
            CONSUMPTION,
            "consumption of 12345678901234: the default section, its consumption part
  mon  02:00-04:00
  tue  02:00-04:00
  wed  02:00-04:00
  thu  02:00-04:00
  fri  02:00-04:00
  sat  00:00-24:00 (all day)
  sun  00:00-24:00 (all day)
  holidays  00:00-24:00 (all day)",
        );
        // 23h59 as an end is the end of the day: the last minute is off-peak too.
        let zone = HolidayZone::Metropole;
        assert!(config.is_off_peak("1", CONSUMPTION, at("2024-06-08 23:59"), zone));
        assert!(config.is_off_peak("1", CONSUMPTION, at("2024-07-14 23:59"), zone));
        assert!(!config.is_off_peak("1", CONSUMPTION, at("2024-07-15 23:59"), zone));
    }
}

#[test]
fn the_words_of_the_spec_are_all_understood() {
    let same = [
        ("2h00-7h00", "02:00-07:00"),
        ("2:00-7:00", "02:00-07:00"),
        ("22h30-6h30", "22:30-06:30"),
        ("2h-7h", "02:00-07:00"),
        ("22h30 à 6h30", "22:30-06:30"),
        ("1h to 6h", "01:00-06:00"),
        ("2h00_7h00", "02:00-07:00"),
        ("2H00 A 7H00", "02:00-07:00"),
        ("2h-7h et 13h-16h", "02:00-07:00 13:00-16:00"),
        ("2h-7h and 13h-16h", "02:00-07:00 13:00-16:00"),
        (
            "2h-7h, 13h-16h; 20h-21h",
            "02:00-07:00 13:00-16:00 20:00-21:00",
        ),
        (
            "lundi 1h-2h mardi 1h-2h mercredi 1h-2h jeudi 1h-2h vendredi 1h-2h samedi 1h-2h dimanche 1h-2h",
            "mon 01:00-02:00 tue 01:00-02:00 wed 01:00-02:00 thu 01:00-02:00 fri 01:00-02:00 sat 01:00-02:00 sun 01:00-02:00",
        ),
        (
            "lu 1h-2h ma 1h-2h me 1h-2h je 1h-2h ve 1h-2h sa 1h-2h di 1h-2h",
            "mon 01:00-02:00 tue 01:00-02:00 wed 01:00-02:00 thu 01:00-02:00 fri 01:00-02:00 sat 01:00-02:00 sun 01:00-02:00",
        ),
        (
            "mo 1h-2h tu 1h-2h we 1h-2h th 1h-2h fr 1h-2h sa 1h-2h su 1h-2h",
            "mon 01:00-02:00 tue 01:00-02:00 wed 01:00-02:00 thu 01:00-02:00 fri 01:00-02:00 sat 01:00-02:00 sun 01:00-02:00",
        ),
        (
            "MONDAY 1h-2h Tuesday 1h-2h wednesday 1h-2h thursday 1h-2h friday 1h-2h saturday 1h-2h sunday 1h-2h",
            "mon 01:00-02:00 tue 01:00-02:00 wed 01:00-02:00 thu 01:00-02:00 fri 01:00-02:00 sat 01:00-02:00 sun 01:00-02:00",
        ),
        ("férié 1h-2h", "holiday 01:00-02:00"),
        ("fériés 1h-2h", "holiday 01:00-02:00"),
        ("ferie 1h-2h", "holiday 01:00-02:00"),
        ("fe 1h-2h", "holiday 01:00-02:00"),
        ("jf 1h-2h", "holiday 01:00-02:00"),
        ("jours fériés 1h-2h", "holiday 01:00-02:00"),
        ("holiday 1h-2h", "holiday 01:00-02:00"),
        ("holidays 1h-2h", "holiday 01:00-02:00"),
        ("ho 1h-2h", "holiday 01:00-02:00"),
        ("ba 1h-2h", "holiday 01:00-02:00"),
        ("bank holiday 1h-2h", "holiday 01:00-02:00"),
        ("public holiday 1h-2h", "holiday 01:00-02:00"),
        ("1h-2h P 3h-4h", "01:00-02:00 P 03:00-04:00"),
        ("1h-2h prod 3h-4h", "01:00-02:00 P 03:00-04:00"),
        ("1h-2h Production 3h-4h", "01:00-02:00 P 03:00-04:00"),
        ("0h-24h", "00:00-24:00"),
        ("00h00-23h59", "00:00-24:00"),
        ("123 1h-2h", "123 01:00-02:00"),
    ];
    for (input, canonical) in same {
        check_canonical(input, canonical);
    }
}

#[test]
fn divergences_from_the_original() {
    // `et` and `and` are connectors, not day words that reset to every day.
    assert_eq!(parse("me 1h-2h et 3h-4h"), parse("me 1h-2h 3h-4h"));
    // Only P, prod and production open the production part.
    let public = parse("1h-2h public holiday 3h-4h");
    assert!(public.default.as_ref().unwrap().production.is_none());
    assert_eq!(
        "1h-2h pu 3h-4h"
            .parse::<OffPeakConfig>()
            .unwrap_err()
            .to_string(),
        "unknown word \"pu\" at column 7: expected a day, a time range, P or a PDL"
    );
    // 23h59 and 24h00 as an end mean the end of the day.
    let zone = HolidayZone::Metropole;
    for input in ["22h-23h59", "22h-24h00"] {
        assert!(parse(input).is_off_peak("1", CONSUMPTION, at("2024-06-05 23:59"), zone));
    }
    // Two day words in a row are an error, not "the second day only".
    assert_eq!(
        "lundi mardi 1h-2h"
            .parse::<OffPeakConfig>()
            .unwrap_err()
            .to_string(),
        "two day words in a row \"lundi mardi\" at column 1: expected time ranges after each day word"
    );
    // Unknown words and bad times are errors with their position.
    assert_eq!(
        "2h-7h 25h00-26h00"
            .parse::<OffPeakConfig>()
            .unwrap_err()
            .to_string(),
        "time out of range \"25h00\" at column 7"
    );
}

#[test]
fn wrapping_ranges_stay_in_their_own_day_section() {
    // Monday's 22h30-6h30 covers Monday 00:00-06:30 and 22:30-24:00, not Tuesday morning.
    let config = parse("lundi 22h30-6h30");
    let zone = HolidayZone::Metropole;
    assert!(config.is_off_peak("1", CONSUMPTION, at("2024-06-03 01:00"), zone));
    assert!(config.is_off_peak("1", CONSUMPTION, at("2024-06-03 23:00"), zone));
    assert!(!config.is_off_peak("1", CONSUMPTION, at("2024-06-04 01:00"), zone));
    // Begin = end is empty.
    assert!(!parse("3h-3h").is_off_peak("1", CONSUMPTION, at("2024-06-03 03:00"), zone));
}

#[test]
fn holidays_follow_the_zone_setting() {
    let config = parse("fe 0h-24h");
    let good_friday = at("2024-03-29 12:00");
    assert!(!config.is_off_peak("1", CONSUMPTION, good_friday, HolidayZone::Metropole));
    assert!(config.is_off_peak("1", CONSUMPTION, good_friday, HolidayZone::AlsaceMoselle));
    let compiled = CompiledSchedule::new(&config, "1", CONSUMPTION, HolidayZone::AlsaceMoselle);
    assert_eq!(
        compiled.tariff_at(good_friday.date(), 720),
        (linky_core::Tariff::OffPeak, 1440)
    );
}

#[test]
fn merged_devices_look_each_flow_up_in_its_own_pdl() {
    let config = parse("12345678901234 1h-2h 88888888888888 P 13h-14h");
    let device = "12345678901234 / 88888888888888";
    let zone = HolidayZone::Metropole;
    assert!(config.is_off_peak(device, CONSUMPTION, at("2024-06-05 01:30"), zone));
    assert!(!config.is_off_peak(device, PRODUCTION, at("2024-06-05 01:30"), zone));
    assert!(config.is_off_peak(device, PRODUCTION, at("2024-06-05 13:30"), zone));
    assert!(config.has_two_tariffs(device));
    assert!(config.has_two_tariffs("12345678901234 / 22516914714270"));
    assert!(!parse("12345678901234 1h-2h").has_two_tariffs("22516914714270 / 11453290002823"));
}

/// Every error of spec/offpeak.md "Errors", with its exact message.
#[test]
fn error_messages() {
    let cases = [
        (
            "2h00-7h00 mecredi 8h-9h",
            "unknown word \"mecredi\" at column 11: expected a day, a time range, P or a PDL",
        ),
        ("25h00-7h00", "time out of range \"25h00\" at column 1"),
        ("2h60-7h00", "time out of range \"2h60\" at column 1"),
        ("2h00-7h75", "time out of range \"7h75\" at column 6"),
        ("24h30-1h", "time out of range \"24h30\" at column 1"),
        (
            "2h00-",
            "incomplete range \"2h00-\" at column 1: expected an end time",
        ),
        (
            "2h00 - lundi",
            "incomplete range \"2h00\" at column 1: expected an end time",
        ),
        (
            "lundi 2h00",
            "incomplete range \"2h00\" at column 7: expected a separator (-, _, à, to) and an end time",
        ),
        (
            "lundi mardi 2h-3h",
            "two day words in a row \"lundi mardi\" at column 1: expected time ranges after each day word",
        ),
        (
            "sa fe 2h-3h",
            "two day words in a row \"sa fe\" at column 1: expected time ranges after each day word",
        ),
        (
            "1h-2h P 3h-4h P 5h-6h",
            "second production part \"P\" at column 15: expected one P per section",
        ),
        (
            "12345678901234 1h-2h 12345678901234 3h-4h",
            "second section for PDL \"12345678901234\" at column 22: expected one section per PDL",
        ),
        (
            "2h00-7h00x",
            "unknown word \"2h00-7h00x\" at column 1: expected a day, a time range, P or a PDL",
        ),
        (
            "é 2h-3h",
            "unknown word \"é\" at column 1: expected a day, a time range, P or a PDL",
        ),
        (
            "  mercredi 8h-9h  m 1h-2h",
            "unknown word \"m\" at column 19: expected a day, a time range, P or a PDL",
        ),
        (
            "bank 1h-2h",
            "unknown word \"bank\" at column 1: expected a day, a time range, P or a PDL",
        ),
        (
            "1234x 1h-2h",
            "unknown word \"1234x\" at column 1: expected a day, a time range, P or a PDL",
        ),
    ];
    for (input, message) in cases {
        let error = input.parse::<OffPeakConfig>().unwrap_err();
        assert_eq!(error.to_string(), message, "{input:?}");
        let prefix: String = input.chars().take(error.column() - 1).collect();
        assert_eq!(
            &input[prefix.len()..prefix.len() + error.word().len()],
            error.word(),
            "{input:?}"
        );
    }
}

#[test]
fn schedules_over_time_read_in_french_and_english_and_print_canonically() {
    let cases = [
        // Seasons, French words.
        (
            "23h-7h été 2h-7h 12h-15h hiver 23h-7h",
            "23:00-07:00 summer 02:00-07:00 12:00-15:00 winter 23:00-07:00",
        ),
        // A dated change, French dates and words, seasons inside it.
        (
            "22h30-6h30 du 01/11/2025 au 31/03/2026 23h-7h",
            "22:30-06:30 from 2025-11-01 until 2026-03-31 23:00-07:00",
        ),
        (
            "22h-6h depuis 2026-04-01 summer 2h-7h 13h-16h winter 23h-7h",
            "22:00-06:00 from 2026-04-01 summer 02:00-07:00 13:00-16:00 winter 23:00-07:00",
        ),
        // Changes one after the other: each ends the day before the next.
        (
            "22h-6h from 2025-11-01 23h-7h from 2026-11-01 0h-8h",
            "22:00-06:00 from 2025-11-01 until 2026-10-31 23:00-07:00 from 2026-11-01 00:00-08:00",
        ),
        // Until a date, then the base; with days, holidays, PDLs and production inside.
        (
            "until 2025-10-31 22h-6h sa 0h-24h 12345678901234 1h-7h P 12h-14h",
            "until 2025-10-31 22:00-06:00 sat 00:00-24:00 12345678901234 01:00-07:00 P 12:00-14:00",
        ),
    ];
    for (input, canonical) in cases {
        let config = check_canonical(input, canonical);
        assert!(config.is_dated(), "{input}");
    }
    // Every schedule of the old language is undated and keeps its canonical form.
    assert!(!parse("22h30-6h30 sa 0h-24h 12345678901234 1h-2h P 3h-4h").is_dated());
}

#[test]
fn the_timetable_explains_each_period() {
    let config = parse("23h-7h from 2025-11-01 summer 2h-7h 12h-15h");
    let explained: Vec<String> = config
        .timetables("22516914714270", Flow::Consumption)
        .into_iter()
        .map(|(when, timetable)| {
            format!(
                "{when}: {}",
                timetable.weekdays[0]
                    .iter()
                    .map(|(b, e)| format!(
                        "{:02}:{:02}-{:02}:{:02}",
                        b / 60,
                        b % 60,
                        e / 60,
                        e % 60
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect();
    assert_eq!(
        explained,
        [
            "otherwise: 00:00-07:00 23:00-24:00",
            "from 2025-11-01, in summer (1 April - 31 October): 02:00-07:00 12:00-15:00",
        ]
    );
    // The season switch days, looked up: 31 March is winter, 1 April summer.
    let zone = HolidayZone::Metropole;
    let off = |when: &str| config.is_off_peak("1", Flow::Consumption, at(when), zone);
    assert!(off("2026-03-31 23:30") && !off("2026-04-01 23:30"));
    assert!(!off("2026-03-31 12:30") && off("2026-04-01 12:30"));
    // Before the dated part, summer is not special: the base holds.
    assert!(!off("2025-06-01 12:30") && off("2025-06-01 23:30"));
}

#[test]
fn mistakes_in_schedules_over_time_are_named_where_they_are() {
    let cases = [
        (
            "22h-6h from 2025-02-30 23h-7h",
            "invalid date \"2025-02-30\" at column 13: expected a date that exists (YYYY-MM-DD or DD/MM/YYYY), a period's end after its start",
        ),
        (
            "22h-6h du 31/13/2025 23h-7h",
            "invalid date \"31/13/2025\" at column 11",
        ),
        (
            "from 2026-03-01 until 2026-02-01 1h-2h",
            "invalid date \"until 2026-02-01\" at column 17",
        ),
        ("22h-6h from 23h-7h", "missing date \"from\" at column 8"),
        ("22h-6h until", "missing date \"until\" at column 8"),
        (
            "22h-6h 2025-11-01 23h-7h",
            "date out of place \"2025-11-01\" at column 8",
        ),
        (
            "from 2025-01-01 until 2025-12-31 1h-2h from 2025-06-01 until 2025-07-01 3h-4h",
            "overlapping period \"from 2025-06-01 until 2025-07-01\" at column 40",
        ),
        (
            "from 2025-06-01 1h-2h from 2025-01-01 3h-4h",
            "overlapping period \"from 2025-01-01\" at column 23",
        ),
        (
            "summer 1h-2h summer 3h-4h",
            "overlapping period \"summer\" at column 14",
        ),
        (
            "1h-2h summer winter 3h-4h",
            "season inside a season \"summer winter\" at column 7",
        ),
        ("1h-2h été", "season with no hours \"été\" at column 7"),
        (
            "1h-2h summer from 2025-01-01 3h-4h",
            "season with no hours \"summer\" at column 7",
        ),
        (
            "1h-2h summer 3h-4h 12345678901234 ete 5h-6h",
            "overlapping period \"ete\" at column 35",
        ),
    ];
    for (input, message) in cases {
        let error = input.parse::<OffPeakConfig>().unwrap_err();
        assert!(error.to_string().starts_with(message), "{input:?}: {error}");
        let prefix: String = input.chars().take(error.column() - 1).collect();
        assert_eq!(
            &input[prefix.len()..prefix.len() + error.word().len()],
            error.word(),
            "{input:?}"
        );
    }
}

#[test]
fn the_empty_text_means_no_off_peak() {
    for input in ["", "   ", " , ; "] {
        let config = parse(input);
        assert!(config.is_empty());
        assert_eq!(config.to_string(), "");
        assert!(!config.has_two_tariffs("12345678901234"));
    }
}

#[test]
fn a_megabyte_of_input_is_read_in_bounded_time() {
    let garbage: String = "zq#! ".repeat(200_000);
    let error = garbage.parse::<OffPeakConfig>().unwrap_err();
    assert_eq!(error.column(), 1);
    let long_word = "x".repeat(1 << 20);
    assert!(
        long_word
            .parse::<OffPeakConfig>()
            .unwrap_err()
            .to_string()
            .len()
            < 200
    );
    let valid = "1h-2h ".repeat(170_000);
    let config = parse(&valid);
    assert_eq!(config.default.unwrap().consumption.every_day.len(), 170_000);
}

mod properties {
    use super::*;
    use chrono::NaiveDate;
    use linky_core::{DatedPart, Part, Season, Section, Tariff, TimeRange};
    use proptest::prelude::*;

    fn time_range() -> impl Strategy<Value = TimeRange> {
        (0u16..=1440, 0u16..=1440).prop_filter_map("empty or inexpressible", |(begin, end)| {
            TimeRange::new(begin, end).filter(|range| !range.is_empty() && begin != end)
        })
    }

    fn ranges() -> impl Strategy<Value = Vec<TimeRange>> {
        prop::collection::vec(time_range(), 0..3)
    }

    fn part() -> impl Strategy<Value = Part> {
        (
            ranges(),
            prop::array::uniform7(prop::option::of(ranges())),
            prop::option::of(ranges()),
        )
            .prop_map(|(every_day, weekdays, holidays)| Part {
                every_day,
                weekdays,
                holidays,
            })
    }

    fn section() -> impl Strategy<Value = Section> {
        (part(), prop::option::of(part())).prop_map(|(consumption, production)| Section {
            consumption,
            production,
        })
    }

    const PDLS: [&str; 4] = ["12345678901234", "88888888888888", "22516914714270", "7"];

    /// A schedule's own sections (no seasons, no periods).
    fn body() -> impl Strategy<Value = OffPeakConfig> {
        (
            prop::option::of(section()),
            prop::collection::vec((0usize..PDLS.len(), section()), 0..3),
        )
            .prop_map(|(default, sections)| {
                let mut usage_points: Vec<(String, Section)> = Vec::new();
                for (index, section) in sections {
                    if !usage_points.iter().any(|(id, _)| id == PDLS[index]) {
                        usage_points.push((PDLS[index].to_owned(), section));
                    }
                }
                OffPeakConfig {
                    default,
                    usage_points,
                    ..OffPeakConfig::default()
                }
            })
    }

    /// Zero to two seasons, each once, each saying something (a season's text is never
    /// empty).
    fn seasons() -> impl Strategy<Value = Vec<(Season, OffPeakConfig)>> {
        let said = || body().prop_filter("a season says something", OffPeakConfig::has_sections);
        (0usize..4, said(), said()).prop_map(|(which, summer, winter)| match which {
            0 => Vec::new(),
            1 => vec![(Season::Summer, summer)],
            2 => vec![(Season::Winter, winter)],
            _ => vec![(Season::Winter, winter), (Season::Summer, summer)],
        })
    }

    /// Dated parts that never overlap, the first possibly open at its start and the last
    /// at its end, each with its own body and seasons.
    fn periods() -> impl Strategy<Value = Vec<DatedPart>> {
        (
            prop::collection::btree_set(0i64..11 * 365, 0..7),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec((body(), seasons()), 4),
        )
            .prop_map(|(days, open_start, open_end, bodies)| {
                let first = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
                let days: Vec<NaiveDate> = days
                    .into_iter()
                    .map(|d| first + chrono::Duration::days(d))
                    .collect();
                let count = days.len() / 2;
                let mut periods = Vec::new();
                for (n, ((mut schedule, seasons), pair)) in bodies
                    .into_iter()
                    .zip(days.chunks(2))
                    .take(count)
                    .enumerate()
                {
                    schedule.seasons = seasons;
                    periods.push(DatedPart {
                        from: (!(open_start && n == 0)).then_some(pair[0]),
                        // One period open at both ends cannot be written: keep its end.
                        until: (!(open_end && n + 1 == count && !(open_start && n == 0)))
                            .then_some(pair[1]),
                        schedule,
                    });
                }
                periods
            })
    }

    fn config() -> impl Strategy<Value = OffPeakConfig> {
        prop_oneof![
            body(),
            (body(), seasons(), periods()).prop_map(|(mut config, seasons, periods)| {
                config.seasons = seasons;
                config.periods = periods;
                config
            }),
        ]
    }

    fn device() -> impl Strategy<Value = String> {
        prop_oneof![
            (0usize..PDLS.len()).prop_map(|i| PDLS[i].to_owned()),
            Just("99999999999999".to_owned()),
            (0usize..PDLS.len(), 0usize..PDLS.len())
                .prop_map(|(c, p)| format!("{} / {}", PDLS[c], PDLS[p])),
        ]
    }

    fn zone() -> impl Strategy<Value = HolidayZone> {
        (0usize..HolidayZone::ALL.len()).prop_map(|i| HolidayZone::ALL[i])
    }

    fn local_minute() -> impl Strategy<Value = NaiveDateTime> {
        // Every minute of 2020 to 2030, holidays included.
        (0i64..11 * 366 * 1440)
            .prop_map(|offset| at("2020-01-01 00:00") + chrono::Duration::minutes(offset))
    }

    /// A text made of the language's own words and some noise, to reach deep states.
    fn wordy_text() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("2h00-7h00"),
            Just("22h30 à 6h30"),
            Just("1h to 6h"),
            Just("2h_3h"),
            Just("24h00"),
            Just("23h59"),
            Just("lundi"),
            Just("me"),
            Just("sat"),
            Just("fe"),
            Just("jours"),
            Just("fériés"),
            Just("bank"),
            Just("holiday"),
            Just("P"),
            Just("prod"),
            Just("from"),
            Just("until"),
            Just("du"),
            Just("2025-11-01"),
            Just("31/03/2026"),
            Just("2025-02-30"),
            Just("summer"),
            Just("hiver"),
            Just("et"),
            Just("and"),
            Just(","),
            Just(";"),
            Just("12345678901234"),
            Just("-"),
            Just("à"),
            Just("2h"),
            Just("99h"),
            Just("7:75"),
            Just("é"),
            Just("\u{a0}"),
            Just("\t"),
        ];
        prop::collection::vec(word, 0..20).prop_map(|words| words.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn the_canonical_form_parses_back_to_the_same_configuration(config in config()) {
            let text = config.to_string();
            let reparsed: OffPeakConfig = text.parse().map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
            prop_assert_eq!(reparsed, config, "{}", text);
        }

        #[test]
        fn the_compiled_form_agrees_with_the_plain_lookup(
            config in config(),
            device in device(),
            production in any::<bool>(),
            zone in zone(),
            minute in local_minute(),
            span in 1u16..=1440,
        ) {
            let flow = if production { Flow::Production } else { Flow::Consumption };
            let compiled = CompiledSchedule::new(&config, &device, flow, zone);
            let date = minute.date();
            let of_day = (minute.time() - chrono::NaiveTime::MIN).num_minutes() as u16;
            let plain = |m: u16| {
                let t = date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::minutes(i64::from(m));
                config.is_off_peak(&device, flow, t, zone)
            };
            let (tariff, until) = compiled.tariff_at(date, of_day);
            prop_assert_eq!(tariff == Tariff::OffPeak, plain(of_day));
            prop_assert!(until > of_day && until <= 1440);
            // The tariff holds until `until` and changes there.
            for m in of_day..until {
                prop_assert_eq!(plain(m), tariff == Tariff::OffPeak, "minute {}", m);
            }
            if until < 1440 {
                prop_assert_ne!(plain(until), tariff == Tariff::OffPeak);
            }
            let to = of_day.saturating_add(span).min(1440);
            let counted = (of_day..to).filter(|&m| plain(m)).count() as u16;
            prop_assert_eq!(compiled.off_peak_minutes(compiled.day_kind(date), of_day, to), counted);
        }

        #[test]
        fn parsing_never_panics_on_arbitrary_text(text in ".{0,200}") {
            let _ = text.parse::<OffPeakConfig>().map(|c| c.to_string());
        }

        #[test]
        fn parsing_never_panics_on_wordy_text(text in wordy_text()) {
            match text.parse::<OffPeakConfig>() {
                Ok(config) => {
                    let again: OffPeakConfig = config.to_string().parse().unwrap();
                    prop_assert_eq!(again, config);
                }
                Err(error) => {
                    prop_assert!(error.column() >= 1 && error.column() <= text.chars().count() + 1);
                }
            }
        }
    }
}

#[test]
fn enedis_off_peak_strings_are_read_exactly_or_refused_clearly() {
    use linky_core::parse_contract_hours;
    let read = |text: &str| -> Vec<String> {
        parse_contract_hours(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    // The strings seen in Enedis' documentation, tests and real contracts.
    assert_eq!(read("HC (22H00-6H00)"), ["22:00-06:00"]);
    assert_eq!(read("HC (23h00-7h30)"), ["23:00-07:30"]);
    assert_eq!(
        read("HC (2H00-7H00;12h30-14h00)"),
        ["02:00-07:00", "12:30-14:00"]
    );
    assert_eq!(
        read("HC (1H50-7H50;12H50-14H50)"),
        ["01:50-07:50", "12:50-14:50"]
    );
    assert_eq!(
        read("HC (0H54-6H54;11H54-13H54)"),
        ["00:54-06:54", "11:54-13:54"]
    );
    assert_eq!(read("HC (22h00-06h00)"), ["22:00-06:00"]);
    assert_eq!(
        read("  HC(00:50 - 07:20 ; 12:20-13:50) "),
        ["00:50-07:20", "12:20-13:50"]
    );
    assert_eq!(read("22H30-6H30"), ["22:30-06:30"]);
    // Exactly as the schedule language would read the same hours.
    let ranges = parse_contract_hours("HC (1H34-7H34;12H34-14H34)").unwrap();
    let config: OffPeakConfig = "1h34-7h34 12h34-14h34".parse().unwrap();
    assert_eq!(config.default.unwrap().consumption.every_day, ranges);
    // Unreadable: a clear reason, never an empty schedule.
    for (text, reason) in [
        ("HC (22H00-6H00", "expected \"HC (ranges)\""),
        ("HC ()", "no range"),
        ("", "no range"),
        ("HC (22H00)", "\"22H00\" is no range"),
        ("HC (25H00-6H00)", "\"25H00\" is no time"),
        ("HC (22H0-6H00)", "\"22H0\" is no time"),
        ("HC (22H00-6H60)", "\"6H60\" is no time"),
        ("HC (6H00-6H00)", "\"6H00-6H00\" is empty"),
        (
            "Heures creuses variables",
            "\"Heures creuses variables\" is no range",
        ),
    ] {
        let error = parse_contract_hours(text).unwrap_err();
        assert!(error.to_string().ends_with(reason), "{text:?}: {error}");
        assert!(
            error.to_string().starts_with("Enedis' off-peak hours"),
            "{error}"
        );
    }
}
