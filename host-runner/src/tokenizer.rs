//! Token counting with a real BPE tokenizer (tiktoken's `cl100k_base`), the one
//! source of token counts for budgets, the simulated provider and the guests
//! (through `llm.count-tokens`). Anthropic's own tokenizer is not published;
//! cl100k is a close, deterministic stand-in, and real calls are billed on the
//! usage the provider returns.
//!
//! Text is handed to the BPE in bounded pieces, cut just before whitespace:
//! the BPE's merge loop is quadratic in the length of one pre-split piece, so
//! a long run without spaces (base64, minified data, an attack) would take
//! seconds per 50 KB and overflow the stack near 1 MB. Cut before a space,
//! a piece boundary falls where the BPE's own pre-split would put one, so
//! counts of ordinary text are exact; inside a longer run they may differ by
//! a token per cut.

use tiktoken_rs::{CoreBPE, cl100k_base_singleton};

/// Longest piece handed to the BPE at once.
const MAX_PIECE_BYTES: usize = 1_024;

fn bpe() -> &'static CoreBPE {
    cl100k_base_singleton()
}

/// Loads the vocabulary now (about 100 ms) instead of during the first step.
pub fn warm_up() {
    bpe();
}

/// `text` in pieces of at most [`MAX_PIECE_BYTES`], each cut just before a
/// whitespace character when there is one in reach, else at a char boundary.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if rest.len() <= MAX_PIECE_BYTES {
            return Some(std::mem::take(&mut rest));
        }
        let mut end = MAX_PIECE_BYTES;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let cut = rest[..end].rfind(char::is_whitespace).filter(|at| *at > 0).unwrap_or(end);
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

/// Tokens in `text`.
pub fn count(text: &str) -> u32 {
    let total: usize = pieces(text).map(|p| bpe().encode_ordinary(p).len()).sum();
    u32::try_from(total).unwrap_or(u32::MAX)
}

/// The longest prefix of `text` that has at most `max_tokens` tokens.
pub fn truncate(text: &str, max_tokens: u32) -> String {
    let mut left = max_tokens as usize;
    let mut out = String::new();
    for piece in pieces(text) {
        let tokens = bpe().encode_ordinary(piece);
        if tokens.len() <= left {
            left -= tokens.len();
            out.push_str(piece);
            continue;
        }
        out.push_str(&bpe().decode(tokens[..left].to_vec()).unwrap_or_default());
        break;
    }
    out
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
        let long = "word ".repeat(2_000);
        assert_eq!(count(&truncate(&long, 700)), 700);
    }

    #[test]
    fn ordinary_text_counts_exactly_across_piece_boundaries() {
        let text = "The outage began at 09:14 UTC; payments failed for 23 minutes (INC-7731). ".repeat(200);
        assert!(text.len() > 10 * MAX_PIECE_BYTES);
        assert_eq!(count(&text) as usize, bpe().encode_ordinary(&text).len());
        assert_eq!(pieces(&text).collect::<String>(), text, "pieces cover the text");
    }

    #[test]
    fn adversarial_runs_are_counted_in_bounded_pieces() {
        // Runs without spaces (the BPE's quadratic case), multi-byte, random-ish bytes.
        let cases = [
            "a".repeat(300_000),
            "é".repeat(100_000),
            "\u{1F600}".repeat(50_000),
            (0..200_000u32).map(|i| char::from(b'!' + (i.wrapping_mul(2_654_435_761) % 90) as u8)).collect(),
        ];
        for text in &cases {
            assert!(pieces(text).all(|p| p.len() <= MAX_PIECE_BYTES));
            assert_eq!(pieces(text).collect::<String>(), *text);
            let n = count(text);
            assert!(n > 0 && n as usize <= text.len(), "{n} tokens for {} bytes", text.len());
        }
    }
}
