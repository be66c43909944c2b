//! What a person reads when the run ends, verdict first: whether the run failed and why
//! (`Summary::verdict`), then what it did, per request and per step of each persona, with names
//! whole (goose's own tables cut them to 24 characters, so two steps could read the same) and the
//! statuses each request got. Goose's tables are off (`run` sets `--no-print-metrics` as the
//! default); its reports (`--report-file`) still hold everything goose measured.

use crate::summary::{Figures, Summary};

/// The report: the verdict, then, when `figures`, the tables of a run that has them (one the
/// generator stopped at its deadline has none: goose hands them over only at its end).
pub fn render(summary: &Summary, figures: bool) -> String {
    let mut text = summary.verdict();
    if !figures || summary.requests.is_empty() {
        return text;
    }
    let sent: usize = summary.requests.values().map(|request| request.figures.count).sum();
    let failed: usize = summary.requests.values().map(|request| request.figures.failures).sum();
    text.push_str(&format!(
        "\n=== requests in {} s: {sent} sent, {failed} failed\n",
        summary.duration_s
    ));
    let requests = summary.requests.iter().map(|(name, request)| {
        let statuses = request.statuses.iter().map(|(status, count)| format!("{count} × {status}"));
        (name.clone(), &request.figures, statuses.collect::<Vec<_>>().join(", "))
    });
    text.push_str(&table("request", requests.collect()));
    text.push_str("\n=== steps of each persona\n");
    let steps = summary.personas.iter().flat_map(|(persona, steps)| {
        steps
            .iter()
            .map(move |(step, figures)| (format!("{persona}: {step}"), figures, String::new()))
    });
    text.push_str(&table("step", steps.collect()));
    text
}

/// Rows of figures under a heading, the first column as wide as its longest name.
fn table(first: &str, rows: Vec<(String, &Figures, String)>) -> String {
    let width = rows.iter().map(|(name, ..)| name.chars().count()).chain([first.len()]).max();
    let width = width.unwrap_or_default();
    let has_statuses = rows.iter().any(|(.., statuses)| !statuses.is_empty());
    let mut text = format!(
        "{first:<width$}  {:>7}  {:>6}  {:>8}  {:>8}  {:>8}{}\n",
        "count",
        "failed",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        if has_statuses { "  statuses" } else { "" }
    );
    for (name, figures, statuses) in rows {
        let line = format!(
            "{name:<width$}  {:>7}  {:>6}  {:>8.2}  {:>8.2}  {:>8.2}  {statuses}",
            figures.count, figures.failures, figures.p50_ms, figures.p95_ms, figures.p99_ms
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;
    use crate::summary::RequestFigures;
    use crate::violation::{Example, ViolationKind};
    use goose::metrics::GooseMetrics;
    use std::collections::BTreeMap;

    fn figures(count: usize, failures: usize) -> Figures {
        Figures { count, failures, p50_ms: 0.41, p95_ms: 0.97, p99_ms: 12.5 }
    }

    /// A run of two requests whose names share their first 24 characters, by a persona whose
    /// sign-up ran once.
    fn run_with_figures(ledger: &Ledger) -> Summary {
        let mut summary = Summary::new(&GooseMetrics::default(), ledger);
        summary.duration_s = 10;
        for (name, status) in [
            ("DELETE /drawers/{id}/snacks/{snack_id}", "404"),
            ("DELETE /drawers/{id}/snacks/all", "405"),
        ] {
            let statuses = BTreeMap::from([(status.to_owned(), 220)]);
            summary
                .requests
                .insert(name.into(), RequestFigures { figures: figures(220, 0), statuses });
        }
        let steps = BTreeMap::from([("sign up".to_owned(), figures(3, 0))]);
        summary.personas.insert("nosy".into(), steps);
        summary
    }

    #[test]
    fn the_report_opens_with_the_verdict_and_names_everything_whole() {
        let ledger = Ledger::default();
        let example = Example { request: "GET /drawers/7".into(), response: "200 OK".into() };
        ledger.record(ViolationKind::Leak, example);
        let report = render(&run_with_figures(&ledger), true);
        assert!(report.starts_with("=== verdict: violations by kind\n  leak: 1\n"), "{report}");
        let requests = report.find("=== requests in 10 s: 440 sent, 0 failed\n").unwrap();
        assert!(report.find("leak: 1").unwrap() < requests, "{report}");
        for line in [
            "DELETE /drawers/{id}/snacks/{snack_id}      220       0      0.41      0.97     12.50  220 × 404",
            "DELETE /drawers/{id}/snacks/all             220       0      0.41      0.97     12.50  220 × 405",
            "nosy: sign up        3       0      0.41      0.97     12.50",
        ] {
            assert!(report.lines().any(|shown| shown == line), "no line {line:?} in\n{report}");
        }
    }

    #[test]
    fn without_figures_the_report_is_the_verdict() {
        let ledger = Ledger::default();
        let summary = run_with_figures(&ledger);
        assert_eq!(render(&summary, false), "=== verdict: no violations\n");
        let stopped = Summary::overran(&ledger, "still going".into());
        assert_eq!(render(&stopped, true), stopped.verdict());
    }
}
