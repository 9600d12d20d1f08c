//! Token counting with a real BPE tokenizer (tiktoken's `cl100k_base`), the one
//! source of token counts for budgets, the simulated provider and the guests
//! (through `llm.count-tokens`). Anthropic's own tokenizer is not published;
//! cl100k is a close, deterministic stand-in, and real calls are billed on the
//! usage the provider returns.

use tiktoken_rs::{CoreBPE, cl100k_base_singleton};

fn bpe() -> &'static CoreBPE {
    cl100k_base_singleton()
}

/// Loads the vocabulary now (about 100 ms) instead of during the first step.
pub fn warm_up() {
    bpe();
}

/// Tokens in `text`.
pub fn count(text: &str) -> u32 {
    u32::try_from(bpe().encode_ordinary(text).len()).unwrap_or(u32::MAX)
}

/// The longest prefix of `text` that has at most `max_tokens` tokens.
pub fn truncate(text: &str, max_tokens: u32) -> String {
    let tokens = bpe().encode_ordinary(text);
    if tokens.len() <= max_tokens as usize {
        return text.to_string();
    }
    bpe().decode(tokens[..max_tokens as usize].to_vec()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bpe_tokens_not_characters() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        let long = "Invoice INV-2024-0042 totals $1,234.56 due 2024-07-01.";
        assert!(count(long) > 10 && count(long) < long.len() as u32);
    }

    #[test]
    fn truncates_on_token_boundaries() {
        let text = "one two three four five six";
        assert_eq!(truncate(text, 3), "one two three");
        assert_eq!(truncate(text, 100), text);
    }
}
