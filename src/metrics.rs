//! What `GET /metrics` exposes, in Prometheus' text format: one registry per
//! running app. Counters are bumped where things happen (the request
//! middleware, the order, payment, refund and door services); gauges that
//! describe a state (writer queue, WAL size, backup age) are read as the
//! scrape comes. The writer's own histograms live with the store and the
//! cache counters with the caches; they are only registered here.
//!
//! Label values are always from a fixed set (route templates, outcome
//! words, error codes), never from user input, so the series stay few.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    /// The route template (`/api/events/{id}`), or `unmatched`.
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: &'static str,
}

/// `http_requests` and `http_request_duration_seconds` (clones share
/// their series with the registry's).
#[derive(Clone)]
pub struct RequestFamilies {
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
}

impl RequestFamilies {
    pub fn record(&self, method: &'static str, route: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(seconds);
    }

    /// [`RequestFamilies::record`] for a route and method whose series the
    /// caller keeps: after the first request, no labels are hashed and no
    /// family lock is taken.
    pub fn record_on(&self, series: &RouteSeries, status: u16, seconds: f64) {
        let (method, route) = (series.method, series.route);
        series
            .latency
            .get_or_init(|| {
                self.latency
                    .get_or_create_owned(&RouteLabels { method, route })
            })
            .observe(seconds);
        let labels = || RequestLabels {
            method,
            route,
            status,
        };
        match COMMON_STATUSES.iter().position(|&s| s == status) {
            Some(i) => series.by_status[i]
                .get_or_init(|| self.requests.get_or_create_owned(&labels()))
                .inc(),
            None => self.requests.get_or_create(&labels()).inc(),
        };
    }
}

/// The statuses a route answers often enough to keep a counter for at hand.
const COMMON_STATUSES: [u16; 12] = [200, 201, 304, 400, 401, 403, 404, 405, 409, 413, 429, 500];

/// The request series of one route and method, created on first use (a
/// route nobody called adds nothing to `/metrics`). Shares its values with
/// the families: a counter or histogram clone is the same series.
pub struct RouteSeries {
    method: &'static str,
    route: &'static str,
    latency: std::sync::OnceLock<Histogram>,
    by_status: [std::sync::OnceLock<Counter>; COMMON_STATUSES.len()],
}

impl RouteSeries {
    pub fn new(method: &'static str, route: &'static str) -> RouteSeries {
        RouteSeries {
            method,
            route,
            latency: Default::default(),
            by_status: Default::default(),
        }
    }

