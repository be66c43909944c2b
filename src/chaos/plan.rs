//! Fault plans: which calls go wrong, how, and how often.
//!
//! A plan is a list of rules, written compactly (`--faults`, one rule per `;` or line):
//!
//! ```text
//! DrawerRepository::add_snack error=unavailable p=0.5; GET /drawers/{id} latency=200ms±50ms
//! ```
//!
//! or as TOML (`--faults-file`) and JSON (the admin API), where each rule is a table of
//! `target`, `fault` (the compact fault text), `probability` and `user`. Besides the faults
//! of one call, a `process` rule starts a fault of the whole process (a CPU burn, a leak, a log
//! flood: `background`), and `user=ID` narrows a port rule to one user's calls. Every form is
//! checked against
//! the ports and routes the service has, so a typo stops the start instead of silently never
//! matching, and the error names the rule and where in it the problem is.

use crate::ports::methods;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The port methods that write: the only calls a `slow-commit` delays.
const WRITES: &[&str] = &[
    methods::USER_REPOSITORY_CREATE,
    methods::SNACK_REPOSITORY_CREATE,
    methods::DRAWER_REPOSITORY_CREATE,
    methods::DRAWER_REPOSITORY_ADD_SNACK,
    methods::DRAWER_REPOSITORY_REMOVE_SNACK,
    methods::DRAWER_REPOSITORY_DELETE,
];

/// The ports whose methods return at once, without a future to delay; a rule can name every
/// port method in `methods::ALL`, but these ports' methods it can only make fail.
const SYNCHRONOUS_PORTS: &[&str] = &["TokenService"];

/// What a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every request to the API (not the probes or `/metrics`).
    EveryRequest,
    /// One route, `GET /drawers/{id}`.
    Route(&'static str),
    /// Every method of one port, `DrawerRepository`.
    Port(&'static str),
    /// One port method, `DrawerRepository::add_snack`.
    PortMethod(&'static str),
    /// The process itself, for the faults of no one call (`cpu`, `leak`, `log-flood`).
    Process,
}

impl Target {
    /// Whether a call of the port method `name` (`DrawerRepository::add_snack`) is targeted.
    pub fn hits_port_call(&self, name: &str) -> bool {
        match self {
            Self::PortMethod(method) => *method == name,
            Self::Port(port) => name.strip_prefix(port).is_some_and(|rest| rest.starts_with("::")),
            Self::EveryRequest | Self::Route(_) | Self::Process => false,
        }
    }

    /// Whether a request to `route` (`GET /drawers/{id}`) is targeted; `operational` routes
    /// (probes, metrics) only by name.
    pub fn hits_request(&self, route: &str, operational: bool) -> bool {
        match self {
            Self::EveryRequest => !operational,
            Self::Route(template) => *template == route,
            Self::Port(_) | Self::PortMethod(_) | Self::Process => false,
        }
    }

    fn is_synchronous_port(&self) -> bool {
        let port = match self {
            Self::Port(port) => port,
            Self::PortMethod(method) => method.split("::").next().unwrap_or_default(),
            Self::EveryRequest | Self::Route(_) | Self::Process => return false,
        };
        SYNCHRONOUS_PORTS.contains(&port)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EveryRequest => f.write_str("*"),
            Self::Route(route) => f.write_str(route),
            Self::Port(port) => write!(f, "{port}::*"),
            Self::PortMethod(method) => f.write_str(method),
            Self::Process => f.write_str("process"),
        }
    }
}

/// How long an injected delay lasts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Delay {
    Fixed(Duration),
    /// Uniform in `base ± spread` (never below zero).
    Jitter {
        base: Duration,
        spread: Duration,
    },
    /// Log-normal, given by its median and its 99th percentile.
    LogNormal {
        median: Duration,
        p99: Duration,
    },
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(fixed) => write!(f, "{}", Compact(*fixed)),
            Self::Jitter { base, spread } => write!(f, "{}±{}", Compact(*base), Compact(*spread)),
            Self::LogNormal { median, p99 } => {
                write!(f, "lognormal(median={},p99={})", Compact(*median), Compact(*p99))
            }
        }
    }
}

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// The call is delayed, then made.
    Latency(Delay),
    /// The call is not made; the caller is told the dependency is out (503).
    Unavailable,
    /// The call is not made; the caller is told it failed (500).
    Internal,
    /// The call is not made and never returns: the request deadline ends it.
    Hang,
    /// The call is made, and then the caller is told it failed (500): the one fault that lets
    /// a write land.
    ErrorAfter,
    /// A write is made, and its answer then waits, as a slow commit's would.
    SlowCommit(Delay),
    /// `threads` threads each busy for `share_percent` % of the time.
    CpuBurn { threads: u16, share_percent: u8 },
    /// Memory held at `bytes_per_second`, up to `cap` bytes, freed when the fault ends.
    Leak { bytes_per_second: u64, cap: u64 },
    /// WARN lines at `lines_per_second`.
    LogFlood { lines_per_second: u32 },
    /// Up to `count` of the store's pooled connections taken and held idle, as a component that
    /// forgets to give them back would: every other call waits for the rest.
    HoldConnections { count: u16 },
}

