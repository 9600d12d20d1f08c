//! Model prices, in US dollars per million tokens, for cost accounting.

/// `(model, input $/MTok, output $/MTok)`: Anthropic's list prices.
const PRICES: &[(&str, f64, f64)] = &[
    ("claude-haiku-4-5", 1.0, 5.0),
    ("claude-sonnet-4-5", 3.0, 15.0),
    ("claude-opus-4-5", 5.0, 25.0),
    ("claude-opus-4-1", 15.0, 75.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-3-5-haiku", 0.8, 4.0),
];

/// Prices of `model`; dated ids (`claude-sonnet-4-5-20250929`) match their alias.
pub fn price(model: &str) -> Option<(f64, f64)> {
    PRICES
        .iter()
        .filter(|(name, _, _)| model == *name || model.strip_prefix(name).is_some_and(|rest| rest.starts_with('-')))
        .max_by_key(|(name, _, _)| name.len())
        .map(|(_, i, o)| (*i, *o))
}

/// Cost of a call in US dollars.
pub fn cost(model: &str, input_tokens: u32, output_tokens: u32) -> Option<f64> {
    price(model).map(|(i, o)| (f64::from(input_tokens) * i + f64::from(output_tokens) * o) / 1_000_000.0)
}

/// The models with known prices.
pub fn known_models() -> Vec<&'static str> {
    PRICES.iter().map(|(m, _, _)| *m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_aliases_and_dated_ids() {
        assert_eq!(cost("claude-sonnet-4-5", 1_000_000, 0), Some(3.0));
        assert_eq!(cost("claude-sonnet-4-5-20250929", 0, 1_000_000), Some(15.0));
        // The longest alias wins: sonnet-4-5 is not priced as sonnet-4.
        assert_eq!(price("claude-sonnet-4-5"), Some((3.0, 15.0)));
        assert_eq!(price("gpt-4o"), None);
    }
}
