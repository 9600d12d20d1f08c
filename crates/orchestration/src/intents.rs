//! What the orchestrator knows about each of the seed's intents, in one
//! place: what recognises the intent in a step (classification's cue words,
//! leading verbs and params contracts, and its meaning for the LLM tier) and
//! how its steps are handled (routing's base complexity and whether a costly
//! domain weighs on it, the output a step typically needs, the default
//! compression policy, whether the agent's memory is sent), with the
//! per-intent settings keys. An intent a hot-loaded handler brings has no
//! profile: its steps are handled as [`UNKNOWN`], a plain model call.

use crate::compress::strategy::{Aggressiveness, Strategy};

/// One of the seed's intents.
#[derive(Debug)]
pub struct IntentProfile {
    pub intent: &'static str,
    pub recognition: Recognition,
    pub handling: Handling,
}

/// What recognises an intent in a step (see [`crate::classify`]).
#[derive(Debug)]
pub struct Recognition {
    /// Cue words looked for in the step's name and the opening of its
    /// prompt; matched as whole words, case-insensitively, as prefixes (so
    /// `extract` also matches `extracting`).
    pub cues: &'static [&'static str],
    /// Verbs an instruction for this intent starts with, the strongest
    /// evidence its wording gives: instructions are imperatives ("Post the
    /// digest to #ops", "Count the alerts per service"). The longest verb that
    /// matches wins, so two-word verbs are matched before one-word verbs.
    pub leading_verbs: &'static [&'static str],
    /// Params keys of its handler's contract: params holding every key of one
    /// of these sets were written for this intent.
    pub params_contracts: &'static [&'static [&'static str]],
    /// Contracts are tried in ascending precedence, the first that matches
    /// wins: `validate` takes `schema` + `data` before `extract` takes `schema` alone.
    pub contract_precedence: u8,
    /// What the intent means, for the LLM tier; empty where the name says it
    /// (a model knows what "summarize" asks). Short on purpose: the list is
    /// paid for on every workflow with an unsure step.
    pub meaning: &'static str,
}

/// How a step of an intent is handled.
#[derive(Debug)]
pub struct Handling {
    /// Routing: the step's complexity (0-10) before params, output, size and
    /// cues. Intents whose handlers can work without a model start low; those
    /// that always write with a model start at the middle of the balanced band.
    pub base_complexity: f32,
    /// Routing: the work is the model's judgment, which a costly domain (read
    /// in the workflow's goal) makes harder.
    pub judgment: bool,
    /// Budgets and routing: output tokens a step typically needs on top of its
    /// prompt. Intents whose handlers make no model call when the work is
    /// structured (`transform`) get none.
    pub expected_output_tokens: u32,
    /// Compression: the seed's default policy, which settings override.
    pub compression: CompressionDefaults,
    /// Memory: whether the agent's memory of earlier runs and of its user is
    /// sent. Intents whose work is the step's data alone (fields out of a
    /// text, items kept, records reshaped, totalled, checked or looked up) do
    /// not get it: it does not change their answer. Writing and deciding
    /// intents, and any intent a hot-loaded handler brings, get it.
    pub reads_memory: bool,
}

/// An intent's default compression policy (the seed's per-intent `CompressionPolicy`).
#[derive(Debug)]
pub struct CompressionDefaults {
    pub strategy: Strategy,
    pub target_ratio: f32,
    pub min_quality: f32,
    pub aggressiveness: Aggressiveness,
    /// Context fields never dropped, pruned or rewritten.
    pub preserve_fields: &'static [&'static str],
    /// The handler must read every byte it is given: never lossy, whatever the settings say.
    pub lossless: bool,
}

/// Floor of `min_quality` for lossless intents.
pub const LOSSLESS_MIN_QUALITY: f32 = 0.95;