impl Fault {
    /// The `kind` label of this fault's injections.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Latency(_) => "latency",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::Hang => "hang",
            Self::ErrorAfter => "error-after",
            Self::SlowCommit(_) => "slow-commit",
            Self::CpuBurn { .. } => "cpu",
            Self::Leak { .. } => "leak",
            Self::LogFlood { .. } => "log-flood",
            Self::HoldConnections { .. } => "hold-connections",
        }
    }

    /// Whether it is a fault of the whole process, run in the background, not one of a call.
    pub fn is_background(&self) -> bool {
        matches!(
            self,
            Self::CpuBurn { .. }
                | Self::Leak { .. }
                | Self::LogFlood { .. }
                | Self::HoldConnections { .. }
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latency(delay) => write!(f, "latency={delay}"),
            Self::Unavailable => f.write_str("error=unavailable"),
            Self::Internal => f.write_str("error=internal"),
            Self::Hang => f.write_str("hang"),
            Self::ErrorAfter => f.write_str("error-after"),
            Self::SlowCommit(delay) => write!(f, "slow-commit={delay}"),
            Self::CpuBurn { threads, share_percent } => {
                write!(f, "cpu(threads={threads},share={share_percent}%)")
            }
            Self::Leak { bytes_per_second, cap } => {
                write!(f, "leak(rate={}/s,cap={})", Bytes(*bytes_per_second), Bytes(*cap))
            }
            Self::LogFlood { lines_per_second } => {
                write!(f, "log-flood(rate={lines_per_second}/s)")
            }
            Self::HoldConnections { count } => write!(f, "hold-connections(count={count})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub target: Target,
    pub fault: Fault,
    /// Of each targeted call, the share that gets the fault: more than 0, at most 1.
    pub probability: f64,
    /// Only the calls made for this user (by id), once the request's token named them.
    pub user: Option<i64>,
}

impl Rule {
    /// Whether a call of the port method `name`, made for `user` (if known), is targeted.
    pub fn hits_port_call(&self, name: &str, user: Option<i64>) -> bool {
        self.target.hits_port_call(name)
            && (!matches!(self.fault, Fault::SlowCommit(_)) || WRITES.contains(&name))
            && self.user.is_none_or(|only| user == Some(only))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.target, self.fault)?;
        if self.probability < 1.0 {
            write!(f, " p={}", self.probability)?;
        }
        if let Some(user) = self.user {
            write!(f, " user={user}")?;
        }
        Ok(())
    }
}

/// A checked fault plan; empty means no faults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub rules: Vec<Rule>,
}

/// The compact form, which `Plan::parse` reads back.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, rule) in self.rules.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

/// Why a plan was refused: which rule, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault plan, rule {rule} ({text:?}), {position}: {problem}")]
pub struct PlanError {
    /// 1-based.
    pub rule: usize,
    pub text: String,
    /// `column 17` in a compact plan, `line 4` in a file.
    pub position: String,
    pub problem: String,
}

/// One rule as TOML and JSON spell it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub target: String,
    pub fault: String,
    #[serde(default = "always")]
    pub probability: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<i64>,
}

fn always() -> f64 {
    1.0
}

impl From<&Rule> for RuleSpec {
    fn from(rule: &Rule) -> Self {
        Self {
            target: rule.target.to_string(),
            fault: rule.fault.to_string(),
            probability: rule.probability,
            user: rule.user,
        }
    }
}

/// A plan file: `[[rules]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    rules: Vec<toml::Spanned<RuleSpec>>,
}

