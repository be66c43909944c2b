//! Golden signals per route from two readings of `/metrics`: the requests a second, the share
//! answered 5xx and the p50/p95/p99 latencies of the requests between them, as PromQL's
//! `rate` and `histogram_quantile` would give over that window. A counter that went down (the
//! service restarted) counts from zero, as `rate` does.

use crate::scrape::{RouteCounts, Scrape};

/// The route row that sums every route.
pub const ALL_ROUTES: &str = "all routes";

#[derive(Debug, Clone, PartialEq)]
pub struct RouteSignals {
    pub route: String,
    pub rate: f64,
    /// `None` when no request finished in the window.
    pub error_share: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// How much a counter grew from `before` to `after`, a reset counting from zero.
pub fn increase(before: f64, after: f64) -> f64 {
    if after >= before { after - before } else { after }
}

/// The signals of every route that had requests in the window, busiest first, after a row
/// for all routes together. `seconds` is the time between the two readings.
pub fn signals(before: &Scrape, after: &Scrape, seconds: f64) -> Vec<RouteSignals> {
    let mut total = RouteCounts::default();
    let mut rows = Vec::new();
    for (route, now) in &after.routes {
        let delta = match before.routes.get(route) {
            Some(then) => difference(then, now),
            None => now.clone(),
        };
        if delta.count <= 0.0 {
            continue;
        }
        add(&mut total, &delta);
        rows.push(row(route, &delta, seconds));
    }
    rows.sort_by(|a, b| b.rate.total_cmp(&a.rate).then_with(|| a.route.cmp(&b.route)));
    rows.insert(0, row(ALL_ROUTES, &total, seconds));
    rows
}

fn row(route: &str, delta: &RouteCounts, seconds: f64) -> RouteSignals {
    let share = (delta.count > 0.0).then(|| delta.server_errors / delta.count);
    RouteSignals {
        route: route.to_owned(),
        rate: if seconds > 0.0 { delta.count / seconds } else { 0.0 },
        error_share: share,
        p50: quantile(0.5, &delta.buckets),
        p95: quantile(0.95, &delta.buckets),
        p99: quantile(0.99, &delta.buckets),
    }
}

fn difference(then: &RouteCounts, now: &RouteCounts) -> RouteCounts {
    // A reset shows as a smaller total: then the whole reading is new.
    if now.count < then.count {
        return now.clone();
    }
    let buckets = now
        .buckets
        .iter()
        .map(|&(le, count)| {
            let before = then.buckets.iter().find(|(b, _)| *b == le).map_or(0.0, |(_, c)| *c);
            (le, increase(before, count))
        })
        .collect();
    RouteCounts {
        count: now.count - then.count,
        server_errors: increase(then.server_errors, now.server_errors),
        buckets,
    }
}

fn add(total: &mut RouteCounts, delta: &RouteCounts) {
    total.count += delta.count;
    total.server_errors += delta.server_errors;
    for &(le, count) in &delta.buckets {
        match total.buckets.iter_mut().find(|(b, _)| *b == le) {
            Some((_, sum)) => *sum += count,
            None => total.buckets.push((le, count)),
        }
    }
    total.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
}

/// PromQL's `histogram_quantile(q, …)` over cumulative buckets `(upper bound, count)` sorted
/// by bound with `+Inf` last: linear within the bucket the rank falls in, the highest finite
/// bound when it falls in `+Inf`, and `None` without observations.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let &(last_bound, total) = buckets.last()?;
    if total <= 0.0 || last_bound != f64::INFINITY {
        return None;
    }
    let rank = q * total;
    let index = buckets.iter().position(|&(_, count)| count >= rank)?;
    let (upper, count) = buckets[index];
    if upper == f64::INFINITY {
        return Some(if index == 0 { 0.0 } else { buckets[index - 1].0 });
    }
    let (lower, below) = if index == 0 { (0.0, 0.0) } else { buckets[index - 1] };
    let in_bucket = count - below;
    if in_bucket <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / in_bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(count: f64, errors: f64, buckets: &[(f64, f64)]) -> RouteCounts {
        RouteCounts { count, server_errors: errors, buckets: buckets.to_vec() }
    }

