//! Configuration: every setting is a command-line flag and an environment variable, read once
//! at start by clap. `snackdrawer --help` is the reference; docs/operations.md#settings repeats it.

use crate::chaos::admin::AdminToken;
use crate::chaos::client::FaultsAction;
use crate::chaos::lazy::{LazySchedule, LazySettings};
use crate::chaos::plan;
use crate::telemetry::honeycomb::{self, HoneycombKey};
use clap::builder::{BoolishValueParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsStr;
use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "snackdrawer",
    version,
    about = "A REST API for snacks and drawers, built to be watched: metrics, traces and logs \
             for every request.",
    long_about = None,
    after_help = "Every option can also be set through the environment variable shown with it; \
                  a flag wins over the variable. Without a command, snackdrawer serves."
)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address and port to serve HTTP on. Port 0 picks a free port (logged at start).
    #[arg(long, env = "SNACKDRAWER_LISTEN", default_value = "0.0.0.0:8000", global = true)]
    pub listen: String,

    /// Where data lives: `sqlite://FILE?mode=rwc` (created on first start), `postgres://…`, or
    /// `memory` (kept in this process, lost on exit).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://snackdrawer.db?mode=rwc",
          hide_env_values = true, value_parser = Secret(StoreUrl::parse), global = true)]
    pub database_url: StoreUrl,

    /// Most database connections this process opens.
    #[arg(long, env = "SNACKDRAWER_DB_MAX_CONNECTIONS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_max_connections: u32,

    /// Seconds a request waits for a database connection before it answers 503
    /// (decimals allowed, e.g. 0.5).
    #[arg(long, env = "SNACKDRAWER_DB_ACQUIRE_TIMEOUT", default_value = "2",
          value_parser = parse_seconds, global = true)]
    pub db_acquire_timeout: Duration,

    /// Seconds one database statement may run: PostgreSQL cancels it after that, and any
    /// store call not done after the acquire timeout plus this answers 503. Must be below
    /// the request timeout.
    #[arg(long, env = "SNACKDRAWER_DB_STATEMENT_TIMEOUT", default_value = "5",
          value_parser = parse_seconds, global = true)]
    pub db_statement_timeout: Duration,

    /// Seconds between probes of a database found down; meanwhile requests that need it
    /// answer 503 at once.
    #[arg(long, env = "SNACKDRAWER_DB_PROBE_INTERVAL", default_value = "0.25",
          value_parser = parse_seconds, global = true)]
    pub db_probe_interval: Duration,

    /// Seconds a read (the snack list, a drawer with its snacks, an account) is kept and
    /// answered without asking the database. A write through this process forgets what it
    /// changes at once; a write through another process shows after at most this long, and so
    /// may an outage. Default: 1 on SQLite, 0 (nothing kept) on PostgreSQL, whose replicas
    /// share the database behind one address. 0 keeps nothing.
    #[arg(long, env = "SNACKDRAWER_CACHE_TTL", value_parser = parse_keep_time, global = true)]
    pub cache_ttl: Option<Duration>,

    /// Secret that signs access tokens (HS256), at least 32 bytes (`openssl rand -base64 32`).
    /// When unset a random one is generated at start, so tokens do not survive a restart and
    /// are not accepted by other replicas.
    #[arg(long, env = "SNACKDRAWER_JWT_SECRET", hide_env_values = true, global = true,
          value_parser = Secret(JwtSecret::parse))]
    pub jwt_secret: Option<JwtSecret>,

    /// How long an access token stays valid, in seconds.
    #[arg(long, env = "SNACKDRAWER_TOKEN_TTL", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000), global = true)]
    pub token_ttl: u64,

    /// Do not fill an empty snack catalogue with the default snacks.
    /// The variable takes true/false (SNACKDRAWER_SEED=false is the same as --no-seed).
    #[arg(long = "no-seed", env = "SNACKDRAWER_SEED", action = ArgAction::SetFalse, global = true)]
    pub seed: bool,

    /// scrypt cost: log2 of N. Each step doubles the time and memory of a password hash
    /// (14 ≈ 16 MiB and tens of milliseconds per hash).
    #[arg(long, env = "SNACKDRAWER_SCRYPT_LOG_N", default_value_t = 14,
          value_parser = clap::value_parser!(u8).range(1..=20), global = true)]
    pub scrypt_log_n: u8,

    /// scrypt block size r.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_R", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=32), global = true)]
    pub scrypt_r: u32,

    /// scrypt parallelism p.
    #[arg(long, env = "SNACKDRAWER_SCRYPT_P", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=16), global = true)]
    pub scrypt_p: u32,

    /// Password hashes computed at once, off the request workers. Each holds its scrypt memory
    /// (16 MiB at cost 14) while it runs. Default: one less than the number of CPUs, at least 1
    /// and at most 2, so a login burst leaves a core for everything else and hashing never
    /// holds more than twice a hash's memory unless asked to.
    #[arg(long, env = "SNACKDRAWER_HASH_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..), global = true)]
    pub hash_workers: Option<u16>,

    /// Password hashes allowed to wait for a worker; beyond that, register and login answer
    /// 503 with Retry-After instead of queueing without bound.
    #[arg(long, env = "SNACKDRAWER_HASH_QUEUE", default_value_t = 64,
          value_parser = clap::value_parser!(u16).range(0..=10_000), global = true)]
    pub hash_queue: u16,

    /// Turn off both login limits (per username and per address), for load generators that sign
    /// many users up and guess passwords from one address. The variable takes true/false.
    #[arg(long = "no-login-limits", env = "SNACKDRAWER_LOGIN_LIMITS", action = ArgAction::SetFalse,
          global = true)]
    pub login_limits: bool,

    /// Failed logins in a row for one username before each further one must wait: 1 s, then
    /// twice as long each time, up to --login-backoff-max. The right password resets the count.
    #[arg(long, env = "SNACKDRAWER_LOGIN_FREE_FAILURES", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=1000), global = true)]
    pub login_free_failures: u32,

    /// Longest wait, in seconds, between failed logins for one username; failures are
    /// forgotten after twice this without one. 0 turns the per-username throttle off.
    #[arg(long, env = "SNACKDRAWER_LOGIN_BACKOFF_MAX", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(0..=86_400), global = true)]
    pub login_backoff_max: u64,

    /// Register and login requests per second one client address may send, after a burst of
    /// --password-burst-per-address; beyond it they answer 429. 0 turns the limit off.
    #[arg(long, env = "SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(0..=100_000), global = true)]
    pub password_rate_per_address: u32,

    /// Register and login requests one client address may send at once before the rate
    /// applies.
    #[arg(long, env = "SNACKDRAWER_PASSWORD_BURST_PER_ADDRESS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub password_burst_per_address: u32,

    /// Writes per second one user may make to the lists (adding snacks, creating and deleting
    /// drawers, filling and emptying them), after a burst of --write-burst-per-user; beyond it
    /// they answer 429. 0 turns the limit off.
    #[arg(long, env = "SNACKDRAWER_WRITE_RATE_PER_USER", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(0..=100_000), global = true)]
    pub write_rate_per_user: u32,

    /// Writes one user may make at once before the rate applies.
    #[arg(long, env = "SNACKDRAWER_WRITE_BURST_PER_USER", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub write_burst_per_user: u32,

    /// Most snacks the catalogue may hold; adding one more answers 409.
    #[arg(long, env = "SNACKDRAWER_MAX_CATALOGUE_SNACKS",
          default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_catalogue_snacks: u32,

    /// Most drawers one user may have; creating one more answers 409.
    #[arg(long, env = "SNACKDRAWER_MAX_DRAWERS_PER_USER",
          default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_drawers_per_user: u32,

    /// Most snacks one drawer may hold; putting one more in answers 409.
    #[arg(long, env = "SNACKDRAWER_MAX_SNACKS_PER_DRAWER",
          default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_snacks_per_drawer: u32,

    /// Seconds a request may take, body upload included, before it is answered: 408 when
    /// the client is still sending its body, 503 otherwise.
    #[arg(long, env = "SNACKDRAWER_REQUEST_TIMEOUT", default_value = "30",
          value_parser = parse_seconds, global = true)]
    pub request_timeout: Duration,

    /// Seconds a request's head (request line and headers) may take to arrive once its first
    /// byte has; slower connections are closed.
    #[arg(long, env = "SNACKDRAWER_HEADER_TIMEOUT", default_value = "10",
          value_parser = parse_seconds, global = true)]
    pub header_timeout: Duration,

    /// Seconds a connection may stay silent with no request in flight before it is closed
    /// (longer than the 60 s of common load balancers, so they close first).
    #[arg(long, env = "SNACKDRAWER_IDLE_TIMEOUT", default_value = "75",
          value_parser = parse_seconds, global = true)]
    pub idle_timeout: Duration,

    /// Connections served at once; more wait until one closes, and idle ones are closed to
    /// make room. Default: what the open-file limit (raised to its hard limit at start) leaves
    /// after 100 files and three per database connection.
    #[arg(long, env = "SNACKDRAWER_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_connections: Option<u32>,

    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT before exiting anyway.
    #[arg(long, env = "SNACKDRAWER_SHUTDOWN_GRACE", default_value = "10",
          value_parser = parse_seconds, global = true)]
    pub shutdown_grace: Duration,

    /// OTLP endpoint to export traces and logs to, e.g. http://localhost:4318 (HTTP) or
    /// http://localhost:4317 (gRPC). Unset: nothing is exported (unless HONEYCOMB_API_KEY).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// OTLP transport: `http/protobuf` or `grpc`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_PROTOCOL", default_value = "http/protobuf",
          value_parser = ["http/protobuf", "grpc"], global = true)]
    pub otel_exporter_otlp_protocol: String,

    /// Extra headers on every export, `key=value,key2=value2` (values URL-encoded), e.g. an
    /// API key such as `x-honeycomb-team=…`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_HEADERS", hide_env_values = true, global = true)]
    pub otel_exporter_otlp_headers: Option<String>,

    /// A PEM file of the certificate authorities to trust for an https OTLP endpoint,
    /// instead of the system's (a private CA). Unset: the system's roots.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_CERTIFICATE", global = true)]
    pub otel_exporter_otlp_certificate: Option<PathBuf>,

    /// Where log records go besides stdout: `otlp` (where spans go, when an endpoint is set)
    /// or `none`.
    #[arg(long, env = "OTEL_LOGS_EXPORTER", default_value = "otlp",
          value_parser = ["otlp", "none"], global = true)]
    pub otel_logs_exporter: String,

    /// A Honeycomb API key: with no OTLP endpoint set, traces and logs go to Honeycomb
    /// (HONEYCOMB_API_ENDPOINT) with this key. Never printed.
    #[arg(long, env = "HONEYCOMB_API_KEY", hide_env_values = true, global = true,
          value_parser = Secret(HoneycombKey::parse))]
    pub honeycomb_api_key: Option<HoneycombKey>,

    /// Honeycomb's OTLP endpoint, e.g. https://api.eu1.honeycomb.io for the EU region.
    #[arg(long, env = "HONEYCOMB_API_ENDPOINT", default_value = honeycomb::DEFAULT_ENDPOINT,
          global = true)]
    pub honeycomb_api_endpoint: String,

    /// The dataset for a classic Honeycomb key (32 hex digits). Default: the service's name.
    #[arg(long, env = "HONEYCOMB_DATASET", global = true)]
    pub honeycomb_dataset: Option<String>,

    /// The service's name on exported spans and on every metric series (`service_name`),
    /// unless AUTOMETRICS_SERVICE_NAME gives one. Default: snackdrawer.
    #[arg(long, env = "OTEL_SERVICE_NAME", global = true)]
    pub otel_service_name: Option<String>,

    /// The service's name on metrics and spans; wins over OTEL_SERVICE_NAME.
    #[arg(long, env = "AUTOMETRICS_SERVICE_NAME", global = true)]
    pub autometrics_service_name: Option<String>,

    /// Where the code lives, for the `repository_url` label of `build_info`.
    #[arg(long, env = "AUTOMETRICS_REPOSITORY_URL", global = true)]
    pub autometrics_repository_url: Option<String>,

    /// The code host (`github`, `gitlab`…) for `build_info`; derived from the repository URL
    /// when unset.
    #[arg(long, env = "AUTOMETRICS_REPOSITORY_PROVIDER", global = true)]
    pub autometrics_repository_provider: Option<String>,

    /// Log format: `text` for people, `json` for machines, `auto` picks text on a terminal.
    #[arg(long, env = "SNACKDRAWER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto, global = true)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub faults: FaultSettings,
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Serve the API (what snackdrawer does without a command).
    Serve,
    /// Apply pending database migrations and exit; serving applies them too.
    Migrate,
    /// Print the API's OpenAPI 3.1 document (what `GET /openapi.json` serves) and exit.
    Openapi,
    /// Show or change the fault plan and lazy mode of a running service, through its admin
    /// API (see docs/faults.md).
    Faults(FaultsCommand),
}

