//! The settings as the real binary reads them: each command's `--help` lists its own flags
//! and no others, durations are taken in every spelling the docs and ops/ use, and a refused
//! value names the variable when that is where it came from.

use crate::support::server::RunningServer;
use regex::Regex;
use std::collections::BTreeSet;
use std::process::{Command, Output};

fn snackdrawer(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

/// The long flags `snackdrawer <command> --help` lists, and its length in lines.
fn help(command: &[&str]) -> (BTreeSet<String>, usize) {
    let output = snackdrawer(&[command, &["--help"]].concat(), &[]);
    assert!(output.status.success(), "{command:?} --help failed");
    let text = String::from_utf8(output.stdout).unwrap();
    let option = Regex::new(r"^\s+(?:-\w, )?--([a-z0-9-]+)").unwrap();
    let flags =
        text.lines().filter_map(|line| Some(option.captures(line)?[1].to_owned())).collect();
    (flags, text.lines().count())
}

fn set(flags: &[&str]) -> BTreeSet<String> {
    flags.iter().map(|flag| (*flag).to_owned()).collect()
}

const STORE: [&str; 5] = [
    "database-url",
    "db-max-connections",
    "db-acquire-timeout",
    "db-statement-timeout",
    "db-probe-interval",
];

const TELEMETRY: [&str; 13] = [
    "otel-exporter-otlp-endpoint",
    "otel-exporter-otlp-protocol",
    "otel-exporter-otlp-headers",
    "otel-exporter-otlp-certificate",
    "otel-logs-exporter",
    "honeycomb-api-key",
    "honeycomb-api-endpoint",
    "honeycomb-dataset",
    "otel-service-name",
    "autometrics-service-name",
    "autometrics-repository-url",
    "autometrics-repository-provider",
    "log-format",
];

const ADMIN_CLIENT: [&str; 5] = ["help", "admin-url", "json", "admin-listen", "admin-token"];

#[test]
fn each_faults_action_s_help_is_short_and_lists_only_the_admin_api_s_flags() {
    for (action, own) in [
        (vec![], vec![]),
        (vec!["show"], vec![]),
        (vec!["set"], vec!["file"]),
        (vec!["clear"], vec![]),
        (vec!["lazy"], vec!["for", "off"]),
        (vec!["stop-schedule"], vec![]),
        (vec!["stop-incidents"], vec![]),
        (vec!["mystery"], vec!["seed"]),
        (vec!["guess"], vec![]),
        (vec!["reveal"], vec![]),
    ] {
        let (flags, lines) = help(&[&["faults"], &action[..]].concat());
        assert_eq!(flags, set(&[&ADMIN_CLIENT[..], &own].concat()), "faults {action:?}");
        // The list of actions makes `faults --help` the longest: one line each.
        assert!(lines <= 35, "faults {action:?} --help takes {lines} lines");
    }
}

#[test]
fn migrate_s_help_lists_the_store_and_telemetry_and_openapi_s_nothing() {
    let (flags, lines) = help(&["migrate"]);
    assert_eq!(flags, set(&[&["help"][..], &STORE, &TELEMETRY].concat()));
    assert!(lines <= 90, "migrate --help takes {lines} lines");
    let (flags, lines) = help(&["openapi"]);
    assert_eq!(flags, set(&["help"]));
    assert!(lines <= 8, "openapi --help takes {lines} lines");
}

#[test]
fn serving_s_help_lists_every_setting_but_the_admin_client_s() {
    let (flags, _) = help(&["serve"]);
    for flag in
        [&STORE[..], &TELEMETRY, &["listen", "token-ttl", "lazy-ramp", "admin-token"]].concat()
    {
        assert!(flags.contains(flag), "serve --help has no --{flag}");
    }
    assert!(!flags.contains("admin-url") && !flags.contains("json"), "{flags:?}");
    let (top_level, _) = help(&[]);
    assert_eq!(
        top_level,
        set(&[&["version"][..], &flags.iter().map(String::as_str).collect::<Vec<_>>()].concat())
    );
}

#[tokio::test]
async fn durations_are_taken_in_every_spelling() {
    let server = RunningServer::start(&[
        ("SNACKDRAWER_TOKEN_TTL", "15m"),
        ("SNACKDRAWER_LOGIN_BACKOFF_MAX", "300"),
        ("SNACKDRAWER_REQUEST_TIMEOUT", "0.5"),
        ("SNACKDRAWER_HEADER_TIMEOUT", "2s"),
        ("SNACKDRAWER_IDLE_TIMEOUT", "1m"),
        ("SNACKDRAWER_SHUTDOWN_GRACE", "10"),
        ("SNACKDRAWER_LAZY_RAMP", "0s"),
        ("SNACKDRAWER_LAZY_NAP_MEDIAN", "0.1"),
        ("SNACKDRAWER_LAZY_SCHEDULE", "every 1h for 500ms"),
    ]);
    let reply = reqwest::get(server.url("/snacks/")).await.unwrap();
    assert_eq!(reply.status(), 200);
}

#[test]
fn a_refused_value_names_the_variable_it_came_from() {
    let refusal = |args: &[&str], env: &[(&str, &str)]| {
        let output = snackdrawer(args, env);
        assert_eq!(output.status.code(), Some(2), "{args:?} {env:?} is a usage error");
        String::from_utf8(output.stderr).unwrap()
    };
    let said = refusal(&[], &[("SNACKDRAWER_JWT_SECRET", "short")]);
    assert!(said.contains("for SNACKDRAWER_JWT_SECRET (--jwt-secret): must be at least"), "{said}");
    assert!(!said.contains("short"), "{said}");
    let said = refusal(&["--jwt-secret", "short"], &[]);
    assert!(said.contains("for --jwt-secret: must be") && !said.contains("SNACKDRAWER_"), "{said}");
    let said = refusal(&["migrate"], &[("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "soon")]);
    assert!(
        said.contains("'soon' for SNACKDRAWER_DB_ACQUIRE_TIMEOUT (--db-acquire-timeout)"),
        "{said}"
    );
}
