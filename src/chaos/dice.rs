//! The dice: every random choice fault injection makes (does this call get the fault, how long
//! is this delay) comes from one generator, so `SNACKDRAWER_FAULTS_SEED` makes a run's draws
//! repeatable. Draws happen only while some fault is active.

use super::plan::Delay;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use std::sync::Mutex;
use std::time::Duration;

/// The standard normal's 99th percentile: a log-normal's p99 is `median × e^(σ × Z99)`.
const Z99: f64 = 2.326_347_874_040_841;

pub struct Dice(Mutex<StdRng>);

impl Dice {
    /// Seeded for repeatable draws, or from the operating system's entropy.
    pub fn new(seed: Option<u64>) -> Self {
        Self(Mutex::new(seed.map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64)))
    }

    /// True with probability `p` (always for 1).
    pub fn chance(&self, p: f64) -> bool {
        p >= 1.0 || (p > 0.0 && self.rng().random_bool(p))
    }

    /// One delay drawn from `delay`.
    pub fn delay(&self, delay: &Delay) -> Duration {
        match *delay {
            Delay::Fixed(fixed) => fixed,
            Delay::Jitter { base, spread } => {
                let offset = self.rng().random_range(-1.0..=1.0) * spread.as_secs_f64();
                Duration::from_secs_f64((base.as_secs_f64() + offset).max(0.0))
            }
            Delay::LogNormal { median, p99 } => {
                let mu = median.as_secs_f64().ln();
                let sigma = (p99.as_secs_f64() / median.as_secs_f64()).ln() / Z99;
                let distribution =
                    LogNormal::new(mu, sigma).expect("a plan's log-normal has 0 < median < p99");
                Duration::from_secs_f64(distribution.sample(&mut *self.rng()))
            }
        }
    }

    /// One of `0..count`, each as likely (`count` > 0).
    pub fn pick(&self, count: usize) -> usize {
        self.rng().random_range(0..count)
    }

    /// A fraction in `[0, 1)`, each as likely.
    pub fn fraction(&self) -> f64 {
        self.rng().random::<f64>()
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn percentile(sorted: &[Duration], p: f64) -> f64 {
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64()
    }

    #[test]
    fn log_normal_draws_have_the_asked_median_and_p99() {
        let dice = Dice::new(Some(7));
        let delay = Delay::LogNormal { median: ms(300), p99: ms(3000) };
        let mut draws: Vec<_> = (0..20_000).map(|_| dice.delay(&delay)).collect();
        draws.sort();
        let (median, p99) = (percentile(&draws, 0.5), percentile(&draws, 0.99));
        assert!((median / 0.3 - 1.0).abs() < 0.05, "median {median}");
        assert!((p99 / 3.0 - 1.0).abs() < 0.12, "p99 {p99}");
    }

    #[test]
    fn jitter_stays_within_its_spread_and_fills_it() {
        let dice = Dice::new(Some(7));
        let delay = Delay::Jitter { base: ms(200), spread: ms(50) };
        let draws: Vec<_> = (0..5_000).map(|_| dice.delay(&delay)).collect();
        assert!(draws.iter().all(|d| (ms(150)..=ms(250)).contains(d)));
        assert!(draws.iter().any(|d| *d < ms(160)) && draws.iter().any(|d| *d > ms(240)));
        let floor = Delay::Jitter { base: ms(10), spread: ms(50) };
        assert!((0..1_000).all(|_| dice.delay(&floor) <= ms(60)));
    }

    #[test]
    fn chances_come_up_at_their_probability() {
        let dice = Dice::new(Some(7));
        let hits = (0..100_000).filter(|_| dice.chance(0.02)).count();
        assert!((1_800..=2_200).contains(&hits), "{hits} of 100000 at p=0.02");
        assert!((0..1_000).all(|_| dice.chance(1.0)));
        assert!((0..1_000).all(|_| !dice.chance(0.0)));
    }

    #[test]
    fn a_seed_repeats_the_draws() {
        let delay = Delay::LogNormal { median: ms(300), p99: ms(3000) };
        let draws = |dice: Dice| -> Vec<_> {
            (0..100).map(|_| (dice.chance(0.5), dice.delay(&delay))).collect()
        };
        assert_eq!(draws(Dice::new(Some(42))), draws(Dice::new(Some(42))));
        assert_ne!(draws(Dice::new(Some(42))), draws(Dice::new(Some(43))));
    }
}
