//! Energies and powers, kept apart by type.
//!
//! Enedis sends load curves as average powers in whole watts over intervals of whole
//! minutes, so the energy of an interval is `W x minutes / 60` Wh, which is rarely a whole
//! number of watt-hours (a PT15M reading of 1001 W is 250.25 Wh; a PT5M one is 83.41666.. Wh).
//! Floating point would drift over two years of readings, so [`Energy`] counts whole
//! **milliwatt-minutes**: every interval's energy (powers with up to three decimals of a
//! watt, whole minutes) is an exact integer, and so is every sum of them. Conversion to
//! Wh or kWh happens only at the edges, for display.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Milliwatt-minutes in one watt-hour.
const MILLIWATT_MINUTES_PER_WH: i64 = 60_000;

/// An amount of active energy, exact: an integer number of milliwatt-minutes.
///
/// ```
/// use linky_core::{Energy, Power};
/// let quarter = Power::from_watts(1001).energy_over_minutes(15);
/// assert_eq!(quarter.as_wh_f64(), 250.25);
/// assert_eq!(quarter + quarter, Power::from_watts(1001).energy_over_minutes(30));
/// assert_eq!(Energy::from_wh(1).milliwatt_minutes(), 60_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Energy(i64);

impl Energy {
    /// No energy.
    pub const ZERO: Energy = Energy(0);

    /// An energy of `value` milliwatt-minutes (the exact internal unit).
    pub const fn from_milliwatt_minutes(value: i64) -> Energy {
        Energy(value)
    }

    /// An energy of a whole number of watt-hours (as Enedis' daily series give them).
    ///
    /// Saturates instead of overflowing for absurd values (over 150 TWh).
    pub const fn from_wh(wh: i64) -> Energy {
        Energy(wh.saturating_mul(MILLIWATT_MINUTES_PER_WH))
    }

    /// The exact value in milliwatt-minutes.
    pub const fn milliwatt_minutes(self) -> i64 {
        self.0
    }

    /// The value in watt-hours as a float: lossy (for display and comparisons with other
    /// tools); [`Energy::milliwatt_minutes`] is exact, [`Energy::round_wh`] whole.
    pub fn as_wh_f64(self) -> f64 {
        self.0 as f64 / MILLIWATT_MINUTES_PER_WH as f64
    }

    /// The value in kilowatt-hours as a float: lossy, as [`Energy::as_wh_f64`].
    pub fn as_kwh_f64(self) -> f64 {
        self.as_wh_f64() / 1000.0
    }

    /// The value in watt-hours, as a float.
    #[deprecated(since = "0.1.0", note = "lossy: named `as_wh_f64` now")]
    pub fn as_wh(self) -> f64 {
        self.as_wh_f64()
    }

    /// The value in kilowatt-hours, as a float.
    #[deprecated(since = "0.1.0", note = "lossy: named `as_kwh_f64` now")]
    pub fn as_kwh(self) -> f64 {
        self.as_kwh_f64()
    }

    /// The value in watt-hours rounded to the nearest whole Wh (halves away from zero).
    pub fn round_wh(self) -> i64 {
        let half = MILLIWATT_MINUTES_PER_WH / 2;
        if self.0 >= 0 {
            (self.0 + half) / MILLIWATT_MINUTES_PER_WH
        } else {
            (self.0 - half) / MILLIWATT_MINUTES_PER_WH
        }
    }

    /// Whether this energy is exactly zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Energy {
    /// Prints the energy in Wh with up to five decimals, trailing zeros removed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.5}", self.as_wh_f64());
        let text = text.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{text} Wh")
    }
}

impl Add for Energy {
    type Output = Energy;
    fn add(self, other: Energy) -> Energy {
        Energy(self.0 + other.0)
    }
}

impl AddAssign for Energy {
    fn add_assign(&mut self, other: Energy) {
        self.0 += other.0;
    }
}

impl Sub for Energy {
    type Output = Energy;
    fn sub(self, other: Energy) -> Energy {
        Energy(self.0 - other.0)
    }
}

impl SubAssign for Energy {
    fn sub_assign(&mut self, other: Energy) {
        self.0 -= other.0;
    }
}

impl Neg for Energy {
    type Output = Energy;
    fn neg(self) -> Energy {
        Energy(-self.0)
    }
}

impl Sum for Energy {
    fn sum<I: Iterator<Item = Energy>>(iter: I) -> Energy {
        iter.fold(Energy::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Energy> for Energy {
    fn sum<I: Iterator<Item = &'a Energy>>(iter: I) -> Energy {
        iter.copied().sum()
    }
}

/// An active power (W), as the average power of a load-curve interval: an integer
/// number of milliwatts.
///
/// ```
/// use linky_core::Power;
/// assert_eq!(Power::from_watts(540).milliwatts(), 540_000);
/// assert_eq!(Power::from_watts(540).energy_over_minutes(30).as_wh_f64(), 270.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Power(i64);

impl Power {
    /// A power of a whole number of watts.
    pub const fn from_watts(watts: i64) -> Power {
        Power(watts.saturating_mul(1000))
    }

    /// A power of `milliwatts` mW.
    pub const fn from_milliwatts(milliwatts: i64) -> Power {
        Power(milliwatts)
    }

    /// The exact value in milliwatts.
    pub const fn milliwatts(self) -> i64 {
        self.0
    }

    /// The value in watts as a float: lossy ([`Power::milliwatts`] is exact).
    pub fn as_watts_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The value in watts, as a float.
    #[deprecated(since = "0.1.0", note = "lossy: named `as_watts_f64` now")]
    pub fn as_watts(self) -> f64 {
        self.as_watts_f64()
    }

    /// The energy of this power held for `minutes` minutes, exact.
    pub const fn energy_over_minutes(self, minutes: u32) -> Energy {
        Energy(self.0.saturating_mul(minutes as i64))
    }
}

impl fmt::Display for Power {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 1000 == 0 {
            write!(f, "{} W", self.0 / 1000)
        } else {
            write!(f, "{} W", self.as_watts_f64())
        }
    }
}

/// An apparent power in whole volt-amperes (VA), as in Enedis' daily maximum power.
///
/// Kept apart from [`Power`]: VA and W are different quantities and never add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ApparentPower(i64);

impl ApparentPower {
    /// A power of `va` volt-amperes.
    pub const fn from_va(va: i64) -> ApparentPower {
        ApparentPower(va)
    }

    /// The value in volt-amperes.
    pub const fn va(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ApparentPower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} VA", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifths_of_an_hour_stay_exact() {
        let five_minutes = Power::from_watts(1001).energy_over_minutes(5);
        let total: Energy = std::iter::repeat_n(five_minutes, 12).sum();
        assert_eq!(total, Energy::from_wh(1001));
        assert_eq!(five_minutes.to_string(), "83.41667 Wh");
    }

    #[test]
    fn rounding_goes_half_away_from_zero() {
        assert_eq!(Energy::from_milliwatt_minutes(30_000).round_wh(), 1);
        assert_eq!(Energy::from_milliwatt_minutes(29_999).round_wh(), 0);
        assert_eq!(Energy::from_milliwatt_minutes(-30_000).round_wh(), -1);
        assert_eq!(Energy::from_wh(12).to_string(), "12 Wh");
    }

    #[test]
    fn powers_print_in_watts() {
        assert_eq!(Power::from_watts(540).to_string(), "540 W");
        assert_eq!(Power::from_milliwatts(540_500).to_string(), "540.5 W");
        assert_eq!(ApparentPower::from_va(4680).to_string(), "4680 VA");
    }
}
