//! Per-intent compression policies: the seed's defaults and the
//! `orchestration_compression_<intent>_*` settings that override them.

use super::strategy::{Aggressiveness, Strategy};
use crate::intents::{self, LOSSLESS_MIN_QUALITY};
use serde::{Deserialize, Serialize};

/// A step's compression policy (the seed's per-intent `CompressionPolicy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub strategy: Strategy,
    /// Share of the tokens to keep when truncating or summarising (0.2-0.5 by
    /// default): the budget is `target_ratio × tokens_before`.
    pub target_ratio: f32,
    /// Below this quality score the original is sent (0.8-0.9; 0.95 for
    /// intents that must read everything).
    pub min_quality: f32,
    /// Context fields (key names, or dotted paths such as `inputs.account_id`)
    /// that are never dropped, pruned or rewritten.
    pub preserve_fields: Vec<String>,
    pub aggressiveness: Aggressiveness,
    /// Only lossless transformations (set for `extract` and `validate`).
    pub lossless: bool,
    /// Settings that could not be used, and other decisions worth reporting;
    /// copied into the outcome's notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Accepted ranges of the settings; values outside fall back to the default.
pub const TARGET_RATIO_RANGE: (f32, f32) = (0.1, 0.9);
pub const MIN_QUALITY_RANGE: (f32, f32) = (0.5, 1.0);

/// Whether `intent`'s handler must read every byte it is given (`extract`, `validate`).
pub fn is_lossless_intent(intent: &str) -> bool {
    intents::handling(&intent.trim().to_ascii_lowercase()).compression.lossless
}

impl Policy {
    /// The seed's default policy for an intent: its profile's
    /// ([`crate::intents`]), else [`intents::UNKNOWN`]'s (structural, 0.5,
    /// 0.9, low).
    pub fn default_for(intent: &str) -> Policy {
        let defaults = &intents::handling(&intent.trim().to_ascii_lowercase()).compression;
        Policy {
            strategy: defaults.strategy,
            target_ratio: defaults.target_ratio,
            min_quality: defaults.min_quality,
            preserve_fields: defaults.preserve_fields.iter().map(|s| s.to_string()).collect(),
            aggressiveness: defaults.aggressiveness,
            lossless: defaults.lossless,
            notes: vec![],
        }
    }

    /// The default for `intent`, overridden field by field from settings
    /// (`orchestration_compression_<intent>_strategy`, `_target_ratio`,
    /// `_min_quality`, `_preserve_fields` as a comma list, `_aggressiveness`).
    /// Absent or blank keys keep the default; unusable values keep it too and
    /// are reported in `notes`. `extract` and `validate` stay lossless whatever
    /// the settings say.
    pub fn from_settings(intent: &str, get: impl Fn(&str) -> Option<String>) -> Policy {
        let intent_key = intent.trim().to_ascii_lowercase();
        let mut policy = Policy::default_for(&intent_key);
        let key = |field: &str| intents::compression_key(&intent_key, field);
        let read = |field: &str| get(&key(field)).filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_string());
        let mut notes = Vec::new();

