//! What a foreign drawer gives away only over many requests: being slower (or faster) to answer
//! than a missing one, or being held back (a 503 or 429 with `Retry-After`) when the missing one
//! is not. One pair of answers proves nothing, as a loaded machine makes any single answer slow
//! and sheds any single request, so the nosy neighbour files every pair here and the run ends
//! with two tests of the whole sample, each at a false-positive rate of 0.1 % and with a floor
//! on the size of the difference (docs/load.md#the-timing-test says why these):
//! - timing: Mann–Whitney U on the two samples of times to the answer's headers; a leak when
//!   p < 0.001 and the medians differ by at least 5 ms and a quarter of the faster median;
//! - holding back: of the pairs where exactly one side was held back, which side (a sign test,
//!   McNemar's test for paired answers); a leak when p < 0.001 and one side has 3 in 4 of them.
//!
//! The nosy neighbour sends the two requests of a pair in random order, so that under the
//! service's promise the two sides are exchangeable and the tests' rates hold.

use crate::violation::Example;
use rand::Rng;
use serde::Serialize;
use std::time::Duration;

/// The chance that a service which treats foreign and missing drawers alike is reported.
pub const FALSE_POSITIVE_RATE: f64 = 0.001;
/// Pairs needed before the timing test runs: the normal approximation of U is sound from here.
pub const MIN_PAIRS: usize = 30;
/// The smallest difference of medians reported: below it, jitter on the path (and the shared
/// cores of a test machine) hides it from anyone but a patient attacker on the same host.
pub const MIN_EFFECT: Duration = Duration::from_millis(5);
/// ... and at least this share of the faster median.
pub const MIN_EFFECT_SHARE: f64 = 0.25;
/// The share of one side among the pairs held back on one side only, from which it is reported.
pub const MIN_HELD_BACK_SHARE: f64 = 0.75;
/// Times kept per side: a uniform sample of all of them (reservoir sampling), so a long run's
/// memory stays bounded.
const KEPT: usize = 20_000;

/// The pairs seen so far.
#[derive(Default)]
pub struct SideChannels {
    foreign: Reservoir,
    missing: Reservoir,
    held_back_foreign_only: u64,
    held_back_missing_only: u64,
}

/// Which drawer of a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Foreign,
    Missing,
}

impl SideChannels {
    /// A pair answered alike: how long each took.
    pub fn add_times(&mut self, foreign: Duration, missing: Duration) {
        self.foreign.add(milliseconds(foreign));
        self.missing.add(milliseconds(missing));
    }

    /// A pair where only `side` was held back.
    pub fn add_held_back(&mut self, side: Side) {
        match side {
            Side::Foreign => self.held_back_foreign_only += 1,
            Side::Missing => self.held_back_missing_only += 1,
        }
    }

    pub fn report(&self) -> Report {
        Report { timing: self.timing(), held_back: self.held_back() }
    }

    fn timing(&self) -> Option<Timing> {
        let (foreign, missing) = (&self.foreign.kept, &self.missing.kept);
        if foreign.len() < MIN_PAIRS || missing.len() < MIN_PAIRS {
            return None;
        }
        let z = mann_whitney_z(foreign, missing);
        let p = two_sided_p(z);
        let (foreign_p50_ms, missing_p50_ms) = (median(foreign), median(missing));
        let floor =
            milliseconds(MIN_EFFECT).max(MIN_EFFECT_SHARE * foreign_p50_ms.min(missing_p50_ms));
        let leaks = p < FALSE_POSITIVE_RATE && (foreign_p50_ms - missing_p50_ms).abs() >= floor;
        Some(Timing {
            foreign_pairs: self.foreign.seen,
            foreign_p50_ms,
            missing_p50_ms,
            z,
            p,
            leaks,
        })
    }

    fn held_back(&self) -> HeldBack {
        let (foreign_only, missing_only) =
            (self.held_back_foreign_only, self.held_back_missing_only);
        let p = sign_test_p(foreign_only, missing_only);
        let either = (foreign_only + missing_only).max(1) as f64;
        let lopsided = foreign_only.max(missing_only) as f64 / either >= MIN_HELD_BACK_SHARE;
        HeldBack { foreign_only, missing_only, p, leaks: p < FALSE_POSITIVE_RATE && lopsided }
    }
}

