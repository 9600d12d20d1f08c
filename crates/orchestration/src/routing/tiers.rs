//! The model tiers, the model each calls (read from settings) and what a call costs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A model tier, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Fast,
    Balanced,
    Powerful,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Fast, Tier::Balanced, Tier::Powerful];

    /// One tier up; `Powerful` stays `Powerful`.
    pub fn escalate(self) -> Tier {
        match self {
            Tier::Fast => Tier::Balanced,
            Tier::Balanced | Tier::Powerful => Tier::Powerful,
        }
    }

    /// One tier down; `Fast` stays `Fast`.
    pub fn de_escalate(self) -> Tier {
        match self {
            Tier::Powerful => Tier::Balanced,
            Tier::Balanced | Tier::Fast => Tier::Fast,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Fast => "fast",
            Tier::Balanced => "balanced",
            Tier::Powerful => "powerful",
        }
    }

    /// 0 (fast), 1 (balanced), 2 (powerful): the unit of [`super::RunOutcome::avg_tier_used`].
    pub fn index(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The model a tier calls, with its prices in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub provider: String,
    pub model: String,
    /// Output allowance of one call; also what the budget check reserves.
    pub max_tokens: u32,
    pub temperature: f32,
    pub input_price_per_mtok: f64,
    pub output_price_per_mtok: f64,
    /// Input tokens the provider's prompt cache serves, and stores.
    #[serde(default)]
    pub cache_read_price_per_mtok: f64,
    #[serde(default)]
    pub cache_write_price_per_mtok: f64,
}

impl ModelConfig {
    /// The default model of a tier: Anthropic's current Haiku, Sonnet and Opus.
    pub fn default_for(tier: Tier) -> ModelConfig {
        let (model, max_tokens, temperature) = match tier {
            Tier::Fast => ("claude-haiku-4-5", 2_048, 0.2),
            Tier::Balanced => ("claude-sonnet-4-5", 4_096, 0.3),
            Tier::Powerful => ("claude-opus-4-5", 8_192, 0.3),
        };
        let list = crate::pricing::list_price(model).expect("tier default models have list prices");
        let rates = crate::pricing::Rates::from_list(list);
        ModelConfig {
            provider: "anthropic".into(),
            model: model.into(),
            max_tokens,
            temperature,
            input_price_per_mtok: rates.input,
            output_price_per_mtok: rates.output,
            cache_read_price_per_mtok: rates.cache_read,
            cache_write_price_per_mtok: rates.cache_write,
        }
    }

    /// Its rates, the cache's included.
    pub fn rates(&self) -> crate::pricing::Rates {
        crate::pricing::Rates {
            input: self.input_price_per_mtok,
            output: self.output_price_per_mtok,
            cache_read: self.cache_read_price_per_mtok,
            cache_write: self.cache_write_price_per_mtok,
        }
    }
}

/// Cost in USD of one call.
pub fn cost_usd(model: &ModelConfig, input_tokens: u32, output_tokens: u32) -> f64 {
    crate::pricing::cost_usd((model.input_price_per_mtok, model.output_price_per_mtok), input_tokens, output_tokens)
}

/// The model of each tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierModels {
    pub fast: ModelConfig,
    pub balanced: ModelConfig,
    pub powerful: ModelConfig,
}

impl TierModels {
    pub fn get(&self, tier: Tier) -> &ModelConfig {
        match tier {
            Tier::Fast => &self.fast,
            Tier::Balanced => &self.balanced,
            Tier::Powerful => &self.powerful,
        }
    }

    /// The tier whose model is `model` (or a dated snapshot of it).
    pub fn tier_of(&self, model: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| crate::pricing::is_model(model, &self.get(*t).model))
    }

    /// The config of the tier whose model is `model`.
    pub fn by_model(&self, model: &str) -> Option<&ModelConfig> {
        self.tier_of(model).map(|t| self.get(t))
    }
}

impl Default for TierModels {
    fn default() -> Self {
        TierModels {
            fast: ModelConfig::default_for(Tier::Fast),
            balanced: ModelConfig::default_for(Tier::Balanced),
            powerful: ModelConfig::default_for(Tier::Powerful),
        }
    }
}

/// Prefix of the per-tier model keys: `orchestration_tier_<tier>_<field>` with
/// field `provider`, `model`, `max_tokens`, `temperature`, `input_price`, `output_price`,
/// `cache_read_price`, `cache_write_price`.
pub const TIER_KEY_PREFIX: &str = "orchestration_tier_";

/// Reads each tier's model from settings; a missing, empty or unreadable value
/// keeps that field's default (max_tokens > 0, temperature 0-1, prices finite and >= 0).
pub fn tier_models_from_settings(get: impl Fn(&str) -> Option<String>) -> TierModels {
    let read = |tier: Tier| {
        let mut m = ModelConfig::default_for(tier);
        let value = |field: &str| {
            get(&format!("{TIER_KEY_PREFIX}{tier}_{field}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        if let Some(v) = value("provider") {
            m.provider = v;
        }
        if let Some(v) = value("model") {
            m.model = v;
        }
        if let Some(v) = value("max_tokens").and_then(|v| v.parse::<u32>().ok()).filter(|v| *v > 0) {
            m.max_tokens = v;
        }
        if let Some(v) = value("temperature").and_then(|v| v.parse::<f32>().ok()).filter(|v| (0.0..=1.0).contains(v)) {
            m.temperature = v;
        }
        let price =
            |field: &str| value(field).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0);
        if let Some(v) = price("input_price") {
            m.input_price_per_mtok = v;
        }
        if let Some(v) = price("output_price") {
            m.output_price_per_mtok = v;
        }
        if let Some(v) = price("cache_read_price") {
            m.cache_read_price_per_mtok = v;
        }
        if let Some(v) = price("cache_write_price") {
            m.cache_write_price_per_mtok = v;
        }
        m
    };
    TierModels { fast: read(Tier::Fast), balanced: read(Tier::Balanced), powerful: read(Tier::Powerful) }
}
