//! `snackdrawer-load`: drives Snackdrawer with users that behave like people, some of them
//! badly, and fails the run on any leak. Exit 0: no violation; 1: violations; 2: usage or
//! connection errors (clap's own usage errors exit 2 as well); 3: most users never got going;
//! 4: the run was still going past its deadline and the generator stopped it.
//!
//! A map for someone who knows goose:
//!
//! - **Scenarios** are the personas (`personas/`), one each, weighted by `--mix`; `Persona::
//!   scenario` builds them, and `run` registers them on the `GooseAttack` and executes it.
//! - **Transactions** are a persona's steps, named after the route they drive (`GET /snacks/`),
//!   made by the `step!` macro in `personas/mod.rs`; each persona's first, `sign up`, is its
//!   `on_start` transaction.
//! - **Requests** do not go through goose's reqwest client. Each user keeps its own HTTP/1
//!   connection, spoken with hyper (`transport`), in goose's per-user data slot (`user`), and
//!   `user::send` files every request in goose's statistics with `record_custom_request_duration`,
//!   under its route template, as goose files its own.
//! - **Checks** are what goose does not do: every answer is judged against the API's contract
//!   (`exchange`, `contract`); the ledger (`ledger`) remembers accounts and drawers, and what
//!   went wrong (`violation`); the nosy neighbour's pairs feed the side-channel tests
//!   (`side_channel`); the audit (`audit`) reads every owner's drawers at the end.
//! - **Output**: one line per interval while it runs (`progress`), then the report, verdict
//!   first (`report`, from `summary`). Goose's own tables are off; its `--report-file` works,
//!   and an HTML one is finished (`html_report`): its charts work offline, the verdict on top.
//!
//! The modules name each other in one direction, from `transport`, `reply` and `violation` at
//! the bottom to `run` at the top (the test `tests/modules.rs` keeps it so).

mod audit;
mod cli;
mod contract;
mod deadline;
mod exchange;
mod forgery;
mod html_report;
mod ledger;
mod personas;
mod progress;
mod reply;
mod report;
mod run;
mod side_channel;
mod start_up;
mod summary;
mod traffic;
mod transport;
mod user;
mod violation;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::parse();
    let figures = !cli.goose.no_print_metrics;
    match run::run(cli).await {
        Ok(summary) => {
            print!("{}", report::render(&summary, figures));
            ExitCode::from(summary.exit_code())
        }
        Err(error) => {
            eprintln!("snackdrawer-load: {error}");
            ExitCode::from(2)
        }
    }
}
