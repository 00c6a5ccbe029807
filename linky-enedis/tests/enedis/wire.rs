//! linky-enedis through its public API, against every real payload in testdata/enedis
//! (and, when the project's shared samples are beside the clone, against those too).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use linky_core::{Flow, PARIS, UsagePointId};
use linky_enedis::{
    ApiError, Endpoint, Error, ErrorCategory, UsagePointCheck, parse_contracts, parse_daily_energy,
    parse_daily_max_power, parse_load_curve,
};
use serde_json::Value;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/enedis")
}

/// A sample's HTTP status and body. Some captures wrap the body in their test
/// harness's `{"status_code": N, "content": <body>}`: unwrap it.
fn sample(name: &str) -> (u16, Vec<u8>) {
    let bytes = std::fs::read(samples_dir().join(name)).unwrap();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    match (value.get("status_code"), value.get("content")) {
        (Some(status), Some(content)) => (
            status.as_u64().unwrap() as u16,
            serde_json::to_vec(content).unwrap(),
        ),
        _ => (200, bytes),
    }
}

fn pdl(text: &str) -> UsagePointId {
    text.parse().unwrap()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Checks a load-curve sample: reading count, energy, days, and the report's lines.
/// Each anomaly of `report` as its line.
fn anomaly_lines(report: &linky_core::QualityReport) -> Vec<String> {
    report.anomalies().iter().map(ToString::to_string).collect()
}

fn check_load_curve(
    name: &str,
    flow: Flow,
    usage_point: Option<&str>,
    readings: usize,
    wh: f64,
    days: usize,
    report: &[&str],
) {
    let (_, body) = sample(name);
    let expected = usage_point.map(pdl);
    let check = expected
        .as_ref()
        .map_or(UsagePointCheck::Skip, UsagePointCheck::Expect);
    let payload = parse_load_curve(&body, flow, check).unwrap();
    assert_eq!(payload.readings.len(), readings, "{name}");
    let (curve, quality) = payload.build_curve(PARIS);
    assert_eq!(curve.total_energy().as_wh_f64(), wh, "{name}");
    let day_buckets = curve.days();
    assert_eq!(day_buckets.len(), days, "{name}");
    let hours_total: linky_core::Energy = curve.hours().iter().map(|h| h.energy).sum();
    assert_eq!(hours_total, curve.total_energy(), "{name}");
    let lines = anomaly_lines(&quality);
    assert_eq!(lines, report, "{name}");
}

#[test]
fn real_load_curves_parse_with_their_counts_and_holes() {
    check_load_curve(
        "med-new_v5_consumption_load_curve_2026-09.json",
        Flow::Consumption,
        Some("99999999999991"),
        96,
        71517.0,
        2,
        &[],
    );
    check_load_curve(
        "sandbox-infodavide_consumption_load_curve.json",
        Flow::Consumption,
        Some("22516914714270"),
        48,
        35617.5,
        1,
        &[],
    );
    check_load_curve(
        "saniho_consumption_load_curve_7days_data_8.json",
        Flow::Consumption,
        Some("20000000000000"),
        336,
        57326.0,
        7,
        &[],
    );
    // 480 quarter-hours, not 672: 3 and 4 March 2022 are missing, and the report says so.
    check_load_curve(
        "saniho_consumption_load_curve_PT15M_week2.json",
        Flow::Consumption,
        None,
        480,
        157057.0,
        5,
        &["hole of 2880 minutes from 2022-03-03 00:00+01:00 to 2022-03-05 00:00+01:00"],
    );
    // Asked for a week, got three days.
    check_load_curve(
        "myelectricaldatapy_detail.json",
        Flow::Consumption,
        None,
        144,
        228211.0,
        3,
        &["hole of 5760 minutes from 2023-03-04 00:00+01:00 to 2023-03-08 00:00+01:00"],
    );
}

#[test]
fn the_pt15m_week_has_five_complete_days() {
    let (_, body) = sample("saniho_consumption_load_curve_PT15M_week2.json");
    let payload = parse_load_curve(&body, Flow::Consumption, UsagePointCheck::Skip).unwrap();
    let (curve, _) = payload.build_curve(PARIS);
    let days: Vec<(NaiveDate, u32, bool)> = curve
        .days()
        .iter()
        .map(|d| (d.date, d.hours_with_data, d.is_complete()))
        .collect();
    assert_eq!(
        days,
        [
            (date("2022-03-01"), 24, true),
            (date("2022-03-02"), 24, true),
            (date("2022-03-05"), 24, true),
            (date("2022-03-06"), 24, true),
            (date("2022-03-07"), 24, true),
        ]
    );
}

#[test]
fn real_daily_series_parse_with_their_counts() {
    for (name, usage_point, count, first, wh_total) in [
        (
            "myelectricaldatapy_daily.json",
            None,
            365,
            ("2022-03-08", 42045),
            12089386,
        ),
        (
            "saniho_daily_consumption_365days_data_13.json",
            Some("20000000000000"),
            365,
            ("2021-01-01", 12310),
            3373658,
        ),
        (
            "sandbox-infodavide_daily_consumption.json",
            Some("22516914714270"),
            8,
            ("2021-09-14", 49171),
            305345,
        ),
        (
            "med-new_2026_mesure_consommation_quotidienne.json",
            Some("99999999999991"),
            2,
            ("2026-09-29", 33495),
            71517,
        ),
    ] {
        let (_, body) = sample(name);
        let expected = usage_point.map(pdl);
        let check = expected
            .as_ref()
            .map_or(UsagePointCheck::Skip, UsagePointCheck::Expect);
        let series = parse_daily_energy(&body, Flow::Consumption, check).unwrap();
        assert_eq!(series.values.len(), count, "{name}");
        assert!(series.report.is_clean(), "{name}");
        assert_eq!(series.values[0].date, date(first.0), "{name}");
        assert_eq!(
            series.values[0].energy.as_wh_f64(),
            f64::from(first.1),
            "{name}"
        );
        let total: linky_core::Energy = series.values.iter().map(|v| v.energy).sum();
        assert_eq!(total, linky_core::Energy::from_wh(wh_total), "{name}");
    }
}

#[test]
fn the_2026_daily_energy_matches_the_v5_load_curve_of_the_same_days() {
    // Both captures are of the same meter and days: the daily energies are the sums of
    // the half-hours, which checks units and day boundaries of both formats at once.
    let (_, daily) = sample("med-new_2026_mesure_consommation_quotidienne.json");
    let daily = parse_daily_energy(&daily, Flow::Consumption, UsagePointCheck::Skip).unwrap();
    let (_, curve) = sample("med-new_v5_consumption_load_curve_2026-09.json");
    let (curve, _) = parse_load_curve(&curve, Flow::Consumption, UsagePointCheck::Skip)
        .unwrap()
        .build_curve(PARIS);
    let from_curve: Vec<(NaiveDate, i64)> = curve
        .days()
        .iter()
        .map(|d| (d.date, d.energy.round_wh()))
        .collect();
    let from_daily: Vec<(NaiveDate, i64)> = daily
        .values
        .iter()
        .map(|d| (d.date, d.energy.round_wh()))
        .collect();
    assert_eq!(from_curve, from_daily);
}

#[test]
fn real_max_power_series_parse() {
    for (name, usage_point, count, first) in [
        (
            "sandbox-infodavide_max_daily_consumed_power.json",
            Some("22516914714270"),
            8,
            ("2021-09-14 11:37:02", 4287),
        ),
        (
            "saniho_max_power_data_16.json",
            Some("20000000000000"),
            1,
            ("2022-03-23 07:46:00", 1798),
        ),
        (
            "med-new_2026_mesure_puissance_conso_max_quotidienne.json",
            Some("99999999999991"),
            2,
            ("2026-09-29 13:03:35", 4680),
        ),
    ] {
        let (_, body) = sample(name);
        let expected = usage_point.map(pdl);
        let check = expected
            .as_ref()
            .map_or(UsagePointCheck::Skip, UsagePointCheck::Expect);
        let series = parse_daily_max_power(&body, check).unwrap();
        assert_eq!(series.values.len(), count, "{name}");
        assert_eq!(series.values[0].at.to_string(), first.0, "{name}");
        assert_eq!(series.values[0].power.va(), first.1, "{name}");
    }
}

/// Classifies a sample's error body and checks category and code.
fn check_error(name: &str, status: Option<u16>, category: ErrorCategory, code: Option<&str>) {
    let (harness_status, body) = sample(name);
    let error = ApiError::classify(
        Endpoint::Data,
        status.unwrap_or(harness_status),
        None,
        None,
        &body,
    );
    assert_eq!(error.category(), category, "{name}: {error}");
    assert_eq!(error.code(), code, "{name}");
}

#[test]
fn real_error_bodies_classify() {
    check_error(
        "sandbox-infodavide_expired_authentication.json",
        None,
        ErrorCategory::TokenExpired,
        Some("900901"),
    );
    check_error(
        "saniho_error_ADAM-ERR0069_wrapped.json",
        Some(200),
        ErrorCategory::NoData,
        Some("ADAM-ERR0069"),
    );
    check_error(
        "saniho_error_500_wrapped.json",
        Some(200),
        ErrorCategory::Transient,
        Some("Internal Server error"),
    );
    check_error(
        "med-new_2026_erreur_comptage_non_souscrit.json",
        Some(403),
        ErrorCategory::Unexpected,
        Some("900908"),
    );
    let (_, body) = sample("saniho_error_ADAM-ERR0069_wrapped.json");
    let error = ApiError::classify(Endpoint::Data, 200, None, None, &body);
    assert!(error.is_permanent());
    assert_eq!(
        error.to_string(),
        "200 (no data): ADAM-ERR0069: Le sens de la mesure ne correspond pas pour le PRM demandé"
    );
}

#[test]
fn the_conso_api_fixtures_parse_and_classify() {
    let path = samples_dir().join("derived/bokub-linky_fixtures.extracted.json");
    let entries: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(entries.len(), 10);
    let mut seen = Vec::new();
    for entry in entries {
        let status = entry["status"].as_u64().unwrap() as u16;
        let route = entry["path"].as_str().unwrap().to_owned();
        let body = serde_json::to_vec(&entry["body"]).unwrap();
        let pdl = pdl("11111111111111");
        let check = UsagePointCheck::Expect(&pdl);
        let outcome = if status != 200 {
            let error = ApiError::classify(Endpoint::Data, status, None, None, &body);
            format!("{} {:?}", error.category(), error.code())
        } else if route.contains("load_curve") {
            let flow = if route.contains("production") {
                Flow::Production
            } else {
                Flow::Consumption
            };
            let (curve, report) = parse_load_curve(&body, flow, check)
                .unwrap()
                .build_curve(PARIS);
            assert!(report.is_clean(), "{route}: {report}");
            format!(
                "{} intervals {}",
                curve.intervals().len(),
                curve.total_energy()
            )
        } else if route.contains("max_power") {
            let series = parse_daily_max_power(&body, check).unwrap();
            let peak = series.values.iter().map(|v| v.power.va()).max().unwrap();
            format!("{} peaks, max {peak} VA", series.values.len())
        } else {
            let flow = if route.contains("production") {
                Flow::Production
            } else {
                Flow::Consumption
            };
            let series = parse_daily_energy(&body, flow, check).unwrap();
            let total: linky_core::Energy = series.values.iter().map(|v| v.energy).sum();
            format!("{} days {total}", series.values.len())
        };
        seen.push(outcome);
    }
    assert_eq!(
        seen,
        [
            "token expired None",
            "caller bug Some(\"Invalid_request\")",
            "3 days 38997 Wh",
            "1 days 11776 Wh",
            "48 intervals 11776 Wh",
            "3 peaks, max 4638 VA",
            "1 peaks, max 4638 VA",
            "3 days 16060 Wh",
            "1 days 643 Wh",
            "48 intervals 643 Wh",
        ]
    );
}

#[test]
fn real_contracts_parse() {
    let cases = [
        (
            "eddie_contract-consumption.json",
            Some(6),
            Some("HC (22H50-6H50)"),
            Some("2017-07-15"),
        ),
        (
            "saniho_contract_data_2.json",
            Some(6),
            Some("HC (0H54-6H54;11H54-13H54)"),
            Some("2000-02-17"),
        ),
        (
            "saniho_contract1.json",
            Some(9),
            Some("HC (23H30-7H30)"),
            None,
        ),
        (
            "myelectricaldatapy_contract.json",
            Some(9),
            Some("HC (1H30-8H00;12H30-14H00)"),
            None,
        ),
        (
            "med-new_2026_situation_contrat_consommateur.json",
            Some(12),
            None,
            None,
        ),
        (
            "med-new_2026_synth_contrat_consommateur.json",
            None,
            None,
            Some("2018-08-31"),
        ),
    ];
    for (name, kva, offpeak, activation) in cases {
        let (_, body) = sample(name);
        let contracts = parse_contracts(&body).unwrap();
        assert_eq!(contracts.len(), 1, "{name}");
        let contract = &contracts[0];
        assert_eq!(contract.subscribed_power_kva, kva, "{name}");
        assert_eq!(contract.offpeak_hours.as_deref(), offpeak, "{name}");
        if let Some(activation) = activation {
            assert_eq!(
                contract.last_activation_date,
                Some(date(activation)),
                "{name}"
            );
        }
    }
}

#[test]
fn samples_that_are_not_measurements_are_refused_clearly() {
    for name in [
        "eddie_address.json",
        "eddie_contact.json",
        "eddie_identity.json",
        "myelectricaldatapy_address.json",
        "myelectricaldatapy_access.json",
        "myelectricaldatapy_invalid_access.json",
    ] {
        let (_, body) = sample(name);
        let error = parse_load_curve(&body, Flow::Consumption, UsagePointCheck::Skip).unwrap_err();
        assert!(matches!(error, Error::Malformed { .. }), "{name}: {error}");
        assert_eq!(error.category(), ErrorCategory::Unexpected);
    }
}

#[test]
fn a_response_for_another_usage_point_is_an_error() {
    let (_, body) = sample("sandbox-infodavide_consumption_load_curve.json");
    let asked = pdl("12345678901234");
    let error =
        parse_load_curve(&body, Flow::Consumption, UsagePointCheck::Expect(&asked)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "response for usage point \"22516914714270\", asked for 12345678901234"
    );
    let body = br#"{"interval_reading": []}"#;
    let error =
        parse_load_curve(body, Flow::Consumption, UsagePointCheck::Expect(&asked)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "response carries no usage point, asked for 12345678901234"
    );
}

#[test]
fn malformed_bodies_and_wrong_units_are_errors() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "malformed json body: EOF while parsing a value at line 1 column 0"),
        (b"<html>502</html>", "malformed json body: expected value at line 1 column 1"),
        (
            br#"{"meter_reading": {"interval_reading": 3}}"#,
            "malformed enedis v5 body: invalid type: integer `3`, expected a sequence at line 1 column 40",
        ),
        (
            br#"{"meter_reading": {"reading_type": {"unit": "Wh"}, "interval_reading": []}}"#,
            "unexpected unit \"Wh\" for a load curve: expected W or kW",
        ),
        (
            br#"{"idPrm": "1", "grandeur": [{"grandeurMetier": "CONS", "unite": "W", "points": []}]}"#,
            "response holds no production series",
        ),
        (br#"[1, 2]"#, "malformed json body: neither an enedis v5 (meter_reading, interval_reading) nor a data connect 2026 (grandeur) body"),
    ];
    for (body, message) in cases {
        let error = parse_load_curve(body, Flow::Production, UsagePointCheck::Skip).unwrap_err();
        assert_eq!(error.to_string(), message);
    }
}

