//! The fault injector: the live plan and lazy mode, shared by every decorator and the admin
//! API, deciding for each call and request whether it gets a fault.
//!
//! Its hot path is `is_active`, one atomic load: while no rule is set and lazy mode is off,
//! the decorators ask nothing else. Every change (of plan or lazy state) goes through here,
//! so each is told to telemetry with who made it, and the active flag and gauges stay right.

use super::dice::Dice;
use super::lazy::{self, Laziness, LazySchedule, LazySettings, RunningSchedule, ScheduleStatus};
use super::plan::{Fault, Plan, PlanError, RuleSpec};
use crate::telemetry::faults as shown;
use serde::Serialize;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Who changed the plan or lazy mode, for the log line that says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangedBy {
    Start,
    Schedule,
    Admin,
}

impl fmt::Display for ChangedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Start => "start",
            Self::Schedule => "schedule",
            Self::Admin => "admin",
        })
    }
}

/// What a call or request gets: a delay first, then perhaps an outcome other than its own.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Decision {
    pub delay: Duration,
    pub outcome: Option<Outcome>,
}

/// An injected outcome, instead of (or, for `ErrorAfter`, after) the real one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Unavailable,
    Internal,
    Hang,
    ErrorAfter,
    /// Lazy mode's refusal: a 503 that says so.
    TooLazy,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "error=unavailable",
            Self::Internal => "error=internal",
            Self::Hang => "hang",
            Self::ErrorAfter => "error-after (the call itself went through)",
            Self::TooLazy => "too lazy (lazy mode)",
        })
    }
}

pub struct FaultInjector {
    /// Whether any rule is set or lazy mode is anything but off: the one thing read per call.
    active: AtomicBool,
    plan: RwLock<Arc<Plan>>,
    lazy: Mutex<LazyState>,
    settings: LazySettings,
    /// The lazy schedule, until stopped; locked before `lazy` when both are.
    schedule: Mutex<Option<RunningSchedule>>,
    /// Wakes `run_schedule` to end when the schedule is stopped.
    schedule_stopped: Notify,
    dice: Dice,
    /// The routes a plan may name.
    routes: &'static [&'static str],
    /// How many faults of each kind were injected into each target, for `GET /faults`. The
    /// targets are names the process made (port methods, and the routes as the telemetry
    /// names requests), never text a client sent, so the map is bounded.
    injected: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

#[derive(Clone, Copy)]
struct LazyState {
    laziness: Laziness,
    /// Who turned lazy mode on, to name when it ends by itself.
    by: ChangedBy,
}

tokio::task_local! {
    /// Set while a request runs under active faults: whether any was injected into it.
    static INJECTED: Cell<bool>;
}

