//! The model providers the host can call, behind one request/response shape.

use crate::bindings::types::ProviderError;
pub use orchestration::pricing::CachedTokens;
use std::future::Future;
use std::pin::Pin;

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
    /// Every input token, those served from or written to the prompt cache included.
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Of the input tokens, those the provider's prompt cache served or stored
    /// (billed at the cache rates).
    pub cached: CachedTokens,
    pub stop_reason: String,
}

/// What a provider's `complete` returns.
pub type Completion<'a> = Pin<Box<dyn Future<Output = Result<ProviderResponse, ProviderError>> + Send + 'a>>;

/// A model provider the host calls (Anthropic's Messages API, the simulated
/// test double, or any other): one request/response shape, the usage it reports.
pub trait ModelProvider: Send + Sync {
    /// Its name in reports and usage rows (`anthropic`, `simulated`).
    fn name(&self) -> &'static str;
    /// One completion.
    fn complete<'a>(&'a self, request: &'a ProviderRequest) -> Completion<'a>;
}