/// Fault injection: a plan of faults at start, lazy mode, and the admin API that changes
/// them at runtime. docs/faults.md explains each.
#[derive(Debug, Clone, PartialEq, Args)]
#[command(next_help_heading = "Fault injection (docs/faults.md)")]
pub struct FaultSettings {
    /// A fault plan: rules separated by `;`, each `TARGET FAULT [p=PROBABILITY]`, e.g.
    /// `DrawerRepository::add_snack error=unavailable p=0.1; GET /snacks/ latency=200ms±50ms`.
    #[arg(long, env = "SNACKDRAWER_FAULTS", global = true)]
    pub faults: Option<String>,

    /// A fault plan in a TOML file (`[[rules]]` with target, fault, probability).
    #[arg(long, env = "SNACKDRAWER_FAULTS_FILE", global = true, conflicts_with = "faults")]
    pub faults_file: Option<std::path::PathBuf>,

    /// Seed for the random draws of fault injection, to make them repeatable.
    #[arg(long, env = "SNACKDRAWER_FAULTS_SEED", global = true)]
    pub faults_seed: Option<u64>,

    /// Start lazy: requests nap now and then, and a few are refused with 503.
    /// The variable takes on/off (or true/false).
    #[arg(long, env = "SNACKDRAWER_LAZY", global = true, action = ArgAction::SetTrue,
          value_parser = BoolishValueParser::new())]
    pub lazy: bool,

    /// Lazy episodes, unattended: `every 10m for 2m` (the first one after the first 10m).
    #[arg(long, env = "SNACKDRAWER_LAZY_SCHEDULE", global = true, value_parser = LazySchedule::parse)]
    pub lazy_schedule: Option<LazySchedule>,

    /// In lazy mode, the share of requests that nap.
    #[arg(long, env = "SNACKDRAWER_LAZY_NAP_PROBABILITY", global = true, default_value = "0.3",
          value_parser = plan::parse_probability)]
    pub lazy_nap_probability: f64,

    /// In lazy mode, the median nap (naps are log-normal).
    #[arg(long, env = "SNACKDRAWER_LAZY_NAP_MEDIAN", global = true, default_value = "300ms",
          value_parser = plan::parse_duration)]
    pub lazy_nap_median: Duration,

    /// In lazy mode, the 99th percentile of naps.
    #[arg(long, env = "SNACKDRAWER_LAZY_NAP_P99", global = true, default_value = "3s",
          value_parser = plan::parse_duration)]
    pub lazy_nap_p99: Duration,

    /// In lazy mode, the share of requests refused with 503 "too lazy" and Retry-After.
    #[arg(long, env = "SNACKDRAWER_LAZY_REFUSAL_PROBABILITY", global = true, default_value = "0.02",
          value_parser = plan::parse_probability)]
    pub lazy_refusal_probability: f64,

    /// How long laziness takes to ramp in, and out again (0s: at once).
    #[arg(long, env = "SNACKDRAWER_LAZY_RAMP", global = true, default_value = "30s",
          value_parser = plan::parse_duration)]
    pub lazy_ramp: Duration,

    /// Address for the admin API (fault plan and lazy mode at runtime), e.g. 127.0.0.1:9000.
    /// Off when unset. Never expose it beyond the machine or pod.
    #[arg(long, env = "SNACKDRAWER_ADMIN_LISTEN", global = true)]
    pub admin_listen: Option<String>,

    /// Bearer token the admin API requires, at least 32 bytes (`openssl rand -base64 32`);
    /// also what `snackdrawer faults` sends.
    #[arg(long, env = "SNACKDRAWER_ADMIN_TOKEN", hide_env_values = true, global = true,
          value_parser = Secret(AdminToken::parse))]
    pub admin_token: Option<AdminToken>,
}

