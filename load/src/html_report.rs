//! Goose's HTML report, finished so that it works wherever it is opened and says first what the
//! run came to. Goose writes it (`--report-file report.html`, `--pdf-print-html FILE`) with its
//! charts drawn by ECharts loaded from a CDN, so offline, or behind a proxy that refuses the
//! CDN, all six charts are blank; and it knows nothing of the generator's checks. Once goose is
//! done and the audit has judged the run, each HTML report named on the command line is
//! rewritten: goose's `<script src>` of the CDN gives way to the vendored copy in
//! `load/vendor/echarts/` (Apache-2.0; its README says which version and where it comes from),
//! and the verdict (`Summary::verdict`: the violations by kind with an example request and the
//! answer it got) opens the page, above goose's tables.
//!
//! A bare `--report-file` writes into goose's run folder, whose name goose chooses and does not
//! hand back, and a `.gz` name is compressed: those reports stay as goose wrote them.

use crate::summary::Summary;
use goose::config::GooseConfiguration;
use std::path::{Path, PathBuf};

/// Apache ECharts, `dist/echarts.min.js` of the npm package (load/vendor/echarts/README.md).
const ECHARTS: &str = include_str!("../vendor/echarts/echarts.min.js");
/// How goose 0.19's template loads ECharts: `<script src="https://cdn.jsdelivr.net/npm/echarts@5.2.2/dist/echarts.min.js"></script>`.
const CDN_SCRIPT: &str = "<script src=\"https://cdn.jsdelivr.net/npm/echarts@";
const SCRIPT_END: &str = "</script>";
/// Where the verdict goes: first thing in the page.
const BODY: &str = "<body>";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read goose's report {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the report {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "goose's report {path} has no `{CDN_SCRIPT}…` script or no <body>: goose's template \
         changed, and load/src/html_report.rs must follow it"
    )]
    Template { path: PathBuf },
}

/// The HTML reports goose writes at paths the command line gives: every `--report-file` ending
/// in `.html` or `.htm`, and `--pdf-print-html`.
pub fn named_in(configuration: &GooseConfiguration) -> Vec<PathBuf> {
    let is_html = |path: &Path| {
        let extension = path.extension().and_then(|extension| extension.to_str());
        extension.is_some_and(|extension| ["html", "htm"].contains(&&*extension.to_lowercase()))
    };
    let reports = configuration.report_file.iter().map(PathBuf::from).filter(|path| is_html(path));
    let print = configuration.pdf_print_html.iter().filter(|path| !path.is_empty());
    reports.chain(print.map(PathBuf::from)).collect()
}

/// Rewrites each report in `paths` as `finish` does.
pub fn finish_files(paths: &[PathBuf], verdict: Option<&Summary>) -> Result<(), ReportError> {
    for path in paths {
        let html = std::fs::read_to_string(path)
            .map_err(|source| ReportError::Read { path: path.clone(), source })?;
        let finished =
            finish(&html, verdict).ok_or(ReportError::Template { path: path.clone() })?;
        std::fs::write(path, finished)
            .map_err(|source| ReportError::Write { path: path.clone(), source })?;
    }
    Ok(())
}

/// Goose's `html` with ECharts inline instead of from the CDN and, when the run's `verdict` is
/// given, the verdict opening the page; `None` if the page is not goose's template as known
/// here. Without a verdict (`--render-report` draws a report of an earlier run, which this
/// process did not judge) only the charts are made to work.
pub fn finish(html: &str, verdict: Option<&Summary>) -> Option<String> {
    let start = html.find(CDN_SCRIPT)?;
    let end = start + html[start..].find(SCRIPT_END)? + SCRIPT_END.len();
    let body = html[end..].find(BODY)? + end + BODY.len();
    let mut finished = String::with_capacity(html.len() + ECHARTS.len() + 4096);
    finished.push_str(&html[..start]);
    finished.push_str("<script>\n");
    finished.push_str(ECHARTS);
    finished.push_str("\n</script>");
    finished.push_str(&html[end..body]);
    if let Some(summary) = verdict {
        finished.push_str(&verdict_section(summary));
    }
    finished.push_str(&html[body..]);
    Some(finished)
}

