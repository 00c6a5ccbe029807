//! Fetching: what each usage point misses, asked answer by answer into the state;
//! its contract's off-peak hours; each device's data from the state.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use linky_core::{
    DeviceData, DeviceId, Flow, Measurement, OffPeakConfig, PARIS, PlanLimits, Reading, SourceData,
    SourceErrorKind, SourceEvent, UsagePointId, plan_fetches, retry_not_before, shift_days,
};

use crate::state::{ContractHoursEntry, StoredKind, SyncMeta};

use super::*;

impl<'a> SyncRun<'a> {
    /// Fetches what the window misses for one usage point, storing each answer before the
    /// next request, and each permanent "no data" fact as soon as it is learned. Returns
    /// why the run must stop asking the source, if it must.
    pub(super) async fn fetch_missing(
        &self,
        meta: &mut SyncMeta,
        usage_point: &UsagePointId,
        window: i64,
        device_report: &mut DeviceReport,
        answered: &mut usize,
    ) -> Option<StopReason> {
        let pdl = usage_point.as_str();
        let now = self.clock.local_now(PARIS);
        let today = now.date();
        for (measurement, kind) in measurements(&self.settings) {
            if meta.lacks(pdl, kind) {
                continue;
            }
            let days = if kind == StoredKind::Peaks {
                window.max(i64::from(self.settings.history.peak_days()))
            } else {
                window
            };
            let (held, warnings) = self
                .state
                .held_days(pdl, kind, shift_days(today, -days), today);
            // A corrupt file's days are not held: they are asked for again now. Whether
            // that mended it shows when the rows are built (still corrupt: an error).
            for warning in warnings {
                self.say(SyncEvent::StateWarning {
                    usage_point: usage_point.clone(),
                    warning: warning.to_string(),
                });
                device_report.notes.push(SyncError::State(warning));
            }
            let limits = PlanLimits::new(now, days);
            let plan = plan_fetches(measurement, &held, &limits);
            if !plan.is_empty() {
                self.say(SyncEvent::Planned {
                    usage_point: usage_point.clone(),
                    kind,
                    requests: plan.len(),
                });
            }
            for request in plan {
                if let Some(stop) = self.must_stop() {
                    return Some(stop);
                }
                self.say(SyncEvent::RequestSent {
                    usage_point: usage_point.clone(),
                    kind,
                    request,
                });
                let observer = |event: SourceEvent| {
                    self.say(match event {
                        SourceEvent::Retrying {
                            attempt,
                            wait,
                            reason,
                            rate_limited,
                        } => SyncEvent::Retrying {
                            usage_point: usage_point.clone(),
                            kind,
                            attempt,
                            wait,
                            reason,
                            rate_limited,
                        },
                        _ => SyncEvent::TokenRenewed {
                            usage_point: usage_point.clone(),
                        },
                    });
                };
                let cancel = self.cancel.clone();
                let answer = tokio::select! {
                    answer = self.source.fetch_observed(usage_point, &request, &observer) => answer,
                    () = cancel.cancelled() => return Some(StopReason::Cancelled),
                };
                let answer = match answer {
                    Ok(answer) => answer,
                    Err(error) => {
                        let kind_of_error = error.kind;
                        let retry_after = error.retry_after;
                        device_report.errors.push(SyncError::Fetch {
                            kind,
                            request,
                            error,
                        });
                        match kind_of_error {
                            SourceErrorKind::Transient => {
                                // A server's wait, however absurd, is capped and
                                // never overflows the calendar.
                                let not_before = retry_after.map(|wait| {
                                    retry_not_before(self.clock.local_now(PARIS), wait)
                                });
                                return Some(StopReason::RetryLater { not_before });
                            }
                            SourceErrorKind::ConsentLost => return Some(StopReason::ConsentLost),
                            // A malformed answer, another usage point, an oversized body:
                            // this measurement waits for the next run, the others go on.
                            _ => break,
                        }
                    }
                };
                *answered += 1;
                let (start, end) = (request.start, request.end);
                let answered_event = |values: usize, anomalies: usize| SyncEvent::RequestAnswered {
                    usage_point: usage_point.clone(),
                    kind,
                    request,
                    values,
                    anomalies,
                };
                let stored = match answer {
                    SourceData::Curve { readings, report } => {
                        let anomalies = report.anomalies().len();
                        device_report.anomalies += anomalies;
                        let flow = match kind {
                            StoredKind::Curve(flow) => flow,
                            StoredKind::Peaks => Flow::Consumption,
                        };
                        let stored = self.state.store_curve(pdl, flow, start, end, &readings);
                        self.say(answered_event(readings.len(), anomalies));
                        stored
                    }
                    SourceData::Peaks(peaks) => {
                        let stored = self.state.store_peaks(pdl, start, end, &peaks);
                        self.say(answered_event(peaks.len(), 0));
                        stored
                    }
                    SourceData::DailyEnergy(values) => {
                        self.say(answered_event(values.len(), 0));
                        Ok(())
                    }
                    SourceData::NoData { permanent: true } => {
                        meta.set_lacks(pdl, kind);
                        // Saved at once, as readings are: an interrupted run must not
                        // ask again.
                        if let Err(error) = self.state.save_meta(meta) {
                            device_report.errors.push(SyncError::State(error));
                        }
                        self.say(SyncEvent::NoData {
                            usage_point: usage_point.clone(),
                            kind,
                            permanent: true,
                        });
                        break;
                    }
                    // Nothing there yet: those days are fetched (and empty), asked again
                    // while in the window.
                    SourceData::NoData { permanent: false } => {
                        self.say(SyncEvent::NoData {
                            usage_point: usage_point.clone(),
                            kind,
                            permanent: false,
                        });
                        match kind {
                            StoredKind::Curve(flow) => {
                                self.state.store_curve(pdl, flow, start, end, &[])
                            }
                            StoredKind::Peaks => self.state.store_peaks(pdl, start, end, &[]),
                        }
                    }
                };
                if let Err(error) = stored {
                    device_report.errors.push(SyncError::State(error));
                    break;
                }
            }
        }
        None
    }