impl FaultSettings {
    /// Whether fault injection is built into the running service: a plan, lazy mode or its
    /// schedule was given, or the admin API may set them. Otherwise no decorator is in place.
    pub fn armed(&self) -> bool {
        self.faults.is_some()
            || self.faults_file.is_some()
            || self.lazy
            || self.lazy_schedule.is_some()
            || self.admin_listen.is_some()
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

/// `snackdrawer faults …`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct FaultsCommand {
    #[command(subcommand)]
    pub action: FaultsAction,

    /// The admin API's base URL, e.g. http://127.0.0.1:9000. Default: SNACKDRAWER_ADMIN_LISTEN's
    /// address, when that is set.
    #[arg(long, env = "SNACKDRAWER_ADMIN_URL", global = true)]
    pub admin_url: Option<String>,

    /// Print the service's answer as JSON rather than as text.
    #[arg(long, global = true)]
    pub json: bool,

    #[arg(skip)]
    pub admin_token: Option<AdminToken>,
    #[arg(skip)]
    admin_listen: Option<String>,
}

impl FaultsCommand {
    pub fn admin_url(&self) -> Option<String> {
        self.admin_url.clone().or_else(|| {
            let listen = self.admin_listen.as_deref()?.replace("0.0.0.0:", "127.0.0.1:");
            Some(format!("http://{listen}"))
        })
    }

