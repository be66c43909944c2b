//! The figures of the live view, gathered as the requests go: users started, requests sent and
//! how many failed (as goose counts failures: any answer but the one the step expects, or none),
//! and the times to the answers' headers since the live view last looked, for its p99. Goose
//! keeps its own statistics in a task of its own and hands them over only at the end, so the
//! live view cannot ask goose; these are a few atomic counters, cheap enough for every request.
//!
//! The times go into buckets a sixteenth of a power of two wide, as goose's do in spirit: a
//! percentile read from them is at most 1/16 (6.25 %) above the true time, never below it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two.
const STEPS: u64 = 16;
/// Buckets for every time up to 2^40 µs (12 days): the exact ones below `STEPS` µs, then
/// `STEPS` per power of two.
const BUCKETS: usize = (STEPS + STEPS * (40 - 4)) as usize;

pub struct Traffic {
    users: AtomicU64,
    requests: AtomicU64,
    failures: AtomicU64,
    /// Requests since the last look, by time to the answer's headers.
    recent: Box<[AtomicU64]>,
}

/// What the live view shows: totals since the start, and the p99 of the requests since it last
/// looked (`None` when there were none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    pub users: u64,
    pub requests: u64,
    pub failures: u64,
    pub recent_p99: Option<Duration>,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            users: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            recent: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Traffic {
    pub fn note_user(&self) {
        self.users.fetch_add(1, Ordering::Relaxed);
    }

    /// One more request, answered after `elapsed`; `as_expected` unless goose counts it failed.
    pub fn note_request(&self, elapsed: Duration, as_expected: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !as_expected {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.recent[bucket(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// The totals, and the p99 of the requests since the last reading, which starts afresh.
    pub fn read(&self) -> Reading {
        let counts: Vec<u64> =
            self.recent.iter().map(|count| count.swap(0, Ordering::Relaxed)).collect();
        Reading {
            users: self.users.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            recent_p99: percentile(&counts, 99).map(Duration::from_micros),
        }
    }
}

/// The bucket of a time of `micros` µs.
fn bucket(micros: u64) -> usize {
    if micros < STEPS {
        return micros as usize;
    }
    let power = u64::from(micros.ilog2());
    let step = (micros >> (power - 4)) - STEPS;
    let index = STEPS + (power - 4) * STEPS + step;
    (index as usize).min(BUCKETS - 1)
}

/// The longest time in bucket `index`, in µs.
fn upper_bound(index: usize) -> u64 {
    let index = index as u64;
    if index < STEPS {
        return index;
    }
    let power = (index - STEPS) / STEPS + 4;
    let step = (index - STEPS) % STEPS;
    ((STEPS + step + 1) << (power - 4)) - 1
}

/// The `percent` percentile of the times counted in `counts`, in µs: the upper bound of the
/// bucket that holds it.
fn percentile(counts: &[u64], percent: u64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (total * percent).div_ceil(100);
    let mut seen = 0;
    counts
        .iter()
        .position(|count| {
            seen += count;
            seen >= rank
        })
        .map(upper_bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_its_times_within_a_sixteenth() {
        for micros in [0, 1, 15, 16, 17, 31, 32, 33, 1_000, 8_400, 123_456, 30_000_000] {
            let upper = upper_bound(bucket(micros));
            assert!(upper >= micros, "{micros} µs: bucket up to {upper}");
            assert!(upper - micros <= micros / 16, "{micros} µs: bucket up to {upper}");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn the_p99_is_of_the_requests_since_the_last_reading() {
        let traffic = Traffic::default();
        traffic.note_user();
        for _ in 0..98 {
            traffic.note_request(Duration::from_millis(1), true);
        }
        traffic.note_request(Duration::from_millis(40), false);
        traffic.note_request(Duration::from_millis(40), true);
        let first = traffic.read();
        assert_eq!((first.users, first.requests, first.failures), (1, 100, 1));
        let p99 = first.recent_p99.unwrap();
        assert!(p99 >= Duration::from_millis(40) && p99 < Duration::from_millis(43), "{p99:?}");
        let quiet = traffic.read();
        assert_eq!((quiet.requests, quiet.recent_p99), (100, None));
    }
}
