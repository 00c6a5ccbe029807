//! The off-peak hours as Enedis writes them in a contract: `HC (22H00-6H00)`,
//! `HC (1H50-7H50;12H50-14H50)` (v5 `offpeak_hours`, Data Connect 2026
//! `relais.plageHeuresCreuses`), read into time ranges.
//!
//! ```text
//! hours = "HC"? space* "(" range ( ";" range )* ")"      ; or the ranges without "HC ( )"
//! range = time space* "-" space* time
//! time  = digit{1,2} ( "H" | "h" | ":" ) digit{2}
//! ```

use std::fmt;

use super::model::{END_OF_DAY, OffPeakConfig, Part, Section, TimeRange};

/// Why a contract's off-peak text cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractHoursError {
    text: String,
    reason: String,
}

impl ContractHoursError {
    fn new(text: &str, reason: impl Into<String>) -> ContractHoursError {
        ContractHoursError {
            text: text.chars().take(80).collect(),
            reason: reason.into(),
        }
    }

    /// The text that was read (cut to 80 characters).
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ContractHoursError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Enedis' off-peak hours {:?} cannot be read: {}",
            self.text, self.reason
        )
    }
}

impl std::error::Error for ContractHoursError {}

/// Reads a contract's off-peak text into ranges (odd minutes kept; a range may wrap over
/// midnight).
///
/// ```
/// use linky_core::parse_contract_hours;
/// let ranges = parse_contract_hours("HC (1H50-7H50;12h50-14:50)").unwrap();
/// let text: Vec<String> = ranges.iter().map(ToString::to_string).collect();
/// assert_eq!(text, ["01:50-07:50", "12:50-14:50"]);
/// assert!(parse_contract_hours("HC (22H00-6H00").is_err());
/// ```
///
/// # Errors
///
/// A [`ContractHoursError`] saying what is wrong: never a silent empty schedule.
pub fn parse_contract_hours(text: &str) -> Result<Vec<TimeRange>, ContractHoursError> {
    let trimmed = text.trim();
    let inner = match trimmed
        .strip_prefix("HC")
        .or_else(|| trimmed.strip_prefix("hc"))
        .map(str::trim_start)
    {
        Some(rest) => rest
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(|| ContractHoursError::new(text, "expected \"HC (ranges)\""))?,
        None => trimmed
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or(trimmed),
    };
    if inner.trim().is_empty() {
        return Err(ContractHoursError::new(text, "no range"));
    }
    inner
        .split(';')
        .map(|range| {
            let (begin, end) = range.split_once('-').ok_or_else(|| {
                ContractHoursError::new(text, format!("{:?} is no range", range.trim()))
            })?;
            let begin = time(begin).ok_or_else(|| {
                ContractHoursError::new(text, format!("{:?} is no time", begin.trim()))
            })?;
            let end = time(end).ok_or_else(|| {
                ContractHoursError::new(text, format!("{:?} is no time", end.trim()))
            })?;
            let end = if end == END_OF_DAY - 1 {
                END_OF_DAY
            } else {
                end
            };
            TimeRange::new(begin, end)
                .filter(|range| !range.is_empty())
                .ok_or_else(|| {
                    ContractHoursError::new(text, format!("{:?} is empty", range.trim()))
                })
        })
        .collect()
}

/// `H{1,2}` then `H`, `h` or `:`, then two digits, as minutes of the day.
fn time(text: &str) -> Option<u16> {
    let text = text.trim();
    let split = text.find(['H', 'h', ':'])?;
    let (hours, minutes) = (&text[..split], &text[split + 1..]);
    let valid = |part: &str, max: usize| {
        !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
    };
    if !valid(hours, 2) || !valid(minutes, 2) || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours <= 24 && minutes <= 59 && (hours < 24 || minutes == 0)).then_some(hours * 60 + minutes)
}

impl OffPeakConfig {
    /// This configuration with `pdl`'s hours as the distributor recorded them over time:
    /// `history` holds each text's first day (`None`: since always) and its ranges, oldest
    /// first. The first holds until the second's first day, and so on; this
    /// configuration's own parts come first wherever they have a section for `pdl` (the
    /// user's schedule wins).
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{Flow, HolidayZone, OffPeakConfig, parse_contract_hours};
    /// let old = parse_contract_hours("HC (22H00-6H00)").unwrap();
    /// let new = parse_contract_hours("HC (23H00-7H00)").unwrap();
    /// let change = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
    /// let config = OffPeakConfig::default()
    ///     .with_contract_hours("12345678901234", &[(None, old), (Some(change), new)]);
    /// let at = |text: &str| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    /// let off = |when| config.is_off_peak("12345678901234", Flow::Consumption, at(when), HolidayZone::Metropole);
    /// assert!(off("2025-10-31 22:30") && !off("2025-11-01 22:30"));
    /// ```
    pub fn with_contract_hours(
        &self,
        pdl: &str,
        history: &[(Option<chrono::NaiveDate>, Vec<TimeRange>)],
    ) -> OffPeakConfig {
        let mut config = self.clone();
        let section = |ranges: &[TimeRange]| Section {
            consumption: Part {
                every_day: ranges.to_vec(),
                ..Part::default()
            },
            production: None,
        };
        let mut sorted: Vec<&(Option<chrono::NaiveDate>, Vec<TimeRange>)> =
            history.iter().collect();
        sorted.sort_by_key(|(since, _)| *since);
        for (n, (since, ranges)) in sorted.iter().enumerate() {
            let until = sorted
                .get(n + 1)
                .and_then(|(next, _)| next.and_then(|next| next.pred_opt()));
            match since {
                None if n == 0 && !config.has_own_section(pdl) => {
                    config.usage_points.push((pdl.to_owned(), section(ranges)));
                }
                _ => config.periods.push(super::model::DatedPart {
                    from: *since,
                    until,
                    schedule: OffPeakConfig {
                        usage_points: vec![(pdl.to_owned(), section(ranges))],
                        ..OffPeakConfig::default()
                    },
                }),
            }
        }
        config
    }
}
