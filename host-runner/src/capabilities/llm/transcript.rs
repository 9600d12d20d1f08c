//! What the models were sent, per execution and step: kept only when the
//! host is built to keep it (`pilot eval` checks that compression kept each
//! step's key facts in the text a model actually read). Off in production:
//! prompts hold user data and are never stored by default.

use std::collections::HashMap;
use std::sync::Mutex;

/// `(execution id, step id)`.
type Key = (String, String);

#[derive(Default)]
pub struct Transcript {
    sent: Mutex<HashMap<Key, String>>,
}

impl Transcript {
    /// Appends the text of one model call of a step.
    pub fn record(&self, execution_id: &str, step_id: &str, text: &str) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let all = sent.entry((execution_id.to_string(), step_id.to_string())).or_default();
        all.push_str(text);
        all.push('\n');
    }

    /// Everything a step's model calls were sent, removed from the transcript.
    pub fn take(&self, execution_id: &str, step_id: &str) -> Option<String> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.remove(&(execution_id.to_string(), step_id.to_string()))
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
}