    fn scrape(routes: &[(&str, RouteCounts)]) -> Scrape {
        let routes = routes.iter().map(|(r, c)| ((*r).to_owned(), c.clone())).collect();
        Scrape { routes, ..Scrape::default() }
    }

    #[test]
    fn quantiles_interpolate_as_prometheus_does() {
        // 100 observations: 50 under 10 ms, 40 between 10 and 100 ms, 10 between 100 ms and 1 s.
        let buckets = [(0.01, 50.0), (0.1, 90.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
        assert_eq!(quantile(0.5, &buckets), Some(0.01));
        // rank 95 falls 5 of 10 into (0.1, 1]: 0.1 + 0.9 * 0.5
        assert!((quantile(0.95, &buckets).unwrap() - 0.55).abs() < 1e-12);
        assert!((quantile(0.25, &buckets).unwrap() - 0.005).abs() < 1e-12);
        // Beyond the highest finite bound: that bound.
        let tail = [(0.01, 1.0), (f64::INFINITY, 10.0)];
        assert_eq!(quantile(0.99, &tail), Some(0.01));
        assert_eq!(quantile(0.5, &[(f64::INFINITY, 0.0)]), None);
    }

    #[test]
    fn a_planted_wrong_quantile_fails_the_comparison() {
        let buckets = [(0.01, 50.0), (0.1, 90.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
        let planted = 0.1; // the bucket's bound, which a lazy implementation would return
        let got = quantile(0.95, &buckets).unwrap();
        assert!((got - planted).abs() > 0.1, "the check must tell {got} from {planted}");
    }

    #[test]
    fn signals_come_from_the_deltas_between_two_readings() {
        let before = scrape(&[
            ("GET /snacks/", counts(100.0, 0.0, &[(0.25, 100.0), (f64::INFINITY, 100.0)])),
            ("POST /drawers/", counts(10.0, 1.0, &[(0.25, 10.0), (f64::INFINITY, 10.0)])),
        ]);
        let after = scrape(&[
            ("GET /snacks/", counts(120.0, 2.0, &[(0.25, 110.0), (f64::INFINITY, 120.0)])),
            ("POST /drawers/", counts(10.0, 1.0, &[(0.25, 10.0), (f64::INFINITY, 10.0)])),
            ("GET /healthz", counts(5.0, 0.0, &[(0.25, 5.0), (f64::INFINITY, 5.0)])),
        ]);
        let rows = signals(&before, &after, 10.0);
        let routes: Vec<_> = rows.iter().map(|r| r.route.as_str()).collect();
        // POST /drawers/ had nothing in the window; the new route counts from zero.
        assert_eq!(routes, [ALL_ROUTES, "GET /snacks/", "GET /healthz"]);
        assert_eq!(rows[1].rate, 2.0);
        assert_eq!(rows[1].error_share, Some(0.1));
        assert_eq!(rows[0].rate, 2.5);
        assert_eq!(rows[0].error_share, Some(2.0 / 25.0));
        // Half of GET /snacks/'s 20 were slower than 250 ms: its p95 is beyond the last bound.
        assert_eq!(rows[1].p95, Some(0.25));
    }

    #[test]
    fn a_restarted_service_counts_from_zero() {
        let before = scrape(&[("GET /", counts(500.0, 5.0, &[(f64::INFINITY, 500.0)]))]);
        let after = scrape(&[("GET /", counts(30.0, 3.0, &[(f64::INFINITY, 30.0)]))]);
        let rows = signals(&before, &after, 10.0);
        assert_eq!(rows[1].rate, 3.0);
        assert_eq!(rows[1].error_share, Some(0.1));
        assert_eq!(increase(10.0, 4.0), 4.0);
    }
}
