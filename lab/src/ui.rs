//! Draws a `Screen`: the overview (golden signals per route, SLO burn rates and alerts,
//! saturation, faults, the charts with their fault annotations, the slowest and failed traces)
//! or a trace's waterfall, and over them the help, the fault menu or the filter being typed.
//! Everything is text lines fitted to the frame, so 80×24 shows every panel and a taller or
//! wider terminal shows more rows.

use crate::admin::PRESETS;
use crate::app::{App, KEYS, List, View};
use crate::format::{burn, duration, fit, mebibytes, percent};
use crate::screen::{AlertState, BurnSource, LoadState, Screen, Waterfall};
use crate::slo::SHOWN_WINDOWS;
use crate::state::Point;
use crate::traces::store::TraceSummary;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// The fixed lines of the overview besides the route and trace rows.
const FIXED_LINES: usize = 17;
const ERROR_LINE: f64 = 0.001;
const LATENCY_LINE: f64 = 0.25;

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn heading(text: impl Into<String>) -> Line<'static> {
    Line::from(Span::styled(text.into(), bold().fg(Color::Cyan)))
}

pub fn draw(frame: &mut Frame<'_>, screen: &Screen, app: &App, waterfall: Option<&Waterfall>) {
    let area = frame.area();
    let lines = match (&app.view, waterfall) {
        (View::Trace { span, .. }, Some(w)) => trace_lines(screen, w, *span, area),
        (View::Trace { .. }, None) => {
            let mut lines = vec![title(screen, area.width)];
            lines.push(Line::from("this trace is no longer kept (Esc: back)"));
            lines
        }
        (View::Overview, _) => overview_lines(screen, app, area),
    };
    frame.render_widget(Paragraph::new(lines), area);
    if app.help {
        help(frame, area);
    } else if let Some(chosen) = app.menu {
        menu(frame, area, chosen);
    } else if let Some(typed) = &app.typing {
        let box_area = centered(area, 50, 3);
        frame.render_widget(Clear, box_area);
        let block = Block::bordered().title(" filter routes (Enter keeps, Esc clears) ");
        frame.render_widget(Paragraph::new(format!("{typed}_")).block(block), box_area);
    }
}

fn title(screen: &Screen, width: u16) -> Line<'static> {
    let firing: Vec<_> = screen
        .slo
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing && a.severity == "page")
        .map(|a| a.name.trim_start_matches("Snackdrawer"))
        .collect();
    let load = match screen.load {
        LoadState::Running => "load on",
        LoadState::Paused => "load PAUSED",
        LoadState::Exited => "load EXITED",
        LoadState::None => "no load",
    };
    let mut spans = vec![Span::styled(format!("{} · {load} ", screen.title), bold())];
    if firing.is_empty() {
        spans.push(Span::styled("· no page", Style::new().fg(Color::Green)));
    } else {
        let text = format!("· PAGE {}", firing.join(" "));
        spans.push(Span::styled(text, bold().fg(Color::White).bg(Color::Red)));
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let lab = format!(
        "lab {} {}",
        screen.lab.cpu_percent.map_or_else(|| "-".to_owned(), |c| format!("{c:.0}%")),
        mebibytes(screen.lab.resident_bytes)
    );
    let room = usize::from(width).saturating_sub(used + lab.len() + 1);
    if room > 0 {
        spans.push(Span::raw(" ".repeat(room)));
        spans.push(Span::styled(lab, Style::new().fg(Color::DarkGray)));
    }
    Line::from(spans)
}

fn overview_lines(screen: &Screen, app: &App, area: Rect) -> Vec<Line<'static>> {
    let width = usize::from(area.width);
    let spare = usize::from(area.height).saturating_sub(FIXED_LINES);
    // The routes get up to half the spare rows (at least 2: all routes and the busiest).
    let route_rows = screen.routes.len().min((spare / 2).max(2));
    let trace_rows = spare.saturating_sub(route_rows).max(1);
    let mut lines = vec![title(screen, area.width)];
    lines.extend(route_lines(screen, width, route_rows));
    lines.extend(slo_lines(screen, width));
    lines.extend(saturation_and_fault_lines(screen, width));
    lines.extend(chart_lines(screen, width));
    lines.extend(trace_list_lines(screen, app, width, trace_rows));
    // The footer on the last line, whatever the lists held.
    lines.resize(usize::from(area.height).saturating_sub(1).max(lines.len()), Line::default());
    lines.push(footer(screen, app, width));
    lines
}

