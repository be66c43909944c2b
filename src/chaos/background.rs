//! Process-level faults: load the whole process carries rather than one call, as a runaway
//! loop, a leak, a chatty component or one that keeps the store's connections would. A
//! `process` rule of the plan (`cpu(…)`, `leak(…)`, `log-flood(…)`, `hold-connections(…)`)
//! starts one here, and the injector owns it: a new plan stops the old plan's, and
//! `DELETE /faults` stops them all.
//!
//! The first three run on threads of their own, not on tokio's workers, so that a CPU burn
//! competes for the cores as a noisy neighbour would, and they can start without a runtime.
//! Holding connections is waiting on the pool, so it is a task on the runtime, and starts only
//! where there is a runtime and a pool (not on the memory store). Each looks at its stop flag at
//! least every `TICK` and is bounded by its settings, which the plan checked (threads, share,
//! rate, cap and count). The leaked memory belongs to the leak's thread and the borrowed
//! connections to the holding task; both are given back when it ends.

use super::plan::{Fault, Plan};
use crate::ports::ConnectionPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How often each background fault looks at its stop flag; also the CPU burn's period.
const TICK: Duration = Duration::from_millis(100);

/// The page size the leak touches at, so every page it holds is resident.
const PAGE: usize = 4096;

/// What every background fault's thread is called (`worker-0`, …): a name that does not give a
/// mystery away in `top -H` or `/proc/<pid>/task/*/comm`.
const THREAD_NAME: &str = "worker";

/// The background faults of the plan in force.
pub struct Background {
    /// Raised to stop every thread and task the current plan started.
    stop: Option<Arc<AtomicBool>>,
    /// The start of its threads' names.
    thread_name: &'static str,
    /// The store's pool, which `hold-connections` borrows from; `None` on the memory store.
    pub pool: Option<Arc<dyn ConnectionPool>>,
}

impl Default for Background {
    fn default() -> Self {
        Self { stop: None, thread_name: THREAD_NAME, pool: None }
    }
}

