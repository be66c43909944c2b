//! `snackdrawer-lab`: parses the command line, makes sure a panic stops every child, and runs
//! the lab (src/run.rs).

use clap::Parser as _;
use snackdrawer_lab::cli::Cli;
use snackdrawer_lab::run;
use snackdrawer_lab::supervise::child;
use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    child::stop_all_on_panic();
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = writeln!(std::io::stderr(), "snackdrawer-lab: no runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
    match runtime.block_on(run::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!: stderr may be a terminal that has gone, and that would panic.
            let _ = writeln!(std::io::stderr(), "snackdrawer-lab: {error}");
            ExitCode::FAILURE
        }
    }
}
