//! Time as a run sees it: what time it is, and how to wait. Every decision that depends
//! on time (a token about to expire, a retry delay, the spacing of requests, a run's
//! deadline, "today") asks a [`Clock`], never the system, so that tests can move time
//! and a run is deterministic.
//!
//! linky-core reads no clock: it defines the trait and [`ManualClock`], a clock that
//! moves only when told to. The clock of the real world (`SystemClock`) lives with the
//! I/O, in linky-enedis.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// What time it is, and how to wait.
#[async_trait]
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Waits `duration`, as this clock counts time.
    async fn sleep(&self, duration: StdDuration);

    /// The current local time in `time_zone` (wall clock, no offset).
    fn local_now(&self, time_zone: Tz) -> NaiveDateTime {
        self.now().with_timezone(&time_zone).naive_local()
    }
}

/// A clock that moves only when told to, or when something sleeps on it: a sleep
/// advances it at once by the time asked, without waiting. Tests use it to run retries,
/// quotas and token expiry in no time and the same way every time.
///
/// ```
/// use std::time::Duration;
/// use chrono::{TimeZone, Utc};
/// use linky_core::{Clock, ManualClock};
/// let clock = ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 1, 8, 0, 0).unwrap());
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().to_rfc3339(), "2024-06-01T08:01:30+00:00");
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `duration`.
    pub fn advance(&self, duration: StdDuration) {
        let step = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        if let Ok(mut now) = self.now.lock() {
            *now = now.checked_add_signed(step).unwrap_or(*now);
        }
    }

    /// Sets the clock to `instant` (it may go back: a test's choice).
    pub fn set(&self, instant: DateTime<Utc>) {
        if let Ok(mut now) = self.now.lock() {
            *now = instant;
        }
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now
            .lock()
            .map(|now| *now)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    async fn sleep(&self, duration: StdDuration) {
        self.advance(duration);
    }
}
