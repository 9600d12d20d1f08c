//! Intent classification, tiered as in the seed.
//!
//! An explicit intent always wins. Next, the step's params: each handler has a
//! params contract (`schema` for extract, `rules` for validate, `condition`
//! for conditional...), so params written for one handler are the strongest
//! evidence there is. Otherwise each intent's cue words are looked for in the
//! step's name (strong evidence) and in the opening of its prompt, where
//! instructions are written (weaker evidence; data pasted further down must
//! not vote). These tiers are free. A step they are unsure of (confidence
//! under `orchestration_classification_confidence_threshold`, 0.9) goes to
//! the [`llm`] tier (the fast-tier model, one call for all unsure steps of a
//! workflow, accepted from 0.7), then to the [`context`] tier (accepted from
//! 0.6); [`settle`] picks the answer. Nothing sure gives the safe fallback
//! intent, marked ambiguous.
//!
//! One job per file: the answer and its fallback (`outcome`), the word
//! tables (`words`), the sentence rules (`sentences`), the free tiers'
//! rules and cue scoring (`rules`), the [`context`] and [`llm`] tiers, and
//! how the tiers' answers are settled (`settling`).

pub mod context;
pub mod llm;
mod outcome;
mod rules;
mod sentences;
mod settling;
mod words;

pub use crate::intents::INTENTS;
pub use outcome::{Classification, FALLBACK_INTENT, Method, fallback};
pub use rules::classify;
pub use settling::{CONTEXT_ACCEPT, GUESS_FLOOR, LLM_ACCEPT, is_unsure, settle, settle_unsure, without_model};

#[cfg(test)]
mod tests;
