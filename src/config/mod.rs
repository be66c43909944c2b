//! Configuration: every setting is a command-line flag and an environment variable, read once
//! at start by clap. `snackdrawer --help` is the reference; docs/operations.md#settings repeats
//! it.
//!
//! Settings come in sections, a module each (server, store, auth, limits, telemetry, faults,
//! admin), each with the conversions from its values to the types the adapters take. A command
//! is made of the sections it uses, so its `--help` lists only its own flags: `serve` (what
//! `snackdrawer` does without a command) takes them all but the admin client's, `migrate` the
//! store and telemetry, `faults` the admin API's. `values` reads every setting that can be
//! refused, the same way for all.

mod admin;
mod auth;
mod faults;
mod limits;
mod server;
mod store;
mod telemetry;
mod values;

pub use admin::{AdminSettings, FaultsCommand};
pub use auth::{AuthSettings, JwtSecret};
pub use faults::FaultSettings;
pub use limits::LimitSettings;
pub use server::ServerSettings;
pub use store::{StoreServing, StoreSettings, StoreUrl};
pub use telemetry::{DEFAULT_SERVICE_NAME, LogFormat, TelemetrySettings};

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

/// What the help of every command that takes settings ends with.
const SETTINGS_NOTE: &str = "Every option can also be set through the environment variable \
     shown with it; a flag wins over the variable. Durations are a number of seconds (2, 0.5) \
     or say their unit (250ms, 15m, 1h30m).";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "snackdrawer",
    version,
    about = "A REST API for snacks and drawers, built to be watched: metrics, traces and logs \
             for every request.",
    long_about = None,
    args_conflicts_with_subcommands = true,
    after_help = format!("{SETTINGS_NOTE} Without a command, snackdrawer serves.")
)]
pub struct Config {
    #[command(subcommand)]
    command: Option<Command>,

    // The settings of `snackdrawer` without a command, which serves.
    #[command(flatten)]
    serve: ServeSettings,
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Serve the API (what snackdrawer does without a command).
    Serve(Box<ServeSettings>),
    /// Apply pending database migrations and exit; serving applies them too.
    Migrate(Box<MigrateSettings>),
    /// Print the API's OpenAPI 3.1 document (what `GET /openapi.json` serves) and exit.
    Openapi,
    /// Show or change the fault plan and lazy mode of a running service, through its admin
    /// API (see docs/faults.md).
    Faults(FaultsCommand),
}

/// Everything serving is told.
#[derive(Debug, Clone, PartialEq, Args)]
#[command(after_help = SETTINGS_NOTE)]
pub struct ServeSettings {
    #[command(flatten)]
    pub server: ServerSettings,
    #[command(flatten)]
    pub store: StoreSettings,
    #[command(flatten)]
    pub store_serving: StoreServing,
    #[command(flatten)]
    pub auth: AuthSettings,
    #[command(flatten)]
    pub limits: LimitSettings,
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
    #[command(flatten)]
    pub faults: FaultSettings,
    #[command(flatten)]
    pub admin: AdminSettings,
}

/// What `snackdrawer migrate` is told: the database, and where its logs go.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(after_help = SETTINGS_NOTE)]
pub struct MigrateSettings {
    #[command(flatten)]
    pub store: StoreSettings,
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
}

impl Config {
    /// The command this process's arguments and environment ask for. Exits with a usage error,
    /// as clap does for a bad value, when they do not make sense together.
    pub fn load() -> Command {
        Self::parse().into_command().unwrap_or_else(|error| error.exit())
    }

    fn into_command(self) -> Result<Command, clap::Error> {
        let command = self.command.unwrap_or_else(|| Command::Serve(Box::new(self.serve)));
        if let Command::Serve(settings) = &command {
            settings.check()?;
        }
        Ok(command)
    }
}

