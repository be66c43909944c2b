//! OpenMetrics text to the classic Prometheus text format (0.0.4).
//!
//! The registry's encoder (prometheus-client 0.22) writes OpenMetrics only. Most scrapers and
//! every curl user still expect the classic format, which differs in a few mechanical ways,
//! all handled here: no `# EOF` or `# UNIT` lines, no exemplars, counters named with their
//! `_total` suffix in `# HELP`/`# TYPE`, and `unknown`/`info`/`stateset` types spelled as
//! the classic format knows them.

/// Converts one OpenMetrics exposition into the Prometheus text format.
pub fn openmetrics_to_prometheus(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let line = match kind {
                "counter" => {
                    counters.insert(name.to_owned());
                    format!("# TYPE {name}_total counter")
                }
                "gauge" | "histogram" | "summary" => line.to_owned(),
                "info" | "stateset" => format!("# TYPE {name} gauge"),
                _ => format!("# TYPE {name} untyped"),
            };
            out.push_str(&line);
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.contains(name) || following_type_is_counter(openmetrics, name) {
                out.push_str(&format!("# HELP {name}_total {help}"));
            } else {
                out.push_str(line);
            }
        } else if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        } else {
            out.push_str(without_exemplar(line));
        }
        out.push('\n');
    }
    out
}

/// `# HELP` comes before `# TYPE`, so look ahead for the family's type.
fn following_type_is_counter(openmetrics: &str, name: &str) -> bool {
    openmetrics.contains(&format!("# TYPE {name} counter\n"))
}

/// A sample line without its ` # {labels} value` exemplar. Label values may contain `#`, so
/// the exemplar marker is searched after the closing brace of the sample's labels.
fn without_exemplar(line: &str) -> &str {
    let labels_end = if line.contains('{') { closing_brace(line).unwrap_or(0) } else { 0 };
    match line[labels_end..].find(" # ") {
        Some(at) => &line[..labels_end + at],
        None => line,
    }
}

/// Index just past the `}` that closes the first `{`, skipping quoted label values.
fn closing_brace(line: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return Some(at + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENMETRICS: &str = "\
# HELP function_calls Autometrics counter.
# TYPE function_calls counter
function_calls_total{function=\"SnackRepository::list\",result=\"ok\"} 3 # {trace_id=\"abc\"} 1.0
# HELP http_server_request_duration_seconds Duration.
# TYPE http_server_request_duration_seconds histogram
# UNIT http_server_request_duration_seconds seconds
http_server_request_duration_seconds_bucket{le=\"0.1\",http_route=\"/a#b\"} 2 # {trace_id=\"def\"} 0.02
http_server_request_duration_seconds_count{http_route=\"/a#b\"} 2
# HELP odd Something else.
# TYPE odd unknown
odd 1
# EOF
";

    #[test]
    fn converts_to_the_classic_format() {
        let expected = "\
# HELP function_calls_total Autometrics counter.
# TYPE function_calls_total counter
function_calls_total{function=\"SnackRepository::list\",result=\"ok\"} 3
# HELP http_server_request_duration_seconds Duration.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{le=\"0.1\",http_route=\"/a#b\"} 2
http_server_request_duration_seconds_count{http_route=\"/a#b\"} 2
# HELP odd Something else.
# TYPE odd untyped
odd 1
";
        assert_eq!(openmetrics_to_prometheus(OPENMETRICS), expected);
    }

    #[test]
    fn exemplar_markers_inside_label_values_are_kept() {
        assert_eq!(
            without_exemplar(r#"m{path="a # b"} 1 # {trace_id="x"} 1"#),
            r#"m{path="a # b"} 1"#
        );
        assert_eq!(without_exemplar(r#"m{path="a \" # b"} 1"#), r#"m{path="a \" # b"} 1"#);
        assert_eq!(without_exemplar("plain 1"), "plain 1");
    }
}
