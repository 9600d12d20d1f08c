//! The orchestrator's settings from `system_settings_config`, read through
//! the [`crate::catalogue`]: a value outside a key's range reads as its
//! default (and `pilot flags set` never writes one).

use crate::budget::BudgetStrategy;
use crate::environment::Environment;
use crate::keys::*;

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
