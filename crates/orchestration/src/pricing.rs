//! Model list prices, in US dollars per million tokens: the one table both
//! the routing defaults and the host's cost accounting start from. Operators
//! override a tier model's prices in settings (`orchestration_tier_<tier>_*_price`).

/// `(model, input $/MTok, output $/MTok)`: Anthropic's list prices.
pub const LIST_PRICES: &[(&str, f64, f64)] = &[
    ("claude-haiku-4-5", 1.0, 5.0),
    ("claude-sonnet-4-5", 3.0, 15.0),
    ("claude-opus-4-5", 5.0, 25.0),
    ("claude-opus-4-1", 15.0, 75.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-3-5-haiku", 0.8, 4.0),
];

/// Whether `model` is `name` or a dated snapshot of it (`claude-sonnet-4-5-20250929`).
pub fn is_model(model: &str, name: &str) -> bool {
    model == name
        || model
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|date| date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()))
}

/// The list prices of `model`, `(input, output)` per million tokens.
pub fn list_price(model: &str) -> Option<(f64, f64)> {
    LIST_PRICES.iter().find(|(name, _, _)| is_model(model, name)).map(|(_, i, o)| (*i, *o))
}

/// Cost in US dollars of a call at `(input, output)` prices per million
/// tokens: the one cost function of routing and billing.
pub fn cost_usd((input_price, output_price): (f64, f64), input_tokens: u32, output_tokens: u32) -> f64 {
    (f64::from(input_tokens) * input_price + f64::from(output_tokens) * output_price) / 1_000_000.0
}

/// The models with list prices.
pub fn known_models() -> Vec<&'static str> {
    LIST_PRICES.iter().map(|(m, _, _)| *m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_dated_snapshots() {
        assert_eq!(list_price("claude-sonnet-4-5"), Some((3.0, 15.0)));
        assert_eq!(list_price("claude-sonnet-4-5-20250929"), Some((3.0, 15.0)));
        assert_eq!(list_price("claude-sonnet-4"), Some((3.0, 15.0)));
        // A newer model is not priced as the older one it starts with.
        assert!(!is_model("claude-sonnet-4-5", "claude-sonnet-4"));
        assert_eq!(list_price("claude-opus-4-1-2025"), None);
        assert_eq!(list_price("gpt-4o"), None);
    }
}
