//! Spacing requests: at most N in any second, and a least time between two.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use linky_core::Clock;

#[derive(Debug)]
pub(crate) struct RateLimiter {
    min_spacing: Duration,
    max_per_second: usize,
    recent: VecDeque<DateTime<Utc>>,
}

impl RateLimiter {
    pub(crate) fn new(min_spacing: Duration, max_per_second: u32) -> RateLimiter {
        RateLimiter {
            min_spacing,
            max_per_second: max_per_second.max(1) as usize,
            recent: VecDeque::new(),
        }
    }

    /// Waits on `clock` until a request may go, and counts it.
    pub(crate) async fn wait_turn(&mut self, clock: &dyn Clock) {
        let span = |duration: Duration| chrono::Duration::from_std(duration).unwrap_or_default();
        let now = clock.now();
        let mut ready = now;
        if let Some(&last) = self.recent.back() {
            ready = ready.max(last + span(self.min_spacing));
        }
        if self.recent.len() >= self.max_per_second
            && let Some(&oldest) = self.recent.front()
        {
            ready = ready.max(oldest + chrono::Duration::seconds(1));
        }
        if let Ok(wait) = (ready - now).to_std()
            && !wait.is_zero()
        {
            clock.sleep(wait).await;
        }
        self.recent.push_back(ready);
        while self.recent.len() > self.max_per_second {
            self.recent.pop_front();
        }
    }
}