    /// Takes the token and listen address the global settings read.
    pub fn with_settings(mut self, settings: &FaultSettings) -> Self {
        self.admin_token = settings.admin_token.clone();
        self.admin_listen = settings.admin_listen.clone();
        self
    }
}

/// The token signing secret; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(String);

impl JwtSecret {
    /// HS256 wants a key at least as long as its 256-bit hash; an empty or short one would let
    /// tokens be guessed or forged.
    pub const MIN_BYTES: usize = 32;

    fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() < Self::MIN_BYTES {
            return Err(format!(
                "must be at least {} bytes (try `openssl rand -base64 32`)",
                Self::MIN_BYTES
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(..)")
    }
}

/// Which store `DATABASE_URL` selects.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Memory,
    /// A `sqlite:` or `postgres:` URL, passed to the SQL store as it is.
    Sql(String),
}

impl StoreUrl {
    fn parse(raw: &str) -> Result<Self, String> {
        if raw == "memory" {
            Ok(Self::Memory)
        } else if raw.starts_with("sqlite:") {
            Ok(Self::Sql(raw.to_owned()))
        } else if ["postgres://", "postgresql://"].iter().any(|p| raw.starts_with(p)) {
            // Refused here, with the password hidden, rather than by the driver, whose error
            // quotes the URL whole.
            url::Url::parse(raw).map_err(|error| {
                format!("`{}` is not a valid URL: {error}", redact_password(raw))
            })?;
            Ok(Self::Sql(raw.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a store: expected `memory`, `sqlite://FILE?mode=rwc` or \
                 `postgres://…`",
                redact_password(raw)
            ))
        }
    }
}

/// The value parser of a setting that holds a secret: its errors name the setting and the
/// problem but never quote the value, as clap's own errors do (`invalid value 'hunter2'…`).
#[derive(Clone)]
struct Secret<T>(fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Secret<T> {
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let invalid = |problem: &str| {
            let setting = arg.map_or_else(|| "a setting".to_owned(), ToString::to_string);
            let message = format!("invalid value for '{setting}': {problem}");
            command.clone().error(ErrorKind::ValueValidation, message)
        };
        let raw = value.to_str().ok_or_else(|| invalid("not valid UTF-8"))?;
        (self.0)(raw).map_err(|problem| invalid(&problem))
    }
}

/// Shows the URL without its password, so configuration can be logged.
impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Sql(url) => f.write_str(&redact_password(url)),
        }
    }
}

