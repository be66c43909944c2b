//! Whether the run got going. A run whose users mostly never signed up, or whose logins mostly
//! failed, checked nothing, and "no violations" would be a lie: 100 of 100 sign-ups refused with
//! 503 once passed as a clean run. So every sign-up and every later login of a persona is
//! counted here, with the status of the answer that ended it when it failed, and the run fails
//! (exit 3) with the reason when most failed. Failures an injected fault caused (an answer marked
//! `x-fault-injected`) are counted apart and never fail the run: the service was told to fail.

use serde::Serialize;
use std::collections::BTreeMap;

/// Logins after sign-up (a snacker's token expired) needed before their failures can stall a run.
const MIN_LOGINS: u64 = 10;

/// How the users' sign-ups and later logins went.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StartUp {
    /// Users that began signing up.
    pub users: u64,
    /// Of them, those that got an account and a token.
    pub got_going: u64,
    /// Logins after sign-up, and how many failed.
    pub logins: u64,
    pub logins_failed: u64,
    /// Sign-ups and logins that failed because of an injected fault: left out of the verdict.
    pub sign_ups_failed_by_injected_faults: u64,
    pub logins_failed_by_injected_faults: u64,
    /// The other failures by the status of the answer that ended them (`no answer` when none
    /// came).
    pub failures: BTreeMap<String, u64>,
}

/// How one sign-up or login ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Failed with this status, `None` without an answer.
    Failed(Option<u16>),
    FailedByInjectedFault,
}

impl StartUp {
    pub fn begin_sign_up(&mut self) {
        self.users += 1;
    }

    pub fn end_sign_up(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Succeeded => self.got_going += 1,
            Outcome::FailedByInjectedFault => self.sign_ups_failed_by_injected_faults += 1,
            Outcome::Failed(status) => self.count_failure(status),
        }
    }

    pub fn add_login(&mut self, outcome: Outcome) {
        self.logins += 1;
        match outcome {
            Outcome::Succeeded => {}
            Outcome::FailedByInjectedFault => self.logins_failed_by_injected_faults += 1,
            Outcome::Failed(status) => {
                self.logins_failed += 1;
                self.count_failure(status);
            }
        }
    }

    fn count_failure(&mut self, status: Option<u16>) {
        let status = status.map_or_else(|| "no answer".to_owned(), |code| code.to_string());
        *self.failures.entry(status).or_default() += 1;
    }

    /// Why the run checked too little to pass, if most users never got going or most logins
    /// failed; with the likely cause when the login limits answered most of the failures.
    pub fn stalled(&self) -> Option<String> {
        let judged_users = self.users.saturating_sub(self.sign_ups_failed_by_injected_faults);
        let stuck = judged_users.saturating_sub(self.got_going);
        let mut reasons = vec![];
        if stuck * 2 > judged_users {
            reasons.push(format!("{stuck} of {} users never got going", self.users));
        }
        let judged_logins = self.logins.saturating_sub(self.logins_failed_by_injected_faults);
        if judged_logins >= MIN_LOGINS && self.logins_failed * 2 > judged_logins {
            reasons.push(format!("{} of {} later logins failed", self.logins_failed, self.logins));
        }
        if reasons.is_empty() {
            return None;
        }
        let failed: u64 = self.failures.values().sum();
        let by_status = self.failures.iter().map(|(status, count)| format!("{count} × {status}"));
        let mut text =
            format!("{} ({})", reasons.join(", "), by_status.collect::<Vec<_>>().join(", "));
        if self.failures.get("429").is_some_and(|limited| limited * 2 > failed) {
            text.push_str("; login limits are on: set SNACKDRAWER_LOGIN_LIMITS=false");
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_ups(outcomes: &[Outcome]) -> StartUp {
        let mut start_up = StartUp::default();
        for outcome in outcomes {
            start_up.begin_sign_up();
            start_up.end_sign_up(*outcome);
        }
        start_up
    }

    #[test]
    fn a_run_whose_users_got_going_is_not_stalled() {
        let start_up =
            sign_ups(&[Outcome::Succeeded, Outcome::Succeeded, Outcome::Failed(Some(503))]);
        assert_eq!(start_up.stalled(), None);
    }

    #[test]
    fn most_sign_ups_refused_stall_the_run_with_their_statuses() {
        let start_up = sign_ups(&[Outcome::Failed(Some(503)); 100]);
        assert_eq!(start_up.stalled().unwrap(), "100 of 100 users never got going (100 × 503)");
    }

    #[test]
    fn login_limits_are_named_when_429s_dominate() {
        let mut outcomes = vec![Outcome::Failed(Some(429)); 3];
        outcomes.push(Outcome::Failed(None));
        let stalled = sign_ups(&outcomes).stalled().unwrap();
        assert!(stalled.ends_with("login limits are on: set SNACKDRAWER_LOGIN_LIMITS=false"));
        assert!(stalled.contains("3 × 429"), "{stalled}");
    }

    #[test]
    fn most_later_logins_failing_stall_the_run() {
        let mut start_up = sign_ups(&[Outcome::Succeeded; 4]);
        for _ in 0..6 {
            start_up.add_login(Outcome::Failed(Some(429)));
        }
        for _ in 0..4 {
            start_up.add_login(Outcome::Succeeded);
        }
        assert!(start_up.stalled().unwrap().starts_with("6 of 10 later logins failed"));
    }

    #[test]
    fn injected_faults_never_stall_a_run() {
        let mut outcomes = vec![Outcome::FailedByInjectedFault; 9];
        outcomes.push(Outcome::Succeeded);
        let mut start_up = sign_ups(&outcomes);
        for _ in 0..20 {
            start_up.add_login(Outcome::FailedByInjectedFault);
        }
        assert_eq!(start_up.stalled(), None);
        let faults = (
            start_up.sign_ups_failed_by_injected_faults,
            start_up.logins_failed_by_injected_faults,
        );
        assert_eq!(faults, (9, 20));
    }
}
