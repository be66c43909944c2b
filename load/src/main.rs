//! `snackdrawer-load`: drives Snackdrawer with users that behave like people, some of them
//! badly, and fails the run on any leak. Exit 0: no violation; 1: violations; 2: usage or
//! connection errors (clap's own usage errors exit 2 as well); 3: most users never got going;
//! 4: the run was still going past its deadline and the generator stopped it.

mod agent;
mod audit;
mod cli;
mod contract;
mod deadline;
mod exchange;
mod forgery;
mod ledger;
mod personas;
mod progress;
mod run;
mod session;
mod side_channel;
mod start_up;
mod summary;
mod transport;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run::run(cli::Cli::parse()).await {
        Ok(summary) => {
            print!("{}", summary.verdict());
            ExitCode::from(summary.exit_code())
        }
        Err(error) => {
            eprintln!("snackdrawer-load: {error}");
            ExitCode::from(2)
        }
    }
}
