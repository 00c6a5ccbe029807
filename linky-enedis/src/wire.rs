//! Enedis' wire formats for measurements, parsed into linky-core's types.
//!
//! Three shapes carry the same data (spec/enedis.md):
//! - Enedis v5, `{"meter_reading": {usage_point_id, start, end, reading_type, interval_reading}}`,
//!   as the DomoticzLinky proxy, Data Connect v5 and MyElectricalData return it;
//! - the same `meter_reading` object unwrapped, as the Conso API returns it;
//! - Data Connect 2026, `{idPrm, periode, grandeur: [{grandeurMetier, unite, points: [{v, d, p}]}]}`.
//!
//! The shape is recognised from the body. Values are JSON strings (numbers are accepted
//! too), dates local Europe/Paris time without offset, `T` or a space between date and
//! time. The unit is read from the payload and converted (kW, kWh and kVA too). A value
//! or date that cannot be read leaves that one reading out and is reported; a body that
//! cannot be read, a wrong unit or another usage point is an [`Error`].

use chrono::{NaiveDate, NaiveDateTime};
use linky_core::{
    Anomaly, AnomalyKind, ApparentPower, Energy, Flow, LoadCurve, Power, QualityReport, Reading,
    Tz, UsagePointId, parse_duration_minutes,
};
use serde::Deserialize;
use serde_json::Value;

use crate::Error;

/// A load curve as received: the readings in the order they came, and what could not be
/// read. Build the time line with [`LoadCurvePayload::build_curve`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoadCurvePayload {
    /// The usage point the payload says it is about, as written (may be anonymised).
    pub usage_point: Option<String>,
    /// The local days `[start, end)` the payload says it covers.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The readings that could be read, in the order received.
    pub readings: Vec<Reading>,
    /// Readings that could not be read (a value that is not a number, a bad date).
    pub report: QualityReport,
}

impl LoadCurvePayload {
    /// Places the readings on the time line of `time_zone` (normally [`linky_core::PARIS`]):
    /// the curve, and one report holding both the wire anomalies and the curve's (holes
    /// measured against the payload's period).
    pub fn build_curve(&self, time_zone: Tz) -> (LoadCurve, QualityReport) {
        let mut builder = LoadCurve::builder(time_zone);
        if let Some((start, end)) = self.period {
            builder = builder.expected_period(start, end);
        }
        let (curve, mut report) = builder.build(&self.readings);
        report.merge(self.report.clone());
        (curve, report)
    }
}

/// One day's energy, from a daily series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyEnergy {
    /// The local day.
    pub date: NaiveDate,
    /// The energy of the day.
    pub energy: Energy,
}

/// One day's maximum apparent power, and when it happened (linky-core's type).
pub type DailyMaxPower = linky_core::PowerPeak;

/// A daily series as received.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySeries<T> {
    /// The usage point the payload says it is about, as written (may be anonymised).
    pub usage_point: Option<String>,
    /// The local days `[start, end)` the payload says it covers.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The values that could be read, in the order received.
    pub values: Vec<T>,
    /// Values that could not be read.
    pub report: QualityReport,
}

/// Which usage point a response must be about.
#[derive(Debug, Clone, Copy)]
pub enum UsagePointCheck<'a> {
    /// It must be this one (what a client always uses).
    Expect(&'a UsagePointId),
    /// Do not check: for anonymised captures whose identifiers were overwritten.
    Skip,
}

