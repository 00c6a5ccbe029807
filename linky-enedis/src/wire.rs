//! Enedis' wire formats for measurements, parsed into linky-core's types.
//!
//! Three shapes carry the same data:
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
use std::borrow::Cow;

use serde::Deserialize;

use crate::Error;

mod scan;

/// A load curve as received: the readings in the order they came, and what could not be
/// read. Build the time line with [`LoadCurvePayload::build_curve`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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

    /// Adds this answer (its readings and what could not be read) to a curve built from
    /// several answers, in the order they arrive (see [`linky_core::CurveChunks`]).
    ///
    /// ```
    /// use linky_core::{Flow, LoadCurve, PARIS};
    /// use linky_enedis::{parse_load_curve, UsagePointCheck};
    /// let answer = |day: &str| format!(
    ///     r#"{{"meter_reading": {{"usage_point_id": "22516914714270", "reading_type": {{"unit": "W", "interval_length": "PT30M"}},
    ///     "interval_reading": [{{"value": "600", "date": "{day} 00:30:00"}}, {{"value": "600", "date": "{day} 01:00:00"}}]}}}}"#
    /// );
    /// let mut chunks = LoadCurve::builder(PARIS).chunks();
    /// for day in ["2024-06-02", "2024-06-01"] {
    ///     let payload = parse_load_curve(answer(day).as_bytes(), Flow::Consumption, UsagePointCheck::Skip).unwrap();
    ///     payload.add_to(&mut chunks);
    /// }
    /// let (curve, report) = chunks.build();
    /// assert_eq!(curve.intervals().len(), 4);
    /// assert!(report.holes().count() == 1 && report.dropped_readings() == 0);
    /// ```
    pub fn add_to(&self, chunks: &mut linky_core::CurveChunks) {
        chunks.add(&self.readings).add_report(self.report.clone());
    }
}

/// One day's energy, from a daily series.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
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
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
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
    let decimals = unit_decimals(
        series.unit.as_deref(),
        ("w", "kw"),
        "a load curve",
        "W or kW",
    )?;
    let mut readings = Vec::with_capacity(series.points.len());
    let mut report = QualityReport::default();
    let mut times = LocalTimes::default();
    // The last length read, as written: readings of a body share one.
    let mut last_length: Option<(&str, i64)> = None;
    for (index, point) in series.points.iter().enumerate() {
        let end = match point.date.as_deref().and_then(|text| times.read(text)) {
            Some(end) => end,
            None => {
                report.push(bad_date(index, point.date.as_deref()));
                continue;
            }
        };
        let length_text = point
            .interval_length
            .as_deref()
            .or(series.default_length.as_deref());
        let length = match (length_text, last_length) {
            (Some(text), Some((last, minutes))) if text == last => Some(minutes),
            (Some(text), _) => parse_duration_minutes(text).inspect(|&minutes| {
                last_length = Some((text, minutes));
            }),
            (None, _) => None,
        };
        let Some(length_minutes) = length else {
            report.push(Anomaly::new(
                Some(index),
                Some(end),
                AnomalyKind::BadLength {
                    text: length_text
                        .unwrap_or("(missing)")
                        .chars()
                        .take(40)
                        .collect(),
                },
            ));
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
    let decimals = unit_decimals(
        series.unit.as_deref(),
        ("wh", "kwh"),
        "a daily energy",
        "Wh or kWh",
    )?;
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
        series.unit.as_deref(),
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

/// The common part of every shape, before values are read. Strings borrow from the body
/// when they hold no escape.
#[derive(Debug, PartialEq)]
struct Series<'a> {
    usage_point: Option<String>,
    period: Option<(NaiveDate, NaiveDate)>,
    unit: Option<Text<'a>>,
    default_length: Option<Text<'a>>,
    points: Vec<Point<'a>>,
}

/// One reading or value of any shape: v5's `{value, date, interval_length}` and 2026's
/// `{v, d, p}` (aliases: a point carries one or the other).
#[derive(Debug, PartialEq, Deserialize)]
struct Point<'a> {
    #[serde(borrow, alias = "v")]
    value: Option<Scalar<'a>>,
    #[serde(borrow, alias = "d")]
    date: Option<Text<'a>>,
    #[serde(borrow, alias = "p")]
    interval_length: Option<Text<'a>>,
}

