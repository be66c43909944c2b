//! At most one log line per interval for events that come in floods (a 503 for every login of a
//! flood, an injected error on every request): the first is written, the next ones only
//! counted, and the count goes on the next line written, so a flood costs a line per interval
//! instead of a line per request while no event goes unaccounted.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub struct LogBudget {
    interval: Duration,
    /// When the last line was written, and how many events were held back since.
    last: Mutex<Option<(Instant, u64)>>,
}

impl LogBudget {
    pub const fn new(interval: Duration) -> Self {
        Self { interval, last: Mutex::new(None) }
    }

    /// `Some(events held back since the last line)` if a line may be written now; `None` if
    /// this event is only counted.
    pub fn admit(&self) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *last {
            Some((at, held_back)) if at.elapsed() < self.interval => {
                *held_back += 1;
                None
            }
            _ => {
                let held_back = last.map_or(0, |(_, held_back)| held_back);
                *last = Some((Instant::now(), 0));
                Some(held_back)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_held_back() {
        let budget = LogBudget::new(Duration::from_millis(50));
        assert_eq!(budget.admit(), Some(0));
        assert_eq!(budget.admit(), None);
        assert_eq!(budget.admit(), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(budget.admit(), Some(2));
    }
}
