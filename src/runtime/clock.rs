//! The only place that reads a clock. Built on tokio's `Instant`, so tests with
//! paused time get deterministic timestamps.

use tokio::time::Instant;

use crate::core::Timestamp;

/// Wall-clock time as a `Timestamp`, advancing with tokio's clock.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base: Timestamp,
    started: Instant,
}

impl Clock {
    /// A clock that starts at the real wall-clock time.
    pub fn system() -> Clock {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Clock::starting_at(Timestamp::from_millis(ms))
    }

    /// A clock that starts at `base` (tests, reproducible snapshots).
    pub fn starting_at(base: Timestamp) -> Clock {
        Clock {
            base,
            started: Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.base
            .plus_millis(self.started.elapsed().as_millis() as i64)
    }
}