/// Parses a load curve (consumption or production; `flow` picks the series in a 2026
/// body that holds both).
///
/// ```
/// use linky_core::{Flow, UsagePointId};
/// use linky_enedis::{parse_load_curve, UsagePointCheck};
/// let body = br#"{"meter_reading": {"usage_point_id": "22516914714270",
///     "start": "2024-06-01", "end": "2024-06-02", "reading_type": {"unit": "W"},
///     "interval_reading": [
///         {"value": "540", "date": "2024-06-01 00:30:00", "interval_length": "PT30M"},
///         {"value": "abc", "date": "2024-06-01T01:00:00", "interval_length": "PT30M"}]}}"#;
/// let pdl: UsagePointId = "22516914714270".parse().unwrap();
/// let payload = parse_load_curve(body, Flow::Consumption, UsagePointCheck::Expect(&pdl)).unwrap();
/// assert_eq!(payload.readings.len(), 1);
/// assert_eq!(payload.report.to_string(), "reading 1 (2024-06-01 01:00:00): value \"abc\" is not a number; left out\n");
/// ```
///
/// # Errors
///
/// [`Error::Malformed`] for a body that is not one of the shapes, [`Error::UnexpectedUnit`]
/// for a unit other than W or kW, [`Error::UsagePointMismatch`] and
/// [`Error::MissingUsagePoint`] when the check fails, [`Error::MissingSeries`] for a 2026
/// body without the flow asked for.
pub fn parse_load_curve(
    body: &[u8],
    flow: Flow,
    check: UsagePointCheck<'_>,
) -> Result<LoadCurvePayload, Error> {
    let series = parse_series(body, flow, check)?;
    // Decimals of the unit that make the scaled value a number of milliwatts.
    let decimals = unit_decimals(&series.unit, ("w", "kw"), "a load curve", "W or kW")?;
    let mut readings = Vec::with_capacity(series.points.len());
    let mut report = QualityReport::default();
    for (index, point) in series.points.iter().enumerate() {
        let end = match point.date.as_deref().and_then(parse_local_date_time) {
            Some(end) => end,
            None => {
                report.push(bad_date(index, point.date.as_deref()));
                continue;
            }
        };
        let length_text = point.length.as_deref().or(series.default_length.as_deref());
        let Some(length_minutes) = length_text.and_then(parse_duration_minutes) else {
            report.push(Anomaly {
                reading: Some(index),
                local_end: Some(end),
                kind: AnomalyKind::BadLength {
                    text: length_text
                        .unwrap_or("(missing)")
                        .chars()
                        .take(40)
                        .collect(),
                },
            });
            continue;
        };
        let Some(milli) = point.value.as_ref().and_then(|v| scaled_value(v, decimals)) else {
            report.push(not_a_number(index, Some(end), point.value.as_ref()));
            continue;
        };
        readings.push(Reading {
            end,
            length_minutes,
            power: Power::from_milliwatts(milli),
        });
    }
    Ok(LoadCurvePayload {
        usage_point: series.usage_point,
        period: series.period,
        readings,
        report,
    })
}

/// Parses a daily energy series (consumption or production), in Wh or kWh.
///
/// # Errors
///
/// As [`parse_load_curve`], with Wh or kWh as the accepted units.
pub fn parse_daily_energy(
    body: &[u8],
    flow: Flow,
    check: UsagePointCheck<'_>,
) -> Result<DailySeries<DailyEnergy>, Error> {
    let series = parse_series(body, flow, check)?;
    // Decimals of the unit that make the scaled value a number of milliwatt-hours.
    let decimals = unit_decimals(&series.unit, ("wh", "kwh"), "a daily energy", "Wh or kWh")?;
    let mut values = Vec::with_capacity(series.points.len());
    let mut report = QualityReport::default();
    for (index, point) in series.points.iter().enumerate() {
        let Some(date) = point.date.as_deref().and_then(parse_local_date) else {
            report.push(bad_date(index, point.date.as_deref()));
            continue;
        };
        let at = date.and_hms_opt(0, 0, 0);
        let Some(milli_wh) = point.value.as_ref().and_then(|v| scaled_value(v, decimals)) else {
            report.push(not_a_number(index, at, point.value.as_ref()));
            continue;
        };
        // A milliwatt-hour is 60 milliwatt-minutes.
        let energy = Energy::from_milliwatt_minutes(milli_wh.saturating_mul(60));
        values.push(DailyEnergy { date, energy });
    }
    Ok(DailySeries {
        usage_point: series.usage_point,
        period: series.period,
        values,
        report,
    })
}

/// Parses a daily maximum power series (consumption only), in VA or kVA.
///
/// # Errors
///
/// As [`parse_load_curve`], with VA or kVA as the accepted units.
pub fn parse_daily_max_power(
    body: &[u8],
    check: UsagePointCheck<'_>,
) -> Result<DailySeries<DailyMaxPower>, Error> {
    let series = parse_series(body, Flow::Consumption, check)?;
    // Decimals of the unit that make the scaled value a number of milli-VA.
    let decimals = unit_decimals(
        &series.unit,
        ("va", "kva"),
        "a daily maximum power",
        "VA or kVA",
    )?;
    let mut values = Vec::with_capacity(series.points.len());
    let mut report = QualityReport::default();
    for (index, point) in series.points.iter().enumerate() {
        let Some(at) = point.date.as_deref().and_then(parse_local_date_time) else {
            report.push(bad_date(index, point.date.as_deref()));
            continue;
        };
        let Some(milli_va) = point.value.as_ref().and_then(|v| scaled_value(v, decimals)) else {
            report.push(not_a_number(index, Some(at), point.value.as_ref()));
            continue;
        };
        // Enedis gives whole VA; a fraction (from kVA) is rounded down.
        let va = milli_va.div_euclid(1000);
        values.push(DailyMaxPower {
            at,
            power: ApparentPower::from_va(va),
        });
    }
    Ok(DailySeries {
        usage_point: series.usage_point,
        period: series.period,
        values,
        report,
    })
}

