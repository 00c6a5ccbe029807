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

/// A device: one meter, named by its usage point, or a merged device that shows the
/// consumption of one meter and the production of another (`consumer / producer`).
///
/// It prints as the original plugin named devices (`22516914714270`,
/// `22516914714270 / 10284856584123`); [`DeviceId::slug`] is the same with only digits and
/// an underscore, safe for an MQTT topic, a Home Assistant entity id or a file name.
///
/// ```
/// use linky_core::{DeviceId, Flow};
/// let merged: DeviceId = "22516914714270 / 10284856584123".parse().unwrap();
/// assert_eq!(merged.slug(), "22516914714270_10284856584123");
/// assert_eq!(merged.usage_point(Flow::Production).as_str(), "10284856584123");
/// assert_eq!(merged.to_string(), "22516914714270 / 10284856584123");
/// assert_eq!("22516914714270_10284856584123".parse::<DeviceId>().unwrap(), merged);
/// let meter = DeviceId::meter("22516914714270".parse().unwrap());
/// assert_eq!((meter.slug(), meter.is_merged()), ("22516914714270".to_owned(), false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceId {
    /// One meter.
    Meter(UsagePointId),
    /// The consumption of `consumer` with the production of `producer`.
    Merged {
        /// The meter whose consumption the device shows.
        consumer: UsagePointId,
        /// The meter whose production the device shows.
        producer: UsagePointId,
    },
}

impl DeviceId {
    /// The device of one meter.
    pub fn meter(usage_point: UsagePointId) -> DeviceId {
        DeviceId::Meter(usage_point)
    }

    /// The merged device of `consumer`'s consumption and `producer`'s production.
    pub fn merged(consumer: UsagePointId, producer: UsagePointId) -> DeviceId {
        DeviceId::Merged { consumer, producer }
    }

    /// Whether it is a merged device.
    pub fn is_merged(&self) -> bool {
        matches!(self, DeviceId::Merged { .. })
    }

    /// The usage point whose `flow` the device shows.
    pub fn usage_point(&self, flow: Flow) -> &UsagePointId {
        match (self, flow) {
            (DeviceId::Meter(id), _) => id,
            (DeviceId::Merged { consumer, .. }, Flow::Consumption) => consumer,
            (DeviceId::Merged { producer, .. }, Flow::Production) => producer,
        }
    }

    /// Digits and an underscore only: a name safe for topics, entity ids and files.
    pub fn slug(&self) -> String {
        match self {
            DeviceId::Meter(id) => id.to_string(),
            DeviceId::Merged { consumer, producer } => format!("{consumer}_{producer}"),
        }
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceId::Meter(id) => write!(f, "{id}"),
            DeviceId::Merged { consumer, producer } => {
                write!(f, "{consumer}{}{producer}", crate::MERGED_DEVICE_SEPARATOR)
            }
        }
    }
}

impl FromStr for DeviceId {
    type Err = Error;

    /// A usage point, or two joined by ` / ` (as printed) or `_` (as a slug).
    fn from_str(text: &str) -> Result<DeviceId, Error> {
        let pair = text
            .split_once(crate::MERGED_DEVICE_SEPARATOR)
            .or_else(|| text.split_once('_'));
        Ok(match pair {
            Some((consumer, producer)) => DeviceId::Merged {
                consumer: consumer.parse()?,
                producer: producer.parse()?,
            },
            None => DeviceId::Meter(text.parse()?),
        })
    }
}

impl From<UsagePointId> for DeviceId {
    fn from(usage_point: UsagePointId) -> DeviceId {
        DeviceId::Meter(usage_point)
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
