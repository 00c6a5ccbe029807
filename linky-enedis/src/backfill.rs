//! Fetching a plan: every request of [`linky_core::plan_fetches`], each result handed to
//! the caller as soon as it arrives so that it is stored before the next request, and a
//! clean stop (with what was done) at the first error retries could not fix.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use linky_core::{FetchRequest, Measurement, PlanLimits, UsagePointId, plan_fetches};

use crate::wire::{DailyEnergy, DailyMaxPower, DailySeries, LoadCurvePayload};
use crate::{Error, Fetched, MeterSource};

/// What one request brought.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    /// A load curve.
    LoadCurve(LoadCurvePayload),
    /// Daily energies.
    DailyEnergy(DailySeries<DailyEnergy>),
    /// Daily maximum powers.
    DailyMaxPower(DailySeries<DailyMaxPower>),
    /// Enedis has no data there (permanent for a direction the meter does not have).
    NoData {
        /// Whether it will never change.
        permanent: bool,
        /// Enedis' code.
        code: Option<String>,
    },
}

/// How a backfill ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct BackfillReport {
    /// The requests the plan held.
    pub planned: usize,
    /// The requests that brought an answer (data or "no data"), in order.
    pub completed: Vec<FetchRequest>,
    /// The error that stopped it, if any: what was completed is already in the caller's
    /// hands, and the next run plans only what is still missing.
    pub stopped_by: Option<Error>,
}

impl BackfillReport {
    /// Whether every planned request was answered.
    pub fn is_complete(&self) -> bool {
        self.stopped_by.is_none() && self.completed.len() == self.planned
    }
}

/// Plans `measurement` for `usage_point` (skipping the days in `held`) and fetches it
/// from `source`, newest first, handing each answer to `store` before asking for the next.
/// A permanent "no data" (the meter has no such direction) ends the backfill early, as
/// complete: there is nothing to fetch.
///
/// ```
/// # #[cfg(feature = "client")] {
/// use std::collections::BTreeSet;
/// use linky_core::{Flow, Measurement, PlanLimits, UsagePointId};
/// use linky_enedis::{backfill, sandbox_now, Backend, Payload, ReplayServer, SyntheticSession};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // Three weeks of a load curve: a generated session replayed on 127.0.0.1 through the
/// // real client (a real program builds its Client for Enedis' gateway instead).
/// let pdl: UsagePointId = "22516914714270".parse().unwrap();
/// let curve = Measurement::LoadCurve(Flow::Consumption);
/// let limits = PlanLimits::new(sandbox_now(), 21);
/// let proxy = Backend::Proxy { base_url: String::new(), client_id: String::new() };
/// let session = SyntheticSession::new(proxy, pdl.as_str(), vec![curve], limits, 1).session();
/// let server = ReplayServer::start(session).await.unwrap();
/// let client = server.client().unwrap();
/// let mut readings = 0;
/// let report = backfill(&client, &pdl, curve, &BTreeSet::new(), &limits, |_request, payload| {
///     // Store each answer here before the next request goes out.
///     if let Payload::LoadCurve(curve) = payload {
///         readings += curve.readings.len();
///     }
/// })
/// .await;
/// assert!(report.is_complete());
/// assert!(readings >= 21 * 48); // three weeks of half hours, and today's first ones
/// # });
/// # }
/// ```
pub async fn backfill<S, F>(
    source: &S,
    usage_point: &UsagePointId,
    measurement: Measurement,
    held: &BTreeSet<NaiveDate>,
    limits: &PlanLimits,
    mut store: F,
) -> BackfillReport
where
    S: MeterSource + ?Sized,
    F: FnMut(&FetchRequest, Payload),
{
    let plan = plan_fetches(measurement, held, limits);
    let mut report = BackfillReport {
        planned: plan.len(),
        completed: Vec::new(),
        stopped_by: None,
    };
    for request in plan {
        let answer = fetch(source, usage_point, &request).await;
        match answer {
            Ok(payload) => {
                let permanent = matches!(
                    payload,
                    Payload::NoData {
                        permanent: true,
                        ..
                    }
                );
                store(&request, payload);
                report.completed.push(request);
                if permanent {
                    report.planned = report.completed.len();
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(%error, start = %request.start, end = %request.end, "backfill stopped");
                report.stopped_by = Some(error);
                break;
            }
        }
    }
    report
}

async fn fetch<S: MeterSource + ?Sized>(
    source: &S,
    usage_point: &UsagePointId,
    request: &FetchRequest,
) -> Result<Payload, Error> {
    let no_data = |permanent, code| Payload::NoData { permanent, code };
    Ok(match request.measurement {
        Measurement::LoadCurve(flow) => match source
            .load_curve(usage_point, flow, request.start, request.end)
            .await?
        {
            Fetched::Data(data) => Payload::LoadCurve(data),
            Fetched::NoData { permanent, code } => no_data(permanent, code),
        },
        Measurement::DailyEnergy(flow) => match source
            .daily_energy(usage_point, flow, request.start, request.end)
            .await?
        {
            Fetched::Data(data) => Payload::DailyEnergy(data),
            Fetched::NoData { permanent, code } => no_data(permanent, code),
        },
        Measurement::DailyMaxPower => match source
            .daily_max_power(usage_point, request.start, request.end)
            .await?
        {
            Fetched::Data(data) => Payload::DailyMaxPower(data),
            Fetched::NoData { permanent, code } => no_data(permanent, code),
        },
    })
}
