//! Exports the realtime core's counters to Prometheus, read at scrape time: the engine's
//! sessions by transport, upgrades, packets and closes by reason; the chat layer's events by
//! name, rate-limited requests, fan-out deliveries and live rooms.

use confab_actors::chat::Publisher;
use confab_actors::engine::{Engine, REASONS};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

pub struct EngineCollector {
    engine: Engine,
    descs: Vec<Desc>,
}

const SESSIONS: &str = "confab_engine_sessions";
const OPENED: &str = "confab_engine_sessions_opened_total";
const UPGRADES: &str = "confab_engine_upgrades_total";
const PACKETS_IN: &str = "confab_engine_packets_received_total";
const PACKETS_OUT: &str = "confab_engine_packets_sent_total";
const CLOSED: &str = "confab_engine_sessions_closed_total";

impl EngineCollector {
    pub fn new(engine: Engine) -> prometheus::Result<Self> {
        let descs = [
            (
                SESSIONS,
                "Engine.IO sessions open, by transport",
                vec!["transport".to_string()],
            ),
            (OPENED, "Engine.IO sessions opened", vec![]),
            (
                UPGRADES,
                "Completed upgrades from long-polling to WebSocket",
                vec![],
            ),
            (
                PACKETS_IN,
                "Engine.IO packets received from clients",
                vec![],
            ),
            (PACKETS_OUT, "Engine.IO frames sent to clients", vec![]),
            (
                CLOSED,
                "Engine.IO sessions closed, by reason",
                vec!["reason".to_string()],
            ),
        ]
        .into_iter()
        .map(|(name, help, labels)| Desc::new(name.into(), help.into(), labels, Default::default()))
        .collect::<prometheus::Result<Vec<_>>>()?;
        Ok(EngineCollector { engine, descs })
    }
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name.into());
    family.set_help(help.into());
    family.set_field_type(kind);
    family.set_metric(metrics);
    family
}

fn sample(kind: MetricType, value: f64, label: Option<(&str, &str)>) -> Metric {
    let mut metric = Metric::default();
    if let Some((name, value)) = label {
        let mut pair = LabelPair::default();
        pair.set_name(name.into());
        pair.set_value(value.into());
        metric.set_label(vec![pair]);
    }
    if kind == MetricType::GAUGE {
        let mut gauge = Gauge::default();
        gauge.set_value(value);
        metric.set_gauge(gauge);
    } else {
        let mut counter = Counter::default();
        counter.set_value(value);
        metric.set_counter(counter);
    }
    metric
}

impl Collector for EngineCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.engine.stats();
        let gauge = MetricType::GAUGE;
        let counter = MetricType::COUNTER;
        vec![
            family(
                SESSIONS,
                "Engine.IO sessions open, by transport",
                gauge,
                vec![
                    sample(
                        gauge,
                        stats.polling_sessions() as f64,
                        Some(("transport", "polling")),
                    ),
                    sample(
                        gauge,
                        stats.websocket_sessions() as f64,
                        Some(("transport", "websocket")),
                    ),
                ],
            ),
            family(
                OPENED,
                "Engine.IO sessions opened",
                counter,
                vec![sample(counter, stats.sessions_opened() as f64, None)],
            ),
            family(
                UPGRADES,
                "Completed upgrades from long-polling to WebSocket",
                counter,
                vec![sample(counter, stats.upgrades() as f64, None)],
            ),
            family(
                PACKETS_IN,
                "Engine.IO packets received from clients",
                counter,
                vec![sample(counter, stats.packets_received() as f64, None)],
            ),
            family(
                PACKETS_OUT,
                "Engine.IO frames sent to clients",
                counter,
                vec![sample(counter, stats.packets_sent() as f64, None)],
            ),
            family(
                CLOSED,
                "Engine.IO sessions closed, by reason",
                counter,
                REASONS
                    .iter()
                    .map(|reason| {
                        sample(
                            counter,
                            stats.closed_with(*reason) as f64,
                            Some(("reason", reason.as_str())),
                        )
                    })
                    .collect(),
            ),
        ]
    }
}

/// The chat layer's counters.
pub struct ChatCollector {
    publisher: Publisher,
    descs: Vec<Desc>,
}

const EVENTS: &str = "confab_socket_events_total";
const RATE_LIMITED: &str = "confab_rate_limited_total";
const DELIVERIES: &str = "confab_fanout_deliveries_total";
const ROOMS: &str = "confab_room_actors";
const PRESENCE: &str = "confab_presence_transitions_total";

impl ChatCollector {
    pub fn new(publisher: Publisher) -> prometheus::Result<Self> {
        let descs = [
            (
                EVENTS,
                "Client events received, by name",
                vec!["event".to_string()],
            ),
            (
                RATE_LIMITED,
                "Sends refused for going over the rate limit",
                vec![],
            ),
            (
                DELIVERIES,
                "Frames handed to sockets by room fan-out",
                vec![],
            ),
            (ROOMS, "Room actors alive on this node", vec![]),
            (
                PRESENCE,
                "Users going online or offline on this node, by transition",
                vec!["transition".to_string()],
            ),
        ]
        .into_iter()
        .map(|(name, help, labels)| Desc::new(name.into(), help.into(), labels, Default::default()))
        .collect::<prometheus::Result<Vec<_>>>()?;
        Ok(ChatCollector { publisher, descs })
    }
}

impl Collector for ChatCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.publisher.stats();
        let counter = MetricType::COUNTER;
        vec![
            family(
                EVENTS,
                "Client events received, by name",
                counter,
                stats
                    .events()
                    .map(|(name, n)| sample(counter, n as f64, Some(("event", name))))
                    .collect(),
            ),
            family(
                RATE_LIMITED,
                "Sends refused for going over the rate limit",
                counter,
                vec![sample(counter, stats.rate_limited_total() as f64, None)],
            ),
            family(
                DELIVERIES,
                "Frames handed to sockets by room fan-out",
                counter,
                vec![sample(counter, stats.deliveries() as f64, None)],
            ),
            family(
                ROOMS,
                "Room actors alive on this node",
                MetricType::GAUGE,
                vec![sample(
                    MetricType::GAUGE,
                    self.publisher.room_count() as f64,
                    None,
                )],
            ),
            family(
                PRESENCE,
                "Users going online or offline on this node, by transition",
                counter,
                stats
                    .presence_transitions()
                    .map(|(name, n)| sample(counter, n as f64, Some(("transition", name))))
                    .collect(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Encoder, Registry, TextEncoder};

    #[test]
    fn exports_sessions_upgrades_packets_and_reasons() {
        let io = confab_actors::engine::Engine::socket_io(Default::default(), Vec::new());
        let registry = Registry::new();
        registry
            .register(Box::new(EngineCollector::new(io).unwrap()))
            .unwrap();
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        for expected in [
            "confab_engine_sessions{transport=\"polling\"} 0",
            "confab_engine_sessions{transport=\"websocket\"} 0",
            "confab_engine_upgrades_total 0",
            "confab_engine_packets_received_total 0",
            "confab_engine_packets_sent_total 0",
            "confab_engine_sessions_closed_total{reason=\"ping timeout\"} 0",
            "confab_engine_sessions_closed_total{reason=\"slow consumer\"} 0",
            "# TYPE confab_engine_upgrades_total counter",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
