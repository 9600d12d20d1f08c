//! The model providers the host can call, behind one request/response shape.

use super::{anthropic::Anthropic, simulated::Simulated};
use crate::bindings::types::ProviderError;

/// A provider-neutral completion request.
#[derive(Debug, Clone)]
pub struct ProviderRequest {
    pub model: String,
    pub system: Option<String>,
    /// `(role, text)`, role being `user` or `assistant`.
    pub messages: Vec<(&'static str, String)>,
    pub max_tokens: u32,
    pub temperature: f32,
    pub format: AnswerFormat,
}

/// The shape a completion must have.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerFormat {
    Text,
    /// One JSON value.
    Json,
    /// A JSON value valid against this JSON Schema (an object).
    Schema(serde_json::Value),
}

/// A provider's answer with the usage it reported.
#[derive(Debug, Clone)]
pub struct ProviderResponse {
    pub text: String,
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub stop_reason: String,
}

/// The provider a host calls.
pub enum Provider {
    /// Anthropic's Messages API.
    Anthropic(Anthropic),
    /// The offline test double (labeled `simulated` everywhere it shows).
    Simulated(Simulated),
}

impl Provider {
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Anthropic(_) => "anthropic",
            Provider::Simulated(_) => "simulated",
        }
    }

    pub async fn complete(&self, request: &ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        match self {
            Provider::Anthropic(p) => p.complete(request).await,
            Provider::Simulated(p) => p.complete(request).await,
        }
    }
}