    pub fn route(&self) -> &'static str {
        self.route
    }
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms … about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    orders: Family<Outcome, Counter>,
    payments: Family<Outcome, Counter>,
    refunds: Family<Outcome, Counter>,
    notifies: Family<Outcome, Counter>,
    checkins: Family<Outcome, Counter>,
    pub writer_queue: Gauge,
    pub wal_bytes: Gauge,
    pub backup_age_seconds: Gauge,
    pub backup_failing: Gauge,
    pub backup_failures: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("standup");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = HistogramFamily::<RouteLabels>::new_with_constructor(latency_histogram);
        let (orders, payments, refunds, notifies, checkins) = Default::default();
        let (writer_queue, wal_bytes, backup_age_seconds, backup_failing, backup_failures) =
            Default::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by route template",
            latency.clone(),
        );
        registry.register(
            "orders",
            "Order creates by outcome (created, sold_out, refused) and holds expired",
            Family::clone(&orders),
        );
        registry.register(
            "payments",
            "Payments settled by outcome (paid, duplicate, recovered, must_refund)",
            Family::clone(&payments),
        );
        registry.register(
            "refunds",
            "Refunds sent to WeChat Pay by outcome",
            Family::clone(&refunds),
        );
        registry.register(
            "payment_notifies",
            "WeChat Pay notifies by verdict: paid, duplicate, recovered, late_refund, processed, refused (verified but not applicable); unverified_* by reason (signature, unsigned, unknown_serial, stale, signtest, v2_sign, v2_xml), never stored",
            Family::clone(&notifies),
        );
        registry.register(
            "checkins",
            "Door scans by outcome: admitted or the refusal's error code online; offline_accepted, offline_duplicate, offline_rejected from synced devices",
            Family::clone(&checkins),
        );
        registry.register(
            "writer_queue_depth",
            "Write commands waiting for the writer",
            Gauge::clone(&writer_queue),
        );
        registry.register(
            "wal_bytes",
            "Size of the SQLite write-ahead log",
            Gauge::clone(&wal_bytes),
        );
        registry.register(
            "backup_age_seconds",
            "Seconds since the newest good scheduled backup (-1: none yet)",
            Gauge::clone(&backup_age_seconds),
        );
        registry.register(
            "backup_failing",
            "1 when the newest scheduled backup attempt failed",
            Gauge::clone(&backup_failing),
        );
        registry.register(
            "backup_failures",
            "Failed scheduled backups since the start",
            Gauge::clone(&backup_failures),
        );
        Metrics {
            registry,
            requests,
            latency,
            orders,
            payments,
            refunds,
            notifies,
            checkins,
            writer_queue,
            wal_bytes,
            backup_age_seconds,
            backup_failing,
            backup_failures,
        }
    }

    /// Adds a metric owned elsewhere (the writer's histograms, the cache
    /// counters).
    pub fn register(
        &mut self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry.register(name, help, metric);
    }

    /// The request families, for the middleware that counts every request.
    pub fn request_families(&self) -> RequestFamilies {
        RequestFamilies {
            requests: self.requests.clone(),
            latency: self.latency.clone(),
        }
    }

    pub fn order(&self, outcome: &'static str, n: u64) {
        self.orders.get_or_create(&Outcome { outcome }).inc_by(n);
    }

    pub fn payment(&self, outcome: &'static str) {
        self.payments.get_or_create(&Outcome { outcome }).inc();
    }

    pub fn refund(&self, outcome: &'static str) {
        self.refunds.get_or_create(&Outcome { outcome }).inc();
    }

    pub fn notify(&self, outcome: &'static str) {
        self.notifies.get_or_create(&Outcome { outcome }).inc();
    }

    pub fn checkin(&self, outcome: &'static str) {
        self.checkins_by(outcome, 1);
    }

    pub fn checkins_by(&self, outcome: &'static str, n: u64) {
        if n > 0 {
            self.checkins.get_or_create(&Outcome { outcome }).inc_by(n);
        }
    }

    /// The exposition (Prometheus text format, OpenMetrics flavour).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 << 10);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_are_exposed_with_their_labels() {
        let m = Metrics::new();
        let requests = m.request_families();
        // Kept series and hashed labels count into the same series.
        let detail = RouteSeries::new("GET", "/api/events/{id}");
        requests.record_on(&detail, 200, 0.003);
        requests.record_on(&detail, 200, 0.004);
        requests.record("GET", "/api/events/{id}", 200, 0.003);
        requests.record_on(&detail, 418, 0.001);
        let _never_called = RouteSeries::new("POST", "/api/orders");
        m.order("created", 2);
        m.checkin("ALREADY_USED");
        m.writer_queue.set(3);
        let text = m.encode();
        assert!(text.contains(
            r#"standup_http_requests_total{method="GET",route="/api/events/{id}",status="200"} 3"#
        ));
        assert!(text.contains(
            r#"standup_http_requests_total{method="GET",route="/api/events/{id}",status="418"} 1"#
        ));
        assert!(text.contains(
            r#"standup_http_request_duration_seconds_count{method="GET",route="/api/events/{id}"} 4"#
        ));
        assert!(!text.contains("/api/orders"), "{text}");
        assert!(text.contains(r#"standup_orders_total{outcome="created"} 2"#));
        assert!(text.contains(r#"standup_checkins_total{outcome="ALREADY_USED"} 1"#));
        assert!(text.contains("standup_writer_queue_depth 3"));
        assert!(text.ends_with("# EOF\n"));
    }
}
