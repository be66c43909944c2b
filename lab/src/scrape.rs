//! One reading of `/metrics`, reduced to what the lab shows: each route's request histogram
//! (summed over status codes, with its 5xx apart), the SLO totals the rules in
//! `ops/prometheus/rules.yml` count, and the gauges of saturation and faults. Everything else
//! in the exposition is dropped here, so a reading stays small.

use crate::exposition::Sample;
use std::collections::BTreeMap;

pub const REQUESTS: &str = "http_server_request_duration_seconds";
/// The latency objective's threshold, a bucket boundary (`le="0.25"` in rules.yml).
pub const LATENCY_THRESHOLD: &str = "0.25";

/// A route's requests: counts and cumulative latency buckets, over every status code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteCounts {
    pub count: f64,
    pub server_errors: f64,
    /// `(upper bound, cumulative count)`, sorted by bound, `+Inf` last.
    pub buckets: Vec<(f64, f64)>,
}

/// What the SLO rules count over all series: requests, those answered 5xx, those within the
/// latency threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SloTotals {
    pub requests: f64,
    pub server_errors: f64,
    pub fast: f64,
}

/// Gauges and process counters read as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gauges {
    pub in_flight: f64,
    pub hashing_in_flight: f64,
    pub store_calls_in_flight: f64,
    pub lazy_level: f64,
    pub fault_rules: f64,
    /// `process_cpu_seconds_total` and `process_resident_memory_bytes`, when exported.
    pub process_cpu_seconds: Option<f64>,
    pub process_resident_bytes: Option<f64>,
    /// The store's pooled connections in use and the pool's size, when it has a pool.
    pub pool_used: Option<f64>,
    pub pool_max: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// Keyed `GET /snacks/`: the method and the route template.
    pub routes: BTreeMap<String, RouteCounts>,
    pub slo: SloTotals,
    pub gauges: Gauges,
}

impl Scrape {
    pub fn from_samples(samples: &[Sample]) -> Self {
        let mut scrape = Scrape::default();
        let mut buckets: BTreeMap<String, BTreeMap<Bound, f64>> = BTreeMap::new();
        for sample in samples {
            let route = || {
                let method = sample.label("http_request_method").unwrap_or("?");
                format!("{method} {}", sample.label("http_route").unwrap_or("?"))
            };
            let function = sample.label("function").unwrap_or("");
            match sample.name.strip_prefix(REQUESTS) {
                Some("_count") => {
                    let counts = scrape.routes.entry(route()).or_default();
                    counts.count += sample.value;
                    scrape.slo.requests += sample.value;
                    if sample.label("http_response_status_code").is_some_and(is_5xx) {
                        counts.server_errors += sample.value;
                        scrape.slo.server_errors += sample.value;
                    }
                }
                Some("_bucket") => {
                    let Some(le) = sample.label("le") else { continue };
                    if le == LATENCY_THRESHOLD {
                        scrape.slo.fast += sample.value;
                    }
                    let Ok(bound) = parse_bound(le) else { continue };
                    *buckets.entry(route()).or_default().entry(Bound(bound)).or_default() +=
                        sample.value;
                }
                _ => {}
            }
            let gauges = &mut scrape.gauges;
            match sample.name.as_str() {
                "http_server_active_requests" => gauges.in_flight += sample.value,
                "function_calls_concurrent" if function.starts_with("PasswordHasher::") => {
                    gauges.hashing_in_flight += sample.value;
                }
                "function_calls_concurrent" if is_store_call(function) => {
                    gauges.store_calls_in_flight += sample.value;
                }
                "snackdrawer_lazy_mode" => gauges.lazy_level = sample.value,
                "snackdrawer_fault_rules_active" => gauges.fault_rules = sample.value,
                "process_cpu_seconds_total" => gauges.process_cpu_seconds = Some(sample.value),
                "process_resident_memory_bytes" => {
                    gauges.process_resident_bytes = Some(sample.value);
                }
                "snackdrawer_store_connections" if sample.label("state") == Some("used") => {
                    gauges.pool_used = Some(sample.value);
                }
                "snackdrawer_store_connections_max" => gauges.pool_max = Some(sample.value),
                _ => {}
            }
        }
        for (route, bounds) in buckets {
            let counts = scrape.routes.entry(route).or_default();
            counts.buckets = bounds.into_iter().map(|(Bound(le), count)| (le, count)).collect();
        }
        scrape
    }
}

fn is_5xx(status: &str) -> bool {
    status.len() == 3 && status.starts_with('5')
}

/// A call that holds a store connection: the repositories and the readiness probe's ping.
fn is_store_call(function: &str) -> bool {
    function.contains("Repository::") || function.starts_with("StoreHealth::")
}

fn parse_bound(le: &str) -> Result<f64, std::num::ParseFloatError> {
    if le == "+Inf" { Ok(f64::INFINITY) } else { le.parse() }
}

/// A bucket bound, ordered as numbers (they are never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound(f64);

impl Eq for Bound {}

impl PartialOrd for Bound {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bound {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::parse;

    const METRICS: &str = r#"
http_server_request_duration_seconds_bucket{le="0.25",http_route="/snacks/",http_request_method="GET",http_response_status_code="200"} 9
http_server_request_duration_seconds_bucket{le="+Inf",http_route="/snacks/",http_request_method="GET",http_response_status_code="200"} 10
http_server_request_duration_seconds_count{http_route="/snacks/",http_request_method="GET",http_response_status_code="200"} 10
http_server_request_duration_seconds_bucket{le="0.25",http_route="/snacks/",http_request_method="GET",http_response_status_code="503"} 1
http_server_request_duration_seconds_bucket{le="+Inf",http_route="/snacks/",http_request_method="GET",http_response_status_code="503"} 2
http_server_request_duration_seconds_count{http_route="/snacks/",http_request_method="GET",http_response_status_code="503"} 2
http_server_active_requests{http_request_method="GET"} 3
function_calls_concurrent{function="PasswordHasher::hash",module="m",service_name="s"} 2
function_calls_concurrent{function="DrawerRepository::find",module="m",service_name="s"} 1
function_calls_concurrent{function="GET /snacks/",module="m",service_name="s"} 5
snackdrawer_lazy_mode 0.5
snackdrawer_store_connections{state="used"} 7
snackdrawer_store_connections{state="idle"} 1
snackdrawer_store_connections_max 8
"#;

    #[test]
    fn sums_a_route_over_status_codes_and_keeps_its_5xx_apart() {
        let scrape = Scrape::from_samples(&parse(METRICS).unwrap());
        let route = &scrape.routes["GET /snacks/"];
        assert_eq!(route.count, 12.0);
        assert_eq!(route.server_errors, 2.0);
        assert_eq!(route.buckets, vec![(0.25, 10.0), (f64::INFINITY, 12.0)]);
        assert_eq!(scrape.slo, SloTotals { requests: 12.0, server_errors: 2.0, fast: 10.0 });
    }

    #[test]
    fn reads_saturation_gauges_and_not_the_routes_own_in_flight_calls() {
        let gauges = Scrape::from_samples(&parse(METRICS).unwrap()).gauges;
        assert_eq!(gauges.in_flight, 3.0);
        assert_eq!(gauges.hashing_in_flight, 2.0);
        assert_eq!(gauges.store_calls_in_flight, 1.0);
        assert_eq!(gauges.lazy_level, 0.5);
        assert_eq!(gauges.process_cpu_seconds, None);
        assert_eq!((gauges.pool_used, gauges.pool_max), (Some(7.0), Some(8.0)));
    }
}
