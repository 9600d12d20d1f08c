//! `llm`: model calls made by the host for a component. The host chooses the
//! provider, holds the API key, counts tokens with its BPE tokenizer, refuses
//! a call that would exceed the step's budget (`ORCHESTRATION_BUDGET_EXCEEDED`)
//! and meters the usage the provider reports.

pub mod anthropic;
pub mod budget;
pub mod http_api;
pub mod openai;
pub mod pricing;
pub mod provider;
pub mod scripted;
pub mod simulated;
pub mod starts;
pub mod transcript;

use crate::bindings::llm::{self, Completion, CompletionRequest, ResponseFormat, Role};
use crate::bindings::types::{LlmFailure, TokenUsage};
use crate::capabilities::audit::AuditSink;
use crate::storage::Db;
use crate::tokenizer;
use crate::vocabulary::events::{BudgetBreach, HostEvent};
use pricing::Pricing;
use provider::{AnswerFormat, ModelProvider, ProviderRequest};
use starts::StepStarts;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transcript::Transcript;
use wasmtime::component::{HasData, Linker};

/// What a handler's manifest grants (`allowed_models`): the models it may
/// name besides its step's routed model.
#[derive(Debug, Clone, Default)]
pub struct LlmGrant {
    pub allowed_models: Vec<String>,
}

/// App-wide state: the provider, prices from the host database's settings,
/// and the transcript when the host keeps one.
pub struct LlmState {
    provider: Arc<dyn ModelProvider>,
    pricing: Pricing,
    transcript: Option<Arc<Transcript>>,
    /// Durable runs' steps, marked started before their first call.
    starts: Arc<StepStarts>,
}

impl LlmState {
    pub fn new(provider: Arc<dyn ModelProvider>, db: Db, transcript: Option<Arc<Transcript>>) -> Self {
        LlmState { provider, pricing: Pricing::new(db.clone()), transcript, starts: Arc::new(StepStarts::new(db)) }
    }

    /// Where durable runs are followed, so their steps' starts are committed before their calls.
    pub fn starts(&self) -> &Arc<StepStarts> {
        &self.starts
    }

    pub fn provider(&self) -> &Arc<dyn ModelProvider> {
        &self.provider
    }

    pub fn transcript(&self) -> Option<&Arc<Transcript>> {
        self.transcript.as_ref()
    }

    /// A store's context, the one way every caller makes it: calls go to the
    /// provider, are priced and kept in the transcript (for calls of a step),
    /// budget events are audited through `audit` as `source`, and the model is
    /// `default_model` unless the guest names another. Narrow it with
    /// [`LlmCtx::only_models`], [`LlmCtx::with_step_budget`] or [`LlmCtx::for_step`].
    pub fn prepare(&self, audit: AuditSink, source: impl Into<String>, default_model: impl Into<String>) -> LlmCtx {
        let mut ctx = LlmCtx::new(self.provider.clone(), self.pricing.clone(), audit, source, default_model)
            .with_transcript(self.transcript.clone());
        ctx.starts = Some(self.starts.clone());
        ctx
    }
}

/// What one store's model calls added up to.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cost_usd: f64,
    pub calls: u32,
    pub provider_time: Duration,
    /// The model of the last call.
    pub model: Option<String>,
}

impl Meter {
    pub fn usage(&self) -> TokenUsage {
        TokenUsage {
            input: self.input_tokens,
            output: self.output_tokens,
            total: self.input_tokens.saturating_add(self.output_tokens),
        }
    }
}

/// Per-store context: who is calling, on which model, within which budget.
pub struct LlmCtx {
    provider: Arc<dyn ModelProvider>,
    pricing: Pricing,
    audit: AuditSink,
    source: String,
    step_id: Option<String>,
    default_model: String,
    /// Tokens the store may spend; `None` for calls outside any step budget.
    allocated: Option<u32>,
    meter: Meter,
    /// Where the text sent is kept, when the host keeps it.
    transcript: Option<Arc<Transcript>>,
    /// The models a guest may name: `None` for any (the orchestrator, which
    /// routes); for a handler, its step's routed model and its manifest's `allowed_models`.
    allowed_models: Option<Vec<String>>,
    /// Counts already made in this store, by the text's hash: the
    /// orchestrator counts a piece when it assembles it, when compression
    /// tries a strategy and when routing sizes the step; the BPE runs once.
    counted: HashMap<u64, u32>,
    /// Told before a step's call is sent (a durable run commits the step's start).
    starts: Option<Arc<StepStarts>>,
}