/// The common part of every shape, before values are read.
struct Series {
    usage_point: Option<String>,
    period: Option<(NaiveDate, NaiveDate)>,
    unit: Option<String>,
    default_length: Option<String>,
    points: Vec<Point>,
}

struct Point {
    value: Option<Value>,
    date: Option<String>,
    length: Option<String>,
}

#[derive(Deserialize)]
struct V5Envelope {
    meter_reading: V5MeterReading,
}

#[derive(Deserialize)]
struct V5MeterReading {
    usage_point_id: Option<Value>,
    start: Option<String>,
    end: Option<String>,
    reading_type: Option<V5ReadingType>,
    #[serde(default)]
    interval_reading: Vec<V5IntervalReading>,
}

#[derive(Deserialize)]
struct V5ReadingType {
    unit: Option<String>,
    interval_length: Option<String>,
}

#[derive(Deserialize)]
struct V5IntervalReading {
    value: Option<Value>,
    date: Option<String>,
    interval_length: Option<String>,
}

#[derive(Deserialize)]
struct Body2026 {
    #[serde(rename = "idPrm")]
    usage_point: Option<Value>,
    #[serde(rename = "periode")]
    period: Option<Period2026>,
    #[serde(rename = "pas")]
    step: Option<String>,
    #[serde(rename = "grandeur", default)]
    quantities: Vec<Quantity2026>,
}

#[derive(Deserialize)]
struct Period2026 {
    #[serde(rename = "dateDebut")]
    start: Option<String>,
    #[serde(rename = "dateFin")]
    end: Option<String>,
}

#[derive(Deserialize)]
struct Quantity2026 {
    #[serde(rename = "grandeurMetier")]
    business_quantity: Option<String>,
    #[serde(rename = "unite")]
    unit: Option<String>,
    #[serde(default)]
    points: Vec<Point2026>,
}

#[derive(Deserialize)]
struct Point2026 {
    v: Option<Value>,
    d: Option<String>,
    p: Option<String>,
}