/// Both tests' outcome, for the summary; `leaks` says whether it is a violation.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `None` until both sides have `MIN_PAIRS` times.
    pub timing: Option<Timing>,
    pub held_back: HeldBack,
}

#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    pub foreign_pairs: u64,
    pub foreign_p50_ms: f64,
    pub missing_p50_ms: f64,
    /// Mann–Whitney's z, positive when foreign drawers answer slower.
    pub z: f64,
    pub p: f64,
    pub leaks: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct HeldBack {
    pub foreign_only: u64,
    pub missing_only: u64,
    pub p: f64,
    pub leaks: bool,
}

impl Report {
    /// Each test that found a leak, as evidence.
    pub fn leaks(&self) -> Vec<Example> {
        let request =
            "the nosy neighbour's requests of other users' drawers, each paired with the \
                       same request of a drawer that does not exist"
                .to_owned();
        let mut found = vec![];
        if let Some(timing) = self.timing.as_ref().filter(|timing| timing.leaks) {
            let response = format!(
                "foreign drawers answered in {:.1} ms, missing ones in {:.1} ms (medians of {} \
                 pairs): Mann–Whitney z = {:.1}, p = {:.1e} < {FALSE_POSITIVE_RATE}",
                timing.foreign_p50_ms,
                timing.missing_p50_ms,
                timing.foreign_pairs,
                timing.z,
                timing.p
            );
            found.push(Example { request: request.clone(), response });
        }
        let held_back = &self.held_back;
        if held_back.leaks {
            let response = format!(
                "held back (503 or 429 with Retry-After) on the foreign drawer only {} times, on \
                 the missing one only {} times: sign test p = {:.1e} < {FALSE_POSITIVE_RATE}",
                held_back.foreign_only, held_back.missing_only, held_back.p
            );
            found.push(Example { request, response });
        }
        found
    }
}

/// A uniform sample of at most `KEPT` of the values added.
#[derive(Default)]
struct Reservoir {
    kept: Vec<f64>,
    seen: u64,
}