/// The profiles of the seed's ten intents and `classify` (labelling into
/// given classes). Their order is the order of [`INTENTS`]: cue scores that
/// tie rank in it, and the settings catalogue lists the intents' keys in it.
pub const PROFILES: [IntentProfile; 11] = [
    IntentProfile {
        intent: "extract",
        recognition: Recognition {
            cues: &["extract", "parse", "pull out", "capture the", "identify the fields", "read the fields"],
            leading_verbs: &["extract", "pull", "list", "identify", "abstract", "capture", "parse", "find"],
            params_contracts: &[&["schema"]],
            contract_precedence: 1,
            meaning: "",
        },
        handling: Handling {
            base_complexity: 3.5,
            judgment: true,
            expected_output_tokens: 800,
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.5,
                min_quality: LOSSLESS_MIN_QUALITY,
                aggressiveness: Aggressiveness::Low,
                preserve_fields: &[],
                lossless: true,
            },
            reads_memory: false,
        },
    },
    IntentProfile {
        intent: "summarize",
        recognition: Recognition {
            cues: &["summar", "condense", "tl;dr", "recap", "digest", "brief overview", "key points", "sum up"],
            leading_verbs: &["summarize", "summarise", "sum up", "recap", "condense", "outline", "give a", "give the"],
            params_contracts: &[&["target_length"]],
            contract_precedence: 8,
            meaning: "",
        },
        handling: Handling {
            base_complexity: 3.5,
            judgment: true,
            expected_output_tokens: 500,
            compression: CompressionDefaults {
                strategy: Strategy::Semantic,
                target_ratio: 0.3,
                min_quality: 0.8,
                aggressiveness: Aggressiveness::Medium,
                preserve_fields: &[],
                lossless: false,
            },
            reads_memory: true,
        },
    },
    IntentProfile {
        intent: "generate",
        recognition: Recognition {
            cues: &["generate", "write", "draft", "compose", "create a", "produce a", "reply", "respond"],
            leading_verbs: &[
                "write",
                "draft",
                "compose",
                "generate",
                "create",
                "reply",
                "prepare",
                "produce",
                "explain",
                "recommend",
                "suggest",
                "propose",
                "advise",
            ],
            params_contracts: &[&["max_words"], &["type"]],
            contract_precedence: 9,
            meaning: "",
        },
        handling: Handling {
            base_complexity: 4.5,
            judgment: true,
            expected_output_tokens: 1_200,
            compression: CompressionDefaults {
                strategy: Strategy::Template,
                target_ratio: 0.5,
                min_quality: 0.85,
                aggressiveness: Aggressiveness::Medium,
                preserve_fields: &[],
                lossless: false,
            },
            reads_memory: true,
        },
    },
    IntentProfile {
        intent: "validate",
        recognition: Recognition {
            cues: &["validat", "verify", "check that", "check whether", "ensure", "confirm that", "audit"],
            leading_verbs: &[
                "check",
                "verify",
                "validate",
                "review",
                "ensure",
                "make sure",
                "fact-check",
                "assess",
                "audit",
                "confirm",
                "go over",
            ],
            params_contracts: &[&["rules"], &["schema", "data"]],
            contract_precedence: 0,
            meaning: "",
        },
        handling: Handling {
            base_complexity: 1.5,
            judgment: true,
            expected_output_tokens: 400,
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.5,
                min_quality: LOSSLESS_MIN_QUALITY,
                aggressiveness: Aggressiveness::Low,
                preserve_fields: &[],
                lossless: true,
            },
            reads_memory: false,
        },
    },
    IntentProfile {
        intent: "send",
        recognition: Recognition {
            cues: &["send", "notify", "email to", "post to", "deliver", "dispatch", "alert the", "slack"],
            leading_verbs: &[
                "post", "email", "send", "notify", "submit", "share", "announce", "tell", "ping", "log", "message",
                "forward", "push", "upload",
            ],
            params_contracts: &[&["plugin"], &["channel"], &["to", "message"]],
            contract_precedence: 6,
            meaning: "",
        },
        handling: Handling {
            base_complexity: 0.5,
            judgment: false,
            expected_output_tokens: 200,
            compression: CompressionDefaults {
                strategy: Strategy::Template,
                target_ratio: 0.5,
                min_quality: 0.9,
                aggressiveness: Aggressiveness::Medium,
                preserve_fields: &["to", "cc", "channel", "recipient", "recipients", "subject"],
                lossless: false,
            },
            reads_memory: true,
        },
    },
    IntentProfile {
        intent: "transform",
        recognition: Recognition {
            cues: &["transform", "convert", "reshape", "map the", "format as", "normalize", "rename", "restructure"],
            leading_verbs: &[
                "transform",
                "convert",
                "reshape",
                "turn",
                "put",
                "rewrite",
                "format",
                "map",
                "reformat",
                "redact",
                "mask",
                "anonymize",
                "anonymise",
                "pseudonymize",
                "de-identify",
                "scrub",
                "normalize",
                "restructure",
                "rename",
                "translate",
                "tidy",
            ],
            params_contracts: &[&["mapping"], &["sort_by"], &["drop_empty"], &["select"], &["rename"]],
            contract_precedence: 5,
            meaning: "reshape or convert data, no judgment",
        },
        handling: Handling {
            base_complexity: 1.0,
            judgment: false,
            expected_output_tokens: 0,
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.4,
                min_quality: 0.9,
                aggressiveness: Aggressiveness::Medium,
                preserve_fields: &[],
                lossless: false,
            },
            reads_memory: false,
        },
    },
    IntentProfile {
        intent: "conditional",
        recognition: Recognition {
            cues: &["if ", "whether to", "decide", "branch", "route to", "escalate if", "otherwise"],
            leading_verbs: &["decide", "determine whether", "judge", "if"],
            params_contracts: &[&["condition"], &["question"], &["then"], &["else"], &["branches"]],
            contract_precedence: 2,
            meaning: "decide which branch runs",
        },
        handling: Handling {
            base_complexity: 1.5,
            judgment: true,
            expected_output_tokens: 200,
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.4,
                min_quality: 0.9,
                aggressiveness: Aggressiveness::Medium,
                preserve_fields: &[],
                lossless: false,
            },
            reads_memory: true,
        },
    },
    IntentProfile {
        intent: "aggregate",
        recognition: Recognition {
            cues: &[
                "aggregat",
                "add up",
                "sum the",
                "totals by",
                "combine",
                "merge",
                "group by",
                "roll up",
                "count the",
                "tally",
            ],
            leading_verbs: &[
                "count",
                "total",
                "sum",
                "group",
                "aggregate",
                "add up",
                "tally",
                "merge",
                "combine",
                "roll up",
            ],
            params_contracts: &[&["operations"], &["group_by"]],
            contract_precedence: 3,
            meaning: "group, total or merge records or outputs",
        },
        handling: Handling {
            base_complexity: 1.0,
            judgment: true,
            expected_output_tokens: 400,
            // Low: duplicate records are counted, not dropped.
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.4,
                min_quality: 0.9,
                aggressiveness: Aggressiveness::Low,
                preserve_fields: &[],
                lossless: false,
            },
            reads_memory: false,
        },
    },
    IntentProfile {
        intent: "filter",
        recognition: Recognition {
            cues: &["filter", "select only", "keep only", "exclude", "remove all", "discard", "shortlist"],
            leading_verbs: &[
                "keep",
                "filter",
                "remove",
                "drop",
                "exclude",
                "select",
                "pick out",
                "pick",
                "leave out",
                "discard",
                "shortlist",
                "flag",
            ],
            params_contracts: &[&["where"], &["criteria"]],
            contract_precedence: 4,
            meaning: "",
        },
        handling: Handling {
            base_complexity: 1.0,
            judgment: true,
            expected_output_tokens: 200,
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.4,
                min_quality: 0.9,
                aggressiveness: Aggressiveness::Medium,
                preserve_fields: &[],
                lossless: false,
            },
            reads_memory: false,
        },
    },
    IntentProfile {
        intent: "enrich",
        recognition: Recognition {
            cues: &["enrich", "look up", "lookup", "augment", "append data", "add details", "fetch more"],
            leading_verbs: &["add", "look up", "lookup", "enrich", "append", "run", "attach"],
            params_contracts: &[&["source", "key"], &["source", "fields"]],
            contract_precedence: 7,
            meaning: "add data from an external source",
        },
        handling: Handling {
            base_complexity: 1.0,
            judgment: false,
            expected_output_tokens: 400,
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.4,
                min_quality: 0.9,
                aggressiveness: Aggressiveness::Medium,
                preserve_fields: &["key", "source"],
                lossless: false,
            },
            reads_memory: false,
        },
    },
    IntentProfile {
        intent: "classify",
        recognition: Recognition {
            cues: &[
                "classif",
                "categori",
                "label the",
                "tag the",
                "sentiment",
                "which category",
                "risk level",
                "priority level",
                "bucket",
            ],
            leading_verbs: &[
                "classify",
                "categorize",
                "categorise",
                "label",
                "tag",
                "rate",
                "grade",
                "score",
                "triage",
                "bucket",
            ],
            params_contracts: &[&["labels"]],
            contract_precedence: 10,
            meaning: "label with given classes (category, priority, sentiment, risk)",
        },
        handling: Handling {
            base_complexity: 2.0,
            judgment: true,
            expected_output_tokens: 200,
            compression: CompressionDefaults {
                strategy: Strategy::Structural,
                target_ratio: 0.5,
                min_quality: 0.9,
                aggressiveness: Aggressiveness::Low,
                preserve_fields: &[],
                lossless: false,
            },
            reads_memory: true,
        },
    },
];

