//! The one error type of linky-core.

/// What went wrong in linky-core: an input that cannot be read as what it claims to be.
///
/// Messages are lowercase, without a trailing period, and quote the offending text
/// (cut to 40 characters) so that a log line says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A usage point (PDL/PRM) that is not exactly 14 ASCII digits.
    #[error("invalid usage point {text:?}: {reason}")]
    InvalidUsagePoint {
        /// The text given.
        text: String,
        /// Why it was refused.
        reason: String,
    },
    /// An interval length that is not one Enedis uses (PT5M, PT10M, PT15M, PT30M, PT60M).
    #[error("invalid interval length {text:?}: expected PT5M, PT10M, PT15M, PT30M or PT60M")]
    InvalidIntervalLength {
        /// The text given.
        text: String,
    },
    /// A holiday zone name that is not known.
    #[error(
        "unknown holiday zone {text:?}: expected metropole, alsace-moselle, guadeloupe, \
         martinique, guyane, reunion, mayotte, saint-martin or saint-barthelemy"
    )]
    UnknownHolidayZone {
        /// The text given.
        text: String,
    },
    /// A dashboard display name that is not known.
    #[error(
        "unknown dashboard display {text:?}: expected peak_<period> or value_, max_ or mean_ \
         followed by a period (day, cweek, lweek, cmonth, lmonth, year)"
    )]
    UnknownDisplay {
        /// The text given.
        text: String,
    },
    /// An off-peak text that cannot be read.
    #[error("invalid off-peak schedule: {0}")]
    Schedule(#[from] crate::ScheduleError),
}
