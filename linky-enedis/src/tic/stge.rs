//! STGE, the standard mode's status register.

use linky_core::DayColour;

/// The state of the cut-off device (STGE bits 1-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CutOff {
    /// Closed: power flows.
    Closed,
    /// Open on overpower.
    Overpower,
    /// Open on overvoltage.
    Overvoltage,
    /// Open on load shedding.
    LoadShedding,
    /// Open on a CPL or Euridis order.
    Order,
    /// Open on overheating above the maximum switching current.
    OverheatingAboveMax,
    /// Open on overheating below it.
    OverheatingBelowMax,
    /// A value the specification does not define (7).
    Unknown(u8),
}

/// The Euridis output (STGE bits 19-20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Euridis {
    /// Off.
    Off,
    /// On, without security.
    On,
    /// On, with security.
    OnSecured,
    /// A value the specification does not define.
    Unknown(u8),
}

/// The CPL (powerline) status (STGE bits 21-22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CplStatus {
    /// New, unlocked.
    NewUnlocked,
    /// New, locked.
    NewLocked,
    /// Registered.
    Registered,
    /// A value the specification does not define.
    Unknown(u8),
}

/// STGE decoded: 32 bits sent as 8 hexadecimal digits, most significant first.
///
/// ```
/// use linky_core::DayColour;
/// use linky_enedis::tic::{CutOff, StatusRegister};
/// let status: StatusRegister = "09DA0401".parse().unwrap();
/// assert!(status.dry_contact_open());
/// assert_eq!(status.cut_off(), CutOff::Closed);
/// assert_eq!(status.supplier_index(), 2);
/// assert_eq!(status.tempo_today(), Some(DayColour::Blue));
/// assert_eq!(status.tempo_tomorrow(), Some(DayColour::White));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusRegister(pub u32);

impl std::str::FromStr for StatusRegister {
    type Err = std::num::ParseIntError;

    /// Reads the 8 hexadecimal digits (either case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        u32::from_str_radix(text, 16).map(StatusRegister)
    }
}

fn colour(code: u32) -> Option<DayColour> {
    match code {
        1 => Some(DayColour::Blue),
        2 => Some(DayColour::White),
        3 => Some(DayColour::Red),
        _ => None,
    }
}

impl StatusRegister {
    fn bits(self, from: u32, count: u32) -> u32 {
        (self.0 >> from) & ((1 << count) - 1)
    }

    /// The dry contact is open (bit 0).
    pub fn dry_contact_open(self) -> bool {
        self.bits(0, 1) == 1
    }

    /// The cut-off device (bits 1-3).
    pub fn cut_off(self) -> CutOff {
        match self.bits(1, 3) {
            0 => CutOff::Closed,
            1 => CutOff::Overpower,
            2 => CutOff::Overvoltage,
            3 => CutOff::LoadShedding,
            4 => CutOff::Order,
            5 => CutOff::OverheatingAboveMax,
            6 => CutOff::OverheatingBelowMax,
            other => CutOff::Unknown(other as u8),
        }
    }

    /// The distributor's terminal cover is open (bit 4).
    pub fn cover_open(self) -> bool {
        self.bits(4, 1) == 1
    }

    /// Overvoltage on a phase (bit 6).
    pub fn overvoltage(self) -> bool {
        self.bits(6, 1) == 1
    }

    /// The reference power is exceeded (bit 7): the overpower alarm.
    pub fn over_reference_power(self) -> bool {
        self.bits(7, 1) == 1
    }

    /// The meter is in producer mode (bit 8).
    pub fn producer(self) -> bool {
        self.bits(8, 1) == 1
    }

    /// Active energy flows towards the grid (bit 9).
    pub fn negative_energy(self) -> bool {
        self.bits(9, 1) == 1
    }

    /// The supplier index in use, 1 to 10 (bits 10-13, plus one; 11 to 16 are not
    /// defined).
    pub fn supplier_index(self) -> u8 {
        self.bits(10, 4) as u8 + 1
    }

    /// The distributor index in use, 1 to 4 (bits 14-15, plus one).
    pub fn distributor_index(self) -> u8 {
        self.bits(14, 2) as u8 + 1
    }

    /// The meter's clock is degraded (bit 16).
    pub fn clock_degraded(self) -> bool {
        self.bits(16, 1) == 1
    }

    /// The TIC is in standard mode (bit 17).
    pub fn standard_mode(self) -> bool {
        self.bits(17, 1) == 1
    }

    /// The Euridis output (bits 19-20).
    pub fn euridis(self) -> Euridis {
        match self.bits(19, 2) {
            0 => Euridis::Off,
            1 => Euridis::On,
            3 => Euridis::OnSecured,
            other => Euridis::Unknown(other as u8),
        }
    }

    /// The CPL status (bits 21-22).
    pub fn cpl_status(self) -> CplStatus {
        match self.bits(21, 2) {
            0 => CplStatus::NewUnlocked,
            1 => CplStatus::NewLocked,
            2 => CplStatus::Registered,
            other => CplStatus::Unknown(other as u8),
        }
    }

    /// CPL is synchronised (bit 23).
    pub fn cpl_synchronised(self) -> bool {
        self.bits(23, 1) == 1
    }

    /// Today's Tempo colour (bits 24-25); `None` without Tempo.
    pub fn tempo_today(self) -> Option<DayColour> {
        colour(self.bits(24, 2))
    }

    /// Tomorrow's Tempo colour (bits 26-27); `None` until announced.
    pub fn tempo_tomorrow(self) -> Option<DayColour> {
        colour(self.bits(26, 2))
    }

    /// A mobile-peak notice: which peak, 1 to 3 (bits 28-29).
    pub fn mobile_peak_notice(self) -> Option<u8> {
        Some(self.bits(28, 2) as u8).filter(|&peak| peak > 0)
    }

    /// A mobile peak in progress: which, 1 to 3 (bits 30-31).
    pub fn mobile_peak_in_progress(self) -> Option<u8> {
        Some(self.bits(30, 2) as u8).filter(|&peak| peak > 0)
    }
}
