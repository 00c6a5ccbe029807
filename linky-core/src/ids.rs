//! Identifiers and small enums shared by every layer: usage points, flows, tariffs.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A Linky delivery point, the "PDL" or "PRM": exactly 14 ASCII digits.
///
/// ```
/// use linky_core::UsagePointId;
/// let id: UsagePointId = "22516914714270".parse().unwrap();
/// assert_eq!(id.as_str(), "22516914714270");
/// assert_eq!(
///     "2251691471427".parse::<UsagePointId>().unwrap_err().to_string(),
///     "invalid usage point \"2251691471427\": expected exactly 14 digits, found 13 characters"
/// );
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsagePointId([u8; 14]);

impl UsagePointId {
    /// The 14 digits as a string slice.
    pub fn as_str(&self) -> &str {
        // The constructor only accepts ASCII digits, which are valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for UsagePointId {
    type Err = Error;

    fn from_str(text: &str) -> Result<UsagePointId, Error> {
        let invalid = |reason: String| Error::InvalidUsagePoint {
            text: text.chars().take(40).collect(),
            reason,
        };
        let count = text.chars().count();
        if count != 14 {
            return Err(invalid(format!(
                "expected exactly 14 digits, found {count} characters"
            )));
        }
        if let Some((column, found)) = text.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(invalid(format!(
                "expected only digits, found {found:?} at column {}",
                column + 1
            )));
        }
        let mut digits = [0u8; 14];
        digits.copy_from_slice(text.as_bytes());
        Ok(UsagePointId(digits))
    }
}

impl fmt::Display for UsagePointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for UsagePointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UsagePointId({})", self.as_str())
    }
}

/// The direction of energy through the meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// Energy drawn from the grid.
    Consumption,
    /// Energy injected into the grid.
    Production,
}

impl Flow {
    /// Both flows, consumption first.
    pub const ALL: [Flow; 2] = [Flow::Consumption, Flow::Production];

    /// The lowercase English name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Flow::Consumption => "consumption",
            Flow::Production => "production",
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two tariff periods of a peak/off-peak contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tariff {
    /// Peak hours, "heures pleines" (HP), Domoticz tariff 1.
    Peak,
    /// Off-peak hours, "heures creuses" (HC), Domoticz tariff 2.
    OffPeak,
}

impl Tariff {
    /// The lowercase English name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tariff::Peak => "peak",
            Tariff::OffPeak => "off-peak",
        }
    }
}

impl fmt::Display for Tariff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_fourteen_digits() {
        for (text, message) in [
            (
                "",
                "invalid usage point \"\": expected exactly 14 digits, found 0 characters",
            ),
            (
                "2251691471427a",
                "invalid usage point \"2251691471427a\": expected only digits, found 'a' at column 14",
            ),
            (
                "22516914714270 ",
                "invalid usage point \"22516914714270 \": expected exactly 14 digits, found 15 characters",
            ),
            (
                "２２516914714270",
                "invalid usage point \"２２516914714270\": expected only digits, found '２' at column 1",
            ),
        ] {
            assert_eq!(
                text.parse::<UsagePointId>().unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn round_trips_through_display() {
        let id: UsagePointId = "01234567890123".parse().unwrap();
        assert_eq!(id.to_string(), "01234567890123");
        assert_eq!(format!("{id:?}"), "UsagePointId(01234567890123)");
    }
}
