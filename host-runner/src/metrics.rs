//! What operators scrape (`GET /metrics`, Prometheus text format): one
//! registry per host ([`crate::Host::metrics`]), so two hosts in one process
//! count apart, fed where things happen: the runner (workflows, steps,
//! tokens, cost, latency), the record writer (audit rows as committed, so the
//! counts agree with the database) and the handler registry (loads and
//! rejections).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    pub path: String,
    pub intent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabel {
    pub model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabel {
    pub event_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabel {
    pub path: String,
}

pub struct Metrics {
    registry: Registry,
    pub workflows: Family<StateLabel, Counter>,
    pub in_flight: Gauge,
    pub steps: Family<StepLabels, Counter>,
    pub fallbacks: Family<ReasonLabel, Counter>,
    pub tokens: Family<ModelLabel, Counter>,
    pub cost_usd: Family<ModelLabel, Counter<f64, AtomicU64>>,
    pub audit_events: Family<EventLabel, Counter>,
    pub usage_rows: Counter,
    pub lost_writes: Counter,
    /// Durable runs waiting in the store for a replica (all replicas'), as of this replica's last look.
    pub runs_queued: Gauge,
    /// Durable runs this replica leased.
    pub runs_leased: Counter,
    /// Of those, runs resumed from their checkpoints (leased before).
    pub runs_resumed: Counter,
    /// Steps this replica started again after their replica stopped mid-step.
    pub steps_rerun: Counter,
    pub handler_loads: Family<OutcomeLabel, Counter>,
    pub step_seconds: Family<PathLabel, Histogram>,
    pub provider_seconds: Histogram,
}

/// Seconds from 1 ms to about 65 s: step and provider latencies.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 17)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry of its own, every count at zero.
    pub fn new() -> Metrics {
        Metrics::registered(Metrics::unregistered())
    }

    fn unregistered() -> Metrics {
        Metrics {
            workflows: Family::default(),
            in_flight: Gauge::default(),
            steps: Family::default(),
            fallbacks: Family::default(),
            tokens: Family::default(),
            cost_usd: Family::default(),
            audit_events: Family::default(),
            usage_rows: Counter::default(),
            lost_writes: Counter::default(),
            runs_queued: Gauge::default(),
            runs_leased: Counter::default(),
            runs_resumed: Counter::default(),
            steps_rerun: Counter::default(),
            handler_loads: Family::default(),
            step_seconds: Family::new_with_constructor(|| Histogram::new(latency_buckets())),
            provider_seconds: Histogram::new(latency_buckets()),
            registry: Registry::default(),
        }
    }

    /// `m` with its families in a registry (the metrics share their values with their clones).
    fn registered(m: Metrics) -> Metrics {
        let mut registry = Registry::with_prefix("pilot");
        registry.register("workflows", "Workflow runs ended, by state", m.workflows.clone());
        registry.register("workflows_in_flight", "Workflow runs in progress", m.in_flight.clone());
        registry.register("steps", "Steps run, by path and intent", m.steps.clone());
        registry.register("fallbacks", "Steps that fell back to the normal path, by reason", m.fallbacks.clone());
        registry.register("tokens", "Tokens used by steps, by model", m.tokens.clone());
        registry.register("cost_usd", "Cost of steps in US dollars, by model", m.cost_usd.clone());
        registry.register("audit_events", "Audit rows committed, by event type", m.audit_events.clone());
        registry.register("token_usage_rows", "token_usage rows committed", m.usage_rows.clone());
        registry.register("lost_writes", "Audit and usage rows that could not be written", m.lost_writes.clone());
        registry.register("runs_queued", "Durable runs waiting for a replica", m.runs_queued.clone());
        registry.register("runs_leased", "Durable runs this replica leased", m.runs_leased.clone());
        registry.register("runs_resumed", "Durable runs resumed from their checkpoints", m.runs_resumed.clone());
        registry.register(
            "steps_rerun",
            "Steps started again after their replica stopped mid-step (model calls paid twice)",
            m.steps_rerun.clone(),
        );
        registry.register(
            "handler_loads",
            "Handler files loaded, replaced, removed or rejected, and baseline code replaced by optimized code",
            m.handler_loads.clone(),
        );
        registry.register("step_duration_seconds", "Wall time of a step, by path", m.step_seconds.clone());
        registry.register(
            "provider_duration_seconds",
            "Time a step spent waiting for the model provider",
            m.provider_seconds.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The registry in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_encodes_as_prometheus_text() {
        let m = Metrics::new();
        m.steps.get_or_create(&StepLabels { path: "orchestrated".into(), intent: "summarize".into() }).inc();
        m.step_seconds.get_or_create(&PathLabel { path: "orchestrated".into() }).observe(0.004);
        let text = m.encode();
        assert!(text.contains("pilot_steps_total{path=\"orchestrated\",intent=\"summarize\"} 1"), "{text}");
        assert!(text.contains("pilot_step_duration_seconds_bucket{le=\"0.004\",path=\"orchestrated\"} 1"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
