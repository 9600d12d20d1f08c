//! The AIS tier boundaries on the 0-10 routing score, read from settings.

use super::tiers::Tier;
use serde::{Deserialize, Serialize};

/// The settings keys of the two boundaries; the catalogue refuses a write
/// that would put the fast one at or above the powerful one.
pub const FAST_THRESHOLD_KEY: &str = "orchestration_ais_fast_threshold";
pub const POWERFUL_THRESHOLD_KEY: &str = "orchestration_ais_powerful_threshold";

/// The AIS tier boundaries on the 0-10 score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Scores below this go to the fast tier (seed: 3.0).
    pub fast_below: f32,
    /// Scores above this go to the powerful tier. The seed's 6.5 was a bound
    /// on the agent's combined score; on step complexity, 6.0 keeps
    /// under-routing within 5% on the development splits (README, "How
    /// routing's trade-off is set").
    pub powerful_above: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { fast_below: 3.0, powerful_above: 6.0 }
    }
}

impl Thresholds {
    /// The tier of a score: `fast` below `fast_below`, `powerful` above
    /// `powerful_above`, `balanced` in between (both bounds included).
    pub fn tier(&self, score: f32) -> Tier {
        if score < self.fast_below {
            Tier::Fast
        } else if score > self.powerful_above {
            Tier::Powerful
        } else {
            Tier::Balanced
        }
    }
}

/// Reads the thresholds; each must be a number in 0-10, and `fast_below` must
/// stay below `powerful_above`, otherwise both defaults apply (the catalogue
/// refuses such a write; this covers a pair stored before the rule or by hand).
pub fn thresholds_from_settings(get: impl Fn(&str) -> Option<String>) -> Thresholds {
    let default = Thresholds::default();
    let read = |key: &str, fallback: f32| {
        get(key).and_then(|v| v.trim().parse::<f32>().ok()).filter(|v| (0.0..=10.0).contains(v)).unwrap_or(fallback)
    };
    let t = Thresholds {
        fast_below: read(FAST_THRESHOLD_KEY, default.fast_below),
        powerful_above: read(POWERFUL_THRESHOLD_KEY, default.powerful_above),
    };
    if t.fast_below < t.powerful_above { t } else { default }
}
