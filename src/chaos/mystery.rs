//! Mystery mode: one incident of the catalogue, started without saying which, for a learner to
//! find from the dashboards, traces and logs alone, then name. While it is a secret, `GET
//! /faults` says only that a mystery is running; a right guess, or giving up (`reveal`), ends
//! the secrecy and tells the incident, its plan and how long the search took.
//!
//! This module keeps the mystery's state and answers; the injector runs its plan, disguised
//! (docs/incidents.md, "What a learner sees"), and the admin API serves it.

use super::incidents::{self, Incident, UnknownIncident};
use super::lazy::seconds;
use serde::Serialize;
use std::time::{Instant, SystemTime};

/// A mystery started, solved or not.
#[derive(Clone, Copy, Debug)]
pub struct Mystery {
    incident: &'static Incident,
    started: Instant,
    started_at: SystemTime,
    guesses: u32,
    /// When the secrecy ended, and whether by a right guess.
    ended: Option<(Instant, bool)>,
}

impl Mystery {
    pub fn new(incident: &'static Incident, started: Instant) -> Self {
        Self { incident, started, started_at: SystemTime::now(), guesses: 0, ended: None }
    }

    /// Whether it is still a secret.
    pub fn is_secret(&self) -> bool {
        self.ended.is_none()
    }

    /// What `POST /faults/mystery`, and `GET /faults` while it is a secret, say of it.
    pub fn running(&self) -> Running {
        Running {
            mystery: "running",
            started_at: humantime::format_rfc3339_millis(self.started_at).to_string(),
        }
    }

    /// A guess at `name`: right or wrong; a right one ends the secrecy. A name outside the
    /// catalogue is not counted as a guess.
    pub fn guess(&mut self, name: &str, now: Instant) -> Result<Guess, UnknownIncident> {
        incidents::find(name)?;
        self.guesses += 1;
        let right = name == self.incident.name;
        if right && self.ended.is_none() {
            self.ended = Some((now, true));
        }
        Ok(Guess { right, guesses: self.guesses, answer: right.then(|| self.answer(now)) })
    }

    /// Ends the secrecy (if a right guess has not) and tells all.
    pub fn reveal(&mut self, now: Instant) -> Answer {
        self.ended.get_or_insert((now, false));
        self.answer(now)
    }

    /// The incident and the time from the start to the end of the secrecy (or to `now`).
    pub fn answer(&self, now: Instant) -> Answer {
        let (end, solved) = self.ended.unwrap_or((now, false));
        Answer {
            name: self.incident.name,
            symptom: self.incident.symptom,
            plan: self.incident.plan,
            started_at: humantime::format_rfc3339_millis(self.started_at).to_string(),
            took_s: seconds(end.saturating_duration_since(self.started)),
            solved,
            guesses: self.guesses,
        }
    }
}

/// A secret mystery, as the admin API shows it: nothing but that it runs, and since when.
#[derive(Debug, Serialize)]
pub struct Running {
    /// Always `running`.
    pub mystery: &'static str,
    /// RFC 3339, UTC.
    pub started_at: String,
}

/// The answer to `POST /faults/guess`.
#[derive(Debug, Serialize)]
pub struct Guess {
    pub right: bool,
    /// Guesses so far, this one included.
    pub guesses: u32,
    /// After a right guess: the incident, its plan and the time taken.
    #[serde(flatten)]
    pub answer: Option<Answer>,
}

/// A mystery told: which incident it is, and how long finding it took.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub name: &'static str,
    pub symptom: &'static str,
    pub plan: &'static str,
    pub started_at: String,
    /// Seconds from the start to the right guess or the reveal.
    pub took_s: f64,
    /// Whether a right guess ended the secrecy (false: revealed).
    pub solved: bool,
    pub guesses: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_right_guess_tells_all_and_the_time_stops_there() {
        let start = Instant::now();
        let incident = incidents::find("slow-hashing").unwrap();
        let mut mystery = Mystery::new(incident, start);
        let wrong = mystery.guess("cpu-hog", start + Duration::from_secs(5)).unwrap();
        assert!(!wrong.right && wrong.answer.is_none());
        assert!(mystery.is_secret());
        assert!(mystery.guess("gremlins", start).is_err());
        let right = mystery.guess("slow-hashing", start + Duration::from_secs(42)).unwrap();
        assert_eq!((right.right, right.guesses), (true, 2));
        let answer = right.answer.unwrap();
        assert_eq!((answer.name, answer.took_s, answer.solved), ("slow-hashing", 42.0, true));
        assert!(!mystery.is_secret());
        let later = mystery.reveal(start + Duration::from_secs(100));
        assert_eq!((later.took_s, later.solved), (42.0, true), "the right guess stopped the clock");
    }

    #[test]
    fn a_reveal_ends_the_secrecy_unsolved() {
        let start = Instant::now();
        let mut mystery = Mystery::new(&incidents::CATALOGUE[0], start);
        let answer = mystery.reveal(start + Duration::from_millis(1500));
        assert_eq!((answer.took_s, answer.solved), (1.5, false));
        assert!(!mystery.is_secret());
        let guess =
            mystery.guess(incidents::CATALOGUE[0].name, start + Duration::from_secs(9)).unwrap();
        assert!(guess.right);
        assert_eq!(guess.answer.unwrap().took_s, 1.5, "a guess after the reveal solves nothing");
    }
}