/// Texts shorter than this are counted directly: hashing would cost as much.
const MEMO_MIN_BYTES: usize = 256;
/// Entries kept per store before the memo starts over (bounds its memory).
const MEMO_MAX_ENTRIES: usize = 4_096;

impl LlmCtx {
    /// Prefer [`LlmState::prepare`], which also attaches the host's transcript.
    pub fn new(
        provider: Arc<dyn ModelProvider>,
        pricing: Pricing,
        audit: AuditSink,
        source: impl Into<String>,
        default_model: impl Into<String>,
    ) -> Self {
        LlmCtx {
            provider,
            pricing,
            audit,
            source: source.into(),
            step_id: None,
            default_model: default_model.into(),
            allocated: None,
            meter: Meter::default(),
            transcript: None,
            allowed_models: None,
            counted: HashMap::new(),
            starts: None,
        }
    }

    /// Limits the models a guest may name to the default (routed) model and `extra`.
    pub fn only_models(mut self, extra: &[String]) -> Self {
        let mut allowed = vec![self.default_model.clone()];
        allowed.extend(extra.iter().cloned());
        self.allowed_models = Some(allowed);
        self
    }

    /// Calls made for `step_id` are attributed to it.
    pub fn for_step(mut self, step_id: &str) -> Self {
        self.step_id = Some(step_id.to_string());
        self
    }

    /// Keeps what each call of a step sends in `transcript`, when given.
    fn with_transcript(mut self, transcript: Option<Arc<Transcript>>) -> Self {
        self.transcript = transcript;
        self
    }

