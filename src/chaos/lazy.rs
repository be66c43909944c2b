//! Lazy mode: a preset that makes the whole API lazy. Each request, with some probability,
//! naps (a log-normal time) or refuses with 503 "too lazy". Laziness is a level from 0 to 1
//! that scales both probabilities and ramps in and out over a while, so that dashboards draw
//! a curve, as a real degradation would, rather than a step.
//!
//! The level is a pure function of the time, so it can be read on every request without a
//! timer and tested without waiting.

use super::plan::{self, Compact, Delay};
use serde::Serialize;
use std::fmt;
use std::time::{Duration, Instant};

/// How lazy the service gets at full laziness, and how fast it gets there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LazySettings {
    /// Of the requests, the share that naps.
    pub nap_probability: f64,
    pub nap: Delay,
    /// Of the requests, the share answered 503 "too lazy" with `Retry-After`.
    pub refusal_probability: f64,
    /// How long laziness takes to go from none to full, and back.
    pub ramp: Duration,
}

impl Default for LazySettings {
    fn default() -> Self {
        Self {
            nap_probability: 0.3,
            nap: Delay::LogNormal {
                median: Duration::from_millis(300),
                p99: Duration::from_secs(3),
            },
            refusal_probability: 0.02,
            ramp: Duration::from_secs(30),
        }
    }
}

impl fmt::Display for LazySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "naps p={} latency={}, refuses p={}, ramp {}",
            self.nap_probability,
            self.nap,
            self.refusal_probability,
            Compact(self.ramp)
        )
    }
}

/// Where laziness is heading, from when: a level at an anchor instant, moving at one full
/// ramp per `ramp` towards 1 while on (until `until`, if set) and towards 0 after.
#[derive(Clone, Copy, Debug)]
pub struct Laziness {
    anchor: Instant,
    anchor_level: f64,
    on: bool,
    until: Option<Instant>,
}

impl Laziness {
    pub fn off(now: Instant) -> Self {
        Self { anchor: now, anchor_level: 0.0, on: false, until: None }
    }

    /// Lazy from `now`, ramping up from wherever the level is, until `until` (or for good).
    pub fn turned_on(&self, now: Instant, until: Option<Instant>, ramp: Duration) -> Self {
        Self { anchor: now, anchor_level: self.level(now, ramp), on: true, until }
    }

    /// Ramping down from `now`.
    pub fn turned_off(&self, now: Instant, ramp: Duration) -> Self {
        Self { anchor: now, anchor_level: self.level(now, ramp), on: false, until: None }
    }

    /// Whether lazy mode is on at `now` (the level may still be ramping either way).
    pub fn is_on(&self, now: Instant) -> bool {
        self.on && self.until.is_none_or(|until| now < until)
    }

    /// When lazy mode turns itself off, if it is on for a while.
    pub fn until(&self) -> Option<Instant> {
        self.until.filter(|_| self.on)
    }

    /// How lazy the service is at `now`: 0 (not at all) to 1 (as lazy as the settings say).
    pub fn level(&self, now: Instant, ramp: Duration) -> f64 {
        let moved = |from: Instant, to: Instant| {
            let elapsed = to.saturating_duration_since(from);
            if ramp.is_zero() { 1.0 } else { elapsed.as_secs_f64() / ramp.as_secs_f64() }
        };
        if !self.on {
            return (self.anchor_level - moved(self.anchor, now)).max(0.0);
        }
        match self.until {
            Some(until) if now >= until => {
                let top = (self.anchor_level + moved(self.anchor, until)).min(1.0);
                (top - moved(until, now)).max(0.0)
            }
            _ => (self.anchor_level + moved(self.anchor, now)).min(1.0),
        }
    }
}

/// Unattended lazy episodes: `every 10m for 2m` is lazy for 2 minutes, starting 10 minutes
/// after the start and every 10 minutes after that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LazySchedule {
    pub every: Duration,
    pub lasting: Duration,
}

impl LazySchedule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let ["every", every, "for", lasting] = words[..] else {
            return Err(format!("{text:?} is not like \"every 10m for 2m\""));
        };
        let (every, lasting) = (plan::parse_duration(every)?, plan::parse_duration(lasting)?);
        if lasting.is_zero() || lasting >= every {
            return Err(format!(
                "{text:?}: an episode must be shorter than the time between episodes, and not empty"
            ));
        }
        Ok(Self { every, lasting })
    }
}

impl fmt::Display for LazySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "every {} for {}", Compact(self.every), Compact(self.lasting))
    }
}

/// A schedule that is running: when its next episode starts.
#[derive(Clone, Copy, Debug)]
pub struct RunningSchedule {
    pub schedule: LazySchedule,
    pub next_episode: Instant,
}

impl RunningSchedule {
    /// The first episode `every` after `now`.
    pub fn starting(schedule: LazySchedule, now: Instant) -> Self {
        Self { schedule, next_episode: now + schedule.every }
    }

    /// The episode due at `next_episode` has started (at `now`): the next one is the first
    /// start after `now`, so a stalled process does not run the missed episodes in a burst.
    pub fn advanced(self, now: Instant) -> Self {
        let mut next_episode = self.next_episode + self.schedule.every;
        while next_episode <= now {
            next_episode += self.schedule.every;
        }
        Self { next_episode, ..self }
    }

