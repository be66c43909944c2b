//! Holding back password guessing per username (`LoginThrottle`) with a growing back-off: a few
//! failed logins in a row are free, then each further one doubles the wait before the next
//! attempt is let through (1 s, 2 s, 4 s, … up to a ceiling). The right password forgets the
//! failures, and so does a quiet spell of twice the ceiling (a guesser who waits out each
//! ceiling is held to one guess per ceiling).
//!
//! Growing waits are not a token bucket, so this is not `governor`'s job (the per-address limit
//! in the HTTP adapter is). The state lives in this process's memory: each replica counts on
//! its own and a restart forgets, which still turns thousands of guesses a minute into a few.
//! The map is bounded: past `MAX_TRACKED_USERNAMES` it drops the names whose failures are
//! forgotten anyway, and if all are still fresh it stops tracking new names rather than grow.

use crate::domain::Username;
use crate::ports::{Clock, LoginThrottle, Throttled};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// The wait after the first failure beyond the free ones; each further failure doubles it.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

/// The most usernames tracked at once (about 100 bytes each).
pub const MAX_TRACKED_USERNAMES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffSettings {
    /// Failed logins in a row for one username before the waits begin.
    pub free_failures: u32,
    /// The longest wait; twice it, the quiet spell after which failures are forgotten. Zero
    /// turns the throttle off.
    pub longest_wait: Duration,
}

pub struct BackoffThrottle {
    settings: BackoffSettings,
    clock: Arc<dyn Clock>,
    failures: Mutex<HashMap<Username, Failures>>,
}

/// Failed (or still unsettled) attempts in a row for one username, and when the last began.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: SystemTime,
}

impl BackoffThrottle {
    pub fn new(settings: BackoffSettings, clock: Arc<dyn Clock>) -> Self {
        Self { settings, clock, failures: Mutex::default() }
    }

    /// How long after the last of `count` failures the next attempt must wait.
    fn wait_after(&self, count: u32) -> Duration {
        let Some(beyond_free) = count.checked_sub(self.settings.free_failures) else {
            return Duration::ZERO;
        };
        let doubled = FIRST_WAIT.checked_mul(1 << beyond_free.min(31));
        doubled.map_or(self.settings.longest_wait, |wait| wait.min(self.settings.longest_wait))
    }

    fn forgotten(&self, failures: &Failures, now: SystemTime) -> bool {
        let forget_after = self.settings.longest_wait.saturating_mul(2);
        now.duration_since(failures.last).is_ok_and(|quiet| quiet >= forget_after)
    }
}

impl LoginThrottle for BackoffThrottle {
    fn attempt(&self, username: &Username) -> Result<(), Throttled> {
        let now = self.clock.now();
        let mut all = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(failures) = all.get_mut(username) {
            let allowed_at = failures.last + self.wait_after(failures.count);
            if let Ok(retry_after) = allowed_at.duration_since(now)
                && !retry_after.is_zero()
            {
                return Err(Throttled { retry_after });
            }
            failures.count = if self.forgotten(failures, now) { 1 } else { failures.count + 1 };
            failures.last = now;
            return Ok(());
        }
        if all.len() >= MAX_TRACKED_USERNAMES {
            all.retain(|_, failures| !self.forgotten(failures, now));
        }
        if all.len() < MAX_TRACKED_USERNAMES {
            all.insert(username.clone(), Failures { count: 1, last: now });
        }
        Ok(())
    }

    fn succeeded(&self, username: &Username) {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(username);
    }

    fn abandoned(&self, username: &Username) {
        let mut all = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(failures) = all.get_mut(username) {
            failures.count = failures.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct StoppedClock(Mutex<SystemTime>);

    impl Clock for StoppedClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    fn throttle(
        free_failures: u32,
        longest_wait: Duration,
    ) -> (BackoffThrottle, Arc<StoppedClock>) {
        let clock = Arc::new(StoppedClock(Mutex::new(SystemTime::UNIX_EPOCH)));
        (
            BackoffThrottle::new(BackoffSettings { free_failures, longest_wait }, clock.clone()),
            clock,
        )
    }

    fn advance(clock: &StoppedClock, by: Duration) {
        *clock.0.lock().unwrap() += by;
    }

    fn bob() -> Username {
        Username::parse("bob").unwrap()
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_ceiling() {
        let (throttle, clock) = throttle(3, Duration::from_secs(5));
        for _ in 0..3 {
            throttle.attempt(&bob()).unwrap();
        }
        let mut waits = vec![];
        for _ in 0..5 {
            let wait = throttle.attempt(&bob()).unwrap_err().retry_after;
            waits.push(wait.as_secs());
            advance(&clock, wait);
            throttle.attempt(&bob()).unwrap();
        }
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn the_right_password_or_a_quiet_spell_forgets_the_failures() {
        let (throttle, clock) = throttle(1, Duration::from_secs(60));
        throttle.attempt(&bob()).unwrap();
        assert!(throttle.attempt(&bob()).is_err());
        throttle.succeeded(&bob());
        throttle.attempt(&bob()).unwrap();
        advance(&clock, Duration::from_secs(120));
        throttle.attempt(&bob()).unwrap();
        assert!(throttle.attempt(&bob()).is_err(), "the quiet spell reset the count to one");
        assert!(throttle.attempt(&Username::parse("ann").unwrap()).is_ok(), "per username");
    }

    #[test]
    fn abandoned_attempts_do_not_count() {
        let (throttle, _) = throttle(2, Duration::from_secs(60));
        for _ in 0..5 {
            throttle.attempt(&bob()).unwrap();
            throttle.abandoned(&bob());
        }
        throttle.attempt(&bob()).unwrap();
        throttle.attempt(&bob()).unwrap();
        assert!(throttle.attempt(&bob()).is_err());
    }

    #[test]
    fn a_zero_ceiling_turns_it_off() {
        let (throttle, _) = throttle(0, Duration::ZERO);
        for _ in 0..100 {
            throttle.attempt(&bob()).unwrap();
        }
    }
}