impl FaultInjector {
    pub fn new(
        routes: &'static [&'static str],
        settings: LazySettings,
        schedule: Option<LazySchedule>,
        seed: Option<u64>,
    ) -> Self {
        let injector = Self {
            active: AtomicBool::new(false),
            plan: RwLock::default(),
            lazy: Mutex::new(LazyState {
                laziness: Laziness::off(Instant::now()),
                by: ChangedBy::Start,
            }),
            settings,
            schedule: Mutex::new(schedule.map(|s| RunningSchedule::starting(s, Instant::now()))),
            schedule_stopped: Notify::new(),
            dice: Dice::new(seed),
            routes,
            injected: Mutex::default(),
        };
        injector.refresh();
        injector
    }

    /// Whether anything may be injected now. When not, a decorator calls straight through.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    pub fn routes(&self) -> &'static [&'static str] {
        self.routes
    }

    pub fn parse_plan(&self, text: &str) -> Result<Plan, PlanError> {
        Plan::parse(text, self.routes)
    }

    pub fn replace_plan(&self, plan: Plan, by: ChangedBy) {
        shown::plan_changed(&plan.to_string(), plan.rules.len(), by);
        *self.plan.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(plan);
        self.refresh();
    }

    /// Lazy mode on, for `lasting` or until turned off, ramping in from the current level.
    pub fn lazy_on(&self, lasting: Option<Duration>, by: ChangedBy) {
        let now = Instant::now();
        let mut lazy = self.lazy_state();
        lazy.laziness = lazy.laziness.turned_on(now, lasting.map(|l| now + l), self.settings.ramp);
        lazy.by = by;
        shown::lazy_changed(true, lasting, self.settings, by);
        drop(lazy);
        self.refresh();
    }

    /// Lazy mode off, ramping out.
    pub fn lazy_off(&self, by: ChangedBy) {
        let now = Instant::now();
        let mut lazy = self.lazy_state();
        lazy.laziness = lazy.laziness.turned_off(now, self.settings.ramp);
        shown::lazy_changed(false, None, self.settings, by);
        drop(lazy);
        self.refresh();
    }

    /// No rules, no laziness (at once, no ramp) and no lazy schedule.
    pub fn clear(&self, by: ChangedBy) {
        self.take_schedule();
        *self.lazy_state() = LazyState { laziness: Laziness::off(Instant::now()), by };
        self.replace_plan(Plan::default(), by);
        shown::lazy_changed(false, None, self.settings, by);
    }

    /// No more lazy episodes; one the schedule started ends now (ramping out), lazy mode
    /// turned on otherwise stays. Nothing changes (or is logged) without a schedule.
    pub fn stop_schedule(&self, by: ChangedBy) {
        if self.take_schedule().is_none() {
            return;
        }
        let now = Instant::now();
        let mut lazy = self.lazy_state();
        if lazy.by == ChangedBy::Schedule && lazy.laziness.is_on(now) {
            lazy.laziness = lazy.laziness.turned_off(now, self.settings.ramp);
        }
        shown::lazy_changed(false, None, self.settings, by);
        drop(lazy);
        self.refresh();
    }

    fn take_schedule(&self) -> Option<RunningSchedule> {
        let taken = self.schedule_state().take();
        self.schedule_stopped.notify_one();
        taken
    }

    /// Brings the active flag and the gauges up to date with the time: a timed lazy episode
    /// ends, a ramp out finishes. Called after each change and every second or so.
    pub fn refresh(&self) {
        let now = Instant::now();
        let rules = self.plan().rules.len();
        let mut lazy = self.lazy_state();
        if let Some(until) = lazy.laziness.until().filter(|until| now >= *until) {
            lazy.laziness = lazy.laziness.turned_off(until, self.settings.ramp);
            shown::lazy_ended(lazy.by);
        }
        let level = lazy.laziness.level(now, self.settings.ramp);
        let lazy_now = lazy.laziness.is_on(now) || level > 0.0;
        drop(lazy);
        self.active.store(rules > 0 || lazy_now, Ordering::Relaxed);
        shown::fault_state(rules, level);
    }

    /// Runs the lazy schedule, if there is one, until it is stopped: an episode every
    /// `every`, the first one `every` after the injector was made.
    pub async fn run_schedule(self: Arc<Self>) {
        loop {
            let Some(running) = *self.schedule_state() else { return };
            let due = tokio::time::Instant::from_std(running.next_episode);
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = self.schedule_stopped.notified() => {}
            }
            // Held while the episode starts, so that a stop cannot slip in between.
            let mut schedule = self.schedule_state();
            let Some(running) = *schedule else { return };
            let now = Instant::now();
            if now >= running.next_episode {
                self.lazy_on(Some(running.schedule.lasting), ChangedBy::Schedule);
                *schedule = Some(running.advanced(now));
            }
        }
    }

    /// Refreshes every second, for ever.
    pub async fn run_refresh(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticks.tick().await;
            self.refresh();
        }
    }

    /// What a call of the port method `name` gets, if anything.
    pub fn port_call(&self, name: &'static str) -> Option<Decision> {
        let plan = self.plan();
        let rules = plan.rules.iter().filter(|rule| rule.target.hits_port_call(name));
        self.decide(name, rules.map(|rule| (rule.fault, rule.probability)))
    }

    /// What a request to `route` (`GET /drawers/{id}`) gets, if anything; lazy mode and `*`
    /// rules pass over `operational` routes (probes and metrics).
    pub fn request(&self, route: &'static str, operational: bool) -> Option<Decision> {
        let plan = self.plan();
        let rules = plan.rules.iter().filter(|rule| rule.target.hits_request(route, operational));
        let mut faults: Vec<(Fault, f64)> =
            rules.map(|rule| (rule.fault, rule.probability)).collect();
        let level = self.lazy_state().laziness.level(Instant::now(), self.settings.ramp);
        let lazy = level > 0.0 && !operational;
        if lazy {
            shown::lazy_request(level);
            faults.push((Fault::Latency(self.settings.nap), level * self.settings.nap_probability));
        }
        let mut decision = self.decide(route, faults.into_iter()).unwrap_or_default();
        if lazy
            && decision.outcome.is_none()
            && self.dice.chance(level * self.settings.refusal_probability)
        {
            decision.outcome = Some(Outcome::TooLazy);
            self.report(route, Fault::Unavailable.kind(), None);
        }
        (decision != Decision::default()).then_some(decision)
    }

    /// Every fault draws on its own; the delays of those that come up add up, and the first
    /// other one that comes up decides the outcome.
    fn decide(
        &self,
        target: &'static str,
        faults: impl Iterator<Item = (Fault, f64)>,
    ) -> Option<Decision> {
        let mut decision = Decision::default();
        for (fault, probability) in faults {
            if !self.dice.chance(probability) {
                continue;
            }
            let (delay, outcome) = match fault {
                Fault::Latency(delay) => (Some(self.dice.delay(&delay)), None),
                Fault::Unavailable => (None, Some(Outcome::Unavailable)),
                Fault::Internal => (None, Some(Outcome::Internal)),
                Fault::Hang => (None, Some(Outcome::Hang)),
                Fault::ErrorAfter => (None, Some(Outcome::ErrorAfter)),
            };
            if outcome.is_some() && decision.outcome.is_some() {
                continue;
            }
            decision.delay += delay.unwrap_or_default();
            decision.outcome = decision.outcome.or(outcome);
            self.report(target, fault.kind(), delay);
        }
        (decision != Decision::default()).then_some(decision)
    }

    fn report(&self, target: &'static str, kind: &'static str, delay: Option<Duration>) {
        *self
            .injected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((target, kind))
            .or_default() += 1;
        let _ = INJECTED.try_with(|injected| injected.set(true));
        shown::injected(target, kind, delay);
    }

    /// Runs `request` noting whether a fault is injected into it (or into a port call it
    /// makes); returns that with its output.
    pub async fn watch<T>(request: impl Future<Output = T>, injected_already: bool) -> (T, bool) {
        INJECTED
            .scope(Cell::new(injected_already), async {
                let output = request.await;
                (output, INJECTED.with(Cell::get))
            })
            .await
    }

    pub fn status(&self) -> Status {
        let now = Instant::now();
        let plan = self.plan();
        let schedule = *self.schedule_state();
        let lazy = *self.lazy_state();
        let episode_end = lazy.laziness.until().filter(|_| lazy.by == ChangedBy::Schedule);
        let injected = self.injected.lock().unwrap_or_else(PoisonError::into_inner);
        Status {
            active: self.is_active(),
            plan: PlanStatus { text: plan.to_string(), rules: plan.specs() },
            lazy: LazyStatus {
                on: lazy.laziness.is_on(now),
                level: lazy::thousandths(lazy.laziness.level(now, self.settings.ramp)),
                remaining_s: lazy
                    .laziness
                    .until()
                    .map(|until| lazy::seconds(until.saturating_duration_since(now))),
                schedule: schedule.map(|running| running.status(now, episode_end)),
                settings: self.settings.to_string(),
            },
            injected: injected
                .iter()
                .map(|(&(target, kind), &count)| Injected { target, kind, count })
                .collect(),
        }
    }

    fn plan(&self) -> Arc<Plan> {
        self.plan.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn schedule_state(&self) -> std::sync::MutexGuard<'_, Option<RunningSchedule>> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lazy_state(&self) -> std::sync::MutexGuard<'_, LazyState> {
        self.lazy.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `GET /faults`: the plan, lazy mode and what was injected so far.
#[derive(Debug, Serialize)]
pub struct Status {
    pub active: bool,
    pub plan: PlanStatus,
    pub lazy: LazyStatus,
    pub injected: Vec<Injected>,
}

#[derive(Debug, Serialize)]
pub struct PlanStatus {
    /// The compact form, as `--faults` takes it.
    pub text: String,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Serialize)]
pub struct LazyStatus {
    pub on: bool,
    /// 0 to 1: how far laziness has ramped in.
    pub level: f64,
    /// Seconds until a timed lazy episode ends.
    pub remaining_s: Option<f64>,
    /// The lazy schedule, until stopped.
    pub schedule: Option<ScheduleStatus>,
    pub settings: String,
}

#[derive(Debug, Serialize)]
pub struct Injected {
    pub target: &'static str,
    pub kind: &'static str,
    pub count: u64,
}