/// The seed's intents, in the order of [`PROFILES`].
pub const INTENTS: [&str; 11] = {
    let mut names = [""; 11];
    let mut i = 0;
    while i < PROFILES.len() {
        names[i] = PROFILES[i].intent;
        i += 1;
    }
    names
};

/// How the steps of an intent without a profile are handled: a plain model call.
pub const UNKNOWN: Handling = Handling {
    base_complexity: 4.0,
    judgment: false,
    expected_output_tokens: 1_200,
    compression: CompressionDefaults {
        strategy: Strategy::Structural,
        target_ratio: 0.5,
        min_quality: 0.9,
        aggressiveness: Aggressiveness::Low,
        preserve_fields: &[],
        lossless: false,
    },
    reads_memory: true,
};

/// The profile of `intent`, matched exactly (callers normalize case and
/// whitespace where they accept either).
pub fn profile(intent: &str) -> Option<&'static IntentProfile> {
    let profiles: &'static [IntentProfile] = &PROFILES;
    profiles.iter().find(|p| p.intent == intent)
}

/// How steps of `intent` are handled: its profile's handling, else [`UNKNOWN`].
pub fn handling(intent: &str) -> &'static Handling {
    profile(intent).map_or(&UNKNOWN, |p| &p.handling)
}

/// The settings key of an intent's token cap, e.g. `orchestration_token_budget_extract`.
pub fn budget_key(intent: &str) -> String {
    format!("orchestration_token_budget_{intent}")
}

