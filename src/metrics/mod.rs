//! Prometheus metrics in one registry, and the middleware that counts, times and logs every
//! HTTP request (one JSON line each: no bodies, no query strings, no tokens).

pub mod engine;

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

const NAMESPACE: &str = "confab";

/// What every committed send records, over HTTP and sockets alike.
#[derive(Clone)]
pub struct SendMetrics {
    committed: prometheus::IntCounter,
    latency: prometheus::Histogram,
    ack_latency: prometheus::Histogram,
    unavailable: prometheus::IntCounter,
}

impl SendMetrics {
    /// The send metrics, registered in `registry`.
    fn new(registry: &Registry) -> prometheus::Result<SendMetrics> {
        let send_buckets = vec![
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0,
        ];
        let send = SendMetrics {
            committed: prometheus::IntCounter::with_opts(
                Opts::new(
                    "messages_committed_total",
                    "Messages committed (retries not counted)",
                )
                .namespace(NAMESPACE),
            )?,
            latency: prometheus::Histogram::with_opts(
                HistogramOpts::new(
                    "send_commit_seconds",
                    "Time from a send request to its commit",
                )
                .namespace(NAMESPACE)
                .buckets(send_buckets.clone()),
            )?,
            ack_latency: prometheus::Histogram::with_opts(
                HistogramOpts::new(
                    "send_ack_seconds",
                    "Time from a socket's message:send arriving to its ack, message:sent and message:new being queued",
                )
                .namespace(NAMESPACE)
                .buckets(send_buckets),
            )?,
            unavailable: prometheus::IntCounter::with_opts(
                Opts::new(
                    "sends_unavailable_total",
                    "Sends answered `unavailable`: storage unreachable, nothing stored",
                )
                .namespace(NAMESPACE),
            )?,
        };
        registry.register(Box::new(send.committed.clone()))?;
        registry.register(Box::new(send.latency.clone()))?;
        registry.register(Box::new(send.ack_latency.clone()))?;
        registry.register(Box::new(send.unavailable.clone()))?;
        Ok(send)
    }

    /// Records a socket send whose ack was queued `elapsed` after its event arrived.
    pub fn acked(&self, elapsed: std::time::Duration) {
        self.ack_latency.observe(elapsed.as_secs_f64());
    }

    /// Records a send answered `unavailable`.
    pub fn unavailable(&self) {
        self.unavailable.inc();
    }

    /// Records a send that took `elapsed` from request to commit.
    pub fn observe(&self, elapsed: std::time::Duration, created: bool) {
        self.latency.observe(elapsed.as_secs_f64());
        if created {
            self.committed.inc();
        }
    }
}

pub struct Metrics {
    registry: Registry,
    pub send: SendMetrics,
    pub http_requests: IntCounterVec,
    pub http_request_duration: HistogramVec,
    pub db_pool_size: IntGauge,
    pub db_pool_in_use: IntGauge,
    pub db_pool_max: IntGauge,
    /// Sends stored per statement by the group-commit writer.
    pub send_batch_size: prometheus::Histogram,
}

impl Metrics {
    pub fn new(pool_max: usize) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status",
            )
            .namespace(NAMESPACE),
            &["method", "route", "status"],
        )?;
        let http_request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route",
            )
            .namespace(NAMESPACE)
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let db_pool_size = IntGauge::with_opts(
            Opts::new(
                "db_pool_connections",
                "Open database connections in the pool",
            )
            .namespace(NAMESPACE),
        )?;
        let db_pool_in_use = IntGauge::with_opts(
            Opts::new(
                "db_pool_connections_in_use",
                "Database connections lent out",
            )
            .namespace(NAMESPACE),
        )?;
        let db_pool_max = IntGauge::with_opts(
            Opts::new("db_pool_connections_max", "Most connections the pool opens")
                .namespace(NAMESPACE),
        )?;
        db_pool_max.set(pool_max as i64);
        let send = SendMetrics::new(&registry)?;
        let send_batch_size = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "send_batch_size",
                "Sends stored by one statement of the group-commit writer",
            )
            .namespace(NAMESPACE)
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]),
        )?;
        registry.register(Box::new(send_batch_size.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_request_duration.clone()))?;
        registry.register(Box::new(db_pool_size.clone()))?;
        registry.register(Box::new(db_pool_in_use.clone()))?;
        registry.register(Box::new(db_pool_max.clone()))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Metrics {
            registry,
            send,
            http_requests,
            http_request_duration,
            send_batch_size,
            db_pool_size,
            db_pool_in_use,
            db_pool_max,
        })
    }

    /// Adds a collector (the engine's) to the registry.
    pub fn register(
        &self,
        collector: Box<dyn prometheus::core::Collector>,
    ) -> prometheus::Result<()> {
        self.registry.register(collector)
    }

    /// Everything in the registry, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            log::error!(cause:% = err; "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// An answered HTTP request (or WebSocket upgrade), for logs and metrics.
pub struct Answered {
    pub method: Method,
    pub path: String,
    /// Where it went: the route pattern, the engine's mount path, or `unmatched`.
    pub route: String,
    pub peer: Option<SocketAddr>,
    pub status: StatusCode,
    /// From the request to its answer being written.
    pub elapsed: Duration,
}

/// The method as a metric label: any method outside HTTP's standard set is `other`, so that
/// no client can add a series by inventing methods.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts, times and logs an answered request: through `http::track`, or, for a WebSocket upgrade,
/// which the HTTP dispatcher hands to the engine before any middleware sees it, from the server.
pub fn record(metrics: &Metrics, answered: Answered) {
    let Answered {
        method,
        path,
        route,
        peer,
        status,
        elapsed,
    } = answered;
    let m = metrics;
    let method_label = method_label(&method);
    m.http_requests
        .with_label_values(&[method_label, &route, status.as_str()])
        .inc();
    m.http_request_duration
        .with_label_values(&[method_label, &route])
        .observe(elapsed.as_secs_f64());
    let peer = peer.map(|a| a.ip().to_string()).unwrap_or_default();
    log::info!(
        target: "confab::http",
        method = method.as_str(),
        path = path.as_str(),
        route = route.as_str(),
        status = status.as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        peer = peer.as_str();
        "request"
    );
}