    /// The flows a usage point's device shows: consumption, and production when asked
    /// for; less the directions the meter is known to lack.
    pub(super) fn shown_flows(&self, meta: &SyncMeta, pdl: &str) -> Vec<Flow> {
        let mut flows = Vec::new();
        if !meta.lacks(pdl, StoredKind::Curve(Flow::Consumption)) {
            flows.push(Flow::Consumption);
        }
        if self.settings.production && !meta.lacks(pdl, StoredKind::Curve(Flow::Production)) {
            flows.push(Flow::Production);
        }
        flows
    }

    /// A usage point's data from the state over the window, kept to the days held for
    /// every flow it shows (returned: the gate).
    pub(super) fn device_data(
        &self,
        meta: &SyncMeta,
        usage_point: &UsagePointId,
        offpeak: &OffPeakConfig,
        today: NaiveDate,
        days: i64,
        device_report: &mut DeviceReport,
    ) -> (DeviceData, BTreeSet<NaiveDate>) {
        let pdl = usage_point.as_str();
        let from = shift_days(today, -days);
        let mut gate: Option<BTreeSet<NaiveDate>> = None;
        let mut any_held = BTreeSet::new();
        let mut readings: [Vec<Reading>; 2] = [Vec::new(), Vec::new()];
        for flow in self.shown_flows(meta, pdl) {
            let (fetched, flow_readings, warnings) =
                self.state.stored_curve(pdl, flow, from, today);
            self.warn(device_report, warnings);
            any_held.extend(fetched.iter().copied());
            gate = Some(match gate {
                None => fetched,
                Some(gate) => gate.intersection(&fetched).copied().collect(),
            });
            readings[usize::from(flow == Flow::Production)] = flow_readings;
        }
        let peak_days = i64::from(self.settings.history.peak_days()).max(days);
        let (peaks, warnings) = self.state.peaks(pdl, shift_days(today, -peak_days), today);
        self.warn(device_report, warnings);
        let (mut data, report) = DeviceData::builder(
            DeviceId::meter(usage_point.clone()),
            offpeak,
            self.settings.holiday_zone,
        )
        .period(from, today)
        .consumption(&readings[0])
        .production(&readings[1])
        .peaks(peaks)
        .build();
        device_report.anomalies += report
            .anomalies()
            .iter()
            .filter(|a| a.kind.drops_reading())
            .count();
        let gate = gate.unwrap_or_default();
        device_report.days_waiting = any_held.difference(&gate).count();
        data.retain_days(|day| gate.contains(&day));
        (data, gate)
    }

