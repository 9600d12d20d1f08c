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

/// Anthropic's prompt-cache rates relative to the input price: a cache read
/// costs a tenth of it, a (five-minute) cache write a quarter more.
pub const CACHE_READ_DIVISOR: f64 = 10.0;
pub const CACHE_WRITE_OF_INPUT: f64 = 1.25;

/// Input tokens a provider served from its prompt cache, or wrote to it;
/// both are part of a call's input tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CachedTokens {
    pub read: u32,
    pub written: u32,
}

/// A model's rates in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

impl Rates {
    /// `(input, output)` prices with the cache rates derived from the input price.
    pub fn from_list((input, output): (f64, f64)) -> Rates {
        Rates { input, output, cache_read: input / CACHE_READ_DIVISOR, cache_write: input * CACHE_WRITE_OF_INPUT }
    }

    /// Cost in US dollars of a call as billed: of its `input_tokens`, those
    /// the cache served or stored are priced at the cache rates.
    pub fn cost_usd(&self, input_tokens: u32, output_tokens: u32, cached: CachedTokens) -> f64 {
        let fresh = input_tokens.saturating_sub(cached.read).saturating_sub(cached.written);
        (f64::from(fresh) * self.input
            + f64::from(cached.read.min(input_tokens)) * self.cache_read
            + f64::from(cached.written.min(input_tokens.saturating_sub(cached.read))) * self.cache_write
            + f64::from(output_tokens) * self.output)
            / 1_000_000.0
    }
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

    #[test]
    fn cached_input_is_billed_at_the_cache_rates() {
        let sonnet = Rates::from_list((3.0, 15.0));
        assert_eq!((sonnet.cache_read, sonnet.cache_write), (0.3, 3.75));
        let none = sonnet.cost_usd(1_000_000, 0, CachedTokens::default());
        assert!((none - 3.0).abs() < 1e-9);
        let read = sonnet.cost_usd(1_000_000, 0, CachedTokens { read: 900_000, written: 0 });
        assert!((read - (0.1 * 3.0 + 0.9 * 0.3)).abs() < 1e-9, "{read}");
        let written = sonnet.cost_usd(1_000_000, 0, CachedTokens { read: 0, written: 1_000_000 });
        assert!((written - 3.75).abs() < 1e-9);
        let nonsense = sonnet.cost_usd(10, 0, CachedTokens { read: 50, written: 50 });
        assert!((nonsense - 10.0 * 0.3 / 1e6).abs() < 1e-12, "counts beyond the input are not billed");
    }
}
