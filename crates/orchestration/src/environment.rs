//! What the orchestrator needs from its host.

use crate::budget::IntentUsage;
use crate::routing::AgentScores;
use crate::types::{DispatchFailure, Dispatched, Event, HandlerRequest, ModelAnswer, ModelCall};

/// The orchestrator's view of the outside world. The component implements it
/// with WIT imports; tests and benchmarks implement it natively.
pub trait Environment {
    /// A value from `system_settings_config`.
    fn setting(&self, key: &str) -> Option<String>;
    /// Tokens in `text`, by the host's BPE tokenizer.
    fn count_tokens(&self, text: &str) -> u32;
    /// Intents served by the handlers loaded now.
    fn registered_intents(&self) -> Vec<String>;
    /// The params keys the handler of `intent` reads as settings, not data.
    fn control_params(&self, intent: &str) -> Vec<String>;
    /// What the handler of `intent` says it does; `None` when none serves it.
    fn intent_description(&self, intent: &str) -> Option<String>;
    /// Runs a step in the handler for its intent.
    fn dispatch(&self, request: &HandlerRequest) -> Result<Dispatched, DispatchFailure>;
    /// Records an audit event.
    fn emit(&self, event: Event);
    /// A model call of the orchestrator's own; the error says why it failed.
    fn complete(&self, call: &ModelCall) -> Result<ModelAnswer, String>;
    /// The agent's row of `agent_intensity_metrics`, if it has one.
    fn agent_scores(&self, agent_id: &str) -> Option<AgentScores>;
    /// Stores the agent's scores after a routed run.
    fn record_run(&self, agent_id: &str, scores: AgentScores);
    /// The agent's past token use per intent (from `token_usage`), for adaptive budgets.
    fn intent_usage(&self, agent_id: &str) -> Vec<IntentUsage>;
}
