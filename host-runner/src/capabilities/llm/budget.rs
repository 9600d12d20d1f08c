//! Admission of a model call against a step's token budget, before the
//! provider is called.

use crate::bindings::types::BudgetRefusal;

/// A call is useless with less room to answer than this.
pub const MIN_OUTPUT_TOKENS: u32 = 16;

/// Admits a call of `input_tokens` asking for up to `max_tokens` output when
/// `used` of `allocated` tokens are spent. Returns the output tokens granted
/// (`max_tokens` lowered so the call fits), or the refusal.
pub fn admit(allocated: u32, used: u32, input_tokens: u32, max_tokens: u32) -> Result<u32, BudgetRefusal> {
    let remaining = allocated.saturating_sub(used);
    let room = remaining.saturating_sub(input_tokens);
    let wanted = max_tokens.min(MIN_OUTPUT_TOKENS);
    if room < wanted.max(1) {
        return Err(BudgetRefusal { allocated, used, requested: input_tokens.saturating_add(max_tokens) });
    }
    Ok(max_tokens.min(room))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowers_max_tokens_to_fit() {
        assert_eq!(admit(1_000, 0, 200, 500).ok(), Some(500));
        assert_eq!(admit(1_000, 400, 200, 500).ok(), Some(400));
    }

    #[test]
    fn refuses_when_the_input_alone_does_not_fit() {
        let refusal = admit(1_000, 900, 200, 500).unwrap_err();
        assert_eq!((refusal.allocated, refusal.used, refusal.requested), (1_000, 900, 700));
    }

    #[test]
    fn refuses_when_too_little_room_is_left_to_answer() {
        assert!(admit(1_000, 0, 990, 500).is_err());
        assert_eq!(admit(1_000, 0, 984, 500).ok(), Some(16));
        // A small request needs only its own size.
        assert_eq!(admit(100, 0, 95, 4).ok(), Some(4));
    }

    #[test]
    fn zero_budget_admits_nothing() {
        assert!(admit(0, 0, 1, 1).is_err());
    }
}
