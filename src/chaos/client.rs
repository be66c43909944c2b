//! `snackdrawer faults show|set|clear|lazy|stop-schedule|mystery|guess|reveal`: the admin API
//! from the command line, for a service running elsewhere. It prints the state the service answers with, as text for
//! people or, with `--json`, as the API gives it.

use super::admin::AdminToken;
use super::plan::Plan;
use crate::adapters::http::ROUTES;
use clap::Subcommand;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum FaultsAction {
    /// The plan, lazy mode and what was injected so far.
    Show,
    /// Replace the plan, with a compact plan or a TOML file (an empty plan clears the rules).
    Set {
        /// The plan, as --faults takes it.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        plan: Option<String>,
        /// A TOML plan file, as --faults-file takes it.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// No rules, no laziness and no lazy schedule, at once.
    Clear,
    /// Lazy mode on (for a while, or until `lazy --off`), or off (ramping out).
    Lazy {
        /// How long, e.g. 2m; until turned off when not given.
        #[arg(long = "for", value_name = "DURATION", conflicts_with = "off")]
        lasting: Option<String>,
        /// Turn lazy mode off.
        #[arg(long)]
        off: bool,
    },
    /// Stop the lazy schedule: no more episodes, and the one under way ends.
    StopSchedule,
    /// Stop the incident schedule: no more incidents, and the one under way ends.
    StopIncidents,
    /// Start an incident of the catalogue without saying which (docs/incidents.md).
    Mystery {
        /// Pick the incident repeatably.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Guess the mystery's incident by its name: right or wrong.
    Guess {
        /// An incident's name, e.g. slow-hashing.
        name: String,
    },
    /// Give up: the mystery's incident, its plan and the time taken.
    Reveal,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no admin URL: pass --admin-url (or SNACKDRAWER_ADMIN_URL), or set \
         SNACKDRAWER_ADMIN_LISTEN to the address the service's admin API listens on"
    )]
    NoUrl,
    #[error("no admin token: pass --admin-token (or SNACKDRAWER_ADMIN_TOKEN)")]
    NoToken,
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
    #[error(transparent)]
    Plan(#[from] super::plan::PlanError),
    #[error("cannot reach the admin API at {url}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the admin API answered {status}: {message}")]
    Refused { status: u16, message: String },
}

/// Runs `action` against the admin API at `base` (`http://127.0.0.1:9000`) with `token`;
/// returns what to print: the service's answer, as text or as JSON.
pub async fn run(
    action: &FaultsAction,
    base: Option<String>,
    token: Option<&AdminToken>,
    json_output: bool,
) -> Result<String, ClientError> {
    let base = base.ok_or(ClientError::NoUrl)?;
    let token = token.ok_or(ClientError::NoToken)?;
    let (method, path, body) = match action {
        FaultsAction::Show => (reqwest::Method::GET, "/faults", None),
        FaultsAction::Set { file: Some(path), .. } => {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ClientError::Read { path: path.display().to_string(), source })?;
            let plan = Plan::from_toml(&text, ROUTES)?;
            (reqwest::Method::PUT, "/faults", Some(json!({ "rules": plan.specs() })))
        }
        FaultsAction::Set { plan, file: None } => {
            (reqwest::Method::PUT, "/faults", Some(json!({ "text": plan })))
        }
        FaultsAction::Clear => (reqwest::Method::DELETE, "/faults", None),
        FaultsAction::Lazy { off: true, .. } => (reqwest::Method::DELETE, "/lazy", None),
        FaultsAction::Lazy { lasting, .. } => {
            (reqwest::Method::POST, "/lazy", Some(json!({ "for": lasting })))
        }
        FaultsAction::StopSchedule => (reqwest::Method::DELETE, "/lazy/schedule", None),
        FaultsAction::StopIncidents => (reqwest::Method::DELETE, "/incidents/schedule", None),
        FaultsAction::Mystery { seed } => {
            (reqwest::Method::POST, "/faults/mystery", Some(json!({ "seed": seed })))
        }
        FaultsAction::Guess { name } => {
            (reqwest::Method::POST, "/faults/guess", Some(json!({ "name": name })))
        }
        FaultsAction::Reveal => (reqwest::Method::POST, "/faults/reveal", None),
    };
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let unreachable = |source| ClientError::Unreachable { url: url.clone(), source };
    let mut request = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(token.as_str())
        .timeout(Duration::from_secs(10));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let answer: Value = response.json().await.map_err(unreachable)?;
    if !status.is_success() {
        let message = answer["error"].as_str().map_or_else(|| answer.to_string(), str::to_owned);
        return Err(ClientError::Refused { status: status.as_u16(), message });
    }
    Ok(if json_output {
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    } else {
        describe(&answer)
    })
}

