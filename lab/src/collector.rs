//! Once a second, everything the screen needs from outside: `/metrics`, the admin API's fault
//! status, Prometheus's rule readings (when one runs) and the processes' CPU and memory, fetched
//! side by side and written into the shared observations.

use crate::admin::{Admin, AdminRequest};
use crate::exposition;
use crate::procstat;
use crate::prometheus::Prometheus;
use crate::scrape::Scrape;
use crate::state::{Observed, ProcessLoad};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where to read from.
#[derive(Debug, Clone)]
pub struct Sources {
    pub metrics_url: String,
    pub admin: Option<Admin>,
    pub prometheus: Option<Prometheus>,
    /// The service's process, when the lab started it.
    pub service_pid: Option<u32>,
    /// Seconds of readings the golden signals cover.
    pub window_s: f64,
}

pub type Shared = Arc<Mutex<Observed>>;

pub fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Observed> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads every second until the runtime ends.
pub async fn run(sources: Sources, shared: Shared, started: Instant) {
    let client = reqwest::Client::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = CpuReadings::default();
    loop {
        ticker.tick().await;
        let at = started.elapsed().as_secs_f64();
        let metrics = read_metrics(&client, &sources.metrics_url);
        let faults = async {
            match &sources.admin {
                Some(admin) => Some(admin.send(&AdminRequest::Status).await),
                None => None,
            }
        };
        let rules = async {
            match &sources.prometheus {
                Some(prometheus) => Some(prometheus.read().await),
                None => None,
            }
        };
        let (metrics, faults, rules) = tokio::join!(metrics, faults, rules);
        let service_usage = sources.service_pid.and_then(procstat::usage);
        let lab_usage = procstat::own();
        let mut observed = lock(&shared);
        match metrics {
            Ok(scrape) => {
                // A service that exports its own process counters is read from them.
                let service_cpu =
                    scrape.gauges.process_cpu_seconds.or(service_usage.map(|u| u.cpu_seconds));
                observed.service =
                    ProcessLoad::between(last.service, service_cpu, at - last.at, service_usage);
                if let (None, Some(bytes)) = (service_usage, scrape.gauges.process_resident_bytes) {
                    observed.service.resident_bytes = Some(bytes);
                }
                last.service = service_cpu;
                observed.add_reading(at, scrape, sources.window_s);
                observed.scrape_error = None;
            }
            Err(error) => observed.scrape_error = Some(format!("{}: {error}", sources.metrics_url)),
        }
        let lab_cpu = lab_usage.map(|u| u.cpu_seconds);
        observed.lab = ProcessLoad::between(last.lab, lab_cpu, at - last.at, lab_usage);
        last.lab = lab_cpu;
        last.at = at;
        match faults {
            Some(Ok(status)) => {
                observed.set_faults(at, status);
                observed.admin_error = None;
            }
            Some(Err(error)) => observed.admin_error = Some(error.to_string()),
            None => {}
        }
        if let Some(answer) = rules {
            // When the answer came, not when the tick began: a read that hung until its
            // timeout counts as that much silence.
            let answered = started.elapsed().as_secs_f64();
            observed.set_rules(answered, answer.map_err(|error| format!("Prometheus: {error}")));
        }
    }
}

/// The CPU seconds of the service and of the lab at the previous tick, and when that was.
#[derive(Debug, Default)]
struct CpuReadings {
    service: Option<f64>,
    lab: Option<f64>,
    at: f64,
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Exposition(#[from] exposition::ExpositionError),
}

async fn read_metrics(client: &reqwest::Client, url: &str) -> Result<Scrape, ReadError> {
    let text = client
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(Scrape::from_samples(&exposition::parse(&text)?))
}
