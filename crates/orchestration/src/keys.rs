//! The names of the orchestrator's keys in `system_settings_config`, and the
//! defaults the catalogue gives them: one leaf both [`crate::catalogue`] and
//! [`crate::settings`] read.

pub const ORCHESTRATION_ENABLED: &str = "orchestration_enabled";
pub const COMPRESSION_ENABLED: &str = "orchestration_compression_enabled";
pub const AIS_ROUTING_ENABLED: &str = "orchestration_ais_routing_enabled";
pub const MAX_TOKENS_PER_WORKFLOW: &str = "orchestration_max_tokens_per_workflow";
pub const MAX_TOKENS_PER_STEP: &str = "orchestration_max_tokens_per_step";
pub const BUDGET_STRATEGY: &str = "orchestration_budget_strategy";
pub const DEFAULT_MODEL: &str = "orchestration_default_model";
/// Whether a step may spend past its allocation, up to the threshold (the seed's `allowOverage`).
pub const ALLOW_OVERAGE: &str = "orchestration_budget_allow_overage";
/// How far past its allocation a step may go when overage is allowed (the seed's 1.2).
pub const OVERAGE_THRESHOLD: &str = "orchestration_budget_overage_threshold";
pub const DEFAULT_OVERAGE_THRESHOLD: f32 = 1.2;
/// Factor on a critical step's budget share and caps (the seed's `criticalStepMultiplier`).
pub const CRITICAL_MULTIPLIER: &str = "orchestration_budget_critical_multiplier";
pub const DEFAULT_CRITICAL_MULTIPLIER: f32 = 1.5;
/// The adaptive strategy reads the agent's past usage only when this flag is on.
pub const ADAPTIVE_BUDGET_ENABLED: &str = "orchestration_adaptive_budget_enabled";
/// Below this confidence the rule tiers' answer goes to the LLM tier (the seed's 0.9).
pub const CLASSIFICATION_THRESHOLD: &str = "orchestration_classification_confidence_threshold";
pub const DEFAULT_CLASSIFICATION_THRESHOLD: f32 = 0.9;
/// Whether low-confidence steps are classified by the fast-tier model.
pub const LLM_CLASSIFICATION_ENABLED: &str = "orchestration_llm_classification_enabled";
/// Dispatches repeated one tier up after a failure the model may cause.
pub const MAX_RETRIES: &str = "orchestration_max_retries";
pub const DEFAULT_MAX_RETRIES: u32 = 1;
/// Steps of one workflow the runner runs at once (those whose dependencies have finished).
pub const MAX_PARALLEL_STEPS: &str = "workflow_max_parallel_steps";
pub const DEFAULT_MAX_PARALLEL_STEPS: u32 = 8;

pub const DEFAULT_MAX_TOKENS_PER_WORKFLOW: u32 = 50_000;
pub const DEFAULT_MAX_TOKENS_PER_STEP: u32 = 8_000;
pub const DEFAULT_MODEL_ID: &str = "claude-sonnet-4-5";
