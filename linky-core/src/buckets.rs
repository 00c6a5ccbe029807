//! Hour and day buckets.
//!
//! The hour that ends at local `D HH:00` holds the intervals whose end lies in
//! `(HH-1:00, HH:00]`; day `D` holds the hours ending in `(D 00:00, D+1 00:00]`, so the
//! hour that ends at midnight belongs to the day before, and a day has 23, 24 or 25
//! hours. Hours are kept as instants, so the two local "02:00" hours of the fall-back
//! day stay two buckets.
//!
//! Enedis' intervals always lie inside one clock hour. An interval that does not (a
//! reading reported as [`crate::AnomalyKind::Misaligned`]) is shared between the hours it
//! covers, minute by minute, so that no hour ever holds more than 60 minutes and the
//! energy stays exact.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use crate::curve::local_midnight_minute;
use crate::{Energy, LoadCurve};

/// The energy of one clock hour.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourBucket {
    /// When the hour ends, in the curve's time zone.
    pub end: DateTime<Tz>,
    /// The energy of the intervals in the hour, exact.
    pub energy: Energy,
    /// How many minutes of the hour the intervals cover (60 when complete).
    pub minutes: u32,
    /// How many intervals fell (wholly or partly) in the hour.
    pub intervals: u32,
}

impl HourBucket {
    /// The local date of the day this hour belongs to (the hour ending at midnight
    /// belongs to the day before).
    pub fn day(&self) -> NaiveDate {
        (self.end - chrono::Duration::minutes(1)).date_naive()
    }
}

/// The energy of one local day.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayBucket {
    /// The local date.
    pub date: NaiveDate,
    /// The energy of the day's hours, exact.
    pub energy: Energy,
    /// How many minutes of the day the intervals cover.
    pub minutes: u32,
    /// How many of the day's hours have data.
    pub hours_with_data: u32,
    /// How many hours the day has: 23, 24 or 25.
    pub hours_in_day: u32,
}

impl DayBucket {
    /// Whether every minute of the day has data.
    pub fn is_complete(&self) -> bool {
        self.minutes == self.hours_in_day * 60
    }
}

/// How many hours the local day `date` has in `time_zone` (23, 24 or 25 in France).
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{hours_in_day, PARIS};
/// let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
/// assert_eq!(hours_in_day(day(3, 31), PARIS), 23);
/// assert_eq!(hours_in_day(day(10, 27), PARIS), 25);
/// assert_eq!(hours_in_day(day(6, 1), PARIS), 24);
/// ```
pub fn hours_in_day(date: NaiveDate, time_zone: Tz) -> u32 {
    let start = local_midnight_minute(time_zone, date);
    let end = date
        .succ_opt()
        .and_then(|next| local_midnight_minute(time_zone, next));
    match (start, end) {
        (Some(start), Some(end)) => u32::try_from((end - start) / 60).unwrap_or(24),
        _ => 24,
    }
}

impl LoadCurve {
    /// The hours that hold at least one interval, in time order.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{IntervalLength, LoadCurve, Power, Reading, PARIS};
    /// let day = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    /// let at = |h, m| day.and_hms_opt(h, m, 0).unwrap();
    /// let readings = [
    ///     Reading::new(at(0, 30), IntervalLength::PT30M, Power::from_watts(1000)),
    ///     Reading::new(at(1, 0), IntervalLength::PT30M, Power::from_watts(3000)),
    ///     Reading::new(at(1, 30), IntervalLength::PT30M, Power::from_watts(500)),
    /// ];
    /// let (curve, _) = LoadCurve::builder(PARIS).build(&readings);
    /// let hours = curve.hours();
    /// assert_eq!(hours.len(), 2);
    /// assert_eq!(hours[0].energy.as_wh_f64(), 2000.0);
    /// assert_eq!((hours[1].energy.as_wh_f64(), hours[1].minutes), (250.0, 30));
    /// ```
    pub fn hours(&self) -> Vec<HourBucket> {
        let mut hours: Vec<HourBucket> = Vec::new();
        for interval in self.intervals() {
            // An interval Enedis sends lies inside one hour (its end on a multiple of its
            // length); a misaligned one is shared between hours by minute, exactly.
            let mut piece_start = interval.start_minute();
            while piece_start < interval.end_minute() {
                let hour_end_minute = piece_start + 60 - piece_start.rem_euclid(60);
                let piece_end = hour_end_minute.min(interval.end_minute());
                let minutes = (piece_end - piece_start) as u32;
                let energy = interval.power().energy_over_minutes(minutes);
                match hours.last_mut() {
                    Some(last) if last.end.timestamp() == hour_end_minute * 60 => {
                        last.energy += energy;
                        last.minutes += minutes;
                        last.intervals += 1;
                    }
                    _ => hours.push(HourBucket {
                        end: DateTime::from_timestamp(hour_end_minute * 60, 0)
                            .unwrap_or_default()
                            .with_timezone(&self.time_zone()),
                        energy,
                        minutes,
                        intervals: 1,
                    }),
                }
                piece_start = piece_end;
            }
        }
        hours
    }

    /// The days that hold at least one hour with data, in date order.
    pub fn days(&self) -> Vec<DayBucket> {
        days_of_hours(&self.hours(), self.time_zone())
    }
}

/// Groups hour buckets (in time order) into day buckets.
pub fn days_of_hours(hours: &[HourBucket], time_zone: Tz) -> Vec<DayBucket> {
    let mut days: Vec<DayBucket> = Vec::new();
    for hour in hours {
        let date = hour.day();
        match days.last_mut() {
            Some(last) if last.date == date => {
                last.energy += hour.energy;
                last.minutes += hour.minutes;
                last.hours_with_data += 1;
            }
            _ => days.push(DayBucket {
                date,
                energy: hour.energy,
                minutes: hour.minutes,
                hours_with_data: 1,
                hours_in_day: hours_in_day(date, time_zone),
            }),
        }
    }
    days
}