/// A key written twice used to keep only its last copy (the body went through a generic
/// JSON tree), dropping the first copy's readings without a word. Read straight into
/// typed structs, it is an error that names the key and where it is.
#[test]
fn a_key_written_twice_is_an_error_not_a_silent_drop() {
    let reading = r#"{"value": "540", "date": "2024-06-01 00:30:00", "interval_length": "PT30M"}"#;
    let v5 = |inner: &str| {
        format!(
            r#"{{"meter_reading": {{"usage_point_id": "22516914714270", "start": "2024-06-01", "end": "2024-06-02", "reading_type": {{"unit": "W"}}, {inner}}}}}"#
        )
    };
    let twice = format!(r#""interval_reading": [{reading}], "interval_reading": [{reading}]"#);
    let points = r#"{"v": "1", "d": "2026-10-25 00:30:00"}"#;
    let cases = [
        (
            v5(&twice),
            Flow::Consumption,
            "duplicate field `interval_reading`",
        ),
        (
            format!(
                r#"{{"meter_reading": {{"usage_point_id": "1", "interval_reading": [{reading}]}}, "meter_reading": {{}}}}"#
            ),
            Flow::Consumption,
            "duplicate field `meter_reading`",
        ),
        (
            format!(
                r#"{{"idPrm": "1", "grandeur": [], "grandeur": [{{"grandeurMetier": "CONS", "unite": "W", "points": [{points}]}}]}}"#
            ),
            Flow::Consumption,
            "duplicate field `grandeur`",
        ),
        (
            format!(
                r#"{{"idPrm": "1", "grandeur": [{{"grandeurMetier": "CONS", "unite": "W", "points": [{points}], "points": [{points}]}}]}}"#
            ),
            Flow::Consumption,
            "duplicate field `points`",
        ),
        (
            format!(
                r#"{{"usage_point_id": "1", "interval_reading": [{reading}], "interval_reading": []}}"#
            ),
            Flow::Consumption,
            "duplicate field `interval_reading`",
        ),
        (
            v5(
                r#""interval_reading": [{"value": "1", "value": "2", "date": "2024-06-01 00:30:00", "interval_length": "PT30M"}]"#,
            ),
            Flow::Consumption,
            "duplicate field `value`",
        ),
    ];
    for (body, flow, expected) in cases {
        let error = parse_load_curve(body.as_bytes(), flow, UsagePointCheck::Skip).unwrap_err();
        assert!(matches!(error, Error::Malformed { .. }), "{body}: {error}");
        assert!(error.to_string().contains(expected), "{body}: {error}");
        assert!(error.to_string().contains("at line 1 column"), "{error}");
    }
    // The same bodies with each key once parse.
    let once = v5(&format!(r#""interval_reading": [{reading}]"#));
    let payload =
        parse_load_curve(once.as_bytes(), Flow::Consumption, UsagePointCheck::Skip).unwrap();
    assert_eq!(payload.readings.len(), 1);
}

#[test]
fn values_may_be_numbers_and_odd_values_cost_one_reading() {
    let body = br#"{"meter_reading": {"usage_point_id": 22516914714270, "start": "2024-06-01", "end": "2024-06-02",
        "reading_type": {"unit": "kW", "interval_length": "PT30M"}, "interval_reading": [
        {"value": 1.5, "date": "2024-06-01 00:30:00"},
        {"value": 2, "date": "2024-06-01T01:00"},
        {"value": true, "date": "2024-06-01 01:30:00"},
        {"value": {"a": [1]}, "date": "2024-06-01 02:00:00"},
        {"value": "1", "date": "2024-6-1 02:30:00"},
        {"date": "2024-06-01 03:00:00"}]}}"#;
    let id: UsagePointId = "22516914714270".parse().unwrap();
    let payload = parse_load_curve(body, Flow::Consumption, UsagePointCheck::Expect(&id)).unwrap();
    let watts: Vec<(String, f64)> = payload
        .readings
        .iter()
        .map(|r| (r.end.to_string(), r.power.as_watts_f64()))
        .collect();
    assert_eq!(
        watts,
        [
            ("2024-06-01 00:30:00".to_owned(), 1500.0),
            ("2024-06-01 01:00:00".to_owned(), 2000.0),
            ("2024-06-01 02:30:00".to_owned(), 1000.0),
        ]
    );
    let lines = anomaly_lines(&payload.report);
    assert_eq!(
        lines,
        [
            "reading 2 (2024-06-01 01:30:00): value \"true\" is not a number; left out",
            "reading 3 (2024-06-01 02:00:00): value \"an object\" is not a number; left out",
            "reading 5 (2024-06-01 03:00:00): value \"(missing)\" is not a number; left out",
        ]
    );
}

#[test]
fn the_2026_load_curve_reads_points_units_and_lengths() {
    let body = br#"{"idPrm": "99999999999991", "periode": {"dateDebut": "2026-10-25", "dateFin": "2026-10-26"},
        "pas": "PT30M",
        "grandeur": [
          {"grandeurMetier": "PROD", "unite": "kW", "points": [{"v": "0.5", "d": "2026-10-25 00:30:00"}]},
          {"grandeurMetier": "CONS", "unite": "kW", "points": [
            {"v": "1.25", "d": "2026-10-25T00:30:00", "p": "PT30M", "n": "B"},
            {"v": "2", "d": "2026-10-25 00:40:00", "p": "PT10M", "n": "B"},
            {"v": "x", "d": "2026-10-25 00:50:00", "p": "PT10M", "n": "B"},
            {"v": "1", "d": "2026-10-25 01:00:00", "p": "PT?M", "n": "B"}]}]}"#;
    let pdl = pdl("99999999999991");
    let payload = parse_load_curve(body, Flow::Consumption, UsagePointCheck::Expect(&pdl)).unwrap();
    assert_eq!(
        payload.period,
        Some((date("2026-10-25"), date("2026-10-26")))
    );
    let watts: Vec<(String, i64, f64)> = payload
        .readings
        .iter()
        .map(|r| (r.end.to_string(), r.length_minutes, r.power.as_watts_f64()))
        .collect();
    assert_eq!(
        watts,
        [
            ("2026-10-25 00:30:00".to_owned(), 30, 1250.0),
            ("2026-10-25 00:40:00".to_owned(), 10, 2000.0),
        ]
    );
    let lines = anomaly_lines(&payload.report);
    assert_eq!(
        lines,
        [
            "reading 2 (2026-10-25 00:50:00): value \"x\" is not a number; left out",
            "reading 3 (2026-10-25 01:00:00): interval length \"PT?M\" cannot be read; left out",
        ]
    );
    let production = parse_load_curve(body, Flow::Production, UsagePointCheck::Skip).unwrap();
    assert_eq!(production.readings[0].power.as_watts_f64(), 500.0);
}

