//! What the host knows of a model before calling it: a tier model's prices
//! and output allowance from settings (`orchestration_tier_<tier>_*`, the
//! same ones routing weighs), any other model's list prices from
//! `orchestration::pricing`. One source for routing and billing.

use crate::causes::chain;
use crate::storage::Db;
use orchestration::pricing::{Rates, list_price};
use orchestration::routing::tier_models_from_settings;

/// Prices models from the host database's settings.
#[derive(Clone)]
pub struct Pricing {
    db: Db,
}

impl Pricing {
    pub fn new(db: Db) -> Self {
        Pricing { db }
    }

    /// The rates of `model` (US dollars per million tokens), and the output
    /// allowance of its tier when it is a tier model.
    pub fn terms(&self, model: &str) -> Option<Terms> {
        let tiers = self.db.settings().unwrap_or_else(|e| {
            tracing::warn!("reading tier prices failed, using list prices: {}", chain(&e));
            Default::default()
        });
        let models = tier_models_from_settings(|key| tiers.get(key).cloned());
        models
            .by_model(model)
            .map(|m| Terms { rates: m.rates(), max_tokens: Some(m.max_tokens) })
            .or_else(|| list_price(model).map(|price| Terms { rates: Rates::from_list(price), max_tokens: None }))
    }
}

/// A model's prices, and the output allowance its tier sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms {
    /// Input, output and prompt-cache rates.
    pub rates: Rates,
    /// `orchestration_tier_<tier>_max_tokens` for a tier model.
    pub max_tokens: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestration::pricing::CachedTokens;

    #[test]
    fn tier_settings_override_list_terms_for_their_model_only() {
        let db = Db::temporary();
        let pricing = Pricing::new(db.clone());
        let cost = |model: &str, input, output| {
            pricing.terms(model).map(|t| t.rates.cost_usd(input, output, CachedTokens::default()))
        };
        assert_eq!(cost("claude-sonnet-4-5", 1_000_000, 0), Some(3.0));
        assert_eq!(cost("claude-sonnet-4-5-20250929", 0, 1_000_000), Some(15.0));
        db.set_setting("orchestration_tier_balanced_input_price", "2.5").unwrap();
        db.set_setting("orchestration_tier_balanced_cache_read_price", "0.2").unwrap();
        db.set_setting("orchestration_tier_balanced_max_tokens", "1000").unwrap();
        let sonnet = pricing.terms("claude-sonnet-4-5").unwrap();
        assert_eq!(
            (sonnet.rates.input, sonnet.rates.output, sonnet.rates.cache_read, sonnet.rates.cache_write),
            (2.5, 15.0, 0.2, 3.75),
            "the settings routing reads are the ones billed"
        );
        assert_eq!(sonnet.max_tokens, Some(1_000));
        assert_eq!(
            pricing.terms("claude-opus-4-1"),
            Some(Terms { rates: Rates::from_list((15.0, 75.0)), max_tokens: None }),
            "not a tier model"
        );
        assert_eq!(pricing.terms("gpt-4o"), None);
    }
}