    /// Asks the contract of `usage_point` for its off-peak hours when the last answer is
    /// older than [`CONTRACT_CHECK_DAYS`], and keeps a new text with its first day (saved
    /// at once, like the "no data" facts).
    pub(super) async fn check_contract_hours(
        &self,
        meta: &mut SyncMeta,
        usage_point: &UsagePointId,
        today: NaiveDate,
        device_report: &mut DeviceReport,
    ) {
        let pdl = usage_point.as_str();
        let history = meta.contract_hours.entry(pdl.to_owned()).or_default();
        if history
            .checked
            .is_some_and(|checked| today < shift_days(checked, CONTRACT_CHECK_DAYS))
        {
            return;
        }
        let cancel = self.cancel.clone();
        let answer = tokio::select! {
            answer = self.source.contract_hours(usage_point) => answer,
            () = cancel.cancelled() => return,
        };
        let hours = match answer {
            Ok(hours) => hours,
            Err(error) => {
                let warning =
                    format!("the contract's off-peak hours could not be asked for: {error}");
                self.say(SyncEvent::ScheduleWarning {
                    usage_point: usage_point.clone(),
                    warning,
                });
                device_report.notes.push(SyncError::ContractHours {
                    detail: "the contract could not be asked for".to_owned(),
                    cause: Some(error),
                });
                return;
            }
        };
        history.checked = Some(today);
        if let Some(hours) = hours
            && history
                .entries
                .last()
                .is_none_or(|last| last.text != hours.text)
        {
            // The first text stands for the whole past; a change holds from the contract's
            // last tariff change when that is after the previous text's start, else from
            // the day it was seen.
            let since = match history.entries.last() {
                None => None,
                Some(last) => Some(
                    hours
                        .since
                        .filter(|since| last.since.is_none_or(|previous| *since > previous))
                        .unwrap_or(today),
                ),
            };
            history.entries.push(ContractHoursEntry {
                text: hours.text.clone(),
                since,
                seen: today,
            });
            self.say(SyncEvent::ContractHours {
                usage_point: usage_point.clone(),
                text: hours.text,
                since,
            });
        }
        if let Err(error) = self.state.save_meta(meta) {
            device_report.errors.push(SyncError::State(error));
        }
    }

    /// The schedule of a usage point that takes its contract's hours: the settings' with
    /// each known text from its first day. A text that cannot be read is a warning; its
    /// days keep the hours known before it (a single tariff when there are none).
    pub(super) fn contract_schedule(
        &self,
        meta: &SyncMeta,
        usage_point: &UsagePointId,
        device_report: &mut DeviceReport,
    ) -> OffPeakConfig {
        let pdl = usage_point.as_str();
        let Some(history) = meta.contract_hours.get(pdl) else {
            return self.settings.offpeak.clone();
        };
        let (schedule, unreadable) = history.schedule(&self.settings.offpeak, pdl);
        for (error, known_before) in unreadable {
            let fallback = if known_before {
                "the hours known before"
            } else {
                "a single tariff"
            };
            let warning = format!(
                "{error}; its days are split with {fallback}: give a schedule for {pdl} to say otherwise"
            );
            self.say(SyncEvent::ScheduleWarning {
                usage_point: usage_point.clone(),
                warning: warning.clone(),
            });
            device_report.notes.push(SyncError::ContractHours {
                detail: warning,
                cause: None,
            });
        }
        schedule
    }
}

pub(super) fn measurements(settings: &SyncSettings) -> Vec<(Measurement, StoredKind)> {
    let mut list = vec![
        (
            Measurement::LoadCurve(Flow::Consumption),
            StoredKind::Curve(Flow::Consumption),
        ),
        (Measurement::DailyMaxPower, StoredKind::Peaks),
    ];
    if settings.production {
        list.push((
            Measurement::LoadCurve(Flow::Production),
            StoredKind::Curve(Flow::Production),
        ));
    }
    list
}
