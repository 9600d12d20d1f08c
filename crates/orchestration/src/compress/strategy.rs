//! How hard a compression policy works: its strategy and aggressiveness,
//! as the settings name them.

use serde::{Deserialize, Serialize};

/// How a step's prompt and context are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Nothing is changed.
    None,
    /// Lossless clean-up: whitespace, JSON minification, empty fields,
    /// duplicate records, unreferenced context variables.
    Structural,
    /// Structural, then repeated boilerplate (signatures, footers,
    /// disclaimers) is kept once.
    Template,
    /// Structural and template, then the prompt is cut at a sentence boundary
    /// to `target_ratio` of its tokens.
    Truncate,
    /// Structural and template here; the model then writes a summary
    /// ([`super::semantic_request`], checked by [`super::accept_semantic`]).
    Semantic,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Structural => "structural",
            Strategy::Template => "template",
            Strategy::Truncate => "truncate",
            Strategy::Semantic => "semantic",
        }
    }

    pub fn parse(value: &str) -> Option<Strategy> {
        match value.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Strategy::None),
            "structural" => Some(Strategy::Structural),
            "template" => Some(Strategy::Template),
            "truncate" => Some(Strategy::Truncate),
            "semantic" => Some(Strategy::Semantic),
            _ => None,
        }
    }
}

/// How far the lossless-but-opinionated steps go.
///
/// - `Low`: whitespace, minification, empty fields; boilerplate blocks of 24+ tokens.
/// - `Medium`: also prunes context variables the prompt never references and
///   removes exact duplicate records; boilerplate blocks of 12+ tokens.
/// - `High`: as medium; boilerplate blocks of 6+ tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggressiveness {
    Low,
    Medium,
    High,
}

impl Aggressiveness {
    pub fn as_str(self) -> &'static str {
        match self {
            Aggressiveness::Low => "low",
            Aggressiveness::Medium => "medium",
            Aggressiveness::High => "high",
        }
    }

    pub fn parse(value: &str) -> Option<Aggressiveness> {
        match value.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Aggressiveness::Low),
            "medium" => Some(Aggressiveness::Medium),
            "high" => Some(Aggressiveness::High),
            _ => None,
        }
    }

    /// Smallest repeated block, in tokens, that the template strategy replaces.
    pub fn min_boilerplate_tokens(self) -> u32 {
        match self {
            Aggressiveness::Low => 24,
            Aggressiveness::Medium => 12,
            Aggressiveness::High => 6,
        }
    }
}