    /// For `GET /faults`, at `now`; `episode_end` is when the episode the schedule started
    /// ends, while one is on: that is its next change, else the next episode's start.
    pub fn status(&self, now: Instant, episode_end: Option<Instant>) -> ScheduleStatus {
        let (next, at) = match episode_end.filter(|end| *end > now) {
            Some(end) => ("off", end),
            None => ("on", self.next_episode),
        };
        ScheduleStatus {
            text: self.schedule.to_string(),
            every_s: seconds(self.schedule.every),
            for_s: seconds(self.schedule.lasting),
            next,
            next_in_s: seconds(at.saturating_duration_since(now)),
        }
    }
}

/// The schedule in `GET /faults`: its settings and its next change.
#[derive(Debug, Serialize)]
pub struct ScheduleStatus {
    /// As `--lazy-schedule` takes it: `every 10m for 2m`.
    pub text: String,
    pub every_s: f64,
    pub for_s: f64,
    /// What the schedule does next: `on` (an episode starts) or `off` (its episode ends).
    pub next: &'static str,
    pub next_in_s: f64,
}

/// Seconds to the millisecond, for JSON: `599.999` rather than `599.99994602`.
pub fn seconds(duration: Duration) -> f64 {
    duration.as_millis() as f64 / 1000.0
}

/// A level to three places, for JSON: `0.0` rather than `1.1465e-6`.
pub fn thousandths(level: f64) -> f64 {
    (level * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAMP: Duration = Duration::from_secs(30);

    fn secs(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }

    #[test]
    fn laziness_ramps_in_and_out_over_the_ramp() {
        let start = Instant::now();
        let lazy = Laziness::off(start).turned_on(start, None, RAMP);
        let level = |at: f64| lazy.level(start + secs(at), RAMP);
        assert_eq!(level(0.0), 0.0);
        assert!((level(15.0) - 0.5).abs() < 1e-9);
        assert_eq!(level(30.0), 1.0);
        assert_eq!(level(300.0), 1.0);

        let off = lazy.turned_off(start + secs(100.0), RAMP);
        let level = |at: f64| off.level(start + secs(at), RAMP);
        assert_eq!(level(100.0), 1.0);
        assert!((level(110.0) - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(level(130.0), 0.0);
        assert!(!off.is_on(start + secs(100.0)));
    }

    #[test]
    fn an_episode_ends_by_itself_and_ramps_out_from_where_it_got() {
        let start = Instant::now();
        let lazy = Laziness::off(start).turned_on(start, Some(start + secs(10.0)), RAMP);
        let level = |at: f64| lazy.level(start + secs(at), RAMP);
        assert!(lazy.is_on(start + secs(9.9)));
        assert!(!lazy.is_on(start + secs(10.0)));
        assert!((level(10.0) - 1.0 / 3.0).abs() < 1e-9, "it never got past a third");
        assert!((level(15.0) - 1.0 / 6.0).abs() < 1e-9);
        assert_eq!(level(20.0), 0.0);
    }

    #[test]
    fn turning_on_while_ramping_out_continues_from_the_current_level() {
        let start = Instant::now();
        let lazy = Laziness::off(start).turned_on(start, None, RAMP);
        let off = lazy.turned_off(start + secs(60.0), RAMP);
        let again = off.turned_on(start + secs(75.0), None, RAMP);
        assert!((again.level(start + secs(75.0), RAMP) - 0.5).abs() < 1e-9);
        assert_eq!(again.level(start + secs(90.0), RAMP), 1.0);
    }

    #[test]
    fn a_zero_ramp_is_a_step() {
        let start = Instant::now();
        let lazy = Laziness::off(start).turned_on(start, None, Duration::ZERO);
        assert_eq!(lazy.level(start, Duration::ZERO), 1.0);
        let off = lazy.turned_off(start, Duration::ZERO);
        assert_eq!(off.level(start, Duration::ZERO), 0.0);
    }

    #[test]
    fn schedules_read_every_and_for() {
        let schedule = LazySchedule::parse("every 10m for 2m").unwrap();
        assert_eq!(schedule, LazySchedule { every: secs(600.0), lasting: secs(120.0) });
        assert_eq!(schedule.to_string(), "every 10m for 2m");
        for bad in
            ["every 2m for 10m", "every 10m", "10m for 2m", "every 1m for 1m", "every x for 1s"]
        {
            assert!(LazySchedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_running_schedule_says_what_it_does_next() {
        let start = Instant::now();
        let schedule = LazySchedule::parse("every 10m for 2m").unwrap();
        let running = RunningSchedule::starting(schedule, start);
        let status = running.status(start + secs(100.0), None);
        assert_eq!((status.next, status.next_in_s), ("on", 500.0));
        assert_eq!((status.every_s, status.for_s), (600.0, 120.0));
        let episode_end = start + secs(720.0);
        let running = running.advanced(start + secs(600.0));
        assert_eq!(running.next_episode, start + secs(1200.0));
        let status = running.status(start + secs(600.000_123_4), Some(episode_end));
        assert_eq!((status.next, status.next_in_s), ("off", 119.999));
        let stalled = running.advanced(start + secs(3000.0));
        assert_eq!(stalled.next_episode, start + secs(3600.0), "no burst of missed episodes");
    }
}
