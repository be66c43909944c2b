//! The fault injection section: a plan of faults at start, and lazy mode with its numbers and
//! its schedule. docs/faults.md explains each.

use super::values::{Setting, duration, number, probability};
use crate::chaos::lazy::{LazySchedule, LazySettings};
use crate::chaos::plan;
use crate::chaos::schedule::IncidentSchedule;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};
use std::path::PathBuf;
use std::time::Duration;

/// Lazy naps and ramps, like the durations of a fault plan, last at most a day.
const DAY: Duration = Duration::from_secs(86_400);

#[derive(Debug, Clone, PartialEq, Args)]
#[command(next_help_heading = "Fault injection (docs/faults.md)")]
pub struct FaultSettings {
    /// A fault plan: rules separated by `;`, each `TARGET FAULT [p=PROBABILITY]`, e.g.
    /// `DrawerRepository::add_snack error=unavailable p=0.1; GET /snacks/ latency=200ms±50ms`.
    #[arg(long, env = "SNACKDRAWER_FAULTS")]
    pub faults: Option<String>,

    /// A fault plan in a TOML file (`[[rules]]` with target, fault, probability).
    #[arg(long, env = "SNACKDRAWER_FAULTS_FILE", conflicts_with = "faults")]
    pub faults_file: Option<PathBuf>,

    /// Seed for the random draws of fault injection, to make them repeatable.
    #[arg(long, env = "SNACKDRAWER_FAULTS_SEED", value_parser = number(0_u64..))]
    pub faults_seed: Option<u64>,

    /// Incidents from the catalogue, unattended: `every 10m for 2..5m` (docs/incidents.md).
    #[arg(long, env = "SNACKDRAWER_INCIDENT_SCHEDULE",
          value_parser = Setting::new(IncidentSchedule::parse))]
    pub incident_schedule: Option<IncidentSchedule>,

    /// Seed for the incident schedule's picks and lengths (else --faults-seed's).
    #[arg(long, env = "SNACKDRAWER_INCIDENT_SEED", value_parser = number(0_u64..))]
    pub incident_seed: Option<u64>,

    /// Start lazy: requests nap now and then, and a few are refused with 503.
    /// The variable takes on/off (or true/false).
    #[arg(long, env = "SNACKDRAWER_LAZY", action = ArgAction::SetTrue,
          value_parser = BoolishValueParser::new())]
    pub lazy: bool,

    /// Lazy episodes, unattended: `every 10m for 2m` (the first one after the first 10m).
    #[arg(long, env = "SNACKDRAWER_LAZY_SCHEDULE", value_parser = Setting::new(LazySchedule::parse))]
    pub lazy_schedule: Option<LazySchedule>,

    /// In lazy mode, the share of requests that nap.
    #[arg(long, env = "SNACKDRAWER_LAZY_NAP_PROBABILITY", default_value = "0.3",
          value_parser = probability())]
    pub lazy_nap_probability: f64,

    /// In lazy mode, the median nap (naps are log-normal).
    #[arg(long, env = "SNACKDRAWER_LAZY_NAP_MEDIAN", default_value = "300ms",
          value_parser = duration(Duration::ZERO, DAY))]
    pub lazy_nap_median: Duration,

    /// In lazy mode, the 99th percentile of naps.
    #[arg(long, env = "SNACKDRAWER_LAZY_NAP_P99", default_value = "3s",
          value_parser = duration(Duration::ZERO, DAY))]
    pub lazy_nap_p99: Duration,

    /// In lazy mode, the share of requests refused with 503 "too lazy" and Retry-After.
    #[arg(long, env = "SNACKDRAWER_LAZY_REFUSAL_PROBABILITY", default_value = "0.02",
          value_parser = probability())]
    pub lazy_refusal_probability: f64,

    /// How long laziness takes to ramp in, and out again (0s: at once).
    #[arg(long, env = "SNACKDRAWER_LAZY_RAMP", default_value = "30s",
          value_parser = duration(Duration::ZERO, DAY))]
    pub lazy_ramp: Duration,
}

impl FaultSettings {
    /// Whether fault injection is built into the running service: a plan, lazy mode or its
    /// schedule was given, or the admin API (`admin_on`) may set them. Otherwise no decorator
    /// is in place.
    pub fn armed(&self, admin_on: bool) -> bool {
        self.faults.is_some()
            || self.faults_file.is_some()
            || self.lazy
            || self.lazy_schedule.is_some()
            || self.incident_schedule.is_some()
            || admin_on
    }

    pub fn lazy_settings(&self) -> Result<LazySettings, String> {
        Ok(LazySettings {
            nap_probability: self.lazy_nap_probability,
            nap: plan::log_normal(self.lazy_nap_median, self.lazy_nap_p99)
                .map_err(|problem| format!("lazy naps: {problem}"))?,
            refusal_probability: self.lazy_refusal_probability,
            ramp: self.lazy_ramp,
        })
    }
}