    /// Puts the store's calls under one step's budget.
    pub fn with_step_budget(mut self, step_id: &str, allocated: u32) -> Self {
        self.allocated = Some(allocated);
        self.for_step(step_id)
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Admits, sends and meters one call. Shared by the `llm` import and the
    /// runner's normal (non-orchestrated) path.
    pub async fn call(&mut self, mut request: ProviderRequest) -> Result<Completion, LlmFailure> {
        if request.messages.is_empty() {
            return Err(LlmFailure::InvalidRequest("a completion needs at least one message".into()));
        }
        let Some(terms) = self.pricing.terms(&request.model) else {
            return Err(LlmFailure::InvalidRequest(format!(
                "unknown model `{}`: no tier setting or list price; known models: {}",
                request.model,
                orchestration::pricing::known_models().join(", ")
            )));
        };
        // A tier's output allowance bounds every call to its model.
        if let Some(cap) = terms.max_tokens {
            request.max_tokens = request.max_tokens.min(cap);
        }
        let budget = self.allocated.map(|allocated| (allocated, self.meter.usage().total));
        if !fits_uncounted(prompt_bytes(&request), request.max_tokens, budget) {
            let input_tokens = prompt_tokens(&request)?;
            if let Some((allocated, used)) = budget {
                match budget::admit(allocated, used, input_tokens, request.max_tokens) {
                    Ok(granted) => request.max_tokens = granted,
                    Err(refusal) => {
                        self.budget_event(
                            BudgetBreach::Refused,
                            refusal.allocated,
                            refusal.used,
                            refusal.requested,
                            &request.model,
                        );
                        return Err(LlmFailure::BudgetExceeded(refusal));
                    }
                }
            }
        }
        if let (Some(transcript), Some(step)) = (&self.transcript, &self.step_id) {
            let text: Vec<&str> = prompt_texts(&request).collect();
            transcript.record(&self.audit.identity().execution_id, step, &text.join("\n"));
        }
        if let (Some(starts), Some(step)) = (&self.starts, &self.step_id) {
            starts.before_call(&self.audit.identity().execution_id, step).await;
        }
        let started = Instant::now();
        let answer = self.provider.complete(&request).await;
        self.meter.provider_time += started.elapsed();
        let answer = answer.map_err(LlmFailure::Provider)?;
        if let (Some(transcript), Some(step)) = (&self.transcript, &self.step_id) {
            transcript.answered(&self.audit.identity().execution_id, step, &answer.text);
        }
        // Priced as admitted: a settings change mid-call does not reprice it.
        let cost = terms.rates.cost_usd(answer.input_tokens, answer.output_tokens, answer.cached);
        self.meter.input_tokens = self.meter.input_tokens.saturating_add(answer.input_tokens);
        self.meter.output_tokens = self.meter.output_tokens.saturating_add(answer.output_tokens);
        self.meter.cost_usd += cost;
        self.meter.calls += 1;
        self.meter.model = Some(request.model.clone());
        let usage = TokenUsage {
            input: answer.input_tokens,
            output: answer.output_tokens,
            total: answer.input_tokens.saturating_add(answer.output_tokens),
        };
        // The provider's tokenizer may count more than ours: report the overrun.
        if let Some(allocated) = self.allocated.filter(|a| self.meter.usage().total > *a) {
            self.budget_event(
                BudgetBreach::Overrun,
                allocated,
                self.meter.usage().total - usage.total,
                usage.total,
                &request.model,
            );
        }
        Ok(Completion {
            text: answer.text,
            model: request.model,
            provider: self.provider.name().to_string(),
            usage,
            cost_usd: cost,
            stop_reason: answer.stop_reason,
        })
    }

    fn budget_event(&self, breach: BudgetBreach, allocated: u32, used: u32, requested: u32, model: &str) {
        tracing::warn!(source = %self.source, step = ?self.step_id, ?breach, allocated, used, requested, "token budget exceeded");
        let event = HostEvent::BudgetExceeded { breach, allocated, used, requested, model: model.to_string() };
        self.audit.host_event(&event, self.step_id.as_deref(), &self.source);
    }
}

/// The most tokens a prompt may carry: the context window of the models the
/// tiers name. A longer prompt is refused before it is uploaded and billed.
pub const MAX_PROMPT_TOKENS: u32 = 200_000;
/// No token of the BPE spans more bytes than this, so a text longer than
/// `MAX_PROMPT_TOKENS * MAX_TOKEN_BYTES` is refused without being tokenized.
const MAX_TOKEN_BYTES: usize = 128;

fn prompt_texts(request: &ProviderRequest) -> impl Iterator<Item = &str> {
    request.system.iter().map(String::as_str).chain(request.messages.iter().map(|(_, t)| t.as_str()))
}

fn prompt_bytes(request: &ProviderRequest) -> usize {
    prompt_texts(request).map(str::len).sum()
}

/// Whether a prompt of `bytes` is admitted as it is, `max_tokens` and all,
/// whatever its token count: a BPE token spans at least one byte, so when the
/// bytes already fit the context window and leave the budget (`allocated`,
/// `used`) room for the whole answer, counting could change nothing.
fn fits_uncounted(bytes: usize, max_tokens: u32, budget: Option<(u32, u32)>) -> bool {
    bytes <= MAX_PROMPT_TOKENS as usize
        && budget.is_none_or(|(allocated, used)| {
            bytes as u64 + u64::from(max_tokens.max(1)) <= u64::from(allocated.saturating_sub(used))
        })
}

/// The prompt's tokens (system and messages), or the refusal of a prompt too long for any model.
fn prompt_tokens(request: &ProviderRequest) -> Result<u32, LlmFailure> {
    let texts = || prompt_texts(request);
    let too_long = |what: String| {
        LlmFailure::InvalidRequest(format!(
            "the prompt has {what}, more than the {MAX_PROMPT_TOKENS} tokens a model call may carry: not sent"
        ))
    };
    let bytes = prompt_bytes(request);
    if bytes > MAX_PROMPT_TOKENS as usize * MAX_TOKEN_BYTES {
        return Err(too_long(format!("{bytes} bytes")));
    }
    let tokens = texts().map(tokenizer::count).fold(0u32, u32::saturating_add);
    if tokens > MAX_PROMPT_TOKENS {
        return Err(too_long(format!("{tokens} tokens")));
    }
    Ok(tokens)
}

pub trait LlmView {
    fn llm(&mut self) -> &mut LlmCtx;
}

struct HasLlm;

impl HasData for HasLlm {
    type Data<'a> = &'a mut LlmCtx;
}

pub fn add_to_linker<T: LlmView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    llm::add_to_linker::<T, HasLlm>(linker, T::llm)
}

