//! Cost accounting: a tier model's prices from settings
//! (`orchestration_tier_<tier>_input_price` / `_output_price`, the same ones
//! routing weighs), any other model's from the list prices of
//! `orchestration::pricing`. One source for routing and billing.

use crate::storage::{self, Db};
use orchestration::pricing::{is_model, list_price};
use orchestration::routing::{tier_models_from_settings, Tier, TIER_KEY_PREFIX};
use std::collections::HashMap;

/// Prices models from the host database's settings.
#[derive(Clone)]
pub struct Pricing {
    db: Db,
}

impl Pricing {
    pub fn new(db: Db) -> Self {
        Pricing { db }
    }

    /// `(input, output)` US dollars per million tokens of `model`.
    pub fn price(&self, model: &str) -> Option<(f64, f64)> {
        let tiers = match storage::settings::get_many(&self.db.lock(), &tier_keys()) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!("reading tier prices failed, using list prices: {e:#}");
                HashMap::new()
            }
        };
        let models = tier_models_from_settings(|key| tiers.get(key).cloned());
        Tier::ALL
            .into_iter()
            .map(|t| models.get(t))
            .find(|m| is_model(model, &m.model))
            .map(|m| (m.input_price_per_mtok, m.output_price_per_mtok))
            .or_else(|| list_price(model))
    }
}

/// The settings keys of the tiers' models and prices.
fn tier_keys() -> Vec<String> {
    Tier::ALL
        .into_iter()
        .flat_map(|t| ["model", "input_price", "output_price"].map(|field| format!("{TIER_KEY_PREFIX}{t}_{field}")))
        .collect()
}

/// Cost in US dollars of a call at `(input, output)` prices per million tokens.
pub fn cost((input_price, output_price): (f64, f64), input_tokens: u32, output_tokens: u32) -> f64 {
    (f64::from(input_tokens) * input_price + f64::from(output_tokens) * output_price) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_settings_override_list_prices_for_their_model_only() {
        let db = Db::temporary();
        let pricing = Pricing::new(db.clone());
        assert_eq!(pricing.price("claude-sonnet-4-5").map(|p| cost(p, 1_000_000, 0)), Some(3.0));
        assert_eq!(pricing.price("claude-sonnet-4-5-20250929").map(|p| cost(p, 0, 1_000_000)), Some(15.0));
        storage::settings::set(&db.lock(), "orchestration_tier_balanced_input_price", "2.5").unwrap();
        assert_eq!(pricing.price("claude-sonnet-4-5"), Some((2.5, 15.0)), "the setting routing reads is the one billed");
        assert_eq!(pricing.price("claude-opus-4-1"), Some((15.0, 75.0)), "not a tier model: list price");
        assert_eq!(pricing.price("gpt-4o"), None);
    }
}