/// `scheme://user:secret@host/db` becomes `scheme://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***{}", &rest[userinfo.len()..])
        }
        _ => url.to_owned(),
    }
}

/// Like `parse_seconds`, but 0 (keep nothing) is allowed.
fn parse_keep_time(raw: &str) -> Result<Duration, String> {
    match raw.parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        Ok(_) => parse_seconds(raw).map_err(|_| "must be from 0 to 3600 seconds".to_owned()),
        Err(_) => Err(format!("{raw:?} is not a number of seconds")),
    }
}

fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let seconds: f64 = raw.parse().map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err("must be more than 0 and at most 3600 seconds".to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Text,
    Json,
}

/// The service's name when neither AUTOMETRICS_SERVICE_NAME nor OTEL_SERVICE_NAME gives one.
pub const DEFAULT_SERVICE_NAME: &str = "snackdrawer";

impl Config {
    /// AUTOMETRICS_SERVICE_NAME, else OTEL_SERVICE_NAME, else `snackdrawer`: the one name on
    /// metrics and spans alike.
    pub fn service_name(&self) -> &str {
        [&self.autometrics_service_name, &self.otel_service_name]
            .into_iter()
            .flatten()
            .find(|name| !name.is_empty())
            .map_or(DEFAULT_SERVICE_NAME, String::as_str)
    }

