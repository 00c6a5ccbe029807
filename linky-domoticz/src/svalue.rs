//! The P1 meter's sValue strings (`U1;U2;R1;R2;CONS;PROD[;date]`): whole Wh, dates Domoticz will keep.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use linky_core::{DashboardRow, DayRow, HourRow, MeterEnergies};

use crate::SinkError;

/// The four counters of a row in whole Wh, rounded half away from zero. Hour rows are
/// cumulative, so rounding each row's cumulative value (rather than each hour) keeps the
/// rounding error of any hour's difference within 1 Wh, with no drift.
fn whole_wh(energies: &MeterEnergies) -> [i64; 4] {
    energies.in_order().map(|energy| energy.round_wh().max(0))
}

/// `U1;U2;R1;R2;0;0;YYYY-MM-DD HH:MM:SS` for an hour row, with `cumulative`, the row's
/// running total (a P1 meter's short log holds counters: see
/// [`HourRow::running_totals`]).
///
/// # Errors
///
/// [`SinkError::InvalidRow`] for a time that does not exist in `time_zone` (the
/// spring-forward gap): Domoticz would answer OK and drop it.
pub fn hour_svalue(
    row: &HourRow,
    cumulative: &MeterEnergies,
    time_zone: Tz,
) -> Result<String, SinkError> {
    check_local_time(row.end, time_zone)?;
    let [u1, u2, r1, r2] = whole_wh(cumulative);
    Ok(format!(
        "{u1};{u2};{r1};{r2};0;0;{}",
        row.end.format("%Y-%m-%d %H:%M:%S")
    ))
}

/// `U1;U2;R1;R2;0;0;YYYY-MM-DD` for a day row.
pub fn day_svalue(row: &DayRow) -> String {
    let [u1, u2, r1, r2] = whole_wh(&row.totals);
    format!("{u1};{u2};{r1};{r2};0;0;{}", format_date(row.date))
}

/// `U1;U2;R1;R2;CONS;PROD` for the dashboard row, whole units.
pub fn dashboard_svalue(row: &DashboardRow) -> String {
    let whole = |energy: linky_core::Energy| energy.round_wh().max(0);
    format!(
        "{};{};{};{};{};{}",
        whole(row.u1),
        whole(row.u2),
        whole(row.r1),
        whole(row.r2),
        row.cons_va.max(0),
        row.prod_va.max(0)
    )
}

fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn check_local_time(at: NaiveDateTime, time_zone: Tz) -> Result<(), SinkError> {
    if time_zone.from_local_datetime(&at).earliest().is_none() {
        return Err(SinkError::InvalidRow {
            detail: format!(
                "{} does not exist in {time_zone} (spring-forward gap)",
                at.format("%Y-%m-%d %H:%M:%S")
            ),
        });
    }
    Ok(())
}

/// Checks an sValue's date the way Domoticz reads it, before sending: exactly 10
/// (`YYYY-MM-DD`) or 19 (`YYYY-MM-DD HH:MM:SS`) characters, a real date, no `T`, no time
/// in the spring-forward gap. Domoticz answers OK even when it drops a bad date.
///
/// # Errors
///
/// [`SinkError::InvalidRow`] naming what is wrong.
pub fn validate_svalue(svalue: &str, time_zone: Tz) -> Result<(), SinkError> {
    let fields: Vec<&str> = svalue.split(';').collect();
    let invalid = |detail: String| Err(SinkError::InvalidRow { detail });
    let numbers = match fields.len() {
        6 => &fields[..],
        7 | 11 => &fields[..fields.len() - 1],
        count => return invalid(format!("{count} fields in {svalue:?}, expected 6, 7 or 11")),
    };
    if let Some(bad) = numbers.iter().find(|n| n.parse::<i64>().is_err()) {
        return invalid(format!("{bad:?} is not a whole number in {svalue:?}"));
    }
    if fields.len() == 6 {
        return Ok(());
    }
    let date = fields[fields.len() - 1];
    match date.len() {
        10 => NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map(|_| ())
            .or_else(|_| invalid(format!("{date:?} is not a date"))),
        19 => match NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S") {
            Ok(at) => check_local_time(at, time_zone),
            Err(_) => invalid(format!(
                "{date:?} is not a date and time (YYYY-MM-DD HH:MM:SS)"
            )),
        },
        _ => invalid(format!(
            "{date:?} is neither YYYY-MM-DD nor YYYY-MM-DD HH:MM:SS"
        )),
    }
}