impl Plan {
    /// Reads a compact plan: rules separated by `;` or new lines, each `TARGET FAULT [p=P]`.
    pub fn parse(text: &str, routes: &[&'static str]) -> Result<Self, PlanError> {
        let mut rules = Vec::new();
        let mut places = Vec::new();
        let mut start = 0;
        for piece in text.split([';', '\n']) {
            let offset = start;
            start += piece.len() + 1;
            if piece.trim().is_empty() {
                continue;
            }
            let number = rules.len() + 1;
            let column = |at: usize| format!("column {}", text[..offset + at].chars().count() + 1);
            let rule = parse_rule(piece, routes).map_err(|(at, problem)| PlanError {
                rule: number,
                text: piece.trim().to_owned(),
                position: column(at),
                problem,
            })?;
            rules.push(rule);
            places.push((piece.trim().to_owned(), column(piece.len() - piece.trim_start().len())));
        }
        if let Some((index, problem)) = repeated_background(&rules) {
            let (text, position) = places.swap_remove(index);
            return Err(PlanError { rule: index + 1, text, position, problem });
        }
        Ok(Self { rules })
    }

    /// Reads a TOML plan file's text.
    pub fn from_toml(text: &str, routes: &[&'static str]) -> Result<Self, PlanError> {
        let line_of =
            |at: usize| format!("line {}", text[..at.min(text.len())].matches('\n').count() + 1);
        let file: PlanFile = toml::from_str(text).map_err(|error| PlanError {
            rule: 0,
            text: String::new(),
            position: line_of(error.span().map_or(0, |span| span.start)),
            problem: error.message().to_owned(),
        })?;
        let rules = file.rules.iter().enumerate().map(|(index, spec)| {
            let at = spec.span().start;
            Self::rule_from_spec(spec.get_ref(), routes)
                .map_err(|problem| PlanError::in_spec(index, spec.get_ref(), line_of(at), problem))
        });
        let rules: Vec<Rule> = rules.collect::<Result<_, _>>()?;
        if let Some((index, problem)) = repeated_background(&rules) {
            let spec = &file.rules[index];
            return Err(PlanError::in_spec(
                index,
                spec.get_ref(),
                line_of(spec.span().start),
                problem,
            ));
        }
        Ok(Self { rules })
    }

    /// Reads the rules as JSON gives them.
    pub fn from_specs(specs: &[RuleSpec], routes: &[&'static str]) -> Result<Self, PlanError> {
        let rules = specs.iter().enumerate().map(|(index, spec)| {
            Self::rule_from_spec(spec, routes).map_err(|problem| {
                PlanError::in_spec(index, spec, format!("rules[{index}]"), problem)
            })
        });
        let rules: Vec<Rule> = rules.collect::<Result<_, _>>()?;
        if let Some((index, problem)) = repeated_background(&rules) {
            return Err(PlanError::in_spec(
                index,
                &specs[index],
                format!("rules[{index}]"),
                problem,
            ));
        }
        Ok(Self { rules })
    }

    pub fn specs(&self) -> Vec<RuleSpec> {
        self.rules.iter().map(RuleSpec::from).collect()
    }

    fn rule_from_spec(spec: &RuleSpec, routes: &[&'static str]) -> Result<Rule, String> {
        let target = parse_target(spec.target.trim(), routes)?;
        let fault = parse_fault(spec.fault.trim()).map_err(|(_, problem)| problem)?;
        let probability = check_probability(spec.probability)?;
        let rule =
            Rule { target, fault, probability, user: spec.user.map(check_user).transpose()? };
        check_fits(&rule)?;
        Ok(rule)
    }
}

impl PlanError {
    fn in_spec(index: usize, spec: &RuleSpec, position: String, problem: String) -> Self {
        let mut text = format!("{} {} p={}", spec.target, spec.fault, spec.probability);
        if let Some(user) = spec.user {
            text += &format!(" user={user}");
        }
        Self { rule: index + 1, text, position, problem }
    }
}

/// A problem at a byte offset within the rule's text.
type Located = (usize, String);

/// The first rule that repeats a process fault's kind, and why that is refused: each is bounded
/// alone (threads, rate, cap), so two of a kind would add up past the bounds.
fn repeated_background(rules: &[Rule]) -> Option<(usize, String)> {
    rules.iter().enumerate().find_map(|(index, rule)| {
        let kind = rule.fault.kind();
        let repeated = rules[..index].iter().any(|earlier| earlier.fault.kind() == kind);
        (rule.fault.is_background() && repeated).then(|| {
            let problem = format!(
                "a plan holds one `process {kind}(…)` rule at most: each is bounded alone, and \
                 two would add up past the bounds"
            );
            (index, problem)
        })
    })
}

fn parse_rule(piece: &str, routes: &[&'static str]) -> Result<Rule, Located> {
    let words: Vec<(usize, &str)> = words(piece).collect();
    let target_words = match words.first() {
        Some((_, first)) if is_http_method(first) => 2,
        Some(_) => 1,
        None => unreachable!("blank rules are skipped"),
    };
    if words.len() <= target_words {
        return Err((piece.len(), "a rule needs a target, then a fault".to_owned()));
    }
    let target_start = words[0].0;
    let (last_at, last) = words[target_words - 1];
    let target_text = &piece[target_start..last_at + last.len()];
    let target = parse_target(target_text, routes).map_err(|problem| (target_start, problem))?;
    let (fault_at, fault_text) = words[target_words];
    let fault = parse_fault(fault_text).map_err(|(at, problem)| (fault_at + at, problem))?;
    let mut rule = Rule { target, fault, probability: 1.0, user: None };
    for &(at, option) in &words[target_words + 1..] {
        if let Some(value) = option.strip_prefix("p=") {
            rule.probability = parse_probability(value).map_err(|problem| (at + 2, problem))?;
        } else if let Some(value) = option.strip_prefix("user=") {
            let id = value.parse().map_err(|_| (at + 5, format!("{value:?} is not a user id")))?;
            rule.user = Some(check_user(id).map_err(|problem| (at + 5, problem))?);
        } else {
            return Err((
                at,
                format!(
                    "unexpected {option:?}; after the fault only p=PROBABILITY and user=ID may \
                     follow"
                ),
            ));
        }
    }
    check_fits(&rule).map_err(|problem| (fault_at, problem))?;
    Ok(rule)
}

/// The whitespace-separated words of `text` with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace().map(move |word| (word.as_ptr() as usize - text.as_ptr() as usize, word))
}

fn is_http_method(word: &str) -> bool {
    ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"].contains(&word)
}

fn parse_target(text: &str, routes: &[&'static str]) -> Result<Target, String> {
    if text == "*" {
        return Ok(Target::EveryRequest);
    }
    if text == "process" {
        return Ok(Target::Process);
    }
    if let Some((method, path)) = text.split_once(' ') {
        let route = format!("{method} {}", path.trim());
        return routes
            .iter()
            .find(|known| **known == route)
            .map(|known| Target::Route(known))
            .ok_or_else(|| format!("no route {route:?}; routes are {}", routes.join(", ")));
    }
    if let Some(port) = text.strip_suffix("::*") {
        return methods::ALL
            .iter()
            .find_map(|method| method.split_once("::").map(|(p, _)| p).filter(|p| *p == port))
            .map(Target::Port)
            .ok_or_else(|| format!("no port {port:?}; ports are {}", port_names().join(", ")));
    }
    if let Some(method) = methods::ALL.iter().find(|method| **method == text) {
        return Ok(Target::PortMethod(method));
    }
    if let Some((port, method)) = text.split_once("::") {
        let its_methods: Vec<_> = methods::ALL
            .iter()
            .filter_map(|known| known.strip_prefix(port)?.strip_prefix("::"))
            .collect();
        return Err(match its_methods[..] {
            [] => format!("no port {port:?}; ports are {}", port_names().join(", ")),
            _ => format!(
                "{port} has no method {method:?}; its methods are {}",
                its_methods.join(", ")
            ),
        });
    }
    Err(format!(
        "unknown target {text:?}: expected *, a route (`GET /drawers/{{id}}`), a port \
         (`DrawerRepository::*`), a port method (`DrawerRepository::add_snack`) or process; \
         routes are {}; ports are {}",
        routes.join(", "),
        port_names().join(", ")
    ))
}

fn port_names() -> Vec<&'static str> {
    let mut ports: Vec<_> =
        methods::ALL.iter().filter_map(|method| method.split_once("::").map(|(p, _)| p)).collect();
    ports.dedup();
    ports
}

fn parse_fault(text: &str) -> Result<Fault, Located> {
    match text {
        "error=unavailable" => return Ok(Fault::Unavailable),
        "error=internal" => return Ok(Fault::Internal),
        "hang" => return Ok(Fault::Hang),
        "error-after" => return Ok(Fault::ErrorAfter),
        _ => {}
    }
    if let Some(delay) = text.strip_prefix("latency=") {
        let at = "latency=".len();
        return parse_delay(delay).map(Fault::Latency).map_err(|(offset, p)| (at + offset, p));
    }
    if let Some(delay) = text.strip_prefix("slow-commit=") {
        let at = "slow-commit=".len();
        return parse_delay(delay).map(Fault::SlowCommit).map_err(|(offset, p)| (at + offset, p));
    }
    if let Some(kind) = text.strip_prefix("error=") {
        return Err((6, format!("unknown error {kind:?}: expected unavailable or internal")));
    }
    if let Some((name, settings)) = text.split_once('(') {
        let at = name.len() + 1;
        let settings = settings
            .strip_suffix(')')
            .ok_or((text.len(), format!("{name}(…) needs its closing parenthesis")))?;
        return parse_background(name, settings).map_err(|problem| (at, problem));
    }
    Err((
        0,
        format!(
            "unknown fault {text:?}: expected latency=DELAY, error=unavailable, \
             error=internal, hang, error-after, slow-commit=DELAY, or for the target process \
             {BACKGROUND_FORMS}"
        ),
    ))
}

/// How the background faults are written.
const BACKGROUND_FORMS: &str = "cpu(threads=N,share=P%), leak(rate=SIZE/s,cap=SIZE), log-flood(rate=N/s) or \
     hold-connections(count=N)";

/// The most a background fault may ask for: enough to show on any dashboard, not enough to
/// take a host down.
const MAX_BURN_THREADS: u16 = 16;
const MAX_LEAK_RATE: u64 = 64 << 20;
const MAX_LEAK_CAP: u64 = 2 << 30;
const MAX_FLOOD_RATE: u32 = 5_000;
/// The largest pool the store may be given (`--db-max-connections`).
const MAX_HELD_CONNECTIONS: u16 = 1_000;

/// `cpu(threads=2,share=50%)`, `leak(rate=4MiB/s,cap=256MiB)`, `log-flood(rate=200/s)` or
/// `hold-connections(count=6)`.
fn parse_background(name: &str, settings: &str) -> Result<Fault, String> {
    let mut values = std::collections::BTreeMap::new();
    for setting in settings.split(',') {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("{name}(…): {setting:?} is not KEY=VALUE"))?;
        values.insert(key, value);
    }
    let expected: &[&str] = match name {
        "cpu" => &["share", "threads"],
        "leak" => &["cap", "rate"],
        "log-flood" => &["rate"],
        "hold-connections" => &["count"],
        "lognormal" => return Err("lognormal(…) is a delay: write latency=lognormal(…)".into()),
        _ => return Err(format!("unknown fault {name:?}(…): expected {BACKGROUND_FORMS}")),
    };
    if !values.keys().copied().eq(expected.iter().copied()) {
        return Err(format!("{name}(…) takes {} (once each)", expected.join(" and ")));
    }
    let in_range = |what: &str, ok: bool, range: &str| {
        if ok { Ok(()) } else { Err(format!("{name}(…): {what} must be {range}")) }
    };
    match name {
        "cpu" => {
            let threads: u16 = values["threads"]
                .parse()
                .map_err(|_| format!("cpu(…): threads={:?} is not a number", values["threads"]))?;
            let most = format!("1 to {MAX_BURN_THREADS}");
            in_range("threads", (1..=MAX_BURN_THREADS).contains(&threads), &most)?;
            let share = parse_probability(values["share"])?;
            let share_percent = (share * 100.0).round() as u8;
            in_range("share", share_percent >= 1, "at least 1%")?;
            Ok(Fault::CpuBurn { threads, share_percent })
        }
        "leak" => {
            let rate = values["rate"]
                .strip_suffix("/s")
                .ok_or_else(|| format!("leak(…): rate={:?} needs /s, as 4MiB/s", values["rate"]))?;
            let (bytes_per_second, cap) = (parse_size(rate)?, parse_size(values["cap"])?);
            let most = format!("above 0 and at most {}/s", Bytes(MAX_LEAK_RATE));
            in_range("rate", (1..=MAX_LEAK_RATE).contains(&bytes_per_second), &most)?;
            let most = format!("above 0 and at most {}", Bytes(MAX_LEAK_CAP));
            in_range("cap", (1..=MAX_LEAK_CAP).contains(&cap), &most)?;
            Ok(Fault::Leak { bytes_per_second, cap })
        }
        "hold-connections" => {
            let count: u16 = values["count"].parse().map_err(|_| {
                format!("hold-connections(…): count={:?} is not a number", values["count"])
            })?;
            let most = format!("1 to {MAX_HELD_CONNECTIONS}");
            in_range("count", (1..=MAX_HELD_CONNECTIONS).contains(&count), &most)?;
            Ok(Fault::HoldConnections { count })
        }
        _ => {
            let rate = values["rate"].strip_suffix("/s").and_then(|n| n.parse().ok()).ok_or_else(
                || {
                    format!(
                        "log-flood(…): rate={:?} is not lines a second, as 200/s",
                        values["rate"]
                    )
                },
            )?;
            let most = format!("1/s to {MAX_FLOOD_RATE}/s");
            in_range("rate", (1..=MAX_FLOOD_RATE).contains(&rate), &most)?;
            Ok(Fault::LogFlood { lines_per_second: rate })
        }
    }
}

/// The binary units sizes are written in, largest first.
const SIZE_UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];

/// `512KiB`, `4MiB`, `1GiB`, or a bare number of bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = SIZE_UNITS
        .iter()
        .find_map(|&(suffix, unit)| text.strip_suffix(suffix).map(|number| (number, unit)))
        .unwrap_or((text, 1));
    number
        .parse::<u64>()
        .ok()
        .and_then(|number| number.checked_mul(unit))
        .ok_or_else(|| format!("{text:?} is not a size (try 512KiB, 4MiB or 1GiB)"))
}

/// A size as `parse_size` reads it, in the largest unit that divides it.
struct Bytes(u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit =
            SIZE_UNITS.iter().find(|(_, unit)| self.0 >= *unit && self.0.is_multiple_of(*unit));
        match unit {
            Some((suffix, unit)) => write!(f, "{}{suffix}", self.0 / unit),
            None => write!(f, "{}", self.0),
        }
    }
}

