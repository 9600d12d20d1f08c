//! The workflow token budget as the runner enforces it on every path.

/// Tokens a workflow may still spend, on whichever path its steps run.
pub struct WorkflowBudget {
    limit: u64,
    used: u64,
}

impl WorkflowBudget {
    pub fn new(limit: u32) -> Self {
        WorkflowBudget { limit: u64::from(limit), used: 0 }
    }

    pub fn spend(&mut self, tokens: u32) {
        self.used = self.used.saturating_add(u64::from(tokens));
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn left(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}
