//! The fault injector: the live plan and lazy mode, shared by every decorator and the admin
//! API, deciding for each call and request whether it gets a fault.
//!
//! Its hot path is `is_active`, one atomic load: while no rule is set and lazy mode is off,
//! the decorators ask nothing else. Every change (of plan or lazy state) goes through here,
//! so each is told to telemetry with who made it, and the active flag and gauges stay right.
//! It also owns what runs beside the requests: the plan's background faults (`background`)
//! and a mystery (`mystery`), whose plan it runs disguised: its injections are counted for the
//! reveal but not shown, so that only the service's own signals tell what is wrong.

use super::background::Background;
use super::dice::Dice;
use super::incidents::{self, Incident, UnknownIncident};
use super::lazy::{self, Laziness, LazySchedule, LazySettings, RunningSchedule, ScheduleStatus};
use super::mystery::{Answer, Guess, Mystery, Running};
use super::plan::{Fault, Plan, PlanError, RuleSpec};
use super::schedule::{IncidentSchedule, IncidentScheduleStatus, RunningIncidents};
use crate::ports::ConnectionPool;
use crate::telemetry::faults as shown;
use serde::Serialize;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
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

/// What a call or request gets: a delay first, then perhaps an outcome other than its own,
/// and a wait after a write (a slow commit).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Decision {
    pub delay: Duration,
    pub outcome: Option<Outcome>,
    pub after: Duration,
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
    /// Held while the plan changes, and while the schedule looks at the plan and the mystery
    /// before it changes them, so that a plan or a mystery set meanwhile cannot land between
    /// (locked after `incidents` when both are).
    changing: Mutex<()>,
    /// How many faults of each kind were injected into each target, for `GET /faults`. The
    /// targets are names the process made (port methods, and the routes as the telemetry
    /// names requests), never text a client sent, so the map is bounded.
    injected: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// The plan's background faults (CPU burn, leak, log flood, held connections), running.
    background: Mutex<Background>,
    /// The mystery, from its start until the plan is replaced or cleared.
    mystery: Mutex<Option<Mystery>>,
    /// While a mystery is a secret: its injections are not shown (`report`).
    disguised: AtomicBool,
    /// The incident schedule, until stopped; locked before `changing` (and so before the plan,
    /// the mystery and the background faults) when it starts or ends an incident.
    incidents: Mutex<Option<RunningIncidents>>,
    /// Wakes `run_incident_schedule` to end when the schedule is stopped.
    incidents_stopped: Notify,
}

#[derive(Clone, Copy)]
struct LazyState {
    laziness: Laziness,
    /// Who turned lazy mode on, to name when it ends by itself.
    by: ChangedBy,
}

/// What the injector knows of the request under way, while faults are active.
struct RequestFaults {
    /// Whether a fault was injected into it, or into a call it made.
    injected: Cell<bool>,
    /// The user its token named, once verified (for `user=` rules).
    user: Cell<Option<i64>>,
}