/// The settings key of one field of an intent's compression policy:
/// `orchestration_compression_<intent>_<field>`.
pub fn compression_key(intent: &str, field: &str) -> String {
    format!("orchestration_compression_{intent}_{field}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_intent_has_one_profile_and_its_own_contract_precedence() {
        for intent in INTENTS {
            assert_eq!(PROFILES.iter().filter(|p| p.intent == intent).count(), 1, "{intent}");
        }
        let mut precedences: Vec<u8> = PROFILES.iter().map(|p| p.recognition.contract_precedence).collect();
        precedences.sort();
        precedences.dedup();
        assert_eq!(precedences.len(), PROFILES.len(), "two intents' contracts would tie");
    }

    #[test]
    fn an_intent_without_a_profile_is_a_plain_model_call() {
        assert!(profile("shout").is_none() && profile("Extract").is_none(), "matched exactly");
        let shout = handling("shout");
        assert_eq!((shout.base_complexity, shout.expected_output_tokens), (4.0, 1_200));
        assert!(shout.reads_memory && !shout.judgment && !shout.compression.lossless);
        assert_eq!(handling("extract").expected_output_tokens, 800);
        assert_eq!(budget_key("extract"), "orchestration_token_budget_extract");
        assert_eq!(compression_key("send", "strategy"), "orchestration_compression_send_strategy");
    }
}