fn route_lines(screen: &Screen, width: usize, rows: usize) -> Vec<Line<'static>> {
    let name_width = width.saturating_sub(40).clamp(12, 60);
    let filter =
        if screen.filter.is_empty() { String::new() } else { format!(" /{}", screen.filter) };
    let header = format!(
        "{:<name_width$} {:>7} {:>7} {:>7} {:>7} {:>7}",
        fit(&format!("GOLDEN SIGNALS last {:.0}s{filter}", screen.window_s), name_width),
        "req/s",
        "5xx",
        "p50",
        "p95",
        "p99"
    );
    let mut lines = vec![heading(header)];
    if screen.routes.is_empty() {
        lines.push(Line::from("  waiting for two readings of /metrics…"));
    }
    for route in screen.routes.iter().take(rows) {
        let errors = percent(route.error_share);
        let error_style = if route.error_share.is_some_and(|e| e > ERROR_LINE) {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        };
        let p95_style = if route.p95.is_some_and(|p| p > LATENCY_LINE) {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{:<name_width$} {:>7.1} ",
                fit(&route.route, name_width),
                route.rate
            )),
            Span::styled(format!("{errors:>7}"), error_style),
            Span::raw(format!(" {:>7} ", duration(route.p50))),
            Span::styled(format!("{:>7}", duration(route.p95)), p95_style),
            Span::raw(format!(" {:>7}", duration(route.p99))),
        ]));
    }
    lines
}

fn slo_lines(screen: &Screen, width: usize) -> Vec<Line<'static>> {
    let source = match &screen.slo.source {
        BurnSource::Prometheus(url) => format!("read from Prometheus at {url}"),
        BurnSource::Own(why) => format!("computed in the lab by rules.yml's formulas: {why}"),
    };
    let windows: String = SHOWN_WINDOWS.iter().map(|w| format!("{w:>6}")).collect();
    let mut lines = vec![
        heading(format!("{:<16}{windows}  alerts", "SLO BURN ×budget")),
        Line::from(Span::styled(
            fit(&format!("  {source}"), width),
            Style::new().fg(Color::DarkGray),
        )),
    ];
    for (objective, rates) in &screen.slo.burn {
        let mut spans = vec![Span::raw(format!("{:<16}", objective.name()))];
        for rate in rates {
            let hot = rate.is_some_and(|r| r > 14.4);
            let style = if hot { Style::new().fg(Color::Red) } else { Style::new() };
            spans.push(Span::styled(format!("{:>6}", burn(*rate)), style));
        }
        spans.push(Span::raw("  "));
        for alert in
            screen.slo.alerts.iter().filter(|a| a.name.contains(alert_word(objective.name())))
        {
            let speed = if alert.name.ends_with("Fast") { "fast" } else { "slow" };
            let (word, style) = match alert.state {
                AlertState::Firing => ("FIRING", bold().fg(Color::White).bg(Color::Red)),
                AlertState::Pending => ("pending", Style::new().fg(Color::Yellow)),
                AlertState::Inactive => ("ok", Style::new().fg(Color::Green)),
            };
            spans.push(Span::raw(format!("{speed} {}: ", alert.severity)));
            spans.push(Span::styled(word, style));
            spans.push(Span::raw("  "));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The word in the alert names of an objective.
fn alert_word(objective: &str) -> &'static str {
    if objective == "latency" { "Latency" } else { "ErrorBudget" }
}

fn saturation_and_fault_lines(screen: &Screen, width: usize) -> Vec<Line<'static>> {
    let s = &screen.saturation;
    let pool = s.pool.map_or_else(String::new, |(used, max)| format!(" · pool {used:.0}/{max:.0}"));
    let cpu = s.service.cpu_percent.map_or_else(|| "-".to_owned(), |c| format!("{c:.0}%"));
    let saturation = format!(
        "in flight {:.0} · hashing {:.0} · store {:.0}{pool} · cpu {cpu} · mem {}",
        s.in_flight,
        s.hashing,
        s.store_calls,
        mebibytes(s.service.resident_bytes)
    );
    let f = &screen.faults;
    let plan = if !f.reachable {
        "admin API not reachable".to_owned()
    } else if f.mystery {
        "a mystery is running (which incident? snackdrawer faults guess NAME)".to_owned()
    } else if f.plan.is_empty() {
        "no rules".to_owned()
    } else {
        f.plan.clone()
    };
    let lazy = match (f.lazy_on, f.remaining_s) {
        (true, Some(left)) => format!("ON for {left:.0}s"),
        (true, None) => "ON".to_owned(),
        (false, _) if f.level > 0.0 => "off, ramping out".to_owned(),
        (false, _) => "off".to_owned(),
    };
    let lazy_style = if f.level > 0.0 { bold().fg(Color::Yellow) } else { Style::new() };
    vec![
        Line::from(vec![
            Span::styled("SATURATION ", bold().fg(Color::Cyan)),
            Span::raw(fit(&saturation, width.saturating_sub(11))),
        ]),
        Line::from(vec![
            Span::styled("FAULTS ", bold().fg(Color::Cyan)),
            Span::raw(fit(
                &format!("plan: {plan} · injected {}", f.injected),
                width.saturating_sub(7),
            )),
        ]),
        Line::from(vec![
            Span::raw("  lazy "),
            Span::styled(format!("{lazy}, level {:.2}", f.level), lazy_style),
            Span::raw(fit(&format!(" ({})", f.settings), width.saturating_sub(30))),
        ]),
    ]
}