        if let Some(v) = read("strategy") {
            match Strategy::parse(&v) {
                Some(s) => policy.strategy = s,
                None => notes.push(format!(
                    "{}: unknown strategy `{v}`, using {}",
                    key("strategy"),
                    policy.strategy.as_str()
                )),
            }
        }
        if let Some(v) = read("target_ratio") {
            match v.parse::<f32>().ok().filter(|r| (TARGET_RATIO_RANGE.0..=TARGET_RATIO_RANGE.1).contains(r)) {
                Some(r) => policy.target_ratio = r,
                None => notes.push(format!(
                    "{}: `{v}` is not a ratio in {}-{}, using {}",
                    key("target_ratio"),
                    TARGET_RATIO_RANGE.0,
                    TARGET_RATIO_RANGE.1,
                    policy.target_ratio
                )),
            }
        }
        if let Some(v) = read("min_quality") {
            match v.parse::<f32>().ok().filter(|q| (MIN_QUALITY_RANGE.0..=MIN_QUALITY_RANGE.1).contains(q)) {
                Some(q) => policy.min_quality = q,
                None => notes.push(format!(
                    "{}: `{v}` is not a score in {}-{}, using {}",
                    key("min_quality"),
                    MIN_QUALITY_RANGE.0,
                    MIN_QUALITY_RANGE.1,
                    policy.min_quality
                )),
            }
        }
        if let Some(v) = read("preserve_fields") {
            policy.preserve_fields = v.split(',').map(str::trim).filter(|f| !f.is_empty()).map(String::from).collect();
        }
        if let Some(v) = read("aggressiveness") {
            match Aggressiveness::parse(&v) {
                Some(a) => policy.aggressiveness = a,
                None => notes.push(format!(
                    "{}: unknown aggressiveness `{v}`, using {}",
                    key("aggressiveness"),
                    policy.aggressiveness.as_str()
                )),
            }
        }
        policy.notes = notes;
        policy.enforce_lossless(&intent_key);
        policy
    }

    /// For `extract` and `validate`: forces the lossless flag, a structural
    /// (or no) strategy and a minimum quality of at least 0.95, noting what
    /// was overridden.
    pub fn enforce_lossless(&mut self, intent: &str) {
        if !is_lossless_intent(intent) {
            return;
        }
        self.lossless = true;
        if !matches!(self.strategy, Strategy::None | Strategy::Structural) {
            self.notes
                .push(format!("{intent} is never lossy: strategy {} replaced by structural", self.strategy.as_str()));
            self.strategy = Strategy::Structural;
        }
        if self.min_quality < LOSSLESS_MIN_QUALITY {
            self.notes.push(format!(
                "{intent} is never lossy: min_quality {} raised to {LOSSLESS_MIN_QUALITY}",
                self.min_quality
            ));
            self.min_quality = LOSSLESS_MIN_QUALITY;
        }
    }

    /// Whether a context field is protected, by name or dotted path.
    pub fn preserves(&self, name: &str, path: &str) -> bool {
        self.preserve_fields.iter().any(|f| f == name || f == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn defaults_follow_the_seed() {
        for intent in ["extract", "validate"] {
            let p = Policy::default_for(intent);
            assert_eq!(p.strategy, Strategy::Structural);
            assert!(p.lossless && p.min_quality >= 0.95, "{intent}");
        }
        assert!(matches!(Policy::default_for("summarize").strategy, Strategy::Semantic | Strategy::Truncate));
        assert_eq!(Policy::default_for("send").strategy, Strategy::Template);
        for intent in ["transform", "aggregate", "filter", "conditional", "enrich"] {
            assert_eq!(Policy::default_for(intent).strategy, Strategy::Structural, "{intent}");
        }
        for intent in crate::classify::INTENTS {
            let p = Policy::default_for(intent);
            assert!((0.2..=0.5).contains(&p.target_ratio), "{intent}");
            assert!((0.8..=1.0).contains(&p.min_quality), "{intent}");
            assert_eq!(p.lossless, is_lossless_intent(intent));
        }
        assert_eq!(Policy::default_for("shout").strategy, Strategy::Structural);
        assert!(!Policy::default_for("shout").lossless);
    }

    #[test]
    fn settings_override_field_by_field() {
        let p = Policy::from_settings(
            "summarize",
            settings(&[
                ("orchestration_compression_summarize_strategy", "Truncate"),
                ("orchestration_compression_summarize_target_ratio", " 0.25 "),
                ("orchestration_compression_summarize_min_quality", "0.85"),
                ("orchestration_compression_summarize_preserve_fields", "account_id, ticket_id,,"),
                ("orchestration_compression_summarize_aggressiveness", "high"),
            ]),
        );
        assert_eq!(p.strategy, Strategy::Truncate);
        assert_eq!(p.target_ratio, 0.25);
        assert_eq!(p.min_quality, 0.85);
        assert_eq!(p.preserve_fields, ["account_id", "ticket_id"]);
        assert_eq!(p.aggressiveness, Aggressiveness::High);
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        assert_eq!(Policy::from_settings("summarize", settings(&[])), Policy::default_for("summarize"));
    }

    #[test]
    fn bad_values_fall_back_and_are_noted() {
        let p = Policy::from_settings(
            "generate",
            settings(&[
                ("orchestration_compression_generate_strategy", "zip"),
                ("orchestration_compression_generate_target_ratio", "1.5"),
                ("orchestration_compression_generate_min_quality", "high"),
                ("orchestration_compression_generate_aggressiveness", "extreme"),
                ("orchestration_compression_generate_preserve_fields", "   "),
            ]),
        );
        let d = Policy::default_for("generate");
        assert_eq!(
            (p.strategy, p.target_ratio, p.min_quality, p.aggressiveness),
            (d.strategy, d.target_ratio, d.min_quality, d.aggressiveness)
        );
        assert_eq!(p.preserve_fields, d.preserve_fields);
        assert_eq!(p.notes.len(), 4, "{:?}", p.notes);
        assert!(p.notes[0].contains("orchestration_compression_generate_strategy") && p.notes[0].contains("zip"));
    }

    #[test]
    fn extract_and_validate_stay_lossless_whatever_the_settings() {
        let p = Policy::from_settings(
            "Extract",
            settings(&[
                ("orchestration_compression_extract_strategy", "truncate"),
                ("orchestration_compression_extract_min_quality", "0.6"),
            ]),
        );
        assert_eq!(p.strategy, Strategy::Structural);
        assert!(p.lossless);
        assert_eq!(p.min_quality, LOSSLESS_MIN_QUALITY);
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
        let none =
            Policy::from_settings("validate", settings(&[("orchestration_compression_validate_strategy", "none")]));
        assert_eq!(none.strategy, Strategy::None);
    }

    #[test]
    fn strategy_serializes_snake_case() {
        assert_eq!(serde_json::to_string(&Strategy::Truncate).unwrap(), "\"truncate\"");
        assert_eq!(serde_json::from_str::<Aggressiveness>("\"high\"").unwrap(), Aggressiveness::High);
        let p = Policy::default_for("send");
        let back: Policy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
