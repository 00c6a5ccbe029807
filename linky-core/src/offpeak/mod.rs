//! The off-peak schedule language: the "Heures creuses" line of text,
//! parsed into a typed configuration, printed back in a canonical form, explained as a
//! weekly timetable, and looked up minute by minute, plainly or through a compiled form.

mod compiled;
mod error;
mod explain;
mod grammar;
mod model;

use std::str::FromStr;

pub use compiled::{CompiledSchedule, DayKind};
pub use error::{ScheduleError, ScheduleErrorKind};
pub use explain::Timetable;
pub use model::{
    END_OF_DAY, MERGED_DEVICE_SEPARATOR, OffPeakConfig, Part, Section, TimeRange, pdl_for_flow,
};

impl FromStr for OffPeakConfig {
    type Err = ScheduleError;

    /// Parses the off-peak text. The empty text is valid: no off-peak at all.
    ///
    /// # Errors
    ///
    /// A [`ScheduleError`] naming the first offending word, its column and what was
    /// expected. Parsing takes time linear in the text's length, whatever the text.
    fn from_str(text: &str) -> Result<OffPeakConfig, ScheduleError> {
        grammar::parse(text)
    }
}
