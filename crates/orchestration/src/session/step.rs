//! What the session does to one step before dispatching it: assemble its
//! material, route it to a model, then compress the material by its intent's
//! policy, and write the handler's request.

use super::{Session, StepInput};
use crate::compress::{Policy, Strategy, accept_semantic, semantic_request};
use crate::environment::Environment;
use crate::material::{self, Assembly, Omitted, Piece, Source, StepData};
use crate::routing::{ModelConfig, RouteInput, route};
use crate::types::{HandlerRequest, ModelCall, OverheadSpend};
use serde_json::json;
use std::time::Instant;

/// A prompt shorter than this is not worth a summary call.
pub const SEMANTIC_MIN_TOKENS: u32 = 400;
/// Tokens of the summary request around the text (instructions, fact list).
const SEMANTIC_REQUEST_OVERHEAD: u32 = 250;

/// A step ready to dispatch: its material assembled, routed and compressed,
/// and the handler's request.
pub(super) struct Prepared {
    pub intent: String,
    pub assembly: Assembly,
    /// Tokens of the assembled material before compression: what routing and the baseline read.
    pub material_tokens: u32,
    pub routing: Routing,
    pub compression: Compression,
    pub request: HandlerRequest,
}

/// The model a step goes to, and why.
pub(super) struct Routing {
    pub model: String,
    /// The model's config (prices), when the tier table knows the model.
    pub config: Option<ModelConfig>,
    pub record: serde_json::Value,
}

/// What compression did to one step's material.
pub(super) struct Compression {
    /// The material to send: every piece, compressed or not.
    pub material: Vec<Piece>,
    /// Tokens removed from the material.
    pub tokens_saved: u32,
    pub applied: bool,
    pub quality: f32,
    pub quality_degraded: bool,
    /// The semantic summary call, when one was made.
    pub spend: OverheadSpend,
    pub time_us: u64,
    pub record: serde_json::Value,
}

impl<E: Environment> Session<E> {
    /// Assembles, routes and compresses the step (counting compression's
    /// time and model spend) and writes its request.
    pub(super) fn prepare(
        &mut self,
        index: usize,
        input: &StepInput,
        memory_context: &str,
        available_plugins: &[String],
    ) -> Prepared {
        let intent = self.plans[index].classification.intent.clone();
        let assembly = self.assemble(&intent, input, memory_context);
        let material_tokens = assembly.tokens();
        let routing = self.route(index, &intent, input, material_tokens, 0);
        let compression = self.compress(&intent, &assembly, &routing);
        self.metrics.compression_time_us += compression.time_us;
        self.spend(compression.spend);
        let request = HandlerRequest {
            workflow_id: self.workflow_id.clone(),
            step: input.step.clone(),
            intent: intent.clone(),
            params: input.params.clone(),
            context: input.context.clone(),
            memory_context: memory_context.to_string(),
            material: compression.material.clone(),
            available_plugins: available_plugins.to_vec(),
            routed_model: routing.model.clone(),
            token_budget: self.plans[index].spendable(self.settings.overage),
        };
        Prepared { intent, assembly, material_tokens, routing, compression, request }
    }

    /// What the step's model must see: its prompt, data params, the context
    /// it reads and, for an intent that reads it, memory; none of it dropped.
    pub(super) fn assemble(&self, intent: &str, input: &StepInput, memory: &str) -> Assembly {
        let reads_memory = crate::intents::handling(intent).reads_memory;
        let data = StepData {
            prompt: &input.step.prompt,
            params: &input.params,
            context: &input.context,
            memory: if reads_memory { memory } else { "null" },
        };
        let counter = |text: &str| self.env.count_tokens(text);
        let mut assembly = material::assemble(&data, &self.env.control_params(intent), &counter);
        if !reads_memory && !matches!(memory.trim(), "" | "null") {
            assembly.omitted.push(Omitted {
                name: "memory".into(),
                source: Source::Memory,
                carried_by: format!("(not read by {intent}: it works on the step's data)"),
            });
        }
        assembly
    }