/// The lazy schedule in `GET /faults`'s answer: `every 10m for 2m, next episode in 212 s`.
fn describe_schedule(schedule: &Value) -> String {
    let Some(text) = schedule["text"].as_str() else { return "none".to_owned() };
    let next_in = schedule["next_in_s"].as_f64().unwrap_or_default();
    match schedule["next"].as_str() {
        Some("off") => format!("{text}, this episode ends in {next_in:.0} s"),
        _ => format!("{text}, next episode in {next_in:.0} s"),
    }
}

/// The incident schedule in `GET /faults`'s answer: `every 10m for 2m..5m, slow-commits ends
/// in 143 s`.
fn describe_incidents(schedule: &Value) -> String {
    let Some(text) = schedule["text"].as_str() else { return "no schedule".to_owned() };
    let next_in = schedule["next_in_s"].as_f64().unwrap_or_default();
    match schedule["incident"].as_str() {
        Some(incident) => format!("{text}, {incident} ends in {next_in:.0} s"),
        None => format!("{text}, next incident in {next_in:.0} s"),
    }
}

/// A told mystery (a right guess, a reveal, or `GET /faults` after them), for people.
fn describe_answer(answer: &Value) -> String {
    let how = if answer["solved"].as_bool() == Some(true) { "found" } else { "revealed" };
    format!(
        "{} ({}), {how} after {:.0} s\n  plan: {}",
        answer["name"].as_str().unwrap_or(""),
        answer["symptom"].as_str().unwrap_or(""),
        answer["took_s"].as_f64().unwrap_or_default(),
        answer["plan"].as_str().unwrap_or("")
    )
}

/// Any of the admin API's answers, for people.
fn describe(answer: &Value) -> String {
    if answer["mystery"] == "running" {
        let since = answer["started_at"].as_str().unwrap_or("");
        return format!("mystery:   running since {since}; its signals are all you get\n");
    }
    match answer["right"].as_bool() {
        Some(true) => return format!("right: {}\n", describe_answer(answer)),
        Some(false) => return format!("wrong (guesses so far: {})\n", answer["guesses"]),
        None => {}
    }
    if answer.get("took_s").is_some() {
        return format!("mystery:   {}\n", describe_answer(answer));
    }
    describe_status(answer)
}

/// `GET /faults`'s answer, for people.
fn describe_status(status: &Value) -> String {
    let mut text = String::new();
    let plan = status["plan"]["text"].as_str().filter(|plan| !plan.is_empty());
    let _ = writeln!(text, "plan:      {}", plan.unwrap_or("no rules"));
    let lazy = &status["lazy"];
    let level = lazy["level"].as_f64().unwrap_or_default();
    let state = match (lazy["on"].as_bool() == Some(true), lazy["remaining_s"].as_f64()) {
        (true, Some(left)) => format!("on for {left:.0} s more"),
        (true, None) => "on".to_owned(),
        (false, _) if level > 0.0 => "off, ramping out".to_owned(),
        (false, _) => "off".to_owned(),
    };
    let _ = writeln!(
        text,
        "lazy mode: {state}, level {level:.2} ({})",
        lazy["settings"].as_str().unwrap_or("")
    );
    let _ = writeln!(text, "schedule:  {}", describe_schedule(&lazy["schedule"]));
    let _ = writeln!(text, "incidents: {}", describe_incidents(&status["incident_schedule"]));
    let injected = status["injected"].as_array().map(Vec::as_slice).unwrap_or_default();
    if injected.is_empty() {
        let _ = writeln!(text, "injected:  nothing yet");
    } else {
        let _ = writeln!(text, "injected:");
        for count in injected {
            let _ = writeln!(
                text,
                "  {:<40} {:<12} {}",
                count["target"].as_str().unwrap_or(""),
                count["kind"].as_str().unwrap_or(""),
                count["count"]
            );
        }
    }
    if status["mystery"].is_object() {
        let _ = writeln!(text, "mystery:   {}", describe_answer(&status["mystery"]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mystery_s_answers_read_as_text_and_a_secret_one_tells_nothing() {
        let running = json!({"mystery": "running", "started_at": "2026-12-07T05:12:03.412Z"});
        assert_eq!(
            describe(&running),
            "mystery:   running since 2026-12-07T05:12:03.412Z; its signals are all you get\n"
        );
        let secret = json!({"active": true, "mystery": "running", "started_at": "t"});
        assert!(describe(&secret).starts_with("mystery:   running since t"));
        assert_eq!(describe(&json!({"right": false, "guesses": 2})), "wrong (guesses so far: 2)\n");
        let answer = json!({"name": "slow-hashing", "symptom": "logins slow", "took_s": 311.6,
                            "plan": "PasswordHasher::* latency=900ms±300ms", "solved": true});
        let mut right = answer.clone();
        right["right"] = json!(true);
        assert_eq!(
            describe(&right),
            "right: slow-hashing (logins slow), found after 312 s\n  \
             plan: PasswordHasher::* latency=900ms±300ms\n"
        );
        let mut revealed = answer;
        revealed["solved"] = json!(false);
        assert!(describe(&revealed).starts_with("mystery:   slow-hashing (logins slow), revealed"));
    }
}