/// The verdict as a block of the page: a headline that says whether the run passed, then the
/// verdict the terminal shows, word for word.
fn verdict_section(summary: &Summary) -> String {
    let code = summary.exit_code();
    let (class, outcome) = if code == 0 { ("pass", "passed") } else { ("fail", "failed") };
    format!(
        r#"
    <style>
        .verdict h2 {{ margin-top: 0; }}
        .verdict.pass {{ border-left: 6px solid #00ca5a; }}
        .verdict.fail {{ border-left: 6px solid #d0021b; }}
        .verdict pre {{ white-space: pre-wrap; font-size: 0.95em; }}
    </style>
    <div class="container verdict {class}" id="verdict">
        <h2>Verdict: the run {outcome} (snackdrawer-load exit {code})</h2>
        <pre>{}</pre>
    </div>
"#,
        escape(&summary.verdict())
    )
}

/// `text` safe inside an HTML element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;
    use crate::violation::{Example, ViolationKind};
    use goose::metrics::GooseMetrics;

    /// The parts of goose 0.19's template `finish` reads, around what it must keep.
    const TEMPLATE: &str = "<html><head><style>p {}</style>\n    \
        <script src=\"https://cdn.jsdelivr.net/npm/echarts@5.2.2/dist/echarts.min.js\"></script>\n\
        </head>\n<body>\n    <div class=\"container\"><h1>Goose Attack Report</h1></div>\n</body></html>";

    #[test]
    fn the_charts_come_inline_and_the_verdict_first_with_its_example_escaped() {
        let ledger = Ledger::default();
        let request = "GET /drawers/7 <as someone else>".to_owned();
        ledger.record(ViolationKind::Leak, Example { request, response: "200 OK & \"x\"".into() });
        let summary = Summary::new(&GooseMetrics::default(), &ledger);
        let page = finish(TEMPLATE, Some(&summary)).unwrap();
        assert!(!page.contains("cdn.jsdelivr.net"), "{page}");
        assert!(page.contains(&format!("<script>\n{ECHARTS}\n</script>\n</head>")));
        let body = &page[page.find("<body>").unwrap() + "<body>".len()..];
        assert!(body.trim_start().starts_with("<style>"), "{body}");
        let section = &body[..body.find("Goose Attack Report").unwrap()];
        assert!(section.contains("<div class=\"container verdict fail\" id=\"verdict\">"));
        assert!(section.contains("Verdict: the run failed (snackdrawer-load exit 1)"), "{section}");
        assert!(section.contains("leak: 1\n    e.g. GET /drawers/7 &lt;as someone else&gt;\n"));
        assert!(section.contains("got  200 OK &amp; \"x\""), "{section}");
    }

    #[test]
    fn a_report_of_an_earlier_run_gets_its_charts_and_no_verdict() {
        let page = finish(TEMPLATE, None).unwrap();
        assert!(page.contains(ECHARTS) && !page.contains("cdn.jsdelivr.net"));
        assert!(!page.contains("Verdict"), "{page}");
    }

    #[test]
    fn a_page_that_is_not_goose_s_template_is_refused() {
        assert_eq!(finish("<html><body>report</body></html>", None), None);
        let no_body = TEMPLATE.replace("<body>", "<main>");
        assert_eq!(finish(&no_body, None), None);
    }

    #[test]
    fn the_vendored_echarts_can_sit_inside_a_script_element() {
        // `</script` anywhere in it would end the element early, and the charts with it.
        assert!(!ECHARTS.to_lowercase().contains("</script"));
        assert!(
            ECHARTS.contains("t.version=\"5.6.0\""),
            "load/vendor/echarts/README.md says 5.6.0"
        );
    }

    #[test]
    fn only_html_reports_at_named_paths_are_finished() {
        // Some of its fields are goose's own: it is built field by field.
        let mut configuration = GooseConfiguration::default();
        let reports = ["a.html", "b.json", "c.HTM", goose::config::RUN_FOLDER, "d.html.gz"];
        configuration.report_file = reports.map(String::from).to_vec();
        configuration.pdf_print_html = Some("print.html".into());
        let named = named_in(&configuration);
        assert_eq!(named, ["a.html", "c.HTM", "print.html"].map(PathBuf::from));
    }
}