impl Reservoir {
    fn add(&mut self, value: f64) {
        self.seen += 1;
        if self.kept.len() < KEPT {
            self.kept.push(value);
        } else {
            let slot = rand::rng().random_range(0..self.seen);
            if let Some(kept) = usize::try_from(slot).ok().and_then(|slot| self.kept.get_mut(slot))
            {
                *kept = value;
            }
        }
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

/// Mann–Whitney's U of `a` against `b` as a z score (normal approximation with continuity
/// correction; ties take their mid-rank and shrink the variance); positive when `a` tends to be
/// larger.
fn mann_whitney_z(a: &[f64], b: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> =
        a.iter().map(|&value| (value, true)).chain(b.iter().map(|&value| (value, false))).collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let n = n1 + n2;
    let (mut rank_sum_a, mut ties, mut start) = (0.0, 0.0, 0);
    while start < all.len() {
        let end = start + all[start..].iter().take_while(|entry| entry.0 == all[start].0).count();
        // Ranks start + 1 ..= end share their mean.
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum_a += mid_rank * all[start..end].iter().filter(|entry| entry.1).count() as f64;
        let tied = (end - start) as f64;
        ties += tied * tied * tied - tied;
        start = end;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        return 0.0;
    }
    let distance = u - n1 * n2 / 2.0;
    let corrected = distance.signum() * (distance.abs() - 0.5).max(0.0);
    corrected / variance.sqrt()
}

/// The two-sided p-value of a standard normal `z`.
fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// The complementary error function for x >= 0, within 1.5e-7 (Abramowitz and Stegun 7.1.26).
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let polynomial = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    polynomial * (-x * x).exp()
}

/// The exact two-sided p-value of a sign test: `first` against `second` successes of a fair coin.
fn sign_test_p(first: u64, second: u64) -> f64 {
    let trials = first + second;
    let most = first.max(second);
    if trials == 0 {
        return 1.0;
    }
    // ln C(trials, most), then each further term from the one before, all in logarithms.
    let mut ln_choose: f64 = (1..=most).map(|j| ((trials - most + j) as f64 / j as f64).ln()).sum();
    let ln_half_power = trials as f64 * std::f64::consts::LN_2;
    let mut tail = 0.0;
    for successes in most..=trials {
        tail += (ln_choose - ln_half_power).exp();
        ln_choose += ((trials - successes) as f64 / (successes + 1) as f64).ln();
    }
    (2.0 * tail).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(channels: &mut SideChannels, pairs: &[(f64, f64)]) {
        for (foreign, missing) in pairs {
            let duration = |ms: f64| Duration::from_secs_f64(ms / 1000.0);
            channels.add_times(duration(*foreign), duration(*missing));
        }
    }

    /// `count` times spread like a loaded machine's: mostly near `base`, one in ten far above.
    fn jittered(count: usize, base: f64) -> Vec<f64> {
        let mut rng = rand::rng();
        (0..count)
            .map(|_| {
                let spike = if rng.random_bool(0.1) { rng.random_range(0.0..80.0) } else { 0.0 };
                base + rng.random_range(0.0..2.0) + spike
            })
            .collect()
    }

    #[test]
    fn the_statistics_match_known_values() {
        assert!((two_sided_p(1.959_964) - 0.05).abs() < 1e-6);
        assert!((two_sided_p(3.290_527) - 0.001).abs() < 1e-6);
        // 11 of 11 on one side: 2 / 2^11.
        assert!((sign_test_p(11, 0) - 2.0 / 2048.0).abs() < 1e-12);
        assert_eq!(sign_test_p(5, 5), 1.0);
        // 8 against 2: 2 * (45 + 10 + 1) / 1024.
        assert!((sign_test_p(2, 8) - 112.0 / 1024.0).abs() < 1e-12);
        // Completely separated samples of 3: U = 9, mean 4.5, variance 5.25.
        let z = mann_whitney_z(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]);
        assert!((z - 4.0 / 5.25_f64.sqrt()).abs() < 1e-12, "{z}");
        assert_eq!(mann_whitney_z(&[1.0, 1.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn foreign_drawers_50_ms_slower_are_a_leak() {
        let mut channels = SideChannels::default();
        let pairs: Vec<_> = jittered(60, 50.0).into_iter().zip(jittered(60, 0.5)).collect();
        times(&mut channels, &pairs);
        let report = channels.report();
        assert!(report.timing.as_ref().unwrap().leaks, "{report:?}");
        assert_eq!(report.leaks().len(), 1);
        assert!(report.leaks()[0].response.contains("Mann–Whitney"));
    }

    #[test]
    fn equal_times_with_a_loaded_machine_s_spikes_are_no_leak() {
        let mut reported = 0;
        for _ in 0..200 {
            let mut channels = SideChannels::default();
            let pairs: Vec<_> = jittered(200, 1.0).into_iter().zip(jittered(200, 1.0)).collect();
            times(&mut channels, &pairs);
            reported += usize::from(channels.report().timing.unwrap().leaks);
        }
        assert_eq!(reported, 0);
    }

    #[test]
    fn a_significant_but_tiny_difference_is_below_the_floor() {
        let mut channels = SideChannels::default();
        let pairs: Vec<_> = (0..2000).map(|i| (1.3 + f64::from(i % 7) * 0.01, 1.0)).collect();
        times(&mut channels, &pairs);
        let timing = channels.report().timing.unwrap();
        assert!(timing.p < FALSE_POSITIVE_RATE && !timing.leaks, "{timing:?}");
    }

    #[test]
    fn too_few_pairs_are_not_tested() {
        let mut channels = SideChannels::default();
        times(&mut channels, &[(90.0, 1.0); MIN_PAIRS - 1]);
        assert!(channels.report().timing.is_none());
    }

    #[test]
    fn held_back_on_the_foreign_side_only_is_a_leak_and_evenly_is_not() {
        let mut channels = SideChannels::default();
        for _ in 0..12 {
            channels.add_held_back(Side::Foreign);
        }
        assert!(channels.report().held_back.leaks);
        for _ in 0..12 {
            channels.add_held_back(Side::Missing);
        }
        let report = channels.report();
        assert!(!report.held_back.leaks);
        assert!(report.leaks().is_empty());
    }

    #[test]
    fn the_reservoir_keeps_a_bounded_sample_and_counts_all() {
        let mut reservoir = Reservoir::default();
        for value in 0..(KEPT + 500) {
            reservoir.add(value as f64);
        }
        assert_eq!((reservoir.kept.len(), reservoir.seen), (KEPT, (KEPT + 500) as u64));
    }
}
