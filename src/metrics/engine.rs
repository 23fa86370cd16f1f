//! Exports the realtime core's counters to Prometheus, read at scrape time: the engine's
//! sessions by transport, upgrades, packets and closes by reason; the chat layer's events by
//! name, rate-limited requests, fan-out deliveries and live rooms. Each metric's name, help,
//! type and label are stated once, in a [`Family`].

use confab_actors::chat::Publisher;
use confab_actors::engine::{Engine, REASONS};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

/// A metric family as described once: its name, help, type and (at most one) label.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    label: Option<&'static str>,
}

const fn counter(name: &'static str, help: &'static str, label: Option<&'static str>) -> Family {
    Family {
        name,
        help,
        kind: MetricType::COUNTER,
        label,
    }
}

const fn gauge(name: &'static str, help: &'static str, label: Option<&'static str>) -> Family {
    Family {
        name,
        help,
        kind: MetricType::GAUGE,
        label,
    }
}

impl Family {
    fn desc(&self) -> prometheus::Result<Desc> {
        let labels = self.label.iter().map(|l| l.to_string()).collect();
        Desc::new(
            self.name.into(),
            self.help.into(),
            labels,
            Default::default(),
        )
    }

    /// The family with one sample of `value`.
    fn one(&self, value: f64) -> MetricFamily {
        self.with(vec![self.sample(value, None)])
    }

    /// The family with a sample per `(label value, value)`.
    fn by_label<'a>(&self, values: impl Iterator<Item = (&'a str, f64)>) -> MetricFamily {
        self.with(
            values
                .map(|(at, value)| self.sample(value, Some(at)))
                .collect(),
        )
    }

    fn with(&self, metrics: Vec<Metric>) -> MetricFamily {
        let mut family = MetricFamily::default();
        family.set_name(self.name.into());
        family.set_help(self.help.into());
        family.set_field_type(self.kind);
        family.set_metric(metrics);
        family
    }

    fn sample(&self, value: f64, label_value: Option<&str>) -> Metric {
        let mut metric = Metric::default();
        if let (Some(name), Some(value)) = (self.label, label_value) {
            let mut pair = LabelPair::default();
            pair.set_name(name.into());
            pair.set_value(value.into());
            metric.set_label(vec![pair]);
        }
        if self.kind == MetricType::GAUGE {
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
}

fn descs(families: &[&Family]) -> prometheus::Result<Vec<Desc>> {
    families.iter().map(|family| family.desc()).collect()
}

const SESSIONS: Family = gauge(
    "confab_engine_sessions",
    "Engine.IO sessions open, by transport",
    Some("transport"),
);
const OPENED: Family = counter(
    "confab_engine_sessions_opened_total",
    "Engine.IO sessions opened",
    None,
);
const UPGRADES: Family = counter(
    "confab_engine_upgrades_total",
    "Completed upgrades from long-polling to WebSocket",
    None,
);
const PACKETS_IN: Family = counter(
    "confab_engine_packets_received_total",
    "Engine.IO packets received from clients",
    None,
);
const PACKETS_OUT: Family = counter(
    "confab_engine_packets_sent_total",
    "Engine.IO frames sent to clients",
    None,
);
const CLOSED: Family = counter(
    "confab_engine_sessions_closed_total",
    "Engine.IO sessions closed, by reason",
    Some("reason"),
);

/// The engine's counters.
pub struct EngineCollector {
    engine: Engine,
    descs: Vec<Desc>,
}

impl EngineCollector {
    pub fn new(engine: Engine) -> prometheus::Result<Self> {
        let descs = descs(&[
            &SESSIONS,
            &OPENED,
            &UPGRADES,
            &PACKETS_IN,
            &PACKETS_OUT,
            &CLOSED,
        ])?;
        Ok(EngineCollector { engine, descs })
    }
}

impl Collector for EngineCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.engine.stats();
        vec![
            SESSIONS.by_label(
                [
                    ("polling", stats.polling_sessions() as f64),
                    ("websocket", stats.websocket_sessions() as f64),
                ]
                .into_iter(),
            ),
            OPENED.one(stats.sessions_opened() as f64),
            UPGRADES.one(stats.upgrades() as f64),
            PACKETS_IN.one(stats.packets_received() as f64),
            PACKETS_OUT.one(stats.packets_sent() as f64),
            CLOSED.by_label(
                REASONS
                    .iter()
                    .map(|reason| (reason.as_str(), stats.closed_with(*reason) as f64)),
            ),
        ]
    }
}

const EVENTS: Family = counter(
    "confab_socket_events_total",
    "Client events received, by name",
    Some("event"),
);
const RATE_LIMITED: Family = counter(
    "confab_rate_limited_total",
    "Sends refused for going over the rate limit",
    None,
);
const DELIVERIES: Family = counter(
    "confab_fanout_deliveries_total",
    "Frames handed to sockets by room fan-out",
    None,
);
const ROOMS: Family = gauge("confab_room_actors", "Room actors alive on this node", None);
const PRESENCE: Family = counter(
    "confab_presence_transitions_total",
    "Users going online or offline on this node, by transition",
    Some("transition"),
);

/// The chat layer's counters.
pub struct ChatCollector {
    publisher: Publisher,
    descs: Vec<Desc>,
}

impl ChatCollector {
    pub fn new(publisher: Publisher) -> prometheus::Result<Self> {
        let descs = descs(&[&EVENTS, &RATE_LIMITED, &DELIVERIES, &ROOMS, &PRESENCE])?;
        Ok(ChatCollector { publisher, descs })
    }
}

impl Collector for ChatCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.publisher.stats();
        vec![
            EVENTS.by_label(stats.events().map(|(name, n)| (name, n as f64))),
            RATE_LIMITED.one(stats.rate_limited_total() as f64),
            DELIVERIES.one(stats.deliveries() as f64),
            ROOMS.one(self.publisher.room_count() as f64),
            PRESENCE.by_label(
                stats
                    .presence_transitions()
                    .map(|(name, n)| (name, n as f64)),
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