fn parse_delay(text: &str) -> Result<Delay, Located> {
    if let Some(inner) = text.strip_prefix("lognormal(").and_then(|t| t.strip_suffix(')')) {
        let at = "lognormal(".len();
        let (median, p99) = inner
            .split_once(',')
            .and_then(|(m, p)| Some((m.strip_prefix("median=")?, p.strip_prefix("p99=")?)))
            .ok_or((at, "expected lognormal(median=DURATION,p99=DURATION)".to_owned()))?;
        let median = parse_duration(median).map_err(|p| (at, p))?;
        let p99 = parse_duration(p99).map_err(|p| (at, p))?;
        return log_normal(median, p99).map_err(|p| (0, p));
    }
    let split = text.split_once('±').or_else(|| text.split_once("+-"));
    if let Some((base, spread)) = split {
        let base_value = parse_duration(base).map_err(|p| (0, p))?;
        let spread_at = text.len() - spread.len();
        let spread = parse_duration(spread).map_err(|p| (spread_at, p))?;
        return Ok(Delay::Jitter { base: base_value, spread });
    }
    parse_duration(text).map(Delay::Fixed).map_err(|p| (0, p))
}

/// A log-normal delay, refused unless the 99th percentile is above the median.
pub fn log_normal(median: Duration, p99: Duration) -> Result<Delay, String> {
    if median.is_zero() || p99 <= median {
        return Err(format!(
            "a log-normal delay needs 0 < median < p99 (median {}, p99 {})",
            Compact(median),
            Compact(p99)
        ));
    }
    Ok(Delay::LogNormal { median, p99 })
}