/// Every shape's top-level keys in one struct, read straight from the bytes: a v5 body
/// (`meter_reading`), a v5 body unwrapped (its fields at the top), a 2026 body (`idPrm`,
/// `periode`, `pas`, `grandeur`). Unknown keys are ignored; **a key written twice is an
/// error** (serde's `duplicate field`), where a generic JSON tree would keep only its last
/// copy and drop the readings of the first without a word.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    meter_reading: Option<V5MeterReading<'a>>,
    // The unwrapped v5 shape, as the Conso API sends it (not `flatten`: it would buffer
    // the readings into a generic tree first).
    #[serde(borrow)]
    usage_point_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    start: Option<Text<'a>>,
    #[serde(borrow)]
    end: Option<Text<'a>>,
    #[serde(borrow)]
    reading_type: Option<V5ReadingType<'a>>,
    #[serde(borrow)]
    interval_reading: Option<Vec<Point<'a>>>,
    #[serde(rename = "idPrm", borrow)]
    usage_point_2026: Option<Scalar<'a>>,
    #[serde(rename = "periode", borrow)]
    period_2026: Option<Period2026<'a>>,
    #[serde(rename = "pas", borrow)]
    step_2026: Option<Text<'a>>,
    #[serde(rename = "grandeur", borrow)]
    quantities_2026: Option<Vec<Quantity2026<'a>>>,
}

#[derive(Deserialize)]
struct V5MeterReading<'a> {
    #[serde(borrow)]
    usage_point_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    start: Option<Text<'a>>,
    #[serde(borrow)]
    end: Option<Text<'a>>,
    #[serde(borrow)]
    reading_type: Option<V5ReadingType<'a>>,
    #[serde(borrow)]
    interval_reading: Option<Vec<Point<'a>>>,
}

#[derive(Deserialize)]
struct V5ReadingType<'a> {
    #[serde(borrow)]
    unit: Option<Text<'a>>,
    #[serde(borrow)]
    interval_length: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Period2026<'a> {
    #[serde(rename = "dateDebut", borrow)]
    start: Option<Text<'a>>,
    #[serde(rename = "dateFin", borrow)]
    end: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Quantity2026<'a> {
    #[serde(rename = "grandeurMetier", borrow)]
    business_quantity: Option<Text<'a>>,
    #[serde(rename = "unite", borrow)]
    unit: Option<Text<'a>>,
    #[serde(default, borrow)]
    points: Vec<Point<'a>>,
}

/// A JSON string, borrowed from the body when it holds no escape (serde's own `Cow` is
/// always owned inside an `Option`). Anything but a string is a type error, as it is for
/// `String`.
#[derive(Debug, Clone, PartialEq)]
struct Text<'a>(Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

/// A JSON value where a number is expected: Enedis writes numbers as strings, some
/// gateways as numbers. Anything else is kept as a short description, so that one odd
/// value costs one reading (reported), not the whole body.
#[derive(Debug, Clone, PartialEq)]
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Integer(i128),
    Float(f64),
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Text(Cow::Owned(text.to_owned())))
            }
            fn visit_i64<E>(self, value: i64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Integer(i128::from(value)))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Integer(i128::from(value)))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Float(value))
            }
            fn visit_bool<E>(self, value: bool) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Other(if value { "true" } else { "false" }))
            }
            fn visit_unit<E>(self) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Other("null"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Scalar<'a>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an array"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Scalar<'a>, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Scalar::Other("an object"))
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

impl Scalar<'_> {
    /// The value as text: a string as written, a number in decimal.
    fn text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Text(text) => Cow::Borrowed(text.as_ref()),
            Scalar::Integer(value) => Cow::Owned(value.to_string()),
            Scalar::Float(value) => Cow::Owned(value.to_string()),
            Scalar::Other(what) => Cow::Borrowed(what),
        }
    }
}

fn parse_series<'a>(
    body: &'a [u8],
    flow: Flow,
    check: UsagePointCheck<'_>,
) -> Result<Series<'a>, Error> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let not_a_measurement = || Error::Malformed {
        format: "json",
        detail: "neither an enedis v5 (meter_reading, interval_reading) nor a data connect \
                 2026 (grandeur) body"
            .to_owned(),
    };
    if first != Some(&b'{') {
        // Not an object: say why, as precisely as the JSON allows.
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => not_a_measurement(),
                Err(error) => json_error(error),
            },
        );
    }
    // One UTF-8 check of the whole body, then no check per string.
    let text = std::str::from_utf8(body).map_err(|error| Error::Malformed {
        format: "json",
        detail: format!("not UTF-8: {error}"),
    })?;
    let series = match scan::v5_series(text) {
        Some(series) => series,
        None => serde_series(body, text, flow)?,
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

/// Reads a body of any shape through serde (the general reader, which also says what is
/// wrong with a body the fast path declines).
fn serde_series<'a>(body: &[u8], text: &'a str, flow: Flow) -> Result<Series<'a>, Error> {
    let not_a_measurement = || Error::Malformed {
        format: "json",
        detail: "neither an enedis v5 (meter_reading, interval_reading) nor a data connect \
                 2026 (grandeur) body"
            .to_owned(),
    };
    let parsed: Body<'_> = serde_json::from_str(text).map_err(|error| {
        if error.is_data() {
            Error::Malformed {
                format: shape_of(body),
                detail: error.to_string(),
            }
        } else {
            json_error(error)
        }
    })?;
    let series = if let Some(reading) = parsed.meter_reading {
        v5_series(reading)
    } else if parsed.interval_reading.is_some() {
        v5_series(V5MeterReading {
            usage_point_id: parsed.usage_point_id,
            start: parsed.start,
            end: parsed.end,
            reading_type: parsed.reading_type,
            interval_reading: parsed.interval_reading,
        })
    } else if let Some(quantities) = parsed.quantities_2026 {
        let period = parsed
            .period_2026
            .as_ref()
            .and_then(|p| period_of(p.start.as_deref(), p.end.as_deref()));
        series_2026(
            parsed.usage_point_2026.as_ref(),
            period,
            parsed.step_2026,
            quantities,
            flow,
        )?
    } else {
        return Err(not_a_measurement());
    };
    Ok(series)
}

