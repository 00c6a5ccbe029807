//! The events a run tells as it goes.

use std::fmt;

use chrono::NaiveDate;
use linky_core::{DeviceId, FetchRequest, UsagePointId};

use crate::state::StoredKind;

use super::*;

/// What happens during a run, for a caller to show (its `Display` is a line for a
/// person).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncEvent {
    /// The requests a usage point's measurement needs in this run are planned (announced
    /// before the first of them, so that a caller can show "done of planned").
    Planned {
        /// The usage point.
        usage_point: UsagePointId,
        /// What will be asked for.
        kind: StoredKind,
        /// How many requests.
        requests: usize,
    },
    /// A request goes to the source.
    RequestSent {
        /// The usage point.
        usage_point: UsagePointId,
        /// What is asked for.
        kind: StoredKind,
        /// The request.
        request: FetchRequest,
    },
    /// The source answered with data, now stored.
    RequestAnswered {
        /// The usage point.
        usage_point: UsagePointId,
        /// What was asked for.
        kind: StoredKind,
        /// The request.
        request: FetchRequest,
        /// How many values came (readings or days).
        values: usize,
        /// How many of them the source could not read (reported, left out).
        anomalies: usize,
    },
    /// The source answered that there is no such data.
    NoData {
        /// The usage point.
        usage_point: UsagePointId,
        /// What was asked for.
        kind: StoredKind,
        /// Whether it never will have (the meter lacks that direction).
        permanent: bool,
    },
    /// A transient error (a quota, an outage): the source asks again after `wait`.
    Retrying {
        /// The usage point.
        usage_point: UsagePointId,
        /// What is asked for.
        kind: StoredKind,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// How long the source waits.
        wait: std::time::Duration,
        /// What failed.
        reason: String,
        /// Whether a quota was hit.
        rate_limited: bool,
    },
    /// The source renewed its access token.
    TokenRenewed {
        /// The usage point being fetched.
        usage_point: UsagePointId,
    },
    /// Day colours were asked for (Tempo): how many were learned, and the days of the
    /// window still unknown (not published yet, or the sources failed).
    Colours {
        /// Days learned in this run.
        learned: usize,
        /// Days of the window whose colour is still unknown.
        unknown: Vec<NaiveDate>,
    },
    /// The run stops asking the source.
    Stopped {
        /// Why.
        reason: StopReason,
    },
    /// A usage point's contract gave off-peak hours not known before (the first ones, or
    /// a change): its days from `since` on are split by them.
    ContractHours {
        /// The usage point.
        usage_point: UsagePointId,
        /// The hours as written.
        text: String,
        /// The first day they hold (`None`: the whole past, as far as known).
        since: Option<NaiveDate>,
    },
    /// A schedule problem: a contract's hours that cannot be read or asked for. The usage
    /// point is split with the hours known before, or a single tariff when none are.
    ScheduleWarning {
        /// The usage point.
        usage_point: UsagePointId,
        /// What.
        warning: String,
    },
    /// A problem with the state, met and handled (a corrupt file fetched again).
    StateWarning {
        /// The usage point.
        usage_point: UsagePointId,
        /// What.
        warning: String,
    },
    /// A device's rows are about to be written.
    Writing {
        /// The device.
        device: DeviceId,
        /// Day rows.
        days: usize,
        /// Hour rows.
        hours: usize,
    },
    /// A device is done: written, or not for the reasons its report gives.
    DeviceDone {
        /// What happened to it.
        report: Box<DeviceReport>,
    },
}

impl fmt::Display for SyncEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncEvent::Planned {
                usage_point,
                kind,
                requests,
            } => write!(
                f,
                "{usage_point}: {} needs {requests} request{}",
                kind.as_str(),
                if *requests == 1 { "" } else { "s" }
            ),
            SyncEvent::RequestSent {
                usage_point,
                kind,
                request,
            } => write!(
                f,
                "{usage_point}: {} {}..{}",
                kind.as_str(),
                request.start,
                request.end
            ),
            SyncEvent::RequestAnswered {
                usage_point,
                kind,
                values,
                anomalies,
                ..
            } => {
                write!(
                    f,
                    "{usage_point}: {} answered, {values} values",
                    kind.as_str()
                )?;
                if *anomalies > 0 {
                    write!(f, ", {anomalies} unreadable")?;
                }
                Ok(())
            }
            SyncEvent::NoData {
                usage_point,
                kind,
                permanent: true,
            } => write!(f, "{usage_point}: no {} on this meter", kind.as_str()),
            SyncEvent::NoData {
                usage_point, kind, ..
            } => write!(f, "{usage_point}: no {} there yet", kind.as_str()),
            SyncEvent::Retrying {
                usage_point,
                kind,
                attempt,
                wait,
                reason,
                ..
            } => write!(
                f,
                "{usage_point}: {} attempt {attempt} failed ({reason}): waiting {:.1} s",
                kind.as_str(),
                wait.as_secs_f64()
            ),
            SyncEvent::TokenRenewed { usage_point } => {
                write!(f, "{usage_point}: access token renewed")
            }
            SyncEvent::Stopped { reason } => write!(f, "stopped: {reason}"),
            SyncEvent::Colours { learned, unknown } => {
                write!(f, "day colours: {learned} learned")?;
                match (unknown.first(), unknown.last()) {
                    (Some(first), Some(last)) if first == last => {
                        write!(f, ", {first} not known yet")
                    }
                    (Some(first), Some(last)) => write!(
                        f,
                        ", {} days not known yet ({first} to {last})",
                        unknown.len()
                    ),
                    _ => Ok(()),
                }
            }
            SyncEvent::StateWarning {
                usage_point,
                warning,
            }
            | SyncEvent::ScheduleWarning {
                usage_point,
                warning,
            } => write!(f, "{usage_point}: {warning}"),
            SyncEvent::ContractHours {
                usage_point,
                text,
                since,
            } => {
                write!(f, "{usage_point}: off-peak hours from the contract: {text}")?;
                match since {
                    Some(since) => write!(f, " from {since}"),
                    None => Ok(()),
                }
            }
            SyncEvent::Writing {
                device,
                days,
                hours,
            } => write!(f, "{device}: writing {days} day rows, {hours} hour rows"),
            SyncEvent::DeviceDone { report } => {
                write!(
                    f,
                    "{}: {} day rows, {} hour rows, dashboard {}",
                    report.device,
                    report.days_written,
                    report.hours_written,
                    if report.dashboard_written {
                        "written"
                    } else {
                        "not written"
                    }
                )?;
                if report.days_waiting > 0 {
                    write!(f, ", {} days waiting for a flow", report.days_waiting)?;
                }
                Ok(())
            }
        }
    }
}
