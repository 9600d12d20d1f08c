//! The orchestrator's settings from `system_settings_config`, with the seed's
//! defaults where a key is absent or unreadable.

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
/// Prefix of the per-intent budget keys, e.g. `orchestration_token_budget_extract`.
pub const INTENT_BUDGET_PREFIX: &str = "orchestration_token_budget_";

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
}

impl BudgetStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetStrategy::Proportional => "proportional",
            BudgetStrategy::Equal => "equal",
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
}

impl Settings {
    pub fn read(env: &impl Environment) -> Settings {
        let flag = |key| env.setting(key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let number = |key, default| {
            env.setting(key)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        Settings {
            orchestration_enabled: flag(ORCHESTRATION_ENABLED),
            compression_enabled: flag(COMPRESSION_ENABLED),
            ais_routing_enabled: flag(AIS_ROUTING_ENABLED),
            max_tokens_per_workflow: number(MAX_TOKENS_PER_WORKFLOW, DEFAULT_MAX_TOKENS_PER_WORKFLOW),
            max_tokens_per_step: number(MAX_TOKENS_PER_STEP, DEFAULT_MAX_TOKENS_PER_STEP),
            strategy: match env.setting(BUDGET_STRATEGY).as_deref().map(str::trim) {
                Some("equal") => BudgetStrategy::Equal,
                _ => BudgetStrategy::Proportional,
            },
            default_model: env
                .setting(DEFAULT_MODEL)
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_MODEL_ID.to_string()),
            // Allowed unless set to false, as in the seed.
            overage: (!env.setting(ALLOW_OVERAGE).is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))).then(|| {
                env.setting(OVERAGE_THRESHOLD)
                    .and_then(|v| v.trim().parse::<f32>().ok())
                    .filter(|t| (1.0..=3.0).contains(t))
                    .unwrap_or(DEFAULT_OVERAGE_THRESHOLD)
            }),
        }
    }
}
