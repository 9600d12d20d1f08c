//! The workflow token budget as the runner enforces it on every path, with
//! steps in flight together: a call reserves what it may spend before it is
//! sent and gives back what it did not use, so racing steps never overspend
//! the budget between them.

use std::sync::Mutex;

/// Tokens a workflow may still spend, on whichever path its steps run.
pub struct WorkflowBudget {
    limit: u64,
    spent: Mutex<Spent>,
}

#[derive(Default)]
struct Spent {
    used: u64,
    /// Held by calls in flight.
    reserved: u64,
}

/// Tokens held for one call until it is settled.
#[derive(Debug)]
#[must_use = "a reservation is settled with what the call used"]
pub struct Reservation {
    pub tokens: u32,
}

impl WorkflowBudget {
    /// A budget of `limit` tokens of which `used` were spent already (by a
    /// resumed run's finished steps).
    pub fn new(limit: u32, used: u64) -> Self {
        WorkflowBudget { limit: u64::from(limit), spent: Mutex::new(Spent { used, reserved: 0 }) }
    }

    fn spent(&self) -> std::sync::MutexGuard<'_, Spent> {
        // The counters stay consistent whatever panicked while holding them.
        self.spent.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Holds up to `want` tokens of what is left (possibly none).
    pub fn reserve(&self, want: u32) -> Reservation {
        let mut spent = self.spent();
        let left = self.limit.saturating_sub(spent.used + spent.reserved);
        let tokens = u64::from(want).min(left) as u32;
        spent.reserved += u64::from(tokens);
        Reservation { tokens }
    }

    /// Ends a reservation: `used` tokens are spent (a provider may report a
    /// little more than was admitted: it counts), the rest goes back.
    pub fn settle(&self, reservation: Reservation, used: u32) {
        let mut spent = self.spent();
        spent.reserved -= u64::from(reservation.tokens);
        spent.used = spent.used.saturating_add(u64::from(used));
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_reservations_never_hold_more_than_the_limit() {
        let budget = std::sync::Arc::new(WorkflowBudget::new(10_000, 0));
        let threads: Vec<_> = (0..20)
            .map(|_| {
                let budget = budget.clone();
                std::thread::spawn(move || {
                    let held = budget.reserve(1_500);
                    let granted = held.tokens;
                    budget.settle(held, granted);
                    granted
                })
            })
            .collect();
        let granted: u64 = threads.into_iter().map(|t| u64::from(t.join().unwrap())).sum();
        assert_eq!(granted, 10_000, "every token granted once, none twice");
        assert_eq!(budget.reserve(1).tokens, 0);
    }

    #[test]
    fn unused_tokens_go_back() {
        let budget = WorkflowBudget::new(1_000, 0);
        let held = budget.reserve(800);
        assert_eq!(held.tokens, 800);
        let rest = budget.reserve(900);
        assert_eq!(rest.tokens, 200, "only what is left");
        budget.settle(held, 300);
        budget.settle(rest, 0);
        assert_eq!(budget.reserve(1_000).tokens, 700, "what the first call did not use came back");
    }

    #[test]
    fn a_resumed_budget_goes_on_from_what_was_spent() {
        let budget = WorkflowBudget::new(1_000, 700);
        assert_eq!(budget.reserve(500).tokens, 300, "only what the finished steps left");
    }
}