impl ServeSettings {
    /// The rules between settings of different sections.
    fn check(&self) -> Result<(), clap::Error> {
        let (statement, request) = (self.store.db_statement_timeout, self.server.request_timeout);
        if matches!(self.store.database_url, StoreUrl::Sql(_)) && statement >= request {
            let message = format!(
                "SNACKDRAWER_DB_STATEMENT_TIMEOUT ({statement:?}) must be below \
                 SNACKDRAWER_REQUEST_TIMEOUT ({request:?}), so a slow statement answers before \
                 the request is cut off"
            );
            return Err(Config::command().error(ErrorKind::ArgumentConflict, message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::FromArgMatches;
    use std::time::Duration;

    /// `command` and its subcommands, ignoring the environment, which the test runner's caller
    /// may have filled (DATABASE_URL is common).
    fn without_env(mut command: clap::Command) -> clap::Command {
        let ids: Vec<_> = command.get_arguments().map(|arg| arg.get_id().clone()).collect();
        for id in ids {
            command = command.mut_arg(id, |arg| arg.env(None));
        }
        let names: Vec<_> =
            command.get_subcommands().map(|sub| sub.get_name().to_owned()).collect();
        for name in names {
            command = command.mut_subcommand(name, without_env);
        }
        command
    }

    /// Parses as the binary would, but ignoring the environment.
    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        let matches = without_env(Config::command()).try_get_matches_from(args)?;
        Config::from_arg_matches(&matches)?.into_command()
    }

    fn serve(args: &[&str]) -> ServeSettings {
        match parse(args) {
            Ok(Command::Serve(settings)) => *settings,
            other => panic!("{args:?} does not serve: {other:?}"),
        }
    }

    #[test]
    fn short_or_empty_secrets_are_refused() {
        assert!(parse(&["snackdrawer", "--jwt-secret", ""]).is_err());
        assert!(parse(&["snackdrawer", "--jwt-secret", "short"]).is_err());
        let settings = serve(&["snackdrawer", "--jwt-secret", &"k".repeat(32)]);
        assert_eq!(format!("{:?}", settings.auth.jwt_secret), "Some(JwtSecret(..))");
    }

    #[test]
    fn a_refused_secret_names_its_flag_but_not_its_value() {
        let error = parse(&["snackdrawer", "--admin-token", "hunter2"]).unwrap_err().to_string();
        assert!(error.contains("invalid value for --admin-token: must be at least 32"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error = parse(&["snackdrawer", "--token-ttl", "soon"]).unwrap_err().to_string();
        assert!(error.contains("invalid value 'soon' for --token-ttl"), "{error}");
    }

    #[test]
    fn database_passwords_are_not_printed() {
        let url = "postgres://app:hunter2@db:5432/snacks";
        let settings = serve(&["snackdrawer", "--database-url", url]);
        assert_eq!(
            format!("{:?}", settings.store.database_url),
            "postgres://app:***@db:5432/snacks"
        );
        assert!(!format!("{settings:?}").contains("hunter2"));
        let plain = serve(&["snackdrawer", "--database-url", "postgres://app@db/snacks"]);
        assert_eq!(format!("{:?}", plain.store.database_url), "postgres://app@db/snacks");
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
        let name = |args: &[&str]| serve(args).telemetry.service_name().to_owned();
        assert_eq!(name(&["snackdrawer"]), "snackdrawer");
        assert_eq!(name(&["snackdrawer", "--otel-service-name", "otel"]), "otel");
        let both =
            ["snackdrawer", "--otel-service-name", "otel", "--autometrics-service-name", "am"];
        assert_eq!(name(&both), "am");
        assert_eq!(name(&["snackdrawer", "--autometrics-service-name", ""]), "snackdrawer");
    }

    #[test]
    fn defaults_serve_on_port_8000_with_seeding() {
        let settings = serve(&["snackdrawer"]);
        assert_eq!(settings.server.listen, "0.0.0.0:8000");
        assert_eq!(settings.auth.token_ttl, Duration::from_secs(900));
        assert_eq!(settings.limits.login_backoff_max, Duration::from_secs(300));
        assert!(settings.store_serving.seed);
    }

    #[test]
    fn the_default_store_is_an_sqlite_file_in_the_working_directory() {
        let settings = serve(&["snackdrawer"]);
        let expected = StoreUrl::Sql("sqlite://snackdrawer.db?mode=rwc".into());
        assert_eq!(settings.store.database_url, expected);
        assert_eq!(serve(&["snackdrawer", "serve"]), settings, "serve is the default command");
    }

    #[test]
    fn unknown_database_urls_are_refused_at_parse_time() {
        for url in ["mysql://localhost/x", "snackdrawer.db", ""] {
            assert!(parse(&["snackdrawer", "--database-url", url]).is_err(), "{url}");
        }
        let memory = serve(&["snackdrawer", "--database-url", "memory"]);
        assert_eq!(memory.store.database_url, StoreUrl::Memory);
    }

    #[test]
    fn settings_follow_their_command_and_only_its_own_are_taken() {
        let Ok(Command::Migrate(migrate)) =
            parse(&["snackdrawer", "migrate", "--database-url", "memory"])
        else {
            panic!("not migrate")
        };
        assert_eq!(migrate.store.database_url, StoreUrl::Memory);
        assert!(parse(&["snackdrawer", "migrate", "--listen", "127.0.0.1:1"]).is_err());
        assert!(parse(&["snackdrawer", "openapi", "--database-url", "memory"]).is_err());
        assert!(parse(&["snackdrawer", "--listen", "127.0.0.1:1", "migrate"]).is_err());
        let Ok(Command::Faults(faults)) =
            parse(&["snackdrawer", "faults", "show", "--admin-listen", "0.0.0.0:9000", "--json"])
        else {
            panic!("not faults")
        };
        assert_eq!(faults.admin_url().as_deref(), Some("http://127.0.0.1:9000"));
        assert!(faults.json);
        assert!(parse(&["snackdrawer", "faults", "show", "--jwt-secret", "x"]).is_err());
    }

    #[test]
    fn every_duration_setting_takes_seconds_or_units() {
        let settings = serve(&[
            "snackdrawer",
            "--token-ttl",
            "15m",
            "--db-acquire-timeout",
            "0.25",
            "--request-timeout",
            "1m",
            "--shutdown-grace",
            "1500ms",
            "--login-backoff-max",
            "90",
            "--lazy-ramp",
            "2",
            "--lazy-nap-median",
            "0.1",
        ]);
        assert_eq!(settings.auth.token_ttl, Duration::from_secs(900));
        assert_eq!(settings.store.db_acquire_timeout, Duration::from_millis(250));
        assert_eq!(settings.server.request_timeout, Duration::from_secs(60));
        assert_eq!(settings.server.shutdown_grace, Duration::from_millis(1500));
        assert_eq!(settings.limits.login_backoff_max, Duration::from_secs(90));
        assert_eq!(settings.faults.lazy_ramp, Duration::from_secs(2));
        assert_eq!(settings.faults.lazy_nap_median, Duration::from_millis(100));
        assert_eq!(serve(&["snackdrawer", "--token-ttl", "900"]).auth.token_ttl.as_secs(), 900);
    }

    #[test]
    fn acquire_timeout_takes_decimal_seconds_and_refuses_zero() {
        let settings = serve(&["snackdrawer", "--db-acquire-timeout", "0.25"]);
        assert_eq!(settings.store.db_acquire_timeout, Duration::from_millis(250));
        assert!(parse(&["snackdrawer", "--db-acquire-timeout", "0"]).is_err());
    }

    #[test]
    fn reads_are_kept_a_second_on_sqlite_and_not_at_all_on_postgres_unless_set() {
        let keep = |args: &[&str]| {
            let settings = serve(args);
            settings.store_serving.keep_reads_for(&settings.store.database_url)
        };
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
        assert!(!serve(&["snackdrawer", "--no-seed"]).store_serving.seed);
    }

    #[test]
    fn list_limits_have_documented_defaults_and_refuse_zero() {
        let limits = serve(&["snackdrawer"]).limits.list_limits();
        let limits = (limits.catalogue, limits.drawers_per_user, limits.snacks_per_drawer);
        assert_eq!(limits, (10_000, 1_000, 1_000));
        let set = serve(&["snackdrawer", "--max-catalogue-snacks", "50"]);
        assert_eq!(set.limits.max_catalogue_snacks, 50);
        assert!(parse(&["snackdrawer", "--max-drawers-per-user", "0"]).is_err());
    }

    #[test]
    fn the_write_rate_is_on_by_default_at_its_documented_rate() {
        let rate = serve(&["snackdrawer"]).limits.write_rate();
        assert_eq!((rate.per_second, rate.burst), (10, 20));
        let off = serve(&["snackdrawer", "--write-rate-per-user", "0"]);
        assert_eq!(off.limits.write_rate().per_second, 0);
        assert!(parse(&["snackdrawer", "--write-burst-per-user", "0"]).is_err());
    }

    #[test]
    fn login_limits_off_turns_off_both() {
        let off = serve(&["snackdrawer", "--no-login-limits"]).limits;
        assert_eq!(off.login_backoff().longest_wait, Duration::ZERO);
        assert_eq!(off.address_limits().per_second, 0);
    }

    #[test]
    fn zero_token_lifetime_is_refused() {
        assert!(parse(&["snackdrawer", "--token-ttl", "0"]).is_err());
    }

    #[test]
    fn a_statement_timeout_must_be_below_the_request_timeout_on_sql_stores() {
        let slow = ["--db-statement-timeout", "30s", "--request-timeout", "30"];
        let error = parse(&[&["snackdrawer"], &slow[..]].concat()).unwrap_err().to_string();
        assert!(error.contains("must be below SNACKDRAWER_REQUEST_TIMEOUT (30s)"), "{error}");
        assert!(parse(&[&["snackdrawer", "--database-url", "memory"], &slow[..]].concat()).is_ok());
    }
}