/// How every duration is written, in plans and settings alike: `300ms`, `2s`, `15m`, `1h30m`,
/// `1.5s`, or a bare number of seconds (`2`, `0.25`).
pub fn read_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let bare_seconds =
        !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.');
    let with_unit = if bare_seconds { format!("{trimmed}s") } else { trimmed.to_owned() };
    humantime::parse_duration(&with_unit)
        .map_err(|_| format!("{text:?} is not a duration (try 250ms, 2s or 1m)"))
}

/// A duration as `read_duration` reads it, at most a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = read_duration(text)?;
    if duration > Duration::from_secs(86_400) {
        return Err(format!("{text:?} is longer than a day"));
    }
    Ok(duration)
}

/// `0.25` or `25%`: more than 0, at most 1.
pub fn parse_probability(text: &str) -> Result<f64, String> {
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.parse::<f64>().map(|p| p / 100.0),
        None => text.parse::<f64>(),
    };
    value
        .map_err(|_| format!("{text:?} is not a probability (try 0.25 or 25%)"))
        .and_then(check_probability)
}

fn check_probability(value: f64) -> Result<f64, String> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(format!("probability {value} is not in (0, 1]"))
    }
}

fn check_user(id: i64) -> Result<i64, String> {
    if id >= 1 { Ok(id) } else { Err(format!("user={id}: user ids start at 1")) }
}

