//! What the host knows of a model before calling it: a tier model's prices
//! and output allowance from settings (`orchestration_tier_<tier>_*`, the
//! same ones routing weighs), any other model's list prices from
//! `orchestration::pricing`. One source for routing and billing.

use crate::causes::chain;
use crate::storage::Db;
use orchestration::pricing::list_price;
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

    /// `(input, output)` US dollars per million tokens of `model`, and the
    /// output allowance of its tier when it is a tier model.
    pub fn terms(&self, model: &str) -> Option<Terms> {
        let tiers = self.db.settings().unwrap_or_else(|e| {
            tracing::warn!("reading tier prices failed, using list prices: {}", chain(&e));
            Default::default()
        });
        let models = tier_models_from_settings(|key| tiers.get(key).cloned());
        models
            .by_model(model)
            .map(|m| Terms { price: (m.input_price_per_mtok, m.output_price_per_mtok), max_tokens: Some(m.max_tokens) })
            .or_else(|| list_price(model).map(|price| Terms { price, max_tokens: None }))
    }
}

/// A model's prices, and the output allowance its tier sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms {
    /// `(input, output)` US dollars per million tokens.
    pub price: (f64, f64),
    /// `orchestration_tier_<tier>_max_tokens` for a tier model.
    pub max_tokens: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestration::pricing::cost_usd as cost;

    #[test]
    fn tier_settings_override_list_terms_for_their_model_only() {
        let db = Db::temporary();
        let pricing = Pricing::new(db.clone());
        let price = |model: &str| pricing.terms(model).map(|t| t.price);
        assert_eq!(price("claude-sonnet-4-5").map(|p| cost(p, 1_000_000, 0)), Some(3.0));
        assert_eq!(price("claude-sonnet-4-5-20250929").map(|p| cost(p, 0, 1_000_000)), Some(15.0));
        db.set_setting("orchestration_tier_balanced_input_price", "2.5").unwrap();
        db.set_setting("orchestration_tier_balanced_max_tokens", "1000").unwrap();
        let sonnet = pricing.terms("claude-sonnet-4-5").unwrap();
        assert_eq!(sonnet.price, (2.5, 15.0), "the setting routing reads is the one billed");
        assert_eq!(sonnet.max_tokens, Some(1_000));
        assert_eq!(
            pricing.terms("claude-opus-4-1"),
            Some(Terms { price: (15.0, 75.0), max_tokens: None }),
            "not a tier model"
        );
        assert_eq!(pricing.terms("gpt-4o"), None);
    }
}