    /// Whether logs are JSON lines: asked for, or `auto` with stdout not a terminal.
    pub fn json_logs(&self) -> bool {
        match self.log_format {
            LogFormat::Json => true,
            LogFormat::Text => false,
            LogFormat::Auto => !std::io::stdout().is_terminal(),
        }
    }

    /// How long the SQL store keeps reads: the setting, or the store's default.
    pub fn cache_ttl(&self) -> Duration {
        let default = match &self.database_url {
            StoreUrl::Sql(url) if url.starts_with("sqlite:") => Duration::from_secs(1),
            _ => Duration::ZERO,
        };
        self.cache_ttl.unwrap_or(default)
    }

    pub fn hash_workers(&self) -> usize {
        /// Hashing memory, not cores, is what a default must bound (see --hash-workers).
        const MOST_DEFAULT_HASH_WORKERS: usize = 2;
        self.hash_workers.map(usize::from).unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            cpus.saturating_sub(1).clamp(1, MOST_DEFAULT_HASH_WORKERS)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    /// Parses as the binary would, but ignoring the environment, which the test runner's
    /// caller may have filled (DATABASE_URL is common).
    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let mut command = Config::command();
        let ids: Vec<_> = command.get_arguments().map(|arg| arg.get_id().clone()).collect();
        for id in ids {
            command = command.mut_arg(id, |arg| arg.env(None));
        }
        Config::from_arg_matches(&command.try_get_matches_from(args)?)
    }

    #[test]
    fn short_or_empty_secrets_are_refused() {
        assert!(parse(&["snackdrawer", "--jwt-secret", ""]).is_err());
        assert!(parse(&["snackdrawer", "--jwt-secret", "short"]).is_err());
        let config = parse(&["snackdrawer", "--jwt-secret", &"k".repeat(32)]).unwrap();
        assert_eq!(format!("{:?}", config.jwt_secret), "Some(JwtSecret(..))");
    }

    #[test]
    fn database_passwords_are_not_printed() {
        let config =
            parse(&["snackdrawer", "--database-url", "postgres://app:hunter2@db:5432/snacks"])
                .unwrap();
        assert_eq!(format!("{:?}", config.database_url), "postgres://app:***@db:5432/snacks");
        assert!(!format!("{config:?}").contains("hunter2"));
        let plain = parse(&["snackdrawer", "--database-url", "postgres://app@db/snacks"]).unwrap();
        assert_eq!(format!("{:?}", plain.database_url), "postgres://app@db/snacks");
    }