/// Every row of spec/enedis.md's error table.
#[test]
fn every_row_of_the_error_table_classifies() {
    use ErrorCategory::*;
    let cases: [(Endpoint, u16, Option<&str>, &str, ErrorCategory); 24] = [
        (
            Endpoint::Token,
            400,
            None,
            r#"{"error":"authorization_pending"}"#,
            AuthorizationPending,
        ),
        (
            Endpoint::Token,
            400,
            None,
            r#"{"error":"slow_down"}"#,
            Transient,
        ),
        (
            Endpoint::Token,
            400,
            None,
            r#"{"error":"invalid_grant"}"#,
            ConsentLost,
        ),
        (
            Endpoint::Token,
            400,
            None,
            r#"{"error":"Invalid_request"}"#,
            ConsentLost,
        ),
        (
            Endpoint::Token,
            400,
            None,
            r#"{"error":"unauthorized"}"#,
            ConsentLost,
        ),
        (Endpoint::Data, 401, None, "", TokenExpired),
        (
            Endpoint::Data,
            401,
            None,
            r#"{"fault":{"code":900901,"message":"Invalid Credentials"}}"#,
            TokenExpired,
        ),
        (
            Endpoint::Data,
            400,
            None,
            r#"{"error":"invalid_token"}"#,
            TokenExpired,
        ),
        (
            Endpoint::Data,
            400,
            Some(r#"Bearer error="invalid_token""#),
            "",
            TokenExpired,
        ),
        (
            Endpoint::Data,
            403,
            None,
            r#"{"detail":"Access token not found"}"#,
            TokenExpired,
        ),
        (
            Endpoint::Data,
            403,
            None,
            r#"{"error":"ADAM-DC-0008","error_description":"No consent"}"#,
            ConsentLost,
        ),
        (
            Endpoint::Data,
            403,
            None,
            r#"{"error":"adam-dc-0007"}"#,
            ConsentLost,
        ),
        (
            Endpoint::Data,
            403,
            None,
            r#"{"error":"unauthorized_user"}"#,
            ConsentLost,
        ),
        (
            Endpoint::Data,
            404,
            None,
            r#"{"error":"no_data_found"}"#,
            NoData,
        ),
        (
            Endpoint::Data,
            400,
            None,
            r#"{"error":"ADAM-ERR0123"}"#,
            NoData,
        ),
        (
            Endpoint::Data,
            400,
            None,
            r#"{"error":"ADAM-ERR0069"}"#,
            NoData,
        ),
        (
            Endpoint::Data,
            400,
            None,
            r#"{"error":"ADAM-ERR0125"}"#,
            NoData,
        ),
        (
            Endpoint::Data,
            400,
            None,
            r#"{"error":"ADAM-ERR0075"}"#,
            NoData,
        ),
        (Endpoint::Data, 429, None, "", Transient),
        (
            Endpoint::Data,
            500,
            None,
            r#"{"error":"technical_error"}"#,
            Transient,
        ),
        (
            Endpoint::Data,
            503,
            None,
            "<html>Service Unavailable</html>",
            Transient,
        ),
        (
            Endpoint::Data,
            409,
            None,
            r#"{"detail":"Quota journalier atteint"}"#,
            Transient,
        ),
        (
            Endpoint::Data,
            400,
            None,
            r#"{"error":"version_mismatch"}"#,
            CallerBug,
        ),
        (
            Endpoint::Data,
            418,
            None,
            r#"{"error":"teapot"}"#,
            Unexpected,
        ),
    ];
    for (endpoint, status, www_authenticate, body, category) in cases {
        let error = ApiError::classify(endpoint, status, www_authenticate, None, body.as_bytes());
        assert_eq!(error.category(), category, "{status} {body}");
        assert_eq!(error.raw_body(), body);
    }
}

#[test]
fn quotas_and_retry_after_are_visible_through_the_error() {
    let api = ApiError::classify(Endpoint::Data, 429, None, Some("120"), b"{}");
    let error = Error::Api(api);
    assert!(error.is_rate_limited() && error.is_transient());
    assert_eq!(
        error.retry_after(),
        Some(std::time::Duration::from_secs(120))
    );
    assert_eq!(error.to_string(), "enedis answered 429 (transient)");
    let slow = ApiError::classify(
        Endpoint::Token,
        400,
        None,
        None,
        br#"{"error":"slow_down"}"#,
    );
    assert!(slow.is_rate_limited());
    let consent = Error::Api(ApiError::classify(
        Endpoint::Data,
        403,
        None,
        None,
        br#"{"error":"ADAM-DC-0008","error_description":"Pas de consentement"}"#,
    ));
    assert!(consent.is_consent_lost());
    assert_eq!(
        consent.to_string(),
        "enedis answered 403 (consent lost): ADAM-DC-0008: Pas de consentement"
    );
}

/// When the project's shared samples sit beside the clone (`../shared/samples`), every
/// JSON sample there must parse or classify without a panic; skipped when absent.
#[test]
fn every_shared_sample_parses_or_classifies_when_present() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/enedis");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        eprintln!("skipped: {} is absent", shared.display());
        return;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        count += 1;
        let bytes = std::fs::read(&path).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let body = value
            .get("content")
            .map_or(bytes.clone(), |c| serde_json::to_vec(c).unwrap());
        let parsed = parse_load_curve(&body, Flow::Consumption, UsagePointCheck::Skip).is_ok()
            || parse_daily_energy(&body, Flow::Consumption, UsagePointCheck::Skip).is_ok()
            || parse_daily_max_power(&body, UsagePointCheck::Skip).is_ok()
            || parse_contracts(&body).is_ok();
        let classified = ApiError::classify(Endpoint::Data, 400, None, None, &body)
            .code()
            .is_some();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out_of_scope = ["address", "contact", "identity", "access"]
            .iter()
            .any(|w| name.contains(w));
        assert!(
            parsed || classified || out_of_scope,
            "{name} neither parses nor classifies"
        );
    }
    assert!(count >= 25, "only {count} samples in {}", shared.display());
}