const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One row of block characters, one column per second, scaled to `top`.
fn strip(values: &[Option<f64>], top: f64) -> String {
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) if top <= 0.0 => LEVELS[usize::from(*v > 0.0)],
            Some(v) => {
                let level = (v / top * 8.0).ceil().clamp(0.0, 8.0);
                LEVELS[level as usize]
            }
        })
        .collect()
}

fn chart_lines(screen: &Screen, width: usize) -> Vec<Line<'static>> {
    let label = 10;
    let columns = width.saturating_sub(label + 8).max(1);
    let points: Vec<&Point> = screen.timeline.iter().rev().take(columns).rev().collect();
    let first = points.first().map_or(screen.now, |p| p.at);
    let rate: Vec<_> = points.iter().map(|p| Some(p.rate)).collect();
    let p95: Vec<_> = points.iter().map(|p| p.p95).collect();
    let errors: Vec<_> = points.iter().map(|p| p.error_share).collect();
    let top = |values: &[Option<f64>]| values.iter().flatten().copied().fold(0.0, f64::max);
    let (rate_top, p95_top, error_top) = (top(&rate), top(&p95), top(&errors));
    let last = |values: &[Option<f64>]| values.last().copied().flatten();
    // The lazy level (0 to 1) as its ramp draws it, with a mark where the faults changed.
    let levels: Vec<_> = points.iter().map(|p| Some(p.lazy_level)).collect();
    let mut marks: Vec<char> = strip(&levels, 1.0).chars().collect();
    let mut labels = String::new();
    for (at, what) in &screen.marks {
        if *at >= first {
            let column =
                points.iter().position(|p| p.at >= *at).unwrap_or(points.len().saturating_sub(1));
            if let Some(mark) = marks.get_mut(column) {
                *mark = '▲';
            }
            labels = format!("{what} {:.0}s ago", screen.now - at);
        }
    }
    let marks: String = marks.into_iter().collect();
    vec![
        heading(format!(
            "{:<label$}{}",
            "CHARTS",
            fit(
                &format!("last {}s; top = max on screen; lazy 0 to 1, ▲ a change", points.len()),
                columns
            )
        )),
        Line::from(vec![
            Span::raw(format!("{:<label$}", "req/s")),
            Span::styled(
                format!("{:<columns$}", strip(&rate, rate_top)),
                Style::new().fg(Color::Green),
            ),
            Span::raw(format!(" {:.1}", last(&rate).unwrap_or_default())),
        ]),
        Line::from(vec![
            Span::raw(format!("{:<label$}", "p95")),
            Span::styled(
                format!("{:<columns$}", strip(&p95, p95_top)),
                Style::new().fg(Color::Magenta),
            ),
            Span::raw(format!(" {}", duration(last(&p95)))),
        ]),
        Line::from(vec![
            Span::raw(format!("{:<label$}", "5xx")),
            Span::styled(
                format!("{:<columns$}", strip(&errors, error_top)),
                Style::new().fg(Color::Red),
            ),
            Span::raw(format!(" {}", percent(last(&errors)))),
        ]),
        Line::from(vec![
            Span::raw(format!("{:<label$}", "lazy")),
            Span::styled(marks, bold().fg(Color::Yellow)),
            Span::raw(format!(" {}", fit(&labels, columns.saturating_sub(points.len()).max(20)))),
        ]),
    ]
}