fn json_error(error: serde_json::Error) -> Error {
    Error::Malformed {
        format: "json",
        detail: error.to_string(),
    }
}

/// Which shape a body that failed to read was meant to be, for the error message.
fn shape_of(body: &[u8]) -> &'static str {
    let holds = |key: &[u8]| body.windows(key.len()).any(|window| window == key);
    if holds(b"\"meter_reading\"") || holds(b"\"interval_reading\"") {
        "enedis v5"
    } else if holds(b"\"grandeur\"") {
        "data connect 2026"
    } else {
        "json"
    }
}

fn v5_series(reading: V5MeterReading<'_>) -> Series<'_> {
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
        points: reading.interval_reading.unwrap_or_default(),
    }
}

fn series_2026<'a>(
    usage_point: Option<&Scalar<'a>>,
    period: Option<(NaiveDate, NaiveDate)>,
    step: Option<Text<'a>>,
    quantities: Vec<Quantity2026<'a>>,
    flow: Flow,
) -> Result<Series<'a>, Error> {
    let wanted = match flow {
        Flow::Consumption => "cons",
        Flow::Production => "prod",
    };
    let quantity = quantities
        .into_iter()
        .find(|q| {
            q.business_quantity
                .as_deref()
                .is_none_or(|name| name.eq_ignore_ascii_case(wanted))
        })
        .ok_or(Error::MissingSeries { flow })?;
    Ok(Series {
        usage_point: usage_point.and_then(identifier_text),
        period,
        unit: quantity.unit,
        default_length: step,
        points: quantity.points,
    })
}

fn identifier_text(value: &Scalar<'_>) -> Option<String> {
    match value {
        Scalar::Other(_) => None,
        other => Some(other.text().into_owned()),
    }
}

fn period_of(start: Option<&str>, end: Option<&str>) -> Option<(NaiveDate, NaiveDate)> {
    Some((parse_local_date(start?)?, parse_local_date(end?)?))
}

