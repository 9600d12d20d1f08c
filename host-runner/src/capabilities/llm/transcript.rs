//! What the models were sent and answered, per execution and step: kept
//! only when the host is built to keep it (`pilot eval` checks that
//! compression kept each step's key facts in the text a model actually
//! read; `pilot serve --keep-transcripts` shows it in the console). Off by
//! default: prompts hold user data and are never stored unless asked. Kept in
//! memory only, for the most recent [`MAX_STEPS`] steps, each cut at
//! [`MAX_TEXT`] bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// `(execution id, step id)`.
type Key = (String, String);

/// Steps kept; the oldest go first.
pub const MAX_STEPS: usize = 1_000;
/// Bytes of sent (and of answered) text kept per step.
pub const MAX_TEXT: usize = 64 * 1024;

/// One step's calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    pub sent: String,
    pub answered: String,
}

#[derive(Default)]
struct Kept {
    steps: HashMap<Key, Exchange>,
    order: VecDeque<Key>,
}

#[derive(Default)]
pub struct Transcript {
    kept: Mutex<Kept>,
}

impl Transcript {
    /// Appends the text of one model call of a step.
    pub fn record(&self, execution_id: &str, step_id: &str, text: &str) {
        self.append(execution_id, step_id, text, |e| &mut e.sent);
    }

    /// Appends what the model answered to one call of a step.
    pub fn answered(&self, execution_id: &str, step_id: &str, text: &str) {
        self.append(execution_id, step_id, text, |e| &mut e.answered);
    }

    fn append(&self, execution_id: &str, step_id: &str, text: &str, side: fn(&mut Exchange) -> &mut String) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let key = (execution_id.to_string(), step_id.to_string());
        if !kept.steps.contains_key(&key) {
            kept.order.push_back(key.clone());
            while kept.order.len() > MAX_STEPS {
                if let Some(oldest) = kept.order.pop_front() {
                    kept.steps.remove(&oldest);
                }
            }
        }
        let all = side(kept.steps.entry(key).or_default());
        if all.len() < MAX_TEXT {
            let room = MAX_TEXT - all.len();
            let cut = (0..=room.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            all.push_str(&text[..cut]);
            all.push_str(if cut < text.len() { "\n[cut: the transcript keeps 64 KiB per step]\n" } else { "\n" });
        }
    }

    /// Everything a step's model calls were sent, removed from the transcript.
    pub fn take(&self, execution_id: &str, step_id: &str) -> Option<String> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let key = (execution_id.to_string(), step_id.to_string());
        kept.order.retain(|k| *k != key);
        kept.steps.remove(&key).map(|e| e.sent)
    }

    /// A step's calls, left in the transcript.
    pub fn peek(&self, execution_id: &str, step_id: &str) -> Option<Exchange> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.steps.get(&(execution_id.to_string(), step_id.to_string())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_of_a_step_are_kept_together_and_taken_once() {
        let t = Transcript::default();
        t.record("e", "s", "first");
        t.record("e", "s", "second");
        t.record("e", "other", "x");
        assert_eq!(t.take("e", "s").as_deref(), Some("first\nsecond\n"));
        assert_eq!(t.take("e", "s"), None);
        assert_eq!(t.take("f", "other"), None);
    }

    #[test]
    fn answers_are_kept_apart_and_the_transcript_is_bounded() {
        let t = Transcript::default();
        t.record("e", "s", "prompt");
        t.answered("e", "s", "answer");
        assert_eq!(t.peek("e", "s"), Some(Exchange { sent: "prompt\n".into(), answered: "answer\n".into() }));
        t.record("e", "big", &"é".repeat(MAX_TEXT));
        let big = t.peek("e", "big").unwrap().sent;
        assert!(big.len() <= MAX_TEXT + 64 && big.contains("[cut:"), "{}", big.len());
        for i in 0..MAX_STEPS {
            t.record("f", &i.to_string(), "x");
        }
        assert_eq!(t.peek("e", "s"), None, "the oldest steps go first");
        assert!(t.peek("f", "0").is_some());
    }
}
