//! The settings catalogue: every key of `system_settings_config` with its
//! type, allowed range, default and description. One definition, read by
//! both sides: the host seeds the table from it and refuses a value outside
//! it (`pilot flags set`), and the orchestrator reads typed values through it
//! ([`Catalogue::value`]), so a value is never accepted by one and ignored by
//! the other. The orchestrator reads every key; a handler reads only the
//! keys its manifest grants. A write is also checked against the rules
//! between keys ([`Catalogue::check_write`]): the AIS fast threshold stays
//! below the powerful one.

use crate::compress::Policy;
use crate::compress::memory::{DEFAULT_RECENT_RUNS, DEFAULT_TARGET_TOKENS, RECENT_RUNS_KEY, TARGET_TOKENS_KEY};
use crate::compress::policy::{MIN_QUALITY_RANGE, TARGET_RATIO_RANGE};
use crate::intents::{self, INTENTS};
use crate::keys::*;
use crate::routing::{FAST_THRESHOLD_KEY, ModelConfig, POWERFUL_THRESHOLD_KEY, TIER_KEY_PREFIX, Thresholds, Tier};

/// What values a key takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bool,
    Int {
        min: u64,
        max: u64,
    },
    Float {
        min: f64,
        max: f64,
    },
    /// One of the words given.
    Choice(&'static [&'static str]),
    /// Comma-separated field names or dotted paths (empty: none).
    List,
    /// Any non-empty text.
    Text,
}

impl Kind {
    /// The stored `value_type` column.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int { .. } => "int",
            Kind::Float { .. } => "float",
            Kind::Choice(_) | Kind::Text => "string",
            Kind::List => "list",
        }
    }

    /// What a valid value looks like, for error messages.
    pub fn expected(&self) -> String {
        match self {
            Kind::Bool => "`true` or `false`".into(),
            Kind::Int { min, max } => format!("an integer from {min} to {max}"),
            Kind::Float { min, max } => format!("a number from {min} to {max}"),
            Kind::Choice(words) => format!("one of {}", words.join(", ")),
            Kind::List => "comma-separated field names (letters, digits, `_`, `.`, `-`)".into(),
            Kind::Text => "a non-empty string".into(),
        }
    }

    /// Whether `value` is one of this kind's values.
    pub fn accepts(&self, value: &str) -> bool {
        let value = value.trim();
        match self {
            Kind::Bool => value == "true" || value == "false",
            Kind::Int { min, max } => value.parse::<u64>().is_ok_and(|v| (*min..=*max).contains(&v)),
            Kind::Float { min, max } => value.parse::<f64>().is_ok_and(|v| v.is_finite() && (*min..=*max).contains(&v)),
            Kind::Choice(words) => words.contains(&value),
            Kind::List => value
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .all(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))),
            Kind::Text => !value.is_empty(),
        }
    }
}

/// One key of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub default: String,
    pub kind: Kind,
    pub description: String,
}

impl Entry {
    fn new(key: impl Into<String>, default: impl ToString, kind: Kind, description: impl Into<String>) -> Entry {
        Entry { key: key.into(), default: default.to_string(), kind, description: description.into() }
    }

    /// `value` if this key takes it, else a message that names the key and the range.
    pub fn check(&self, value: &str) -> Result<(), String> {
        if self.kind.accepts(value) {
            Ok(())
        } else {
            Err(format!("setting `{}` takes {}, got `{value}`", self.key, self.kind.expected()))
        }
    }
}

/// Why the catalogue refuses to store a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogueError {
    #[error("unknown setting `{0}`")]
    UnknownKey(String),
    /// Not one of the key's values: the message names the key and its range.
    #[error("{0}")]
    OutOfRange(String),
    /// The value breaks a rule between this key and another, at the other's current value.
    #[error("setting `{key}` = `{value}` must be {relation} `{other_key}` = `{other_value}`")]
    Conflict { key: String, value: String, relation: &'static str, other_key: String, other_value: String },
}