/// Whether the rule's fault, probability and user make sense for its target.
fn check_fits(rule: &Rule) -> Result<(), String> {
    let Rule { target, fault, probability, user } = rule;
    let delays = matches!(fault, Fault::Latency(_) | Fault::Hang | Fault::SlowCommit(_));
    if target.is_synchronous_port() && delays {
        return Err(format!(
            "{target} answers synchronously and cannot be delayed or hung; use error=… or \
             error-after"
        ));
    }
    match (target, fault.is_background()) {
        (Target::Process, false) => {
            return Err(format!("the target process takes {BACKGROUND_FORMS}, not {fault}"));
        }
        (Target::Process, true) if *probability < 1.0 || user.is_some() => {
            return Err(format!(
                "{} runs in the background, for no one call: no p= or user=",
                fault.kind()
            ));
        }
        (Target::Process, true) => return Ok(()),
        (_, true) => {
            return Err(format!(
                "{} is a fault of the process: write process {fault}",
                fault.kind()
            ));
        }
        _ => {}
    }
    let on_port = matches!(target, Target::Port(_) | Target::PortMethod(_));
    if matches!(fault, Fault::SlowCommit(_)) {
        let writes = WRITES.iter().any(|write| target.hits_port_call(write));
        if !writes {
            return Err(format!(
                "slow-commit delays writes, and {target} makes none; writes are {}",
                WRITES.join(", ")
            ));
        }
    }
    if user.is_some() && (!on_port || target.is_synchronous_port()) {
        return Err(format!(
            "user= narrows a rule on a port (not TokenService) to the calls made once a \
             request's token named the user; {target} is decided before that"
        ));
    }
    Ok(())
}

/// A duration written as the plan syntax reads it: `250ms`, `3s`.
pub struct Compact(pub Duration);

