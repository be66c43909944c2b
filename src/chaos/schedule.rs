//! The incident schedule: unattended incidents from the catalogue, like lazy mode's schedule
//! but varied. `every 10m for 2..5m` starts an incident 10 minutes after the start and every 10
//! minutes after that, each lasting between 2 and 5 minutes, picked at random by dice of its
//! own (seeded by `SNACKDRAWER_INCIDENT_SEED`, else `SNACKDRAWER_FAULTS_SEED`), so that a seed
//! repeats the same incidents in the same order.
//!
//! The incidents it starts are not mysteries: their plans show in `GET /faults` like any
//! other, with the schedule and its next change.

use super::dice::Dice;
use super::incidents::Incident;
use super::lazy::seconds;
use super::plan::{self, Compact};
use serde::Serialize;
use std::fmt;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentSchedule {
    pub every: Duration,
    pub shortest: Duration,
    pub longest: Duration,
}

impl IncidentSchedule {
    /// `every 10m for 2..5m`, `every 10m for 2m..5m` or `every 10m for 3m`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let ["every", every, "for", lasting] = words[..] else {
            return Err(format!("{text:?} is not like \"every 10m for 2..5m\""));
        };
        let every = plan::parse_duration(every)?;
        let (shortest, longest) = match lasting.split_once("..") {
            Some((shortest, longest)) => {
                let longest = plan::parse_duration(longest)?;
                // `2..5m`: a bare lower bound takes the upper bound's unit.
                let unit = longest_unit(lasting);
                let shortest = match shortest.parse::<f64>() {
                    Ok(_) => plan::parse_duration(&format!("{shortest}{unit}"))?,
                    Err(_) => plan::parse_duration(shortest)?,
                };
                (shortest, longest)
            }
            None => {
                let lasting = plan::parse_duration(lasting)?;
                (lasting, lasting)
            }
        };
        if shortest.is_zero() || shortest > longest || longest >= every {
            return Err(format!(
                "{text:?}: an incident must last more than 0, its shortest no longer than its \
                 longest, and its longest less than the time between incidents"
            ));
        }
        Ok(Self { every, shortest, longest })
    }
}

/// The unit letters ending `text` (`m` of `2..5m`).
fn longest_unit(text: &str) -> &str {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    &text[digits.len()..]
}

impl fmt::Display for IncidentSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "every {} for {}", Compact(self.every), Compact(self.shortest))?;
        if self.longest > self.shortest {
            write!(f, "..{}", Compact(self.longest))?;
        }
        Ok(())
    }
}

/// A schedule that is running: its next change, and the incident it started, while on.
pub struct RunningIncidents {
    pub schedule: IncidentSchedule,
    /// When the next incident starts.
    pub next_start: Instant,
    /// The incident under way, and when it ends.
    pub current: Option<(&'static Incident, Instant)>,
    dice: Dice,
}

impl RunningIncidents {
    /// The first incident `every` after `now`.
    pub fn starting(schedule: IncidentSchedule, seed: Option<u64>, now: Instant) -> Self {
        Self { schedule, next_start: now + schedule.every, current: None, dice: Dice::new(seed) }
    }

    /// When the schedule next acts: the incident under way ends, or the next one starts.
    pub fn next_change(&self) -> Instant {
        self.current.map_or(self.next_start, |(_, end)| end)
    }

