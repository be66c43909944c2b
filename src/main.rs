//! The `snackdrawer` binary: read the configuration, start the service, stop cleanly on
//! SIGINT or SIGTERM.

use snackdrawer::chaos::client;
use snackdrawer::config::{Command, Config, FaultsCommand, ServeSettings, TelemetrySettings};
use snackdrawer::startup::{Application, Stopped, init_telemetry, migrate_only, openapi_json};
use snackdrawer::telemetry::{Telemetry, error_chain};
use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: with a malloc arena per thread (the runtime's workers,
/// the SQLite driver's threads, the hashing threads) glibc kept about twice the memory for the
/// same work, and held on to freed scrypt buffers (docs/measuring.md#memory).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let (telemetry, outcome) = match Config::load() {
        Command::Faults(command) => return faults_client(command).await,
        Command::Openapi => {
            print!("{}", openapi_json());
            return ExitCode::SUCCESS;
        }
        Command::Migrate(settings) => {
            let Some(telemetry) = telemetry(&settings.telemetry) else { return ExitCode::FAILURE };
            (telemetry, migrate_only(&settings).await.map_err(Into::into))
        }
        Command::Serve(settings) => {
            let Some(telemetry) = telemetry(&settings.telemetry) else { return ExitCode::FAILURE };
            let outcome = serve(&settings, &telemetry).await;
            (telemetry, outcome)
        }
    };
    telemetry.shutdown().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error_chain(&*error), "snackdrawer stopped");
            ExitCode::FAILURE
        }
    }
}

/// Logs and traces as `settings` ask, or `None` (said on stderr) when they cannot be set up.
fn telemetry(settings: &TelemetrySettings) -> Option<Telemetry> {
    init_telemetry(settings)
        .inspect_err(|error| eprintln!("snackdrawer: {}", error_chain(error)))
        .ok()
}

async fn serve(
    settings: &ServeSettings,
    telemetry: &Telemetry,
) -> Result<(), Box<dyn std::error::Error>> {
    let application = Application::build(settings, telemetry.sampler()).await?;
    let admin_address = application.admin_addr().transpose()?;
    tracing::info!(
        address = %application.local_addr()?,
        admin_address = admin_address.map(tracing::field::display),
        trace_export = telemetry.exporting(),
        log_export = telemetry.exporting_logs(),
        "snackdrawer is serving"
    );
    match application.run_until(shutdown_signal()).await {
        Stopped::Cleanly => tracing::info!("snackdrawer stopped cleanly"),
        Stopped::GraceExpired => tracing::warn!(
            grace = ?settings.server.shutdown_grace,
            "in-flight requests outlived the shutdown grace: snackdrawer stopped, cutting them off"
        ),
    }
    Ok(())
}

/// `snackdrawer faults …`: a client of another process's admin API; it logs nothing itself.
async fn faults_client(command: FaultsCommand) -> ExitCode {
    let token = command.admin.admin_token.as_ref();
    match client::run(&command.action, command.admin_url(), token, command.json).await {
        Ok(answer) => {
            print!("{answer}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("snackdrawer faults: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM (what orchestrators send).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
