//! The traces the receiver got, bounded: the last few thousand traces, each with its spans, their
//! attributes and events, and the log records that carry its id. The oldest trace goes when a
//! new one would pass the bound, so memory stays flat however long the lab watches.

use std::collections::{HashMap, VecDeque};

pub type TraceId = [u8; 16];

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub time_ns: u64,
    pub attributes: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub error: bool,
    pub attributes: Vec<(String, String)>,
    pub events: Vec<Event>,
}

impl SpanRecord {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn duration_s(&self) -> f64 {
        self.end_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time_ns: u64,
    pub severity: String,
    pub body: String,
    pub span_id: Option<[u8; 8]>,
    pub attributes: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub spans: Vec<SpanRecord>,
    pub logs: Vec<LogLine>,
}

/// A trace as the lists show it: its request span's route, status and duration.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub id: TraceId,
    pub name: String,
    pub route: String,
    pub status: String,
    pub duration_s: f64,
    pub failed: bool,
    pub fault: bool,
    pub end_ns: u64,
}

impl Trace {
    /// The request's span: the one without a parent in this trace.
    pub fn root(&self) -> Option<&SpanRecord> {
        let ids: Vec<_> = self.spans.iter().map(|s| s.span_id).collect();
        self.spans.iter().find(|s| s.parent.is_none_or(|p| !ids.contains(&p)))
    }

    pub fn summary(&self, id: TraceId) -> Option<TraceSummary> {
        let root = self.root()?;
        let status = root.attribute("http.response.status_code").unwrap_or("").to_owned();
        Some(TraceSummary {
            id,
            name: root.name.clone(),
            route: root.attribute("http.route").unwrap_or(&root.name).to_owned(),
            failed: root.error || status.starts_with('5'),
            status,
            duration_s: root.duration_s(),
            fault: self.spans.iter().any(|s| {
                s.attribute("fault.injected") == Some("true")
                    || s.events.iter().any(|e| e.name == "fault.injected")
            }),
            end_ns: root.end_ns,
        })
    }
}

/// The route Prometheus and the lab scrape.
const SCRAPES: &str = "/metrics";

/// Spans and log records kept per trace at most, so one runaway trace cannot fill the store.
const PER_TRACE: usize = 500;

#[derive(Debug)]
pub struct TraceStore {
    capacity: usize,
    traces: HashMap<TraceId, Trace>,
    arrival: VecDeque<TraceId>,
    pub spans_received: u64,
    pub logs_received: u64,
}

impl TraceStore {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            traces: HashMap::new(),
            arrival: VecDeque::new(),
            spans_received: 0,
            logs_received: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.traces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    pub fn get(&self, id: &TraceId) -> Option<&Trace> {
        self.traces.get(id)
    }

    fn entry(&mut self, id: TraceId) -> &mut Trace {
        if !self.traces.contains_key(&id) {
            while self.traces.len() >= self.capacity {
                let Some(oldest) = self.arrival.pop_front() else { break };
                self.traces.remove(&oldest);
            }
            self.arrival.push_back(id);
        }
        self.traces.entry(id).or_default()
    }

    pub fn add_span(&mut self, id: TraceId, span: SpanRecord) {
        self.spans_received += 1;
        let trace = self.entry(id);
        if trace.spans.len() < PER_TRACE {
            trace.spans.push(span);
        }
    }

    pub fn add_log(&mut self, id: TraceId, log: LogLine) {
        self.logs_received += 1;
        let trace = self.entry(id);
        if trace.logs.len() < PER_TRACE {
            trace.logs.push(log);
        }
    }

    /// Every trace of a request to the API whose route or name contains `filter`: not the
    /// scrapes of `/metrics` (the lab's own and Prometheus's), nor work outside a request
    /// (the catalogue's seeding at start-up).
    pub fn summaries(&self, filter: &str) -> Vec<TraceSummary> {
        self.traces
            .iter()
            .filter(|(_, trace)| {
                let route = trace.root().and_then(|r| r.attribute("http.route"));
                route.is_some_and(|r| r != SCRAPES)
            })
            .filter_map(|(id, trace)| trace.summary(*id))
            .filter(|s| s.route.contains(filter) || s.name.contains(filter))
            .collect()
    }
}

/// The `count` slowest, slowest first.
pub fn slowest(mut summaries: Vec<TraceSummary>, count: usize) -> Vec<TraceSummary> {
    summaries.sort_by(|a, b| b.duration_s.total_cmp(&a.duration_s).then(a.id.cmp(&b.id)));
    summaries.truncate(count);
    summaries
}

/// The `count` latest failed ones, latest first.
pub fn failed(summaries: Vec<TraceSummary>, count: usize) -> Vec<TraceSummary> {
    let mut failed: Vec<_> = summaries.into_iter().filter(|s| s.failed).collect();
    failed.sort_by(|a, b| b.end_ns.cmp(&a.end_ns).then(a.id.cmp(&b.id)));
    failed.truncate(count);
    failed
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn span(id: u8, parent: Option<u8>, name: &str, ms: (u64, u64)) -> SpanRecord {
        SpanRecord {
            span_id: [id; 8],
            parent: parent.map(|p| [p; 8]),
            name: name.to_owned(),
            start_ns: ms.0 * 1_000_000,
            end_ns: ms.1 * 1_000_000,
            error: false,
            attributes: vec![],
            events: vec![],
        }
    }

    pub fn request(route: &str, status: &str, ms: u64) -> SpanRecord {
        let mut root = span(1, None, &format!("GET {route}"), (1000, 1000 + ms));
        root.attributes = vec![
            ("http.route".into(), route.into()),
            ("http.response.status_code".into(), status.into()),
        ];
        root
    }

    #[test]
    fn summarises_by_the_request_span_and_lists_slowest_and_failed() {
        let mut store = TraceStore::new(10);
        store.add_span([1; 16], span(2, Some(1), "get_snack", (1001, 1002)));
        store.add_span([1; 16], request("/snacks/{id}", "200", 30));
        store.add_span([2; 16], request("/drawers/{id}", "503", 3000));
        let mut faulty = request("/snacks/", "200", 400);
        faulty.events.push(Event { name: "fault.injected".into(), time_ns: 0, attributes: vec![] });
        store.add_span([3; 16], faulty);
        store.add_span([4; 16], span(7, Some(9), "seed", (0, 1))); // no request
        store.add_span([5; 16], request("/metrics", "200", 5000)); // a scrape
        let all = store.summaries("");
        assert_eq!(all.len(), 3, "neither the seeding nor the scrape: {all:?}");
        let slow = slowest(all.clone(), 2);
        assert_eq!(
            slow.iter().map(|s| s.route.as_str()).collect::<Vec<_>>(),
            ["/drawers/{id}", "/snacks/"]
        );
        assert!(slow[1].fault && !slow[0].fault);
        let bad = failed(all, 5);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].id, [2; 16]);
        assert_eq!(store.summaries("snacks").len(), 2);
    }

    #[test]
    fn keeps_at_most_its_capacity_dropping_the_oldest() {
        let mut store = TraceStore::new(3);
        for n in 0..5u8 {
            store.add_span([n; 16], request("/", "200", 1));
        }
        store.add_log(
            [4; 16],
            LogLine {
                time_ns: 0,
                severity: "INFO".into(),
                body: "request served".into(),
                span_id: None,
                attributes: vec![],
            },
        );
        assert_eq!(store.len(), 3);
        assert!(store.get(&[1; 16]).is_none());
        assert_eq!(store.get(&[4; 16]).unwrap().logs.len(), 1);
        assert_eq!((store.spans_received, store.logs_received), (5, 1));
    }
}