tokio::task_local! {
    /// Set while a request runs under active faults.
    static REQUEST: RequestFaults;
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
            changing: Mutex::default(),
            injected: Mutex::default(),
            background: Mutex::default(),
            mystery: Mutex::default(),
            disguised: AtomicBool::new(false),
            incidents: Mutex::default(),
            incidents_stopped: Notify::new(),
        };
        injector.refresh();
        injector
    }

    /// The same injector, running `schedule` of incidents, its dice seeded by `seed`.
    #[must_use]
    pub fn with_incident_schedule(self, schedule: IncidentSchedule, seed: Option<u64>) -> Self {
        *self.incidents_state() = Some(RunningIncidents::starting(schedule, seed, Instant::now()));
        self
    }

    /// The same injector, its `hold-connections` faults borrowing from `pool`.
    #[must_use]
    pub fn with_pool(self, pool: Arc<dyn ConnectionPool>) -> Self {
        self.background_state().pool = Some(pool);
        self
    }

    /// Whether anything may be injected now. When not, a decorator calls straight through.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Whether an injection is to be shown (counted, marked on spans and answers): always but
    /// while a mystery is a secret.
    pub fn shows_injections(&self) -> bool {
        !self.disguised.load(Ordering::Relaxed)
    }

    pub fn routes(&self) -> &'static [&'static str] {
        self.routes
    }

    pub fn parse_plan(&self, text: &str) -> Result<Plan, PlanError> {
        Plan::parse(text, self.routes)
    }

    /// A new plan, in force at once; a mystery under way ends, untold.
    pub fn replace_plan(&self, plan: Plan, by: ChangedBy) {
        let changing = self.changing();
        self.replace_plan_while(&changing, plan, by);
    }

    /// `replace_plan`, for a caller that holds `changing` already.
    fn replace_plan_while(&self, _changing: &MutexGuard<'_, ()>, plan: Plan, by: ChangedBy) {
        self.end_mystery(by);
        shown::plan_changed(&plan.to_string(), plan.rules.len(), by);
        self.install(plan);
    }

    /// `plan` in force, its background faults started and the old plan's stopped.
    fn install(&self, plan: Plan) {
        let started = self.background_state().replace(&plan);
        *self.plan.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(plan);
        for kind in started {
            self.count("process", kind);
            if self.shows_injections() {
                shown::process_fault_started(kind);
            }
        }
        self.refresh();
    }

    /// Starts one incident of the catalogue, picked at random (by `seed` when given), as a
    /// mystery: its plan replaces the plan in force, and what it injects is not shown until a
    /// right guess or a reveal.
    pub fn start_mystery(&self, seed: Option<u64>, by: ChangedBy) -> Running {
        let runnable = self.runnable_incidents();
        let pick = match seed {
            Some(seed) => Dice::new(Some(seed)).pick(runnable.len()),
            None => self.dice.pick(runnable.len()),
        };
        let incident = runnable[pick];
        let plan = incident.plan(self.routes).expect("the catalogue's plans parse (tested)");
        let _changing = self.changing();
        self.end_mystery(by);
        let mystery = Mystery::new(incident, Instant::now());
        let running = mystery.running();
        shown::mystery_started(by);
        self.disguised.store(true, Ordering::Relaxed);
        *self.mystery_state() = Some(mystery);
        self.install(plan);
        running
    }

    /// A guess at the mystery; a right one ends its secrecy.
    pub fn guess(&self, name: &str) -> Result<Guess, MysteryError> {
        let mut mystery = self.mystery_state();
        let mystery = mystery.as_mut().ok_or(MysteryError::NoMystery)?;
        let guess = mystery.guess(name, Instant::now())?;
        if let Some(answer) = &guess.answer {
            self.disguised.store(false, Ordering::Relaxed);
            shown::mystery_told(answer.name, answer.solved, answer.took_s);
        }
        Ok(guess)
    }

    /// Ends the mystery's secrecy and tells it.
    pub fn reveal(&self) -> Result<Answer, MysteryError> {
        let mut mystery = self.mystery_state();
        let mystery = mystery.as_mut().ok_or(MysteryError::NoMystery)?;
        let was_secret = mystery.is_secret();
        let answer = mystery.reveal(Instant::now());
        self.disguised.store(false, Ordering::Relaxed);
        if was_secret {
            shown::mystery_told(answer.name, answer.solved, answer.took_s);
        }
        Ok(answer)
    }

    /// The mystery, if any, is over: told or not, its plan is about to go.
    fn end_mystery(&self, by: ChangedBy) {
        let ended = self.mystery_state().take();
        self.disguised.store(false, Ordering::Relaxed);
        if ended.is_some_and(|mystery| mystery.is_secret()) {
            shown::mystery_abandoned(by);
        }
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

    /// No rules (their background faults stopped), no laziness (at once, no ramp), no mystery,
    /// and no lazy or incident schedule.
    pub fn clear(&self, by: ChangedBy) {
        self.take_schedule();
        self.take_incidents();
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

    /// No more incidents from the schedule; the one under way, if any, ends.
    pub fn stop_incidents(&self, by: ChangedBy) {
        if let Some((incident, _)) = self.take_incidents().and_then(|running| running.current) {
            self.end_scheduled(&self.changing(), incident, by);
        }
    }

    /// The incident schedule, taken away: its loop ends.
    fn take_incidents(&self) -> Option<RunningIncidents> {
        let taken = self.incidents_state().take();
        self.incidents_stopped.notify_one();
        taken
    }

    /// Runs the incident schedule, if there is one, until it is stopped.
    pub async fn run_incident_schedule(self: Arc<Self>) {
        loop {
            let Some(due) = self.incidents_state().as_ref().map(RunningIncidents::next_change)
            else {
                return;
            };
            tokio::select! {
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(due)) => {}
                () = self.incidents_stopped.notified() => {}
            }
            // Held while an incident starts or ends, so that a stop cannot slip in between.
            let mut incidents = self.incidents_state();
            let Some(running) = incidents.as_mut() else { return };
            let now = Instant::now();
            if now < running.next_change() {
                continue;
            }
            // Held from the look at the mystery and the plan to the change, so that neither
            // can be set in between.
            let changing = self.changing();
            match running.current.take() {
                Some((incident, _)) => {
                    self.end_scheduled(&changing, incident, ChangedBy::Schedule);
                }
                // A learner is at work: no incident on top of the mystery.
                None if self.mystery_state().is_some() => running.skip(now),
                None => {
                    let (incident, _) = running.start(now, &self.runnable_incidents());
                    let plan = incident.plan(self.routes).expect("the catalogue's plans parse");
                    self.replace_plan_while(&changing, plan, ChangedBy::Schedule);
                }
            }
        }
    }

    /// A scheduled incident is over: its plan goes, unless someone replaced it meanwhile, a
    /// mystery included (which may have drawn the same incident).
    fn end_scheduled(&self, changing: &MutexGuard<'_, ()>, incident: &Incident, by: ChangedBy) {
        let plan = incident.plan(self.routes).expect("the catalogue's plans parse");
        if self.mystery_state().is_none() && *self.plan() == plan {
            self.replace_plan_while(changing, Plan::default(), by);
        }
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
        // A mystery's plan counts as one rule, whatever its size, so the gauge says only that
        // something is armed.
        let shown_rules = if self.disguised.load(Ordering::Relaxed) { 1 } else { rules };
        let mut lazy = self.lazy_state();
        if let Some(until) = lazy.laziness.until().filter(|until| now >= *until) {
            lazy.laziness = lazy.laziness.turned_off(until, self.settings.ramp);
            shown::lazy_ended(lazy.by);
        }
        let level = lazy.laziness.level(now, self.settings.ramp);
        let lazy_now = lazy.laziness.is_on(now) || level > 0.0;
        drop(lazy);
        self.active.store(rules > 0 || lazy_now, Ordering::Relaxed);
        shown::fault_state(shown_rules, level);
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
        let user = REQUEST.try_with(|request| request.user.get()).ok().flatten();
        let rules = plan.rules.iter().filter(|rule| rule.hits_port_call(name, user));
        self.decide(name, rules.map(|rule| (rule.fault, rule.probability)))
    }

    /// The request under way is `user`'s (its token was verified), for `user=` rules.
    pub fn note_user(user: i64) {
        let _ = REQUEST.try_with(|request| request.user.set(Some(user)));
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
        let mut slow_commits = Vec::new();
        for (fault, probability) in faults {
            if !self.dice.chance(probability) {
                continue;
            }
            let (delay, outcome) = match fault {
                Fault::Latency(delay) => (Some(self.dice.delay(&delay)), None),
                Fault::SlowCommit(delay) => {
                    slow_commits.push((fault.kind(), self.dice.delay(&delay)));
                    continue;
                }
                Fault::Unavailable => (None, Some(Outcome::Unavailable)),
                Fault::Internal => (None, Some(Outcome::Internal)),
                Fault::Hang => (None, Some(Outcome::Hang)),
                Fault::ErrorAfter => (None, Some(Outcome::ErrorAfter)),
                // Run in the background (`install`); no call or request is targeted by them.
                Fault::CpuBurn { .. }
                | Fault::Leak { .. }
                | Fault::LogFlood { .. }
                | Fault::HoldConnections { .. } => continue,
            };
            if outcome.is_some() && decision.outcome.is_some() {
                continue;
            }
            decision.delay += delay.unwrap_or_default();
            decision.outcome = decision.outcome.or(outcome);
            self.report(target, fault.kind(), delay);
        }
        // A slow commit waits after the call has run: counted only when the call will run and
        // answer (no error in its place, no hang).
        if matches!(decision.outcome, None | Some(Outcome::ErrorAfter)) {
            for (kind, after) in slow_commits {
                decision.after += after;
                self.report(target, kind, Some(after));
            }
        }
        (decision != Decision::default()).then_some(decision)
    }

    /// Counts an injection for `GET /faults` and shows it (counter, span event, header),
    /// unless a mystery is a secret: then nothing tells it apart from a real failure.
    fn report(&self, target: &'static str, kind: &'static str, delay: Option<Duration>) {
        self.count(target, kind);
        if !self.shows_injections() {
            return;
        }
        let _ = REQUEST.try_with(|request| request.injected.set(true));
        shown::injected(target, kind, delay);
    }

    /// One injection of `kind` into `target`, for `GET /faults`.
    fn count(&self, target: &'static str, kind: &'static str) {
        *self
            .injected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((target, kind))
            .or_default() += 1;
    }

    /// Runs `request` noting whether a fault is injected into it (or into a port call it
    /// makes); returns that with its output.
    pub async fn watch<T>(request: impl Future<Output = T>, injected_already: bool) -> (T, bool) {
        let state = RequestFaults { injected: Cell::new(injected_already), user: Cell::new(None) };
        REQUEST
            .scope(state, async {
                let output = request.await;
                (output, REQUEST.with(|request| request.injected.get()))
            })
            .await
    }

    /// `GET /faults` as the admin API answers it: everything, or while a mystery is a secret,
    /// only that it runs.
    pub fn view(&self) -> View {
        let mystery = *self.mystery_state();
        match mystery {
            Some(mystery) if mystery.is_secret() => {
                View::Secret { active: self.is_active(), running: mystery.running() }
            }
            _ => View::Open(Box::new(self.status())),
        }
    }

    pub fn status(&self) -> Status {
        let now = Instant::now();
        let plan = self.plan();
        let schedule = *self.schedule_state();
        let lazy = *self.lazy_state();
        let episode_end = lazy.laziness.until().filter(|_| lazy.by == ChangedBy::Schedule);
        let mystery = *self.mystery_state();
        // Each lock is taken and let go in turn: the incident schedule holds its own while a
        // plan it installs reports to `injected`, so holding `injected` here while waiting for
        // the schedule's would deadlock.
        let incident_schedule = self.incidents_state().as_ref().map(|running| running.status(now));
        let injected = self
            .injected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(&(target, kind), &count)| Injected { target, kind, count })
            .collect();
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
            injected,
            mystery: mystery.map(|mystery| mystery.answer(now)),
            incident_schedule,
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

    fn mystery_state(&self) -> std::sync::MutexGuard<'_, Option<Mystery>> {
        self.mystery.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn incidents_state(&self) -> std::sync::MutexGuard<'_, Option<RunningIncidents>> {
        self.incidents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The incidents of the catalogue this service can run (its store's pool decides).
    fn runnable_incidents(&self) -> Vec<&'static Incident> {
        incidents::runnable(self.background_state().pool.is_some())
    }

    fn changing(&self) -> MutexGuard<'_, ()> {
        self.changing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn background_state(&self) -> std::sync::MutexGuard<'_, Background> {
        self.background.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a guess or a reveal has no answer.
#[derive(Debug, thiserror::Error)]
pub enum MysteryError {
    #[error("no mystery is running: start one with POST /faults/mystery")]
    NoMystery,
    #[error(transparent)]
    Unknown(#[from] UnknownIncident),
}

/// `GET /faults`, as the admin API shows it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum View {
    /// A mystery is a secret: that it runs, since when, and whether anything is armed.
    Secret {
        active: bool,
        #[serde(flatten)]
        running: Running,
    },
    Open(Box<Status>),
}

/// `GET /faults`: the plan, lazy mode and what was injected so far.
#[derive(Debug, Serialize)]
pub struct Status {
    pub active: bool,
    pub plan: PlanStatus,
    pub lazy: LazyStatus,
    pub injected: Vec<Injected>,
    /// The mystery whose plan is in force, once told (a right guess or a reveal).
    pub mystery: Option<Answer>,
    /// The incident schedule, until stopped.
    pub incident_schedule: Option<IncidentScheduleStatus>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::http::ROUTES;

    #[test]
    fn a_plan_set_while_a_mystery_starts_never_lands_between_the_two() {
        let injector = Arc::new(FaultInjector::new(ROUTES, LazySettings::default(), None, Some(5)));
        let plain = Plan::parse("* latency=1ms", ROUTES).unwrap();
        // A seed whose mystery starts no process fault, so the rounds start no threads.
        let runnable = incidents::runnable(false);
        let quiet = (0..)
            .find(|&seed| {
                let incident = runnable[Dice::new(Some(seed)).pick(runnable.len())];
                !incident.plan.starts_with("process ")
            })
            .unwrap();
        for _ in 0..2_000 {
            let together = Arc::new(std::sync::Barrier::new(2));
            let (mystery, plan) = (injector.clone(), injector.clone());
            let (plain_again, also_together) = (plain.clone(), together.clone());
            let starting = std::thread::spawn(move || {
                also_together.wait();
                mystery.start_mystery(Some(quiet), ChangedBy::Admin);
            });
            together.wait();
            plan.replace_plan(plain_again, ChangedBy::Admin);
            starting.join().unwrap();
            match injector.reveal() {
                Ok(answer) => assert_eq!(injector.plan().to_string(), answer.plan, "the mystery's"),
                Err(_) => assert_eq!(*injector.plan(), plain, "no mystery: the plan set"),
            }
        }
        injector.clear(ChangedBy::Admin);
    }
}
