//! What can be wrong in an off-peak text.

use std::fmt;

/// The kind of mistake in an off-peak text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScheduleErrorKind {
    /// A word that is none of a time range, a day, the holiday word, `P` or a PDL.
    UnknownWord,
    /// An hour above 24, minutes above 59, or 24 with minutes.
    TimeOutOfRange,
    /// A time with no separator and end after it (`2h00` alone).
    MissingSeparator,
    /// A range with a separator but no end time (`2h00-`).
    MissingEnd,
    /// A day or holiday word directly followed by another one (`lundi mardi`), which the
    /// original read as the second day only.
    TwoDaysInARow,
    /// A second `P` in the same section.
    RepeatedProduction,
    /// A second section for the same PDL.
    RepeatedPdl,
    /// A date that does not exist (`2025-02-30`), or a period that ends before it starts.
    InvalidDate,
    /// `from` or `until` without a date after it.
    MissingDate,
    /// A date that is not the bound of a period (after `from` or `until`).
    MisplacedDate,
    /// A dated part that shares days with another, or a season given twice in one period.
    OverlappingPeriods,
    /// A season word right after another (`summer winter`): a season inside a season.
    SeasonInSeason,
    /// A season word with nothing after it (`... summer` at the end, or before `from`).
    EmptySeason,
}

/// A mistake in an off-peak text: what, which word, and at which column (1-based, in
/// characters).
///
/// ```
/// let error = "2h00-7h00 13h mecredi".parse::<linky_core::OffPeakConfig>().unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "incomplete range \"13h\" at column 11: expected a separator (-, _, à, to) and an end time"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    kind: ScheduleErrorKind,
    word: String,
    column: usize,
}

/// Words longer than this are cut in messages (a megabyte of garbage stays readable).
const WORD_LIMIT: usize = 40;

impl ScheduleError {
    pub(crate) fn new(kind: ScheduleErrorKind, word: &str, column: usize) -> ScheduleError {
        let mut cut: String = word.chars().take(WORD_LIMIT).collect();
        if word.chars().nth(WORD_LIMIT).is_some() {
            cut.push_str("...");
        }
        ScheduleError {
            kind,
            word: cut,
            column,
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> ScheduleErrorKind {
        self.kind
    }

    /// The offending word (cut to 40 characters).
    pub fn word(&self) -> &str {
        &self.word
    }

    /// Where the offending word starts: a 1-based column, in characters.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, expected) = match self.kind {
            ScheduleErrorKind::UnknownWord => {
                ("unknown word", Some("a day, a time range, P or a PDL"))
            }
            ScheduleErrorKind::TimeOutOfRange => ("time out of range", None),
            ScheduleErrorKind::MissingSeparator => (
                "incomplete range",
                Some("a separator (-, _, à, to) and an end time"),
            ),
            ScheduleErrorKind::MissingEnd => ("incomplete range", Some("an end time")),
            ScheduleErrorKind::TwoDaysInARow => (
                "two day words in a row",
                Some("time ranges after each day word"),
            ),
            ScheduleErrorKind::RepeatedProduction => {
                ("second production part", Some("one P per section"))
            }
            ScheduleErrorKind::RepeatedPdl => {
                ("second section for PDL", Some("one section per PDL"))
            }
            ScheduleErrorKind::InvalidDate => (
                "invalid date",
                Some(
                    "a date that exists (YYYY-MM-DD or DD/MM/YYYY), a period's end after its start",
                ),
            ),
            ScheduleErrorKind::MissingDate => (
                "missing date",
                Some("a date (YYYY-MM-DD or DD/MM/YYYY) after it"),
            ),
            ScheduleErrorKind::MisplacedDate => {
                ("date out of place", Some("from or until before a date"))
            }
            ScheduleErrorKind::OverlappingPeriods => (
                "overlapping period",
                Some("periods that share no day, each season once per period"),
            ),
            ScheduleErrorKind::EmptySeason => (
                "season with no hours",
                Some("time ranges, days or PDLs after a season word"),
            ),
            ScheduleErrorKind::SeasonInSeason => (
                "season inside a season",
                Some("time ranges after a season word"),
            ),
        };
        write!(f, "{what} {:?} at column {}", self.word, self.column)?;
        if let Some(expected) = expected {
            write!(f, ": expected {expected}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScheduleError {}