impl llm::Host for LlmCtx {
    async fn complete(&mut self, request: CompletionRequest) -> Result<Completion, LlmFailure> {
        let format = match request.response_format {
            ResponseFormat::Text => AnswerFormat::Text,
            ResponseFormat::Json => AnswerFormat::Json,
            ResponseFormat::JsonSchema(schema) => match serde_json::from_str(&schema) {
                Ok(schema @ serde_json::Value::Object(_)) => AnswerFormat::Schema(schema),
                _ => {
                    return Err(LlmFailure::InvalidRequest(
                        "response-format json-schema must be a JSON Schema object".into(),
                    ));
                }
            },
        };
        let model = request.model.unwrap_or_else(|| self.default_model.clone());
        if let Some(allowed) = self.allowed_models.as_ref().filter(|a| !a.contains(&model)) {
            tracing::warn!(source = %self.source, %model, "model call refused: not the routed model nor allowed");
            return Err(LlmFailure::InvalidRequest(format!(
                "model `{model}` is not the step's routed model nor in the handler's allowed_models ({})",
                allowed.join(", ")
            )));
        }
        let request = ProviderRequest {
            model,
            system: request.system,
            messages: request
                .messages
                .into_iter()
                .map(|m| (if m.role == Role::User { "user" } else { "assistant" }, m.content))
                .collect(),
            max_tokens: request.max_tokens,
            temperature: request.temperature.clamp(0.0, 1.0),
            format,
        };
        self.call(request).await
    }

    fn count_tokens(&mut self, text: String) -> u32 {
        if text.len() < MEMO_MIN_BYTES {
            return tokenizer::count(&text);
        }
        let mut hasher = std::hash::DefaultHasher::new();
        text.hash(&mut hasher);
        let key = hasher.finish();
        if let Some(count) = self.counted.get(&key) {
            return *count;
        }
        if self.counted.len() >= MEMO_MAX_ENTRIES {
            self.counted.clear();
        }
        *self.counted.entry(key).or_insert_with(|| tokenizer::count(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: String) -> ProviderRequest {
        ProviderRequest {
            model: "m".into(),
            system: Some("Be brief.".into()),
            messages: vec![("user", text)],
            max_tokens: 10,
            temperature: 0.0,
            format: AnswerFormat::Text,
        }
    }

    #[test]
    fn a_prompt_longer_than_a_context_window_is_refused_before_it_is_sent() {
        assert!(prompt_tokens(&request("hello there".into())).unwrap() > 0);
        let long = "word ".repeat(MAX_PROMPT_TOKENS as usize + 10);
        let Err(LlmFailure::InvalidRequest(message)) = prompt_tokens(&request(long)) else { panic!("admitted") };
        assert!(message.contains("tokens, more than the 200000"), "{message}");
        // Far too long to be worth tokenizing: refused by its size.
        let huge = "x".repeat(MAX_PROMPT_TOKENS as usize * MAX_TOKEN_BYTES + 1);
        let Err(LlmFailure::InvalidRequest(message)) = prompt_tokens(&request(huge)) else { panic!("admitted") };
        assert!(message.contains("bytes, more than"), "{message}");
    }

    #[test]
    fn a_prompt_admitted_uncounted_is_one_counting_would_admit_unchanged() {
        for allocated in [0u32, 1, 20, 64, 100] {
            for used in [0u32, 10, 50, 120] {
                for max_tokens in [0u32, 1, 16, 40] {
                    for bytes in 0usize..=110 {
                        if !fits_uncounted(bytes, max_tokens, Some((allocated, used))) {
                            continue;
                        }
                        for tokens in 0..=bytes as u32 {
                            assert_eq!(
                                budget::admit(allocated, used, tokens, max_tokens).ok(),
                                Some(max_tokens),
                                "{allocated} {used} {max_tokens} {bytes} {tokens}"
                            );
                        }
                    }
                }
            }
        }
        assert!(fits_uncounted(MAX_PROMPT_TOKENS as usize, 100, None));
        assert!(!fits_uncounted(MAX_PROMPT_TOKENS as usize + 1, 100, None));
    }
}
