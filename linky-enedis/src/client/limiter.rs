//! Spacing requests: at most N in any second, and a least time between two.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct RateLimiter {
    min_spacing: Duration,
    max_per_second: usize,
    recent: VecDeque<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(min_spacing: Duration, max_per_second: u32) -> RateLimiter {
        RateLimiter {
            min_spacing,
            max_per_second: max_per_second.max(1) as usize,
            recent: VecDeque::new(),
        }
    }

    /// Waits until a request may go, and counts it.
    pub(crate) async fn wait_turn(&mut self) {
        let now = Instant::now();
        let mut ready = now;
        if let Some(&last) = self.recent.back() {
            ready = ready.max(last + self.min_spacing);
        }
        if self.recent.len() >= self.max_per_second
            && let Some(&oldest) = self.recent.front()
        {
            ready = ready.max(oldest + Duration::from_secs(1));
        }
        if ready > now {
            tokio::time::sleep_until(ready).await;
        }
        self.recent.push_back(ready);
        while self.recent.len() > self.max_per_second {
            self.recent.pop_front();
        }
    }
}