/// Pairs of number keys whose values must stay strictly ordered, the first
/// below the second. Routing reads an inverted threshold pair as both
/// defaults, so a write that would invert it is refused instead of ignored.
const ORDERED_BELOW: [(&str, &str); 1] = [(FAST_THRESHOLD_KEY, POWERFUL_THRESHOLD_KEY)];

pub const STRATEGIES: &[&str] = &["proportional", "equal", "priority", "adaptive"];
const COMPRESSION_STRATEGIES: &[&str] = &["none", "structural", "template", "truncate", "semantic"];
const AGGRESSIVENESS: &[&str] = &["low", "medium", "high"];
const TOKENS: Kind = Kind::Int { min: 1, max: 100_000_000 };

/// Every key with its default, range and description.
pub struct Catalogue {
    entries: Vec<Entry>,
}

impl Catalogue {
    pub fn new() -> Catalogue {
        use Kind::*;
        let mut e = vec![
            Entry::new(
                ORCHESTRATION_ENABLED,
                false,
                Bool,
                "Run workflow steps through the orchestrator and intent handlers",
            ),
            Entry::new(COMPRESSION_ENABLED, false, Bool, "Compress each step's material before model calls"),
            Entry::new(AIS_ROUTING_ENABLED, false, Bool, "Route each step to the cheapest adequate model tier"),
            Entry::new(
                MAX_TOKENS_PER_WORKFLOW,
                DEFAULT_MAX_TOKENS_PER_WORKFLOW,
                TOKENS,
                "Token budget of one workflow execution",
            ),
            Entry::new(MAX_TOKENS_PER_STEP, DEFAULT_MAX_TOKENS_PER_STEP, TOKENS, "Upper bound of one step's budget"),
            Entry::new(
                BUDGET_STRATEGY,
                "proportional",
                Choice(STRATEGIES),
                "How the workflow budget is split over steps",
            ),
            Entry::new(
                ADAPTIVE_BUDGET_ENABLED,
                false,
                Bool,
                "Let the adaptive strategy size budgets from the agent's past token use",
            ),
            Entry::new(
                CRITICAL_MULTIPLIER,
                DEFAULT_CRITICAL_MULTIPLIER,
                Float { min: 1.0, max: 5.0 },
                "Budget share and caps of a step marked critical, as a multiple",
            ),
            Entry::new(
                CLASSIFICATION_THRESHOLD,
                DEFAULT_CLASSIFICATION_THRESHOLD,
                Float { min: 0.0, max: 1.0 },
                "Steps the free classification tiers are less sure of go to the LLM and context tiers",
            ),
            Entry::new(
                LLM_CLASSIFICATION_ENABLED,
                true,
                Bool,
                "Ask the fast-tier model about steps the free tiers are unsure of (one call per workflow)",
            ),
            Entry::new(
                MAX_RETRIES,
                DEFAULT_MAX_RETRIES,
                Int { min: 0, max: 2 },
                "Dispatches repeated one tier up after an unusable model answer (routing on)",
            ),
            Entry::new(
                MAX_PARALLEL_STEPS,
                DEFAULT_MAX_PARALLEL_STEPS,
                Int { min: 1, max: 64 },
                "Steps of one workflow run at once, among those whose dependencies have finished (1: one at a time)",
            ),
            Entry::new(
                ALLOW_OVERAGE,
                true,
                Bool,
                "Let a step spend past its allocation up to the overage threshold (false: strict)",
            ),
            Entry::new(
                OVERAGE_THRESHOLD,
                DEFAULT_OVERAGE_THRESHOLD,
                Float { min: 1.0, max: 3.0 },
                "Overage limit as a multiple of a step's allocation",
            ),
            Entry::new(
                DEFAULT_MODEL,
                DEFAULT_MODEL_ID,
                Text,
                "Model for steps when routing is off, and for normal (fallback) execution",
            ),
            Entry::new(
                RECENT_RUNS_KEY,
                DEFAULT_RECENT_RUNS,
                Int { min: 0, max: 50 },
                "Recent runs of memory context kept in full",
            ),
            Entry::new(
                TARGET_TOKENS_KEY,
                DEFAULT_TARGET_TOKENS,
                Int { min: 50, max: 100_000 },
                "Token target of compressed memory context",
            ),
        ];
        let thresholds = Thresholds::default();
        let score = Float { min: 0.0, max: 10.0 };
        e.push(Entry::new(
            FAST_THRESHOLD_KEY,
            thresholds.fast_below,
            score.clone(),
            "AIS scores below this go to the fast tier",
        ));
        e.push(Entry::new(
            POWERFUL_THRESHOLD_KEY,
            thresholds.powerful_above,
            score,
            "AIS scores above this go to the powerful tier",
        ));
        for intent in INTENTS {
            let policy = Policy::default_for(intent);
            let key = |field: &str| intents::compression_key(intent, field);
            e.push(Entry::new(
                key("strategy"),
                policy.strategy.as_str(),
                Choice(COMPRESSION_STRATEGIES),
                format!("Compression strategy of `{intent}` steps"),
            ));
            let (lo, hi) = TARGET_RATIO_RANGE;
            e.push(Entry::new(
                key("target_ratio"),
                policy.target_ratio,
                Float { min: decimal(lo), max: decimal(hi) },
                format!("Target size after compression of `{intent}` steps, as a share"),
            ));
            let (lo, hi) = MIN_QUALITY_RANGE;
            e.push(Entry::new(
                key("min_quality"),
                policy.min_quality,
                Float { min: decimal(lo), max: decimal(hi) },
                format!("Below this quality `{intent}` steps are sent uncompressed"),
            ));
            e.push(Entry::new(
                key("aggressiveness"),
                policy.aggressiveness.as_str(),
                Choice(AGGRESSIVENESS),
                format!("How hard `{intent}` steps are compressed"),
            ));
            e.push(Entry::new(
                key("preserve_fields"),
                policy.preserve_fields.join(","),
                List,
                format!("Fields and pieces compression never shortens in `{intent}` steps"),
            ));
            e.push(Entry::new(
                intents::budget_key(intent),
                0,
                Int { min: 0, max: 100_000_000 },
                format!("Token cap for `{intent}` steps (0 = only the per-step cap)"),
            ));
        }
        for tier in [Tier::Fast, Tier::Balanced, Tier::Powerful] {
            let m = ModelConfig::default_for(tier);
            let key = |field: &str| format!("{TIER_KEY_PREFIX}{}_{field}", tier.as_str());
            let price = Float { min: 0.0, max: 10_000.0 };
            e.push(Entry::new(key("provider"), &m.provider, Text, format!("Provider of the {tier} tier")));
            e.push(Entry::new(key("model"), &m.model, Text, format!("Model of the {tier} tier")));
            e.push(Entry::new(
                key("max_tokens"),
                m.max_tokens,
                Int { min: 1, max: 1_000_000 },
                format!("Output allowance of the {tier} tier"),
            ));
            e.push(Entry::new(
                key("temperature"),
                m.temperature,
                Float { min: 0.0, max: 1.0 },
                format!("Temperature of the {tier} tier"),
            ));
            e.push(Entry::new(
                key("input_price"),
                m.input_price_per_mtok,
                price.clone(),
                format!("US dollars per million input tokens, {tier} tier"),
            ));
            e.push(Entry::new(
                key("output_price"),
                m.output_price_per_mtok,
                price.clone(),
                format!("US dollars per million output tokens, {tier} tier"),
            ));
            e.push(Entry::new(
                key("cache_read_price"),
                m.cache_read_price_per_mtok,
                price.clone(),
                format!("US dollars per million input tokens served from the provider's prompt cache, {tier} tier"),
            ));
            e.push(Entry::new(
                key("cache_write_price"),
                m.cache_write_price_per_mtok,
                price,
                format!("US dollars per million input tokens written to the provider's prompt cache, {tier} tier"),
            ));
        }
        Catalogue { entries: e }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The value of `key` as `get` gives it when the catalogue accepts it,
    /// else its default; `None` for a key the catalogue does not know.
    pub fn value(&self, key: &str, get: impl Fn(&str) -> Option<String>) -> Option<String> {
        let entry = self.entry(key)?;
        Some(
            get(key)
                .map(|v| v.trim().to_string())
                .filter(|v| entry.kind.accepts(v))
                .unwrap_or_else(|| entry.default.clone()),
        )
    }

    /// Whether `key` may be set to `value`, the other settings being as
    /// `current` gives them (each read as [`Catalogue::value`] reads it): the
    /// value must be one of the key's values and keep every rule between keys.
    pub fn check_write(
        &self,
        key: &str,
        value: &str,
        current: impl Fn(&str) -> Option<String>,
    ) -> Result<(), CatalogueError> {
        let entry = self.entry(key).ok_or_else(|| CatalogueError::UnknownKey(key.to_string()))?;
        entry.check(value).map_err(CatalogueError::OutOfRange)?;
        let value = value.trim();
        for (below, above) in ORDERED_BELOW {
            let (other_key, relation) = if key == below {
                (above, "below")
            } else if key == above {
                (below, "above")
            } else {
                continue;
            };
            let other_value = self.value(other_key, &current).expect("ordered keys are in the catalogue");
            let (low, high) = if key == below { (value, &*other_value) } else { (&*other_value, value) };
            // Compared as routing reads them: numbers equal as f32 are equal.
            let number = |v: &str| v.parse::<f32>().expect("the catalogue checked the number");
            if number(low) >= number(high) {
                return Err(CatalogueError::Conflict {
                    key: key.to_string(),
                    value: value.to_string(),
                    relation,
                    other_key: other_key.to_string(),
                    other_value,
                });
            }
        }
        Ok(())
    }
}

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue::new()
    }
}