impl Background {
    /// Stops the faults running, then starts `plan`'s; returns the kinds started.
    pub fn replace(&mut self, plan: &Plan) -> Vec<&'static str> {
        self.stop_all();
        let stop = Arc::new(AtomicBool::new(false));
        let mut started = Vec::new();
        let mut numbered = (0..).map(|n| format!("{}-{n}", self.thread_name));
        let mut name = move || numbered.next().unwrap_or_default();
        for rule in &plan.rules {
            let spawned = match rule.fault {
                Fault::CpuBurn { threads, share_percent } => {
                    let share = f64::from(share_percent) / 100.0;
                    let burners =
                        (0..threads).map(|_| spawn(&name(), &stop, move |s| burn(share, &s)));
                    burners.filter(|spawned| *spawned).count() == usize::from(threads)
                }
                Fault::Leak { bytes_per_second, cap } => {
                    spawn(&name(), &stop, move |s| leak(bytes_per_second, cap, &s))
                }
                Fault::LogFlood { lines_per_second } => {
                    spawn(&name(), &stop, move |s| flood(lines_per_second, &s))
                }
                Fault::HoldConnections { count } => {
                    match (&self.pool, tokio::runtime::Handle::try_current()) {
                        (Some(pool), Ok(runtime)) => {
                            runtime.spawn(hold(pool.clone(), count, Stop(stop.clone())));
                            true
                        }
                        _ => false,
                    }
                }
                _ => continue,
            };
            if spawned {
                started.push(rule.fault.kind());
            }
        }
        self.stop = Some(stop);
        started
    }

    /// Stops every background fault (each thread ends within a tick).
    pub fn stop_all(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Runs `work` on a thread named `name` until `stop` is raised; false (and a WARN) when the
/// system refuses a thread.
fn spawn(name: &str, stop: &Arc<AtomicBool>, work: impl FnOnce(Stop) + Send + 'static) -> bool {
    let stop = Stop(stop.clone());
    match thread::Builder::new().name(name.to_owned()).spawn(move || work(stop)) {
        Ok(_) => true,
        Err(error) => {
            tracing::warn!(%error, thread = name, "could not start a background fault");
            false
        }
    }
}

/// A background fault's stop flag.
struct Stop(Arc<AtomicBool>);

impl Stop {
    fn raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Busy for `share` of every tick, asleep for the rest.
fn burn(share: f64, stop: &Stop) {
    let busy = TICK.mul_f64(share);
    let mut spin = 0_u64;
    while !stop.raised() {
        let start = Instant::now();
        while start.elapsed() < busy {
            spin =
                std::hint::black_box(spin.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        thread::sleep(TICK.saturating_sub(busy));
    }
}

/// Holds `bytes_per_second` more every second, each page touched so it is resident, until
/// `cap`; frees it all when stopped.
fn leak(bytes_per_second: u64, cap: u64, stop: &Stop) {
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut total = 0_u64;
    let per_tick = (bytes_per_second as f64 * TICK.as_secs_f64()).ceil() as u64;
    while !stop.raised() {
        let grow = per_tick.min(cap - total);
        if grow > 0 {
            let mut block = vec![0_u8; usize::try_from(grow).unwrap_or(usize::MAX)];
            block.iter_mut().step_by(PAGE).for_each(|byte| *byte = 1);
            held.push(block);
            total += grow;
        }
        thread::sleep(TICK);
    }
    drop(held);
}

/// WARN lines at `lines_per_second`, written each tick. A tick never writes more than one
/// tick's worth: when the log's sink stalls, the lines it missed are dropped, not caught up
/// on, and a stop is seen within a tick. The line names no fault (target and message are a
/// chatty component's), so that it does not give a mystery away.
fn flood(lines_per_second: u32, stop: &Stop) {
    let per_tick = (f64::from(lines_per_second) * TICK.as_secs_f64()).ceil() as u64;
    let start = Instant::now();
    let mut written = 0_u64;
    while !stop.raised() {
        let due = (start.elapsed().as_secs_f64() * f64::from(lines_per_second)) as u64;
        written = written.max(due.saturating_sub(per_tick));
        while written < due && !stop.raised() {
            tracing::warn!(target: "snackdrawer::worker", task = written, "background task retried");
            written += 1;
        }
        thread::sleep(TICK);
    }
}

/// Borrows connections until it holds `count` (or all the pool has), taking each one as soon as
/// it is free, so the calls wait for what is left; gives them all back when stopped. It waits
/// for a connection a tick at a time, so it sees its stop flag every tick.
async fn hold(pool: Arc<dyn ConnectionPool>, count: u16, stop: Stop) {
    let mut loans = Vec::new();
    while !stop.raised() {
        if loans.len() < usize::from(count) {
            match tokio::time::timeout(TICK, pool.borrow()).await {
                Ok(Some(loan)) => loans.push(loan),
                // None was free for a tick: wait for one again at once.
                Err(_) => {}
                // The pool is closed, or refused: rest a tick.
                Ok(None) => tokio::time::sleep(TICK).await,
            }
        } else {
            tokio::time::sleep(TICK).await;
        }
    }
    drop(loans);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process's threads whose name starts with `prefix` (Linux names them in /proc).
    fn threads_named(prefix: &str) -> usize {
        let tasks = std::fs::read_dir("/proc/self/task").expect("Linux");
        tasks
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    fn cpu_seconds() -> f64 {
        let spent = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        spent.tv_sec as f64 + spent.tv_nsec as f64 / 1e9
    }

    #[test]
    fn background_faults_burn_and_every_one_stops_when_told() {
        let plan = Plan::parse(
            "process cpu(threads=2,share=100%); process leak(rate=1MiB/s,cap=1MiB); \
             process log-flood(rate=10/s)",
            &[],
        )
        .unwrap();
        // A name of this test's own, so that no other test's threads are counted.
        let mut background = Background::default();
        background.thread_name = "bg-test";
        let before = cpu_seconds();
        assert_eq!(background.replace(&plan), ["cpu", "leak", "log-flood"]);
        thread::sleep(TICK * 3);
        assert!(cpu_seconds() - before >= TICK.as_secs_f64(), "the burn uses CPU");
        if cfg!(target_os = "linux") {
            assert_eq!(threads_named("bg-test-"), 4);
        }
        background.replace(&Plan::default());
        thread::sleep(TICK * 3);
        if cfg!(target_os = "linux") {
            assert_eq!(threads_named("bg-test-"), 0, "a new plan stopped them all");
        }
    }
}
