//! The limits section: how hard logins may be tried (per username and per client address),
//! how fast one user may write, and how long the lists may grow.

use super::values::{duration, number};
use crate::adapters::http::AddressLimits;
use crate::adapters::throttle::BackoffSettings;
use crate::adapters::write_rate::WriteRateSettings;
use crate::domain::ListLimits;
use clap::{ArgAction, Args};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitSettings {
    /// Turn off both login limits (per username and per address), for load generators that sign
    /// many users up and guess passwords from one address. The variable takes true/false.
    #[arg(long = "no-login-limits", env = "SNACKDRAWER_LOGIN_LIMITS", action = ArgAction::SetFalse)]
    pub login_limits: bool,

    /// Failed logins in a row for one username before each further one must wait: 1 s, then
    /// twice as long each time, up to --login-backoff-max. The right password resets the count.
    #[arg(long, env = "SNACKDRAWER_LOGIN_FREE_FAILURES", default_value_t = 5,
          value_parser = number(0_u32..=1000))]
    pub login_free_failures: u32,

    /// Longest wait between failed logins for one username; failures are forgotten after
    /// twice this without one. 0 turns the per-username throttle off.
    #[arg(long, env = "SNACKDRAWER_LOGIN_BACKOFF_MAX", default_value = "5m",
          value_parser = duration(Duration::ZERO, Duration::from_secs(86_400)))]
    pub login_backoff_max: Duration,

    /// Register and login requests per second one client address may send, after a burst of
    /// --password-burst-per-address; beyond it they answer 429. 0 turns the limit off.
    #[arg(long, env = "SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS", default_value_t = 1,
          value_parser = number(0_u32..=100_000))]
    pub password_rate_per_address: u32,

    /// Register and login requests one client address may send at once before the rate
    /// applies.
    #[arg(long, env = "SNACKDRAWER_PASSWORD_BURST_PER_ADDRESS", default_value_t = 5,
          value_parser = number(1_u32..=100_000))]
    pub password_burst_per_address: u32,

    /// Writes per second one user may make to the lists (adding snacks, creating and deleting
    /// drawers, filling and emptying them), after a burst of --write-burst-per-user; beyond it
    /// they answer 429. 0 turns the limit off.
    #[arg(long, env = "SNACKDRAWER_WRITE_RATE_PER_USER", default_value_t = 10,
          value_parser = number(0_u32..=100_000))]
    pub write_rate_per_user: u32,

    /// Writes one user may make at once before the rate applies.
    #[arg(long, env = "SNACKDRAWER_WRITE_BURST_PER_USER", default_value_t = 20,
          value_parser = number(1_u32..=100_000))]
    pub write_burst_per_user: u32,

    /// Most snacks the catalogue may hold; adding one more answers 409.
    #[arg(long, env = "SNACKDRAWER_MAX_CATALOGUE_SNACKS", default_value_t = 10_000,
          value_parser = number(1_u32..=1_000_000))]
    pub max_catalogue_snacks: u32,

    /// Most drawers one user may have; creating one more answers 409.
    #[arg(long, env = "SNACKDRAWER_MAX_DRAWERS_PER_USER", default_value_t = 1_000,
          value_parser = number(1_u32..=1_000_000))]
    pub max_drawers_per_user: u32,

    /// Most snacks one drawer may hold; putting one more in answers 409.
    #[arg(long, env = "SNACKDRAWER_MAX_SNACKS_PER_DRAWER", default_value_t = 1_000,
          value_parser = number(1_u32..=1_000_000))]
    pub max_snacks_per_drawer: u32,
}

impl LimitSettings {
    /// The per-username login throttle: off (no wait ever) when login limits are.
    pub fn login_backoff(&self) -> BackoffSettings {
        BackoffSettings {
            free_failures: self.login_free_failures,
            longest_wait: if self.login_limits { self.login_backoff_max } else { Duration::ZERO },
        }
    }

    /// The per-address limit on the password routes: off when login limits are.
    pub fn address_limits(&self) -> AddressLimits {
        if !self.login_limits {
            return AddressLimits::OFF;
        }
        AddressLimits {
            per_second: self.password_rate_per_address,
            burst: self.password_burst_per_address,
        }
    }

    pub fn write_rate(&self) -> WriteRateSettings {
        WriteRateSettings { per_second: self.write_rate_per_user, burst: self.write_burst_per_user }
    }

    pub fn list_limits(&self) -> ListLimits {
        ListLimits {
            catalogue: self.max_catalogue_snacks,
            drawers_per_user: self.max_drawers_per_user,
            snacks_per_drawer: self.max_snacks_per_drawer,
        }
    }
}