fn trace_row(trace: &TraceSummary, width: usize) -> String {
    let fault = if trace.fault { "!" } else { " " };
    let head = format!("{:>7} {:>3}{fault}", duration(Some(trace.duration_s)), trace.status);
    format!("{head} {}", fit(&trace.name, width.saturating_sub(head.chars().count() + 2)))
}

fn trace_list_lines(screen: &Screen, app: &App, width: usize, rows: usize) -> Vec<Line<'static>> {
    let half = width / 2;
    let t = &screen.traces;
    let mut lines = vec![heading(fit(
        &format!("TRACES {} kept, from {} · ! fault injected", t.kept, t.receiver),
        width,
    ))];
    let column_title = |list: List, name: &str| {
        let marker = if app.list == list { ">" } else { " " };
        format!("{marker}{name}")
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{:<half$}", column_title(List::Slowest, "slowest")), bold()),
        Span::styled(column_title(List::Failed, "failed, latest first"), bold()),
    ]));
    for row in 0..rows {
        let cell = |list: List, traces: &[TraceSummary]| {
            let text = traces.get(row).map_or_else(String::new, |t| trace_row(t, half));
            let chosen = app.list == list && app.selected == row && !text.is_empty();
            let style =
                if chosen { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
            Span::styled(format!("{text:<half$}"), style)
        };
        if row >= t.slowest.len() && row >= t.failed.len() {
            if row == 0 {
                lines.push(Line::from("  no trace yet"));
            }
            break;
        }
        lines
            .push(Line::from(vec![cell(List::Slowest, &t.slowest), cell(List::Failed, &t.failed)]));
    }
    lines
}

fn footer(screen: &Screen, app: &App, width: usize) -> Line<'static> {
    let text = match screen.notes.last() {
        Some(note) => note.clone(),
        None if app.filter.is_empty() => {
            "l lazy · f faults · p pause · / filter · ↑↓ Tab Enter trace · ? help · q quit"
                .to_owned()
        }
        None => format!("filter /{} (Esc clears) · ? help · q quit", app.filter),
    };
    let style = if screen.notes.is_empty() {
        Style::new().fg(Color::DarkGray)
    } else {
        Style::new().fg(Color::Yellow)
    };
    Line::from(Span::styled(fit(&text, width), style))
}