impl fmt::Display for Compact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_micros();
        match micros {
            _ if micros >= 60_000_000 && micros.is_multiple_of(60_000_000) => {
                write!(f, "{}m", micros / 60_000_000)
            }
            _ if micros.is_multiple_of(1_000_000) => write!(f, "{}s", micros / 1_000_000),
            _ if micros.is_multiple_of(1_000) => write!(f, "{}ms", micros / 1_000),
            _ => write!(f, "{micros}us"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[&str] = &["GET /drawers/{id}", "POST /drawers/{id}", "GET /snacks/"];

    fn parse(text: &str) -> Result<Plan, PlanError> {
        Plan::parse(text, ROUTES)
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn every_target_and_fault_form_parses() {
        let plan = parse(
            "DrawerRepository::add_snack error=unavailable p=0.5;\
             GET /drawers/{id} latency=200ms±50ms\n\
             * latency=lognormal(median=300ms,p99=3s) p=30%; SnackRepository::* hang;\
             POST /drawers/{id} error-after; UserRepository::create error=internal;\
             TokenService::verify latency=20ms+-5ms p=1",
        );
        let error = plan.unwrap_err();
        assert_eq!(error.rule, 7);
        assert!(error.problem.contains("synchronously"), "{error}");

        let plan = parse(
            "DrawerRepository::add_snack error=unavailable p=0.5;\
             GET /drawers/{id} latency=200ms±50ms\n\
             * latency=lognormal(median=300ms,p99=3s) p=30%; SnackRepository::* hang;\
             POST /drawers/{id} error-after; UserRepository::create error=internal",
        )
        .unwrap();
        let expected = [
            (Target::PortMethod("DrawerRepository::add_snack"), Fault::Unavailable, 0.5),
            (
                Target::Route("GET /drawers/{id}"),
                Fault::Latency(Delay::Jitter { base: ms(200), spread: ms(50) }),
                1.0,
            ),
            (
                Target::EveryRequest,
                Fault::Latency(Delay::LogNormal { median: ms(300), p99: ms(3000) }),
                0.3,
            ),
            (Target::Port("SnackRepository"), Fault::Hang, 1.0),
            (Target::Route("POST /drawers/{id}"), Fault::ErrorAfter, 1.0),
            (Target::PortMethod("UserRepository::create"), Fault::Internal, 1.0),
        ];
        let rules: Vec<_> =
            plan.rules.iter().map(|r| (r.target.clone(), r.fault, r.probability)).collect();
        assert_eq!(rules, expected);
    }

    #[test]
    fn the_compact_form_reads_back_as_the_same_plan() {
        let plan = parse(
            "* latency=lognormal(median=300ms,p99=3s) p=0.3; GET /snacks/ latency=1500ms±250ms;\
             DrawerRepository::* error-after p=0.01",
        )
        .unwrap();
        let text = plan.to_string();
        assert_eq!(
            text,
            "* latency=lognormal(median=300ms,p99=3s) p=0.3; GET /snacks/ latency=1500ms±250ms; \
             DrawerRepository::* error-after p=0.01"
        );
        assert_eq!(parse(&text).unwrap(), plan);
        assert_eq!(Plan::from_specs(&plan.specs(), ROUTES).unwrap(), plan);
    }

    #[test]
    fn bad_plans_name_the_rule_and_the_column() {
        let cases = [
            ("* latency=fast", 1, "column 11", "\"fast\" is not a duration"),
            ("* hang; GET /drawer/{id} hang", 2, "column 9", "no route \"GET /drawer/{id}\""),
            ("Drawers::* hang", 1, "column 1", "no port \"Drawers\""),
            (
                "DrawerRepository::open hang",
                1,
                "column 1",
                "DrawerRepository has no method \"open\"; its methods are list_by_owner, create,",
            ),
            (
                "DrawerRepositry::add_snack hang",
                1,
                "column 1",
                "no port \"DrawerRepositry\"; ports are StoreHealth, UserRepository,",
            ),
            ("snacks hang", 1, "column 1", "routes are GET /drawers/{id}, POST /drawers/{id}, GET"),
            ("snacks hang", 1, "column 1", "ports are StoreHealth, UserRepository,"),
            ("* error=broken", 1, "column 9", "unknown error \"broken\""),
            ("* slow", 1, "column 3", "unknown fault \"slow\""),
            ("* hang p=2", 1, "column 10", "probability 2 is not in (0, 1]"),
            ("* hang p=0", 1, "column 10", "not in (0, 1]"),
            ("* hang later", 1, "column 8", "unexpected \"later\""),
            ("DrawerRepository::find", 1, "column 23", "needs a target, then a fault"),
            ("* latency=lognormal(median=3s,p99=300ms)", 1, "column 11", "needs 0 < median < p99"),
        ];
        for (text, rule, position, problem) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!((error.rule, error.position.as_str()), (rule, position), "{text}: {error}");
            assert!(error.problem.contains(problem), "{text}: {error}");
        }
        let error = parse("* hang;\n  * latency=5xs").unwrap_err();
        assert_eq!(
            error.to_string(),
            "fault plan, rule 2 (\"* latency=5xs\"), column 21: \"5xs\" is not a duration \
             (try 250ms, 2s or 1m)"
        );
    }

    #[test]
    fn process_faults_slow_commits_and_user_rules_parse_and_read_back() {
        let text = "process cpu(threads=2,share=50%); process leak(rate=4MiB/s,cap=1GiB); \
                    process log-flood(rate=200/s); process hold-connections(count=6); \
                    DrawerRepository::* slow-commit=300ms±100ms; \
                    DrawerRepository::find error=internal p=0.5 user=3";
        let plan = parse(text).unwrap();
        assert_eq!(plan.to_string(), text);
        assert_eq!(
            plan.rules.iter().map(|rule| rule.fault).take(4).collect::<Vec<_>>(),
            [
                Fault::CpuBurn { threads: 2, share_percent: 50 },
                Fault::Leak { bytes_per_second: 4 << 20, cap: 1 << 30 },
                Fault::LogFlood { lines_per_second: 200 },
                Fault::HoldConnections { count: 6 },
            ]
        );
        assert_eq!(plan.rules[5].user, Some(3));
        assert_eq!(parse(&plan.to_string()).unwrap(), plan);
        assert_eq!(Plan::from_specs(&plan.specs(), ROUTES).unwrap(), plan);
        let share = parse("process cpu(share=0.25,threads=1)").unwrap();
        assert_eq!(share.to_string(), "process cpu(threads=1,share=25%)");
    }

    #[test]
    fn slow_commits_hit_writes_and_user_rules_only_their_user() {
        let plan =
            parse("DrawerRepository::* slow-commit=1s; SnackRepository::* hang user=7").unwrap();
        let (commit, hang) = (&plan.rules[0], &plan.rules[1]);
        assert!(commit.hits_port_call("DrawerRepository::add_snack", None));
        assert!(!commit.hits_port_call("DrawerRepository::find", None), "a read");
        assert!(hang.hits_port_call("SnackRepository::list", Some(7)));
        assert!(!hang.hits_port_call("SnackRepository::list", Some(8)));
        assert!(!hang.hits_port_call("SnackRepository::list", None), "no token, no user");
    }

    #[test]
    fn bad_process_commit_and_user_rules_say_what_exists() {
        let cases = [
            ("process hang", "the target process takes cpu(threads=N,share=P%), leak("),
            ("* cpu(threads=1,share=5%)", "cpu is a fault of the process: write process cpu("),
            ("process cpu(threads=1,share=5%) p=0.5", "no p= or user="),
            ("process cpu(threads=0,share=5%)", "threads must be 1 to 16"),
            ("process cpu(threads=2)", "cpu(…) takes share and threads"),
            ("process leak(rate=4MiB,cap=1GiB)", "needs /s"),
            ("process leak(rate=4MiB/s,cap=9GiB)", "cap must be"),
            ("process leak(rate=4MB/s,cap=1GiB)", "\"4MB\" is not a size"),
            ("process log-flood(rate=9000/s)", "rate must be 1/s to 5000/s"),
            ("process fire(rate=1/s)", "unknown fault \"fire\"(…)"),
            ("process hold-connections(count=0)", "count must be 1 to 1000"),
            ("process hold-connections(count=all)", "count=\"all\" is not a number"),
            ("process hold-connections(n=6)", "hold-connections(…) takes count"),
            ("process cpu(threads=1,share=5%", "closing parenthesis"),
            ("DrawerRepository::find slow-commit=1s", "slow-commit delays writes"),
            ("GET /snacks/ slow-commit=1s", "slow-commit delays writes"),
            ("GET /snacks/ hang user=1", "user= narrows a rule on a port"),
            ("DrawerRepository::find hang user=0", "user ids start at 1"),
            ("DrawerRepository::find hang user=me", "\"me\" is not a user id"),
            ("* slow", "slow-commit=DELAY, or for the target process cpu("),
        ];
        for (text, problem) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.problem.contains(problem), "{text}: {error}");
        }
    }

    #[test]
    fn a_plan_holds_one_process_fault_of_each_kind() {
        let twice =
            "process cpu(threads=16,share=100%); * latency=1ms; process cpu(threads=1,share=5%)";
        let error = parse(twice).unwrap_err();
        assert_eq!((error.rule, error.position.as_str()), (3, "column 52"), "{error}");
        assert!(error.problem.contains("one `process cpu(…)` rule at most"), "{error}");
        let specs = parse("process leak(rate=1MiB/s,cap=1MiB)").unwrap().specs();
        let doubled = [specs.clone(), specs].concat();
        assert_eq!(Plan::from_specs(&doubled, ROUTES).unwrap_err().rule, 2);
        let one_each = "process cpu(threads=1,share=5%); process leak(rate=1MiB/s,cap=1MiB); \
                        process log-flood(rate=1/s); process hold-connections(count=1)";
        assert_eq!(parse(one_each).unwrap().rules.len(), 4);
    }

    #[test]
    fn an_empty_plan_has_no_rules() {
        assert_eq!(parse("").unwrap(), Plan::default());
        assert_eq!(parse(" ; \n ").unwrap(), Plan::default());
    }

    #[test]
    fn plan_files_are_toml_and_their_errors_give_the_line() {
        let plan = Plan::from_toml(
            "[[rules]]\ntarget = \"GET /snacks/\"\nfault = \"latency=2s\"\n\n\
             [[rules]]\ntarget = \"DrawerRepository::add_snack\"\nfault = \"error=unavailable\"\n\
             probability = 0.1\n",
            ROUTES,
        )
        .unwrap();
        assert_eq!(
            plan.to_string(),
            "GET /snacks/ latency=2s; DrawerRepository::add_snack error=unavailable p=0.1"
        );

        let error = Plan::from_toml(
            "[[rules]]\ntarget = \"*\"\nfault = \"hang\"\n\n[[rules]]\ntarget = \"*\"\n\
             fault = \"latency=soon\"\n",
            ROUTES,
        )
        .unwrap_err();
        assert_eq!((error.rule, error.position.as_str()), (2, "line 5"), "{error}");
        assert!(error.problem.contains("\"soon\" is not a duration"), "{error}");

        let error =
            Plan::from_toml("[[rules]]\ntarget = \"*\"\nfault = \"hang\"\nchance = 1\n", ROUTES)
                .unwrap_err();
        assert_eq!(error.position, "line 4", "{error}");
        assert!(error.problem.contains("unknown field `chance`"), "{error}");
    }
}
