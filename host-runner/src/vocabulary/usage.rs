//! A `token_usage` row's `model_info`, typed: which path spent the tokens
//! and what that path knows. Serialized to the JSON column the seed defines,
//! with the keys queries read (`path`, `intent`, `orchestration`).

use serde::Serialize;

/// What a row's tokens were spent on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "path", rename_all = "snake_case")]
pub enum UsagePath {
    /// A step its handler ran.
    Orchestrated(StepModel),
    /// A step run the normal way: one direct model call.
    Fallback(StepModel),
    /// A handler attempt that failed after paying for model calls.
    FailedAttempt {
        handler: String,
        model: Option<String>,
        llm_calls: u32,
        /// The failure's typed reason and its message.
        error: AttemptError,
    },
    /// The orchestrator's own model calls (LLM classification, semantic compression).
    Orchestrator { calls: u32 },
}

/// The model side of a step that ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepModel {
    pub model: String,
    pub provider: String,
    pub intent: Option<String>,
    /// `free tiers` when the orchestrator never classified the step and the
    /// host guessed its intent without a model (for `pilot report`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent_by: Option<&'static str>,
    pub handler: Option<String>,
    pub compression_applied: bool,
    /// The step's wall time, for latency by cohort (`pilot report`).
    pub time_ms: f64,
}

/// Why a paid attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptError {
    pub reason: orchestration::types::FailureReason,
    pub message: String,
}

/// The whole `model_info` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// Whether the tokens were spent under orchestration (a handler or the orchestrator).
    pub orchestration: bool,
    #[serde(flatten)]
    pub path: UsagePath,
}

impl ModelInfo {
    pub fn new(path: UsagePath) -> Self {
        let orchestration = !matches!(path, UsagePath::Fallback(_));
        ModelInfo { orchestration, path }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("model info is plain data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestration::types::FailureReason;
    use serde_json::json;

    #[test]
    fn paths_serialize_to_the_keys_queries_read() {
        let step = StepModel {
            model: "m".into(),
            provider: "simulated".into(),
            intent: Some("summarize".into()),
            intent_by: None,
            handler: Some("summarize".into()),
            compression_applied: true,
            time_ms: 812.5,
        };
        let row = ModelInfo::new(UsagePath::Orchestrated(step)).to_json();
        assert_eq!((row["path"].as_str(), row["intent"].as_str()), (Some("orchestrated"), Some("summarize")));
        assert_eq!(row["orchestration"], json!(true));
        assert_eq!(row["time_ms"], json!(812.5));
        let attempt = ModelInfo::new(UsagePath::FailedAttempt {
            handler: "extract".into(),
            model: Some("m".into()),
            llm_calls: 2,
            error: AttemptError { reason: FailureReason::InvalidOutput, message: "not JSON".into() },
        })
        .to_json();
        assert_eq!(attempt["path"], "failed_attempt");
        assert_eq!(attempt["error"], json!({ "reason": "invalid_output", "message": "not JSON" }));
        assert_eq!(ModelInfo::new(UsagePath::Orchestrator { calls: 3 }).to_json()["calls"], 3);
    }
}
