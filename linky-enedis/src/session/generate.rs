//! Synthetic sessions: a backfill's worth of exchanges made from a seed, shaped like the
//! real payloads in testdata/enedis (v5 bodies, values as strings, local END times that
//! follow DST), so that tests can replay two years without storing megabytes.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, TimeZone};
use linky_core::{FetchRequest, Flow, Measurement, PARIS, PlanLimits, plan_fetches};
use serde_json::{Value, json};

use super::{Exchange, RecordedRequest, RecordedResponse, Session};
use crate::Backend;

/// What to generate.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyntheticSession {
    /// The backend whose URLs the requests use.
    pub backend: Backend,
    /// The usage point.
    pub usage_point: String,
    /// The measurements, each planned over the window.
    pub measurements: Vec<Measurement>,
    /// The planning window.
    pub limits: PlanLimits,
    /// The seed of the values.
    pub seed: u64,
}

impl SyntheticSession {
    /// `measurements` of `usage_point` over `limits`' window, as `backend` asks for them,
    /// values drawn from `seed`.
    pub fn new(
        backend: Backend,
        usage_point: impl Into<String>,
        measurements: Vec<Measurement>,
        limits: PlanLimits,
        seed: u64,
    ) -> SyntheticSession {
        SyntheticSession {
            backend,
            usage_point: usage_point.into(),
            measurements,
            limits,
            seed,
        }
    }

    /// The requests the planner makes for this session, in order.
    pub fn requests(&self) -> Vec<FetchRequest> {
        self.measurements
            .iter()
            .flat_map(|&measurement| plan_fetches(measurement, &BTreeSet::new(), &self.limits))
            .collect()
    }

    /// The session: one successful exchange per planned request.
    pub fn session(&self) -> Session {
        let mut session = Session::new(
            format!(
                "synthetic backfill of {} (seed {})",
                self.usage_point, self.seed
            ),
            self.backend.name(),
        );
        let mut random = self.seed | 1;
        for request in self.requests() {
            session.exchanges.push(self.exchange(&request, &mut random));
        }
        session
    }

    /// The exchange answering `request` with data.
    pub fn exchange(&self, request: &FetchRequest, random: &mut u64) -> Exchange {
        Exchange {
            request: RecordedRequest {
                method: "GET".to_owned(),
                path: self.backend.data_path(
                    request.measurement,
                    &self.usage_point,
                    request.start,
                    request.end,
                ),
            },
            response: RecordedResponse::json(200, self.body(request, random)),
        }
    }

    fn body(&self, request: &FetchRequest, random: &mut u64) -> Value {
        let (unit, readings): (&str, Vec<Value>) = match request.measurement {
            Measurement::LoadCurve(flow) => ("W", half_hours(request.start, request.end, flow, random)),
            Measurement::DailyEnergy(_) => (
                "Wh",
                request
                    .days()
                    .map(|day| json!({"value": (8000 + next(random) % 12000).to_string(), "date": day.to_string()}))
                    .collect(),
            ),
            Measurement::DailyMaxPower => (
                "VA",
                request
                    .days()
                    .map(|day| {
                        let minute = next(random) % 1440;
                        json!({
                            "value": (1500 + next(random) % 7000).to_string(),
                            "date": format!("{day} {:02}:{:02}:00", minute / 60, minute % 60),
                        })
                    })
                    .collect(),
            ),
        };
        json!({"meter_reading": {
            "usage_point_id": self.usage_point,
            "start": request.start.to_string(),
            "end": request.end.to_string(),
            "quality": "BRUT",
            "reading_type": {"unit": unit, "measurement_kind": if unit == "Wh" { "energy" } else { "power" }, "aggregate": "average"},
            "interval_reading": readings,
        }})
    }
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// PT30M readings over the local days `[start, end)`, END stamps in local time.
fn half_hours(start: NaiveDate, end: NaiveDate, flow: Flow, random: &mut u64) -> Vec<Value> {
    let midnight = |date: NaiveDate| {
        PARIS
            .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
            .earliest()
    };
    let (Some(first), Some(last)) = (midnight(start), midnight(end)) else {
        return Vec::new();
    };
    let mut readings = Vec::new();
    let mut instant = first + Duration::minutes(30);
    while instant <= last {
        let local = instant.naive_local();
        let hour = u64::from(chrono::Timelike::hour(&local));
        let watts = match flow {
            // Evenings and mornings higher, as in the real curves.
            Flow::Consumption => {
                250 + next(random) % 400
                    + if (7..9).contains(&hour) || (18..22).contains(&hour) {
                        900
                    } else {
                        0
                    }
            }
            // Production only in daylight.
            Flow::Production => {
                if (8..19).contains(&hour) {
                    next(random) % 2500
                } else {
                    0
                }
            }
        };
        readings.push(json!({
            "value": watts.to_string(),
            "date": local.format("%Y-%m-%d %H:%M:%S").to_string(),
            "interval_length": "PT30M",
            "measure_type": "B",
        }));
        instant += Duration::minutes(30);
    }
    readings
}
