//! How fast one user may write (`WriteRate`): a token bucket per user, `governor`'s, in this
//! process's memory. Each replica counts on its own, so a fleet of N lets a user write up to N
//! times the rate; the list limits, kept by the store, hold whatever the rate lets through.
//!
//! The buckets are keyed by user id, known only once a token is checked, which is why the core
//! asks (a per-address limit in the HTTP adapter would count every user behind one proxy as
//! one). Users whose buckets are full again are dropped once more than `PRUNE_ABOVE` are held.

use crate::domain::UserId;
use crate::ports::{WriteRate, WriteThrottled};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;

/// Above this many users held, the limiter forgets those with full buckets.
const PRUNE_ABOVE: usize = 10_000;

/// Writes per second each user may make, after a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRateSettings {
    /// Sustained writes per second; zero turns the limit off.
    pub per_second: u32,
    /// Writes a user may make at once before the rate applies (at least 1).
    pub burst: u32,
}

pub struct PerUserBuckets<C: Clock = DefaultClock> {
    buckets: RateLimiter<UserId, DefaultKeyedStateStore<UserId>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

impl PerUserBuckets {
    /// The buckets `settings` ask for, or `None` when they turn the limit off.
    pub fn new(settings: WriteRateSettings) -> Option<Self> {
        Self::with_clock(settings, DefaultClock::default())
    }
}

impl<C: Clock + Clone> PerUserBuckets<C> {
    pub fn with_clock(settings: WriteRateSettings, clock: C) -> Option<Self> {
        let per_second = NonZeroU32::new(settings.per_second)?;
        let burst = NonZeroU32::new(settings.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Some(Self { buckets: RateLimiter::hashmap_with_clock(quota, clock.clone()), clock })
    }
}

impl<C: Clock + Send + Sync> WriteRate for PerUserBuckets<C>
where
    C::Instant: Send + Sync,
{
    fn admit(&self, user: UserId) -> Result<(), WriteThrottled> {
        if self.buckets.len() > PRUNE_ABOVE {
            self.buckets.retain_recent();
        }
        self.buckets.check_key(&user).map_err(|not_until| WriteThrottled {
            retry_after: not_until.wait_time_from(self.clock.now()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    #[test]
    fn each_user_writes_a_burst_then_at_the_rate() {
        let clock = FakeRelativeClock::default();
        let settings = WriteRateSettings { per_second: 2, burst: 3 };
        let rate = PerUserBuckets::with_clock(settings, clock.clone()).unwrap();
        let (ann, bob) = (UserId::new(1).unwrap(), UserId::new(2).unwrap());
        for _ in 0..3 {
            rate.admit(ann).unwrap();
        }
        let held = rate.admit(ann).unwrap_err();
        assert_eq!(held.retry_after, Duration::from_millis(500));
        rate.admit(bob).expect("another user has a bucket of their own");
        clock.advance(Duration::from_millis(500));
        rate.admit(ann).expect("one write more each half second");
        assert!(rate.admit(ann).is_err());
    }

    /// Once more than `PRUNE_ABOVE` users are held, those whose buckets are full again are
    /// dropped (governor waits one emission interval more: 2 s after a write at 1 a second),
    /// so one-off writers do not pile up; a user still held back keeps their bucket.
    #[test]
    fn users_whose_buckets_are_full_again_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let settings = WriteRateSettings { per_second: 1, burst: 1 };
        let rate = PerUserBuckets::with_clock(settings, clock.clone()).unwrap();
        let user = |id: usize| UserId::new(id as i64).unwrap();
        let (busy, late) = (PRUNE_ABOVE + 2, PRUNE_ABOVE + 3);
        for id in 1..=PRUNE_ABOVE + 1 {
            rate.admit(user(id)).unwrap();
        }
        clock.advance(Duration::from_millis(1500));
        rate.admit(user(busy)).unwrap();
        assert_eq!(rate.buckets.len(), PRUNE_ABOVE + 2, "none was dropped yet");
        clock.advance(Duration::from_millis(500));
        rate.admit(user(late)).unwrap();
        assert_eq!(rate.buckets.len(), 2, "the full buckets were dropped, busy's and late's kept");
        assert!(rate.admit(user(busy)).is_err(), "busy is still held back");
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        assert!(PerUserBuckets::new(WriteRateSettings { per_second: 0, burst: 5 }).is_none());
    }
}