    /// The step's model: routed by AIS when routing is on (one tier up per
    /// previous failure), the default model otherwise.
    /// `material_tokens` is the size of what the model will read.
    pub(super) fn route(
        &mut self,
        index: usize,
        intent: &str,
        input: &StepInput,
        material_tokens: u32,
        previous_failures: u32,
    ) -> Routing {
        if !self.settings.ais_routing_enabled {
            let model = self.settings.default_model.clone();
            let config = self.models.by_model(&model).cloned();
            return Routing {
                record: json!({ "enabled": false, "model": model, "reason": "routing off: default model" }),
                model,
                config,
            };
        }
        let started = Instant::now();
        let params = serde_json::from_str(&input.params).unwrap_or(serde_json::Value::Null);
        let decision = route(&RouteInput {
            intent,
            step_name: &input.step.name,
            prompt: &input.step.prompt,
            goal: self.goal.as_deref(),
            params: &params,
            prompt_tokens: material_tokens,
            agent: self.agent,
            budget_remaining: Some(self.plans[index].remaining()),
            critical: input.step.critical,
            previous_failures,
            thresholds: self.thresholds,
            models: &self.models,
        });
        let time_us = started.elapsed().as_micros() as u64;
        self.metrics.routing_time_us += time_us;
        Routing {
            record: json!({
                "enabled": true,
                "tier": decision.tier,
                "model": decision.model.model,
                "score": decision.score,
                "step_complexity": decision.step_complexity,
                "agent_execution_score": decision.agent_execution,
                "previous_failures": previous_failures,
                "reason": decision.reason,
                "expected_cost_usd": decision.expected_cost_usd,
                "time_us": time_us,
            }),
            model: decision.model.model.clone(),
            config: Some(decision.model),
        }
    }

    /// Compresses the step's material by its intent's policy when
    /// compression is on; the originals otherwise, or when quality would suffer.
    pub(super) fn compress(&self, intent: &str, assembly: &Assembly, routing: &Routing) -> Compression {
        let original = |record, quality_degraded| Compression {
            material: assembly.pieces.clone(),
            tokens_saved: 0,
            applied: false,
            quality: 1.0,
            quality_degraded,
            spend: OverheadSpend::default(),
            time_us: 0,
            record,
        };
        if !self.settings.compression_enabled {
            return original(json!({ "enabled": false, "applied": false }), false);
        }
        let started = Instant::now();
        let policy = Policy::from_settings(intent, |key| self.env.setting(key));
        let counter = |text: &str| self.env.count_tokens(text);
        let mut outcome = crate::compress::material(&assembly.pieces, intent, &policy, &self.memory, &counter);
        let mut spend = OverheadSpend::default();
        let semantic = match largest_text_data(&outcome.pieces, &policy) {
            Some(at) if policy.strategy == Strategy::Semantic && !policy.lossless && !outcome.quality_degraded => {
                let piece = &outcome.pieces[at];
                let summarized = self.summarize(&piece.content, piece.tokens, &policy, routing, &mut spend);
                if let Some(summary) = &summarized.summary {
                    let after = counter(summary);
                    let piece = &mut outcome.pieces[at];
                    outcome.tokens_after = outcome.tokens_after - piece.tokens + after;
                    outcome.cuts.push(crate::compress::Cut {
                        piece: piece.name.clone(),
                        source: piece.source,
                        tokens_before: piece.tokens,
                        tokens_after: after,
                        quality: summarized.quality,
                        notes: vec![format!(
                            "semantic: summarized by the fast tier, facts kept {:.0}%",
                            summarized.quality * 100.0
                        )],
                    });
                    piece.content = summary.clone();
                    piece.tokens = after;
                    piece.compressed = true;
                    outcome.quality = outcome.quality.min(summarized.quality);
                    outcome.applied = true;
                }
                summarized.record
            }
            _ => json!(null),
        };
        let saved = outcome.tokens_saved();
        let time_us = started.elapsed().as_micros() as u64;
        let record = json!({
            "enabled": true,
            "applied": outcome.applied,
            "strategy": outcome.strategy,
            "quality": outcome.quality,
            "quality_degraded": outcome.quality_degraded,
            "tokens_before": outcome.tokens_before,
            "tokens_after": outcome.tokens_after,
            "tokens_saved": if outcome.applied { saved } else { 0 },
            "cuts": outcome.cuts,
            "notes": outcome.notes,
            "semantic": semantic,
            "time_us": time_us,
        });
        if !outcome.applied {
            return Compression { spend, time_us, ..original(record, outcome.quality_degraded) };
        }
        Compression {
            material: outcome.pieces,
            tokens_saved: saved,
            applied: true,
            quality: outcome.quality,
            quality_degraded: false,
            spend,
            time_us,
            record,
        }
    }

