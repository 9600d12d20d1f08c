//! Wrong tokens at the console's sign-in: past a few a minute, sign-in is
//! refused until the oldest of them is a minute old, so the token cannot be
//! guessed at the speed of the network. Sessions already signed in and the
//! API's bearer token are not affected.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens allowed within [`WINDOW`].
const ALLOWED: usize = 10;
const WINDOW: Duration = Duration::from_secs(60);

/// The times of the recent wrong tokens, oldest first.
#[derive(Default)]
pub struct SignIns {
    failures: Mutex<VecDeque<Instant>>,
}

impl SignIns {
    /// How long sign-in stays refused; `None` when it is open.
    pub fn refused_for(&self, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        while failures.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            failures.pop_front();
        }
        (failures.len() >= ALLOWED).then(|| WINDOW - now.duration_since(failures[0]))
    }

    /// Notes a wrong token.
    pub fn failed(&self, now: Instant) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_wrong_tokens_a_minute_close_sign_in_until_the_first_is_a_minute_old() {
        let sign_ins = SignIns::default();
        let start = Instant::now();
        for i in 0..ALLOWED as u64 {
            assert_eq!(sign_ins.refused_for(start + Duration::from_secs(i)), None);
            sign_ins.failed(start + Duration::from_secs(i));
        }
        assert_eq!(sign_ins.refused_for(start + Duration::from_secs(20)), Some(Duration::from_secs(40)));
        assert_eq!(sign_ins.refused_for(start + Duration::from_secs(60)), None, "the first wrong token aged out");
    }
}