fn parse_series(body: &[u8], flow: Flow, check: UsagePointCheck<'_>) -> Result<Series, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|error| Error::Malformed {
        format: "json",
        detail: error.to_string(),
    })?;
    let series = if value.get("meter_reading").is_some() {
        let envelope: V5Envelope = from_value(value, "enedis v5")?;
        v5_series(envelope.meter_reading)
    } else if value.get("interval_reading").is_some() {
        v5_series(from_value(value, "enedis v5")?)
    } else if value.get("grandeur").is_some() {
        series_2026(from_value(value, "data connect 2026")?, flow)?
    } else {
        return Err(Error::Malformed {
            format: "json",
            detail: "neither an enedis v5 (meter_reading, interval_reading) nor a data connect \
                     2026 (grandeur) body"
                .to_owned(),
        });
    };
    if let UsagePointCheck::Expect(asked) = check {
        match &series.usage_point {
            None => {
                return Err(Error::MissingUsagePoint {
                    asked: asked.to_string(),
                });
            }
            Some(received) if received.trim() != asked.as_str() => {
                return Err(Error::UsagePointMismatch {
                    asked: asked.to_string(),
                    received: received.chars().take(40).collect(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(series)
}

fn from_value<T: serde::de::DeserializeOwned>(
    value: Value,
    format: &'static str,
) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|error| Error::Malformed {
        format,
        detail: error.to_string(),
    })
}

fn v5_series(reading: V5MeterReading) -> Series {
    let period = period_of(reading.start.as_deref(), reading.end.as_deref());
    let (unit, default_length) = match reading.reading_type {
        Some(kind) => (kind.unit, kind.interval_length),
        None => (None, None),
    };
    Series {
        usage_point: reading.usage_point_id.as_ref().and_then(identifier_text),
        period,
        unit,
        default_length,
        points: reading
            .interval_reading
            .into_iter()
            .map(|r| Point {
                value: r.value,
                date: r.date,
                length: r.interval_length,
            })
            .collect(),
    }
}

fn series_2026(body: Body2026, flow: Flow) -> Result<Series, Error> {
    let wanted = match flow {
        Flow::Consumption => "cons",
        Flow::Production => "prod",
    };
    let period = body
        .period
        .as_ref()
        .and_then(|p| period_of(p.start.as_deref(), p.end.as_deref()));
    let quantity = body
        .quantities
        .into_iter()
        .find(|q| {
            q.business_quantity
                .as_deref()
                .is_none_or(|name| name.eq_ignore_ascii_case(wanted))
        })
        .ok_or(Error::MissingSeries { flow })?;
    Ok(Series {
        usage_point: body.usage_point.as_ref().and_then(identifier_text),
        period,
        unit: quantity.unit,
        default_length: body.step,
        points: quantity
            .points
            .into_iter()
            .map(|p| Point {
                value: p.v,
                date: p.d,
                length: p.p,
            })
            .collect(),
    })
}

fn identifier_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn period_of(start: Option<&str>, end: Option<&str>) -> Option<(NaiveDate, NaiveDate)> {
    Some((parse_local_date(start?)?, parse_local_date(end?)?))
}

/// Reads `YYYY-MM-DD HH:MM:SS` (or with `T`, or without seconds) as a local time.
pub fn parse_local_date_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// Reads `YYYY-MM-DD`, also when followed by a time (which is ignored) or an offset
/// (`2017-07-15+02:00`, as in contracts).
pub fn parse_local_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let head = text.get(..10)?;
    let rest = &text[10..];
    if !(rest.is_empty() || rest.starts_with([' ', 'T', '+', '-', 'Z'])) {
        return None;
    }
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

/// Reads a decimal value (a JSON string or number) as an integer scaled by
/// `10^decimals`; `None` for anything else or more decimals than that.
fn scaled_value(value: &Value, decimals: u32) -> Option<i64> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let fraction = fraction.trim_end_matches('0');
    let valid = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 15 || !valid(whole) || !valid(fraction) {
        return None;
    }
    if fraction.len() > decimals as usize {
        return None;
    }
    let mut scaled: i64 = whole.parse().ok()?;
    for position in 0..decimals as usize {
        let digit = fraction
            .as_bytes()
            .get(position)
            .map_or(0, |b| i64::from(b - b'0'));
        scaled = scaled.checked_mul(10)?.checked_add(digit)?;
    }
    Some(if negative { -scaled } else { scaled })
}

/// How many decimals make a value of `unit` a count of thousandths of the base unit:
/// 3 for the base unit (or no unit: the base is assumed), 6 for its kilo.
fn unit_decimals(
    unit: &Option<String>,
    (base, kilo): (&str, &str),
    measurement: &'static str,
    expected: &'static str,
) -> Result<u32, Error> {
    match unit.as_deref().map(str::to_ascii_lowercase) {
        None => Ok(3),
        Some(name) if name == base => Ok(3),
        Some(name) if name == kilo => Ok(6),
        Some(_) => Err(unit_error(unit, measurement, expected)),
    }
}

fn unit_error(unit: &Option<String>, measurement: &'static str, expected: &'static str) -> Error {
    Error::UnexpectedUnit {
        unit: unit.clone().unwrap_or_default(),
        measurement,
        expected,
    }
}

fn bad_date(index: usize, text: Option<&str>) -> Anomaly {
    Anomaly {
        reading: Some(index),
        local_end: None,
        kind: AnomalyKind::BadDate {
            text: text.unwrap_or("(missing)").chars().take(40).collect(),
        },
    }
}

fn not_a_number(index: usize, at: Option<NaiveDateTime>, value: Option<&Value>) -> Anomaly {
    let text = match value {
        None => "(missing)".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    Anomaly {
        reading: Some(index),
        local_end: at,
        kind: AnomalyKind::NotANumber {
            text: text.chars().take(40).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_values_are_exact() {
        let read = |text: &str, decimals| scaled_value(&Value::String(text.into()), decimals);
        assert_eq!(read("540", 3), Some(540_000));
        assert_eq!(read("540.5", 3), Some(540_500));
        assert_eq!(read("-2.250", 3), Some(-2_250));
        assert_eq!(read("1.0005", 3), None);
        assert_eq!(read("1e3", 3), None);
        assert_eq!(read("", 3), None);
        assert_eq!(read(".5", 3), None);
        assert_eq!(read("99999999999999999999", 3), None);
        assert_eq!(scaled_value(&serde_json::json!(12), 3), Some(12_000));
        assert_eq!(scaled_value(&Value::Null, 3), None);
    }

    #[test]
    fn dates_accept_a_space_or_a_t() {
        let expected = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5);
        assert_eq!(parse_local_date_time("2024-01-02 03:04:05"), expected);
        assert_eq!(parse_local_date_time("2024-01-02T03:04:05"), expected);
        assert_eq!(parse_local_date_time("2024-01-02"), None);
        assert_eq!(
            parse_local_date("2017-07-15+02:00"),
            NaiveDate::from_ymd_opt(2017, 7, 15)
        );
        assert_eq!(parse_local_date("2017-07-15x"), None);
        assert_eq!(parse_local_date("2017-07-1"), None);
    }
}