    /// A fast-tier summary of `text` (`tokens` long), made only when it pays: the call's
    /// expected cost on the fast model must be below what the removed tokens
    /// would cost on the routed model.
    fn summarize(
        &self,
        text: &str,
        tokens: u32,
        policy: &Policy,
        routing: &Routing,
        spend: &mut OverheadSpend,
    ) -> Summarized {
        let skip =
            |why: String| Summarized { summary: None, quality: 1.0, record: json!({ "called": false, "why": why }) };
        if tokens < SEMANTIC_MIN_TOKENS {
            return skip(format!("{tokens} tokens is below {SEMANTIC_MIN_TOKENS}"));
        }
        let Some(routed) = &routing.config else {
            return skip(format!("no prices for `{}`", routing.model));
        };
        let fast = &self.models.fast;
        let target = ((tokens as f32) * policy.target_ratio).ceil() as u32;
        let call_cost = crate::routing::cost_usd(fast, tokens + SEMANTIC_REQUEST_OVERHEAD, target);
        let saving = crate::routing::cost_usd(routed, tokens - target, 0);
        if call_cost >= saving {
            return skip(format!(
                "a {} summary would cost ${call_cost:.5} to save ${saving:.5} on {}",
                fast.model, routed.model
            ));
        }
        let (system, user) = semantic_request(text, target);
        let call = ModelCall {
            model: fast.model.clone(),
            system,
            prompt: user,
            max_tokens: target.saturating_add(target / 2).max(64),
            temperature: 0.0,
            json: false,
        };
        let answer = match self.env.complete(&call) {
            Ok(answer) => answer,
            Err(e) => return skip(format!("summary call failed: {e}")),
        };
        spend.add(&answer);
        let counter = |text: &str| self.env.count_tokens(text);
        let checked = accept_semantic(text, &answer.text, policy, &counter);
        Summarized {
            quality: checked.quality,
            record: json!({
                "called": true,
                "model": fast.model,
                "accepted": checked.applied,
                "quality": checked.quality,
                "tokens": answer.usage.total,
                "cost_usd": answer.cost_usd,
                "notes": checked.notes,
            }),
            summary: checked.applied.then_some(checked.text),
        }
    }
}

/// A semantic summary's outcome.
struct Summarized {
    /// The accepted summary.
    summary: Option<String>,
    quality: f32,
    record: serde_json::Value,
}

/// The piece a semantic summary would shorten most: the largest text piece
/// of the step's data (never its instruction, memory or a preserved piece).
fn largest_text_data(pieces: &[Piece], policy: &Policy) -> Option<usize> {
    pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| p.format == material::Format::Text && !matches!(p.source, Source::Prompt | Source::Memory))
        .filter(|(_, p)| !policy.preserves(&p.name, &p.name))
        .max_by_key(|(_, p)| p.tokens)
        .map(|(at, _)| at)
}