fn hex_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn trace_lines(
    screen: &Screen,
    waterfall: &Waterfall,
    chosen: usize,
    area: Rect,
) -> Vec<Line<'static>> {
    let width = usize::from(area.width);
    let height = usize::from(area.height);
    let chosen = chosen.min(waterfall.spans.len().saturating_sub(1));
    let root = waterfall.spans.first().map(|(_, _, _, s)| s);
    let status = root.and_then(|r| r.attribute("http.response.status_code")).unwrap_or("-");
    let faults = waterfall
        .spans
        .iter()
        .filter(|(_, _, _, s)| s.events.iter().any(|e| e.name == "fault.injected"))
        .count();
    let mut lines = vec![
        title(screen, area.width),
        heading(format!("TRACE {}", hex_id(&waterfall.id))),
        Line::from(fit(
            &format!(
                // The facts first, the name last: a long route is what gets cut at 80 columns.
                "{status} · {} · {} span{} · {faults} with fault.injected · {}",
                duration(Some(waterfall.total_s)),
                waterfall.spans.len(),
                if waterfall.spans.len() == 1 { "" } else { "s" },
                root.map_or("?", |r| r.name.as_str()),
            ),
            width,
        )),
    ];
    let name_width = (width * 2 / 5).clamp(16, 48);
    let bar_width = width.saturating_sub(name_width + 10).max(4);
    let span_rows = (height / 3).max(3);
    let skip = chosen.saturating_sub(span_rows - 1);
    for (index, (depth, offset, length, span)) in
        waterfall.spans.iter().enumerate().skip(skip).take(span_rows)
    {
        let total = waterfall.total_s.max(1e-9);
        let start = ((offset / total) * bar_width as f64).floor() as usize;
        let size = (((length / total) * bar_width as f64).ceil() as usize).max(1);
        let start = start.min(bar_width - 1);
        let size = size.min(bar_width - start);
        let bar = format!(
            "{}{}{}",
            " ".repeat(start),
            "█".repeat(size),
            " ".repeat(bar_width - start - size)
        );
        let name = format!("{}{}", "  ".repeat(*depth), span.name);
        let style = if index == chosen {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        let colour = if span.error {
            Color::Red
        } else if span.events.iter().any(|e| e.name == "fault.injected") {
            Color::Yellow
        } else {
            Color::Blue
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<name_width$}", fit(&name, name_width)), style),
            Span::styled(bar, Style::new().fg(colour)),
            Span::raw(format!(" {:>8}", duration(Some(*length)))),
        ]));
    }
    if let Some((_, _, _, span)) = waterfall.spans.get(chosen) {
        lines.push(heading(fit(
            &format!("SPAN {} ({}): attributes and events", span.name, hex_id(&span.span_id)),
            width,
        )));
        let mut details: Vec<String> =
            span.attributes.iter().map(|(k, v)| format!("  {k}={v}")).collect();
        for event in &span.events {
            let attributes: Vec<_> =
                event.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let at = event.time_ns.saturating_sub(span.start_ns) as f64 / 1e9;
            let at = duration(Some(at));
            details.push(format!("  event {} at +{at}: {}", event.name, attributes.join(" ")));
        }
        let room = height.saturating_sub(lines.len() + 3 + waterfall.logs.len().min(height / 4));
        lines.extend(details.into_iter().take(room.max(2)).map(|d| Line::from(fit(&d, width))));
    }
    lines.push(heading(format!("LOGS of this trace ({})", waterfall.logs.len())));
    let room = height.saturating_sub(lines.len() + 1);
    if waterfall.logs.is_empty() {
        lines.push(Line::from("  none received (yet)"));
    }
    for log in waterfall.logs.iter().take(room) {
        let attributes: Vec<_> = log.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let text = format!("  {} {} {}", log.severity, log.body, attributes.join(" "));
        lines.push(Line::from(fit(&text, width)));
    }
    lines.truncate(height.saturating_sub(1));
    lines.push(Line::from(Span::styled(
        fit("↑↓ span · Esc back · q quit", width),
        Style::new().fg(Color::DarkGray),
    )));
    lines
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(area.x + (area.width - width) / 2, area.y + (area.height - height) / 2, width, height)
}

fn help(frame: &mut Frame<'_>, area: Rect) {
    let lines: Vec<Line<'_>> =
        KEYS.iter().map(|(key, what)| Line::from(format!("{key:>8}  {what}"))).collect();
    let box_area = centered(area, 64, u16::try_from(lines.len() + 2).unwrap_or(u16::MAX));
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")),
        box_area,
    );
}

fn menu(frame: &mut Frame<'_>, area: Rect, chosen: usize) {
    let lines: Vec<Line<'_>> = PRESETS
        .iter()
        .enumerate()
        .map(|(index, (name, _))| {
            let style = if index == chosen {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            Line::from(Span::styled(format!("{index} {name}"), style))
        })
        .collect();
    let chosen_plan = PRESETS.get(chosen).and_then(|(_, plan)| *plan).unwrap_or("DELETE /faults");
    let mut all = lines;
    all.push(Line::from(Span::styled(fit(chosen_plan, 60), Style::new().fg(Color::DarkGray))));
    let box_area = centered(area, 64, u16::try_from(all.len() + 2).unwrap_or(u16::MAX));
    frame.render_widget(Clear, box_area);
    let block = Block::bordered().title(" fault presets: ↑↓ Enter or a digit, Esc closes ");
    frame.render_widget(Paragraph::new(all).block(block), box_area);
}