/// The catalogue, built once per process (or component instance).
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::new)
}

/// The decimal an `f32` bound was written as (`0.1`, not `0.10000000149011612`),
/// so that the bound itself is accepted and error messages print it as written.
fn decimal(bound: f32) -> f64 {
    bound.to_string().parse().expect("an f32 prints as a decimal f64 parses")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::thresholds_from_settings;

    #[test]
    fn every_default_is_in_its_own_range_and_keys_are_unique() {
        let c = Catalogue::new();
        for e in c.entries() {
            let default_ok = e.kind.accepts(&e.default) || (e.kind == Kind::List && e.default.is_empty());
            assert!(default_ok, "{}: default `{}` is not {}", e.key, e.default, e.kind.expected());
        }
        let mut keys: Vec<&str> = c.entries().iter().map(|e| e.key.as_str()).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate keys");
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_range_and_read_as_the_default() {
        let c = Catalogue::new();
        let multiplier = c.entry(CRITICAL_MULTIPLIER).unwrap();
        assert_eq!(
            multiplier.check("10").unwrap_err(),
            "setting `orchestration_budget_critical_multiplier` takes a number from 1 to 5, got `10`"
        );
        assert!(multiplier.check("2.5").is_ok());
        assert_eq!(c.value(CRITICAL_MULTIPLIER, |_| Some("10".into())).as_deref(), Some("1.5"));
        assert_eq!(c.value(CRITICAL_MULTIPLIER, |_| Some(" 2.5 ".into())).as_deref(), Some("2.5"));
        assert!(c.entry(BUDGET_STRATEGY).unwrap().check("random").unwrap_err().contains("one of proportional, equal"));
        assert!(c.entry(MAX_RETRIES).unwrap().check("3").is_err());
        assert_eq!(c.value("no_such_key", |_| None), None);
        // Bounds kept as f32 are accepted and printed as written.
        let ratio = c.entry("orchestration_compression_summarize_target_ratio").unwrap();
        assert!(ratio.check("0.1").is_ok() && ratio.check("0.9").is_ok());
        assert!(ratio.check("0.95").unwrap_err().ends_with("takes a number from 0.1 to 0.9, got `0.95`"));
    }

    /// The other settings as stored: `pairs`, every other key unset.
    fn stored(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_write_inverting_the_ais_thresholds_is_refused_naming_both_keys_and_values() {
        let c = Catalogue::new();
        let err = c.check_write(FAST_THRESHOLD_KEY, "7", stored(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "setting `orchestration_ais_fast_threshold` = `7` must be below `orchestration_ais_powerful_threshold` = `6`"
        );
        let err = c.check_write(POWERFUL_THRESHOLD_KEY, " 2 ", stored(&[(FAST_THRESHOLD_KEY, "3")])).unwrap_err();
        assert_eq!(
            err,
            CatalogueError::Conflict {
                key: POWERFUL_THRESHOLD_KEY.into(),
                value: "2".into(),
                relation: "above",
                other_key: FAST_THRESHOLD_KEY.into(),
                other_value: "3".into(),
            }
        );
        assert!(
            c.check_write(FAST_THRESHOLD_KEY, "6.5", stored(&[])).is_err(),
            "equal thresholds leave no balanced band"
        );
        // A stored value out of range reads as its default, as the orchestrator reads it.
        assert!(c.check_write(FAST_THRESHOLD_KEY, "7", stored(&[(POWERFUL_THRESHOLD_KEY, "12")])).is_err());
    }

    #[test]
    fn a_consistent_threshold_pair_is_accepted_and_routing_reads_it() {
        let c = Catalogue::new();
        assert_eq!(c.check_write(FAST_THRESHOLD_KEY, "2.5", stored(&[])), Ok(()));
        assert_eq!(c.check_write(FAST_THRESHOLD_KEY, "7", stored(&[(POWERFUL_THRESHOLD_KEY, "8")])), Ok(()));
        assert_eq!(c.check_write(POWERFUL_THRESHOLD_KEY, "8", stored(&[(FAST_THRESHOLD_KEY, "7")])), Ok(()));
        let written = stored(&[(FAST_THRESHOLD_KEY, "7"), (POWERFUL_THRESHOLD_KEY, "8")]);
        assert_eq!(thresholds_from_settings(written), Thresholds { fast_below: 7.0, powerful_above: 8.0 });
        // An inverted pair stored before the rule (or by hand) still reads as both defaults.
        let inverted = stored(&[(FAST_THRESHOLD_KEY, "7"), (POWERFUL_THRESHOLD_KEY, "6.5")]);
        assert_eq!(thresholds_from_settings(inverted), Thresholds::default());
        // The defaults keep every rule.
        for key in ORDERED_BELOW.iter().flat_map(|(below, above)| [below, above]) {
            assert_eq!(c.check_write(key, &c.entry(key).unwrap().default, stored(&[])), Ok(()));
        }
    }

    #[test]
    fn other_writes_are_checked_as_before() {
        let c = Catalogue::new();
        let err = c.check_write(CRITICAL_MULTIPLIER, "10", stored(&[])).unwrap_err();
        assert_eq!(err.to_string(), c.entry(CRITICAL_MULTIPLIER).unwrap().check("10").unwrap_err());
        assert_eq!(c.check_write(CRITICAL_MULTIPLIER, "2", stored(&[])), Ok(()));
        assert_eq!(
            c.check_write("no_such_key", "1", stored(&[])),
            Err(CatalogueError::UnknownKey("no_such_key".into()))
        );
    }
}