/// Reads `YYYY-MM-DD HH:MM:SS` (or with `T`, or without seconds) as a local time.
pub fn parse_local_date_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Some(fixed) = fixed_width_date_time(text.as_bytes()) {
        return Some(fixed);
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// The fast path of [`parse_local_date_time`]: `YYYY-MM-DD HH:MM[:SS]` (or with `T`)
/// with every field at its full width, as Enedis writes them; `None` for anything else,
/// which the general path then reads.
fn fixed_width_date_time(bytes: &[u8]) -> Option<NaiveDateTime> {
    Some(fixed_width_date(bytes)?.and_time(fixed_width_time(bytes)?))
}

/// A fixed-width text's digits in `range` as a number.
fn fixed_number(bytes: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
    bytes.get(range)?.iter().try_fold(0u32, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

/// The day of a fixed-width date and time (see [`fixed_width_date_time`]).
fn fixed_width_date(bytes: &[u8]) -> Option<NaiveDate> {
    if !(bytes.len() == 19 || bytes.len() == 16) || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range| fixed_number(bytes, range);
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)
}

/// The time of day of a fixed-width date and time (see [`fixed_width_date_time`]).
fn fixed_width_time(bytes: &[u8]) -> Option<chrono::NaiveTime> {
    let separators_ok = (bytes.len() == 19 || bytes.len() == 16)
        && (bytes[10] == b' ' || bytes[10] == b'T')
        && bytes[13] == b':'
        && (bytes.len() == 16 || bytes[16] == b':');
    if !separators_ok {
        return None;
    }
    let number = |range| fixed_number(bytes, range);
    let seconds = if bytes.len() == 19 {
        number(17..19)?
    } else {
        0
    };
    chrono::NaiveTime::from_hms_opt(number(11..13)?, number(14..16)?, seconds)
}

/// Reads the dates of one series as [`parse_local_date_time`] does, remembering the last
/// fixed-width day read: the readings of a day (48 at PT30M) share it, and only their
/// time of day is read.
#[derive(Default)]
struct LocalTimes<'a> {
    day: Option<(&'a [u8], NaiveDate)>,
}

impl<'a> LocalTimes<'a> {
    fn read(&mut self, text: &'a str) -> Option<NaiveDateTime> {
        let bytes = text.as_bytes();
        if let Some((day_text, day)) = self.day
            && bytes.get(..10) == Some(day_text)
            && let Some(time) = fixed_width_time(bytes)
        {
            return Some(day.and_time(time));
        }
        if let Some(day) = fixed_width_date(bytes)
            && let Some(time) = fixed_width_time(bytes)
        {
            self.day = Some((&bytes[..10], day));
            return Some(day.and_time(time));
        }
        parse_local_date_time(text)
    }
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
fn scaled_value(value: &Scalar<'_>, decimals: u32) -> Option<i64> {
    match value {
        Scalar::Text(text) => scaled_decimal(text.trim(), decimals),
        Scalar::Integer(_) | Scalar::Float(_) => scaled_decimal(&value.text(), decimals),
        Scalar::Other(_) => None,
    }
}

/// Reads `[+-]digits[.digits]` as an integer scaled by `10^decimals`, exactly.
fn scaled_decimal(text: &str, decimals: u32) -> Option<i64> {
    // The common case, in one pass: a whole number, as Enedis writes watts.
    if (1..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        let whole = text
            .bytes()
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
        return whole.checked_mul(10i64.checked_pow(decimals)?);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
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
    let mut scaled: i64 = 0;
    for digit in whole.bytes() {
        scaled = scaled * 10 + i64::from(digit - b'0');
    }
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
    unit: Option<&str>,
    (base, kilo): (&str, &str),
    measurement: &'static str,
    expected: &'static str,
) -> Result<u32, Error> {
    match unit {
        None => Ok(3),
        Some(name) if name.eq_ignore_ascii_case(base) => Ok(3),
        Some(name) if name.eq_ignore_ascii_case(kilo) => Ok(6),
        Some(name) => Err(Error::UnexpectedUnit {
            unit: name.to_owned(),
            measurement,
            expected,
        }),
    }
}

fn bad_date(index: usize, text: Option<&str>) -> Anomaly {
    Anomaly::new(
        Some(index),
        None,
        AnomalyKind::BadDate {
            text: text.unwrap_or("(missing)").chars().take(40).collect(),
        },
    )
}

fn not_a_number(index: usize, at: Option<NaiveDateTime>, value: Option<&Scalar<'_>>) -> Anomaly {
    let text = value.map_or(Cow::Borrowed("(missing)"), Scalar::text);
    Anomaly::new(
        Some(index),
        at,
        AnomalyKind::NotANumber {
            text: text.chars().take(40).collect(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_values_are_exact() {
        let read = |text: &str, decimals| scaled_value(&Scalar::Text(text.into()), decimals);
        assert_eq!(read("540", 3), Some(540_000));
        assert_eq!(read("540.5", 3), Some(540_500));
        assert_eq!(read("-2.250", 3), Some(-2_250));
        assert_eq!(read("1.0005", 3), None);
        assert_eq!(read("1e3", 3), None);
        assert_eq!(read("", 3), None);
        assert_eq!(read(".5", 3), None);
        assert_eq!(read("99999999999999999999", 3), None);
        assert_eq!(scaled_value(&Scalar::Integer(12), 3), Some(12_000));
        assert_eq!(scaled_value(&Scalar::Float(1.5), 3), Some(1_500));
        assert_eq!(scaled_value(&Scalar::Other("null"), 3), None);
    }

    #[test]
    fn the_remembered_day_reads_as_the_general_reader() {
        let texts = [
            "2024-01-02 03:04:05",
            "2024-01-02T03:30:00",
            "2024-01-02 24:00:00",
            "2024-01-02 03:30",
            "2024-01-02 3:30:00",
            "2024-01-02x03:30:00",
            "2024-01-02 03:30:0x",
            "2024-01-03 00:00:00",
            " 2024-01-03 00:30:00",
            "2024-01-03 00:30:00 ",
            "2024-02-30 00:30:00",
            "2024-01-03 01:00:00",
            "2024-01-03",
            "",
        ];
        let mut times = LocalTimes::default();
        for text in texts {
            assert_eq!(times.read(text), parse_local_date_time(text), "{text:?}");
        }
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
