//! The orchestrator's settings from `system_settings_config`, read through
//! the [`crate::catalogue`]: a value outside a key's range reads as its
//! default (and `pilot flags set` never writes one).

use crate::environment::Environment;

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

/// How the workflow budget is split over steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetStrategy {
    /// By each step's estimated need (the seed's default).
    Proportional,
    /// The same share for every step.
    Equal,
    /// Critical steps, then the steps others depend on, funded in full first.
    Priority,
    /// Proportional to the agent's past use per intent (needs `orchestration_adaptive_budget_enabled`).
    Adaptive,
}

impl BudgetStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetStrategy::Proportional => "proportional",
            BudgetStrategy::Equal => "equal",
            BudgetStrategy::Priority => "priority",
            BudgetStrategy::Adaptive => "adaptive",
        }
    }
}

/// Settings read once per workflow, at initialization.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub orchestration_enabled: bool,
    pub compression_enabled: bool,
    pub ais_routing_enabled: bool,
    pub max_tokens_per_workflow: u32,
    pub max_tokens_per_step: u32,
    pub strategy: BudgetStrategy,
    pub default_model: String,
    /// `Some(threshold)` when steps may overrun their allocation up to `allocation × threshold`.
    pub overage: Option<f32>,
    pub critical_multiplier: f32,
    pub classification_threshold: f32,
    pub llm_classification: bool,
    pub max_retries: u32,
    pub max_parallel_steps: u32,
}

impl Settings {
    pub fn read(env: &impl Environment) -> Settings {
        Settings::from_values(|k| env.setting(k))
    }

    /// The settings from stored values (`get` answers a key's value, if
    /// set), each checked by the catalogue, which supplies the default:
    /// the same reading for the orchestrator and the host.
    pub fn from_values(get: impl Fn(&str) -> Option<String>) -> Settings {
        let catalogue = crate::catalogue::catalogue();
        let value = |key: &str| catalogue.value(key, &get).expect("settings keys are in the catalogue");
        let flag = |key| value(key) == "true";
        let number = |key| value(key).parse::<u32>().expect("the catalogue checked the integer");
        let fraction = |key| value(key).parse::<f32>().expect("the catalogue checked the number");
        Settings {
            orchestration_enabled: flag(ORCHESTRATION_ENABLED),
            compression_enabled: flag(COMPRESSION_ENABLED),
            ais_routing_enabled: flag(AIS_ROUTING_ENABLED),
            max_tokens_per_workflow: number(MAX_TOKENS_PER_WORKFLOW),
            max_tokens_per_step: number(MAX_TOKENS_PER_STEP),
            strategy: match value(BUDGET_STRATEGY).as_str() {
                "equal" => BudgetStrategy::Equal,
                "priority" => BudgetStrategy::Priority,
                // Past usage is read only behind its own flag; without it, proportional.
                "adaptive" if flag(ADAPTIVE_BUDGET_ENABLED) => BudgetStrategy::Adaptive,
                _ => BudgetStrategy::Proportional,
            },
            default_model: value(DEFAULT_MODEL),
            overage: flag(ALLOW_OVERAGE).then(|| fraction(OVERAGE_THRESHOLD)),
            critical_multiplier: fraction(CRITICAL_MULTIPLIER),
            classification_threshold: fraction(CLASSIFICATION_THRESHOLD),
            // It only runs for steps the free tiers are unsure of.
            llm_classification: flag(LLM_CLASSIFICATION_ENABLED),
            max_retries: number(MAX_RETRIES),
            max_parallel_steps: number(MAX_PARALLEL_STEPS),
        }
    }
}