    /// An incident of `among` (not empty) starts at `now`: which, and until when.
    pub fn start(
        &mut self,
        now: Instant,
        among: &[&'static Incident],
    ) -> (&'static Incident, Instant) {
        let incident = among[self.dice.pick(among.len())];
        let spread = self.schedule.longest - self.schedule.shortest;
        let lasting = self.schedule.shortest + spread.mul_f64(self.dice.fraction());
        self.skip(now);
        self.current = Some((incident, now + lasting));
        (incident, now + lasting)
    }

    /// The incident due at `now` does not start. The next start is the first one after `now`,
    /// so a stalled process does not run the missed ones in a burst.
    pub fn skip(&mut self, now: Instant) {
        while self.next_start <= now {
            self.next_start += self.schedule.every;
        }
    }

    pub fn status(&self, now: Instant) -> IncidentScheduleStatus {
        let (next, at) = match self.current {
            Some((_, end)) => ("off", end),
            None => ("on", self.next_start),
        };
        IncidentScheduleStatus {
            text: self.schedule.to_string(),
            every_s: seconds(self.schedule.every),
            shortest_s: seconds(self.schedule.shortest),
            longest_s: seconds(self.schedule.longest),
            incident: self.current.map(|(incident, _)| incident.name),
            next,
            next_in_s: seconds(at.saturating_duration_since(now)),
        }
    }
}

/// The incident schedule in `GET /faults`: its settings, the incident under way, its next change.
#[derive(Debug, Serialize)]
pub struct IncidentScheduleStatus {
    /// As `--incident-schedule` takes it.
    pub text: String,
    pub every_s: f64,
    pub shortest_s: f64,
    pub longest_s: f64,
    /// The incident it started, while one is on.
    pub incident: Option<&'static str>,
    /// `on` (an incident starts) or `off` (the one under way ends).
    pub next: &'static str,
    pub next_in_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::incidents::runnable;

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn schedules_read_a_range_or_one_length() {
        let range = IncidentSchedule::parse("every 10m for 2..5m").unwrap();
        assert_eq!(
            range,
            IncidentSchedule { every: minutes(10), shortest: minutes(2), longest: minutes(5) }
        );
        assert_eq!(range.to_string(), "every 10m for 2m..5m");
        assert_eq!(IncidentSchedule::parse("every 10m for 2m..5m").unwrap(), range);
        let one = IncidentSchedule::parse("every 1m for 20s").unwrap();
        assert_eq!(one.to_string(), "every 1m for 20s");
        assert_eq!(
            IncidentSchedule::parse("every 1m for 20s..30s").unwrap().longest,
            Duration::from_secs(30)
        );
        for bad in [
            "every 10m for 5..2m",
            "every 5m for 2..5m",
            "every 10m",
            "every 10m for 0s",
            "every x for 1..2m",
        ] {
            assert!(IncidentSchedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_seed_repeats_the_incidents_and_their_lengths_stay_in_range() {
        let schedule = IncidentSchedule::parse("every 10m for 2..5m").unwrap();
        let start = Instant::now();
        let episodes = |seed| {
            let mut running = RunningIncidents::starting(schedule, Some(seed), start);
            (1..=20)
                .map(|n| {
                    let at = start + minutes(10 * n);
                    let (incident, end) = running.start(at, &runnable(true));
                    assert!((minutes(2)..=minutes(5)).contains(&(end - at)));
                    assert_eq!(running.next_start, at + minutes(10));
                    running.current = None;
                    (incident.name, end - at)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(episodes(7), episodes(7));
        assert_ne!(episodes(7), episodes(8));
    }

    #[test]
    fn only_the_incidents_it_is_given_are_picked() {
        let schedule = IncidentSchedule::parse("every 2m for 1m").unwrap();
        let start = Instant::now();
        let mut running = RunningIncidents::starting(schedule, Some(3), start);
        let without_pool = runnable(false);
        let picked: std::collections::BTreeSet<_> = (1..=200)
            .map(|n| {
                let (incident, _) = running.start(start + minutes(2 * n), &without_pool);
                running.current = None;
                incident.name
            })
            .collect();
        assert_eq!(picked.len(), without_pool.len(), "every one of them, in 200 draws");
        assert!(!picked.contains("pool-exhaustion"));
    }

    #[test]
    fn a_running_schedule_says_what_it_does_next() {
        let schedule = IncidentSchedule::parse("every 10m for 2..5m").unwrap();
        let start = Instant::now();
        let mut running = RunningIncidents::starting(schedule, Some(1), start);
        let status = running.status(start + minutes(4));
        assert_eq!((status.next, status.next_in_s, status.incident), ("on", 360.0, None));
        let (incident, end) = running.start(start + minutes(10), &runnable(true));
        let status = running.status(start + minutes(10));
        assert_eq!((status.next, status.incident), ("off", Some(incident.name)));
        assert_eq!(status.next_in_s, seconds(end - (start + minutes(10))));
        assert_eq!(running.next_change(), end);
    }
}