    /// The driver's own error for these quotes the URL whole, password included.
    #[test]
    fn unparsable_database_urls_are_refused_without_their_password() {
        for url in [
            "postgres://app:hunter2@[::1/x",
            "postgres://app:hunter2@db:99999/x",
            "postgres://app:hunter2@db:abc/x",
            "postgresql://app:hunter2@/x",
        ] {
            let error = parse(&["snackdrawer", "--database-url", url]).unwrap_err().to_string();
            assert!(error.contains("not a valid URL"), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{url}: {error}");
        }
    }

    #[test]
    fn the_service_name_is_autometrics_s_then_opentelemetry_s_then_snackdrawer() {
        assert_eq!(parse(&["snackdrawer"]).unwrap().service_name(), "snackdrawer");
        let otel = parse(&["snackdrawer", "--otel-service-name", "otel"]).unwrap();
        assert_eq!(otel.service_name(), "otel");
        let both = parse(&[
            "snackdrawer",
            "--otel-service-name",
            "otel",
            "--autometrics-service-name",
            "am",
        ])
        .unwrap();
        assert_eq!(both.service_name(), "am");
        let empty = parse(&["snackdrawer", "--autometrics-service-name", ""]).unwrap();
        assert_eq!(empty.service_name(), "snackdrawer");
    }

    #[test]
    fn defaults_serve_on_port_8000_with_seeding() {
        let config = parse(&["snackdrawer"]).unwrap();
        assert_eq!(config.listen, "0.0.0.0:8000");
        assert_eq!(config.token_ttl, 900);
        assert!(config.seed);
    }

    #[test]
    fn the_default_store_is_an_sqlite_file_in_the_working_directory() {
        let config = parse(&["snackdrawer"]).unwrap();
        assert_eq!(config.database_url, StoreUrl::Sql("sqlite://snackdrawer.db?mode=rwc".into()));
        assert_eq!(config.command, None);
    }

    #[test]
    fn unknown_database_urls_are_refused_at_parse_time() {
        for url in ["mysql://localhost/x", "snackdrawer.db", ""] {
            assert!(parse(&["snackdrawer", "--database-url", url]).is_err(), "{url}");
        }
        let memory = parse(&["snackdrawer", "--database-url", "memory"]).unwrap();
        assert_eq!(memory.database_url, StoreUrl::Memory);
    }

    #[test]
    fn settings_may_follow_the_migrate_command() {
        let config = parse(&["snackdrawer", "migrate", "--database-url", "memory"]).unwrap();
        assert_eq!(config.command, Some(Command::Migrate));
        assert_eq!(config.database_url, StoreUrl::Memory);
    }

    #[test]
    fn acquire_timeout_takes_decimal_seconds() {
        let config = parse(&["snackdrawer", "--db-acquire-timeout", "0.25"]).unwrap();
        assert_eq!(config.db_acquire_timeout, Duration::from_millis(250));
        assert!(parse(&["snackdrawer", "--db-acquire-timeout", "0"]).is_err());
    }

    #[test]
    fn reads_are_kept_a_second_on_sqlite_and_not_at_all_on_postgres_unless_set() {
        let keep = |args: &[&str]| parse(args).unwrap().cache_ttl();
        assert_eq!(keep(&["snackdrawer"]), Duration::from_secs(1));
        assert_eq!(keep(&["snackdrawer", "--database-url", "postgres://h/db"]), Duration::ZERO);
        let set = ["snackdrawer", "--database-url", "postgres://h/db", "--cache-ttl", "0.5"];
        assert_eq!(keep(&set), Duration::from_millis(500));
        assert_eq!(keep(&["snackdrawer", "--cache-ttl", "0"]), Duration::ZERO);
        assert!(parse(&["snackdrawer", "--cache-ttl", "-1"]).is_err());
        assert!(parse(&["snackdrawer", "--cache-ttl", "3601"]).is_err());
    }

    #[test]
    fn no_seed_flag_turns_seeding_off() {
        let config = parse(&["snackdrawer", "--no-seed"]).unwrap();
        assert!(!config.seed);
    }

    #[test]
    fn list_limits_have_documented_defaults_and_refuse_zero() {
        let config = parse(&["snackdrawer"]).unwrap();
        let limits = (
            config.max_catalogue_snacks,
            config.max_drawers_per_user,
            config.max_snacks_per_drawer,
        );
        assert_eq!(limits, (10_000, 1_000, 1_000));
        let set = parse(&["snackdrawer", "--max-catalogue-snacks", "50"]).unwrap();
        assert_eq!(set.max_catalogue_snacks, 50);
        assert!(parse(&["snackdrawer", "--max-drawers-per-user", "0"]).is_err());
    }

    #[test]
    fn the_write_rate_is_on_by_default_at_its_documented_rate() {
        let config = parse(&["snackdrawer"]).unwrap();
        assert_eq!((config.write_rate_per_user, config.write_burst_per_user), (10, 20));
        let off = parse(&["snackdrawer", "--write-rate-per-user", "0"]).unwrap();
        assert_eq!(off.write_rate_per_user, 0);
        assert!(parse(&["snackdrawer", "--write-burst-per-user", "0"]).is_err());
    }

    #[test]
    fn zero_token_lifetime_is_refused() {
        assert!(parse(&["snackdrawer", "--token-ttl", "0"]).is_err());
    }
}