/// A body dated anywhere in the calendar (its ends, years without four digits) goes from
/// bytes to a device's rows without a panic: the dates that cannot be read are anomalies,
/// the others are placed, split and bucketed (issue 18).
#[test]
fn dates_at_the_calendars_ends_never_panic_the_pipeline() {
    use linky_core::{
        CompiledSchedule, DeviceData, HolidayZone, OffPeakConfig, PARIS, RunSettings, device_rows,
    };
    let config: OffPeakConfig = "22h-6h".parse().unwrap();
    let device: linky_core::DeviceId = "22516914714270".parse().unwrap();
    let schedule = CompiledSchedule::new(
        &config,
        "22516914714270",
        Flow::Consumption,
        HolidayZone::Metropole,
    );
    let day = date("2024-06-01");
    for odd in [
        "262143-12-31 23:30:00",
        "+262143-12-31 23:30:00",
        "-262143-01-01 00:30:00",
        "0000-01-01 00:30:00",
        "9999-12-31 23:30:00",
        "0001-01-01 00:00:00",
    ] {
        let body = format!(
            r#"{{"meter_reading": {{"usage_point_id": "22516914714270", "start": "2024-06-01", "end": "2024-06-02",
            "reading_type": {{"unit": "W", "interval_length": "PT30M"}}, "interval_reading": [
            {{"value": "1500", "date": "{odd}"}}, {{"value": "1500", "date": "2024-06-01 00:30:00"}}]}}}}"#
        );
        let payload =
            parse_load_curve(body.as_bytes(), Flow::Consumption, UsagePointCheck::Skip).unwrap();
        let (curve, report) = payload.build_curve(PARIS);
        assert!(!report.is_clean(), "{odd}: {report}");
        let split = curve.split(&schedule);
        let total: i64 = split
            .days()
            .iter()
            .map(|d| d.total().milliwatt_minutes())
            .sum();
        assert_eq!(total, curve.total_energy().milliwatt_minutes(), "{odd}");
        let (data, _) = DeviceData::builder(device.clone(), &config, HolidayZone::Metropole)
            .period(day, day.succ_opt().unwrap())
            .consumption(&payload.readings)
            .build();
        let settings = RunSettings::new(date("2024-06-02"), Default::default());
        let rows = device_rows(&data, &settings);
        assert!(rows.days.len() <= 1, "{odd}");
    }
}
