//! Token counting, as the model is billed: compression and a step's material
//! both measure with it.

/// Counts tokens the way the model is billed. The host implements it with its
/// BPE tokenizer; never estimate tokens from characters.
pub trait TokenCounter {
    fn count(&self, text: &str) -> u32;
}

/// Any `Fn(&str) -> u32` counts tokens, e.g. `&|t: &str| env.count_tokens(t)`.
impl<F: Fn(&str) -> u32> TokenCounter for F {
    fn count(&self, text: &str) -> u32 {
        self(text)
    }
}
