//! The session against a native environment.

use super::*;
use crate::budget::IntentUsage;
use crate::classify::Method;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

/// A native environment: settings from a map, a handler per intent that
/// echoes its request or fails as told, events collected.
#[derive(Default)]
struct FakeEnv {
    settings: HashMap<String, String>,
    failing: HashMap<String, DispatchError>,
    /// Dispatches of this intent fail this many times before one succeeds.
    fail_first: RefCell<HashMap<String, (u32, DispatchError)>>,
    events: RefCell<Vec<Event>>,
    requests: RefCell<Vec<HandlerRequest>>,
    /// Answers to the orchestrator's own model calls, in order.
    answers: RefCell<VecDeque<Result<String, String>>>,
    calls: RefCell<Vec<ModelCall>>,
    agent: Option<AgentScores>,
    history: Vec<IntentUsage>,
    scores_asked: Cell<u32>,
    recorded: RefCell<Vec<(String, AgentScores)>>,
}

impl Environment for &FakeEnv {
    fn setting(&self, key: &str) -> Option<String> {
        self.settings.get(key).cloned()
    }
    fn count_tokens(&self, text: &str) -> u32 {
        text.split_whitespace().count() as u32
    }
    fn registered_intents(&self) -> Vec<String> {
        vec!["extract".into(), "summarize".into()]
    }
    fn control_params(&self, intent: &str) -> Vec<String> {
        if intent == "summarize" { vec!["target_length".into()] } else { vec![] }
    }
    fn intent_description(&self, intent: &str) -> Option<String> {
        self.registered_intents().contains(&intent.to_string()).then(|| format!("the fake {intent} handler"))
    }
    fn dispatch(&self, request: &HandlerRequest) -> Result<Dispatched, DispatchFailure> {
        self.requests.borrow_mut().push(request.clone());
        if let Some(e) = self.failing.get(&request.intent) {
            return Err(e.clone().into());
        }
        if let Some((left, e)) = self.fail_first.borrow_mut().get_mut(&request.intent).filter(|(left, _)| *left > 0) {
            *left -= 1;
            // The failed attempt paid for one model call first.
            return Err(DispatchFailure {
                error: e.clone(),
                usage: Usage { input: 20, output: 5, total: 25 },
                cost_usd: 0.002,
                provider_time_us: 3,
            });
        }
        Ok(answered(request))
    }
    fn emit(&self, event: Event) {
        self.events.borrow_mut().push(event);
    }
    fn complete(&self, call: &ModelCall) -> Result<ModelAnswer, String> {
        self.calls.borrow_mut().push(call.clone());
        let text = self.answers.borrow_mut().pop_front().unwrap_or_else(|| Err("no answer scripted".into()))?;
        let (input, output) =
            (self.count_tokens(&call.system) + self.count_tokens(&call.prompt), self.count_tokens(&text));
        Ok(ModelAnswer { text, usage: Usage { input, output, total: input + output }, cost_usd: 0.0005 })
    }
    fn agent_scores(&self, _agent_id: &str) -> Option<AgentScores> {
        self.scores_asked.set(self.scores_asked.get() + 1);
        self.agent
    }
    fn intent_usage(&self, _agent_id: &str) -> Vec<IntentUsage> {
        self.history.clone()
    }
    fn record_run(&self, agent_id: &str, scores: AgentScores) {
        self.recorded.borrow_mut().push((agent_id.to_string(), scores));
    }
}

/// What the fake handler of `request.intent` answers: 42 tokens on the routed model.
fn answered(request: &HandlerRequest) -> Dispatched {
    Dispatched {
        output: format!("\"{} done\"", request.step.id),
        handler: request.intent.clone(),
        handler_version: "1.0.0".into(),
        usage: Usage { input: 30, output: 12, total: 42 },
        cost_usd: 0.001,
        model: request.routed_model.clone(),
        llm_calls: 1,
        fuel_consumed: 1_000,
        provider_time_us: 5,
    }
}

fn step(id: &str, name: &str, intent: Option<&str>) -> Step {
    Step {
        id: id.into(),
        name: name.into(),
        prompt: format!("{name} from the text"),
        intent: intent.map(Into::into),
        params: "{}".into(),
        depends_on: vec![],
        critical: false,
    }
}

fn events_of(env: &FakeEnv, kind: EventKind) -> Vec<Event> {
    env.events.borrow().iter().filter(|e| e.kind == kind).cloned().collect()
}

fn input(s: &Step) -> StepInput {
    StepInput { step: s.clone(), params: "{}".into(), context: "{}".into() }
}

/// A step whose data is a params value named `ticket`.
fn input_with_ticket(s: &Step, ticket: &str) -> StepInput {
    let params = serde_json::json!({ "ticket": ticket, "target_length": 80 }).to_string();
    StepInput { step: Step { params: params.clone(), ..s.clone() }, params, context: "{}".into() }
}

/// The content of the piece `name` the handler received in its `n`th request.
fn sent(env: &FakeEnv, n: usize, name: &str) -> String {
    let requests = env.requests.borrow();
    requests[n].material.iter().find(|p| p.name == name).map(|p| p.content.clone()).unwrap_or_default()
}

fn enabled() -> FakeEnv {
    let mut env = FakeEnv::default();
    env.settings.insert("orchestration_enabled".into(), "true".into());
    env
}

#[test]
fn inactive_by_default_and_emits_nothing() {
    let env = FakeEnv::default();
    let steps = [step("a", "Extract fields", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    assert!(!session.is_active());
    assert!(session.execute_step("a", input(&steps[0]), "null", &[]).is_none());
    assert!(session.complete().is_none());
    assert!(session.metadata().is_none());
    assert!(env.events.borrow().is_empty() && env.requests.borrow().is_empty());
}

#[test]
fn runs_steps_through_handlers_and_totals_metrics() {
    let env = enabled();
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    assert!(session.is_active());
    let a = session.execute_step("a", input(&steps[0]), "null", &["slack".into()]).unwrap();
    assert_eq!((a.intent.as_str(), a.tokens_used.total), ("extract", 42));
    session.execute_step("b", input(&steps[1]), "null", &[]).unwrap();
    let request = &env.requests.borrow()[0];
    assert_eq!(request.routed_model, "claude-sonnet-4-5");
    assert_eq!(request.available_plugins, vec!["slack".to_string()]);
    assert!(request.token_budget > 0);

    let metrics = session.complete().unwrap();
    assert_eq!(metrics.total_tokens_used, 84);
    assert_eq!(metrics.steps_executed, 2);
    assert!(metrics.budget_utilization > 0.0 && metrics.budget_utilization < 1.0);
    let kinds: Vec<EventKind> = env.events.borrow().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Initialized, EventKind::StepExecuted, EventKind::StepExecuted, EventKind::Completed]);
    assert!(!session.is_active(), "a completed session takes no more steps");
}

#[test]
fn a_failed_dispatch_falls_back_with_its_reason() {
    let mut env = enabled();
    env.failing.insert("summarize".into(), DispatchError::FuelExhausted(1_000));
    let steps = [step("a", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    assert!(session.execute_step("a", input(&steps[0]), "null", &[]).is_none());
    let meta = session.metadata().unwrap();
    assert_eq!(meta.steps[0].status, StepStatus::FellBack);
    assert!(matches!(meta.steps[0].failure, Some(DispatchError::FuelExhausted(_))));
    let reason =
        env.events.borrow().iter().find(|e| e.kind == EventKind::StepFailed).unwrap().metadata["reason"].clone();
    assert_eq!(reason, "fuel");
    assert_eq!(session.complete().unwrap().steps_fell_back, 1);
}

#[test]
fn overage_is_allowed_up_to_the_threshold_and_recorded() {
    let mut env = enabled();
    env.settings.insert("orchestration_max_tokens_per_workflow".into(), "30".into());
    let steps = [step("a", "Extract fields", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    let allocated = session.metadata().unwrap().steps[0].allocated;
    assert_eq!(allocated, 30);
    session.execute_step("a", input(&steps[0]), "null", &[]).unwrap();
    // The handler got 1.2 × its allocation to spend.
    assert_eq!(env.requests.borrow()[0].token_budget, 36);
    let events = env.events.borrow();
    let overage = events.iter().find(|e| e.kind == EventKind::BudgetExceeded).expect("an overage event");
    assert_eq!((overage.metadata["allocated"].as_u64(), overage.metadata["used"].as_u64()), (Some(30), Some(42)));
}

#[test]
fn strict_budgets_give_handlers_only_their_allocation() {
    let mut env = enabled();
    env.settings.insert("orchestration_max_tokens_per_workflow".into(), "30".into());
    env.settings.insert("orchestration_budget_allow_overage".into(), "false".into());
    let steps = [step("a", "Extract fields", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    session.execute_step("a", input(&steps[0]), "null", &[]);
    assert_eq!(env.requests.borrow()[0].token_budget, 30);
}

#[test]
fn unknown_steps_fall_back() {
    let env = enabled();
    let steps = [step("a", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    let stranger = step("zz", "Summarize", None);
    assert!(session.execute_step("zz", input(&stranger), "null", &[]).is_none());
    assert_eq!(env.events.borrow().last().unwrap().metadata["reason"], "unknown_step");
}

#[test]
fn unsure_steps_go_to_one_llm_call_whose_answer_is_taken_and_costed() {
    let env = enabled();
    env.answers.borrow_mut().push_back(Ok(
        r#"{"steps": [{"id": "b", "intent": "summarize", "confidence": 0.85, "reasoning": "shortens the notes"}]}"#
            .into(),
    ));
    let mut vague = step("b", "Step 2", None);
    vague.prompt = "Look over the notes and make them shorter for the lead.".into();
    let steps = [step("a", "Extract fields", None), vague];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, Some("Prepare a support hand-off"));
    let meta = session.metadata().unwrap();
    assert_eq!(meta.steps[0].classification.method, Method::Pattern, "a sure step is not asked about");
    let b = &meta.steps[1].classification;
    assert_eq!((b.intent.as_str(), b.method, b.ambiguous), ("summarize", Method::Llm, false));
    let calls = env.calls.borrow();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].model, "claude-haiku-4-5", "the fast tier classifies");
    assert!(calls[0].json && calls[0].prompt.contains("Goal: Prepare a support hand-off"));
    assert!(calls[0].prompt.contains("id=\"b\" name=\"Step 2\" CLASSIFY"), "{}", calls[0].prompt);
    let init = &events_of(&env, EventKind::Initialized)[0].metadata;
    assert_eq!(
        (init["llm_classification"]["asked"].as_u64(), init["llm_classification"]["answered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(init["intents"][1]["method"], "llm");
    let metrics = session.complete().unwrap();
    assert_eq!(metrics.overhead.calls, 1);
    assert!(metrics.overhead.tokens > 0 && metrics.total_tokens_used == metrics.overhead.tokens);
    assert!((metrics.total_cost - 0.0005).abs() < 1e-12);
}

#[test]
fn without_a_usable_model_answer_the_context_tier_and_the_fallback_decide() {
    for (llm_on, answer) in
        [(true, Err("provider down".to_string())), (true, Ok("no idea".to_string())), (false, Ok(String::new()))]
    {
        let mut env = enabled();
        if !llm_on {
            env.settings.insert("orchestration_llm_classification_enabled".into(), "false".into());
        }
        env.answers.borrow_mut().push_back(answer);
        let mut combine = step("c", "Step 3", None);
        combine.prompt = "Use what came before.".into();
        combine.depends_on = vec!["a".into(), "b".into()];
        let mut vague = step("d", "Step 4", None);
        vague.prompt = "Carry on.".into();
        let steps = [step("a", "Extract fields", None), step("b", "Extract totals", None), combine, vague];
        let session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
        let meta = session.metadata().unwrap();
        let c = &meta.steps[2].classification;
        assert_eq!((c.intent.as_str(), c.method), ("aggregate", Method::Context), "fan-in of two steps");
        let d = &meta.steps[3].classification;
        assert_eq!((d.intent.as_str(), d.method, d.ambiguous), ("generate", Method::Fallback, true));
        assert_eq!(env.calls.borrow().len(), usize::from(llm_on));
        let note = events_of(&env, EventKind::Initialized)[0].metadata["llm_classification"]["note"].clone();
        assert!(note.as_str().is_some_and(|n| !n.is_empty()), "why the tier gave nothing is recorded: {note}");
    }
}

#[test]
fn an_invalid_answer_is_retried_one_tier_up_but_sandbox_failures_are_not() {
    let mut env = enabled();
    env.settings.insert("orchestration_ais_routing_enabled".into(), "true".into());
    let invalid = DispatchError::Handler { kind: HandlerErrorKind::InvalidOutput, message: "not JSON".into() };
    env.fail_first.borrow_mut().insert("extract".into(), (1, invalid));
    env.failing.insert("summarize".into(), DispatchError::FuelExhausted(10));
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    let a = session.execute_step("a", input(&steps[0]), "null", &[]).expect("the retry succeeds");
    let models: Vec<String> = env.requests.borrow().iter().map(|r| r.routed_model.clone()).collect();
    assert_eq!(models.len(), 2);
    assert_ne!(models[0], models[1], "the retry goes a tier up");
    assert_eq!(a.routed_model, models[1]);
    let executed = &events_of(&env, EventKind::StepExecuted)[0].metadata;
    assert_eq!(executed["retries"][0]["reason"], "handler_error");
    assert_eq!(executed["routing"]["previous_failures"], 1);

    assert!(session.execute_step("b", input(&steps[1]), "null", &[]).is_none());
    assert_eq!(env.requests.borrow().len(), 3, "fuel exhaustion is not retried");
    assert_eq!(
        env.requests.borrow()[1].token_budget,
        env.requests.borrow()[0].token_budget - 25,
        "the retry gets what is left"
    );
    let metrics = session.complete().unwrap();
    assert_eq!((metrics.retries, metrics.steps_executed, metrics.steps_fell_back), (1, 1, 1));
    assert_eq!(metrics.total_tokens_used, 25 + 42, "the failed attempt's spend is counted once");
    assert!((metrics.total_cost - 0.003).abs() < 1e-12);
    assert!((metrics.retry_rate() - 0.5).abs() < 1e-9 && (metrics.success_rate() - 0.5).abs() < 1e-9);
}

#[test]
fn routing_reads_the_agents_scores_once() {
    let mut env = enabled();
    env.settings.insert("orchestration_ais_routing_enabled".into(), "true".into());
    env.agent = Some(AgentScores { creation: 9.0, execution: 9.5, combined: 9.25 });
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    session.execute_step("a", input(&steps[0]), "null", &[]).unwrap();
    session.execute_step("b", input(&steps[1]), "null", &[]).unwrap();
    assert_eq!(env.scores_asked.get(), 1);
    let executed = events_of(&env, EventKind::StepExecuted);
    assert_eq!(executed[0].metadata["routing"]["agent_execution_score"], 9.5);
    assert!(executed[0].metadata["routing"]["reason"].as_str().unwrap().contains("agent execution score 9.5"));
}

fn long_ticket() -> String {
    let filler =
        "The customer explained again that the situation was frustrating and that they had waited for a long time. ";
    format!(
        "Summarize the ticket for the on-call lead.\nTicket TCK-40211 from Priya Raman: refund of EUR 3,840.00 for ACC-55102. {}",
        filler.repeat(30)
    )
}

fn summarize_env(default_model: &str) -> FakeEnv {
    let mut env = enabled();
    env.settings.insert("orchestration_compression_enabled".into(), "true".into());
    env.settings.insert("orchestration_default_model".into(), default_model.into());
    env
}

#[test]
fn semantic_compression_calls_the_fast_model_when_it_pays_and_counts_its_cost() {
    let env = summarize_env("claude-opus-4-5");
    env.answers.borrow_mut().push_back(Ok(
        "Summarize the ticket for the on-call lead.\nTicket TCK-40211 from Priya Raman: refund of EUR 3,840.00 for ACC-55102; the customer waited long and is frustrated.".into(),
    ));
    let s = step("a", "Ticket recap", Some("summarize"));
    let mut session = Session::initialize(&env, "wf", "agent", "user", std::slice::from_ref(&s), None);
    let result = session.execute_step("a", input_with_ticket(&s, &long_ticket()), "null", &[]).unwrap();
    assert!(result.compression_applied && result.tokens_saved > 400, "saved {}", result.tokens_saved);
    let ticket = sent(&env, 0, "ticket");
    assert!(ticket.starts_with("Summarize the ticket") && ticket.contains("ACC-55102") && ticket.len() < 300);
    assert_eq!(sent(&env, 0, "prompt"), s.prompt, "the instruction is never summarized");
    let names: Vec<String> = env.requests.borrow()[0].material.iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, ["prompt", "ticket"], "target_length is the handler's setting, not data");
    assert_eq!(env.calls.borrow()[0].model, "claude-haiku-4-5");
    let record = &events_of(&env, EventKind::StepExecuted)[0].metadata["compression"]["semantic"];
    assert_eq!((record["called"].as_bool(), record["accepted"].as_bool()), (Some(true), Some(true)));
    let metrics = session.complete().unwrap();
    assert_eq!(metrics.overhead.calls, 1);
    assert_eq!(metrics.compressions_applied, 1);
}

#[test]
fn semantic_compression_is_skipped_when_the_summary_costs_more_than_it_saves() {
    let env = summarize_env("claude-haiku-4-5");
    let s = step("a", "Ticket recap", Some("summarize"));
    let mut session = Session::initialize(&env, "wf", "agent", "user", std::slice::from_ref(&s), None);
    session.execute_step("a", input_with_ticket(&s, &long_ticket()), "null", &[]).unwrap();
    assert!(env.calls.borrow().is_empty(), "a haiku summary for a haiku step never pays");
    let record = &events_of(&env, EventKind::StepExecuted)[0].metadata["compression"]["semantic"];
    assert!(record["why"].as_str().unwrap().contains("would cost"), "{record}");
}

#[test]
fn a_refused_summary_sends_the_prompt_and_records_why() {
    let env = summarize_env("claude-opus-4-5");
    env.answers.borrow_mut().push_back(Ok("The customer wants money back.".into()));
    let s = step("a", "Ticket recap", Some("summarize"));
    let mut session = Session::initialize(&env, "wf", "agent", "user", std::slice::from_ref(&s), None);
    session.execute_step("a", input_with_ticket(&s, &long_ticket()), "null", &[]).unwrap();
    assert!(sent(&env, 0, "ticket").contains("ACC-55102"));
    let record = &events_of(&env, EventKind::StepExecuted)[0].metadata["compression"]["semantic"];
    assert_eq!(record["accepted"], false);
    assert_eq!(session.complete().unwrap().overhead.calls, 1, "a refused summary still cost its call");
}

#[test]
fn quality_below_the_policy_minimum_sends_the_original_and_is_counted() {
    let mut env = summarize_env("claude-sonnet-4-5");
    env.settings.insert("orchestration_compression_generate_strategy".into(), "truncate".into());
    env.settings.insert("orchestration_compression_generate_min_quality".into(), "0.95".into());
    let s = step("a", "Draft a reply", Some("generate"));
    // Truncation to the target ratio would cut the facts at the end.
    let distinct: String = (0..60).map(|i| format!("Paragraph {i} of the customer's history is here. ")).collect();
    let history = format!("{distinct}\nOrder ORD-99812 for Jan Kowalski, EUR 12.50.");
    let mut session = Session::initialize(&env, "wf", "agent", "user", std::slice::from_ref(&s), None);
    let result = session.execute_step("a", input_with_ticket(&s, &history), "null", &[]).unwrap();
    assert!(!result.compression_applied);
    assert_eq!(sent(&env, 0, "ticket"), history);
    let metrics = session.complete().unwrap();
    assert_eq!((metrics.quality_degraded, metrics.compressions_applied), (1, 0));
    let completed = &events_of(&env, EventKind::Completed)[0].metadata;
    assert_eq!(completed["quality"]["quality_degraded"], 1);
}

#[test]
fn completion_reports_the_seeds_three_metric_groups_with_a_baseline() {
    let env = enabled();
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    session.execute_step("a", input(&steps[0]), "null", &[]).unwrap();
    session.execute_step("b", input(&steps[1]), "null", &[]).unwrap();
    let metrics = session.complete().unwrap();
    // Each step used 30 in + 12 out; the baseline prices that on opus ($5/$25 per MTok).
    let baseline = 2.0 * (30.0 * 5.0 + 12.0 * 25.0) / 1e6;
    assert!((metrics.baseline_cost - baseline).abs() < 1e-12, "{}", metrics.baseline_cost);
    let completed = &events_of(&env, EventKind::Completed)[0].metadata;
    for (group, fields) in [
        (
            "performance",
            &[
                "classification_time_us",
                "compression_time_us",
                "routing_time_us",
                "orchestration_overhead_us",
                "steps_completed",
                "steps_failed",
            ][..],
        ),
        (
            "cost",
            &["tokens_used", "tokens_saved", "total_cost", "baseline_cost", "cost_savings", "budget_utilization"][..],
        ),
        ("quality", &["avg_compression_quality", "min_compression_quality", "success_rate", "retry_rate"][..]),
    ] {
        for field in fields {
            assert!(!completed[group][field].is_null(), "{group}.{field} missing in {completed}");
        }
    }
    assert_eq!(completed["quality"]["success_rate"], 1.0);
}

#[test]
fn adaptive_budgets_follow_the_agents_history_and_critical_steps_get_more() {
    let mut env = enabled();
    env.settings.insert("orchestration_budget_strategy".into(), "adaptive".into());
    env.settings.insert("orchestration_adaptive_budget_enabled".into(), "true".into());
    env.settings.insert("orchestration_max_tokens_per_workflow".into(), "3000".into());
    env.history = vec![IntentUsage { intent: "summarize".into(), steps: 12, avg_tokens: 900, p90_tokens: 1_200 }];
    let mut critical = step("c", "Extract totals", None);
    critical.critical = true;
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None), critical];
    let session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    let meta = session.metadata().unwrap();
    assert_eq!(meta.settings.strategy, crate::budget::BudgetStrategy::Adaptive);
    let plans = &meta.steps;
    assert_eq!((plans[0].basis, plans[1].basis), (Basis::Estimate, Basis::History));
    assert!(
        plans[2].allocated > plans[0].allocated,
        "critical extract > plain extract: {} vs {}",
        plans[2].allocated,
        plans[0].allocated
    );
    assert!(plans.iter().map(|p| p.allocated).sum::<u32>() <= 3_000);

    // Without its flag, adaptive is proportional and history is not read.
    env.settings.remove("orchestration_adaptive_budget_enabled");
    let session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    assert_eq!(session.metadata().unwrap().settings.strategy, crate::budget::BudgetStrategy::Proportional);
}

#[test]
fn a_routed_run_updates_the_agents_scores_from_typed_failures_only() {
    let mut env = enabled();
    env.settings.insert("orchestration_ais_routing_enabled".into(), "true".into());
    env.failing.insert(
        "summarize".into(),
        DispatchError::Handler { kind: HandlerErrorKind::Llm, message: "budget exceeded".into() },
    );
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent-7", "user", &steps, None);
    session.execute_step("a", input(&steps[0]), "null", &[]).unwrap();
    assert!(session.execute_step("b", input(&steps[1]), "null", &[]).is_none());
    let plans = session.metadata().unwrap().steps;
    assert!(plans[0].routed_tier.is_some());
    assert!(matches!(&plans[1].failure, Some(e) if e.model_caused()));
    session.complete().unwrap();
    let recorded = env.recorded.borrow();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].0, "agent-7");
    // A first run: creation and execution both start at the run's intensity.
    assert!(recorded[0].1.execution > 0.0 && recorded[0].1.combined == recorded[0].1.execution);

    // A sandbox failure says nothing about the agent, and routing off records nothing.
    let plain = enabled();
    let mut session = Session::initialize(&plain, "wf", "agent-7", "user", &steps[..1], None);
    session.execute_step("a", input(&steps[0]), "null", &[]).unwrap();
    session.complete().unwrap();
    assert!(plain.recorded.borrow().is_empty());
    assert!(!DispatchError::FuelExhausted(1).model_caused());
    let outage = DispatchError::Handler { kind: HandlerErrorKind::Provider, message: "529 overloaded".into() };
    assert!(!outage.model_caused() && !outage.retryable_on_stronger_model());
}

#[test]
fn memory_goes_to_intents_that_write_or_decide_not_to_those_that_work_on_data() {
    let env = enabled();
    let memory = r#"{"user_context": {"tone": "formal, Dutch"}, "recent_runs": []}"#;
    let steps = [step("a", "Pull the invoice fields", Some("extract")), step("b", "Draft the reply", Some("generate"))];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    session.execute_step("a", input(&steps[0]), memory, &[]).unwrap();
    session.execute_step("b", input(&steps[1]), memory, &[]).unwrap();
    assert_eq!(sent(&env, 0, "memory"), "", "extract works on its data");
    assert!(sent(&env, 1, "memory").contains("formal, Dutch"), "generate writes for the user");
    let executed = events_of(&env, EventKind::StepExecuted);
    let omitted = &executed[0].metadata["material"]["omitted"][0];
    assert_eq!((omitted["name"].as_str(), omitted["source"].as_str()), (Some("memory"), Some("memory")));
}

#[test]
fn planned_steps_are_in_flight_together_and_recorded_in_any_order() {
    let mut env = enabled();
    env.settings.insert("orchestration_ais_routing_enabled".into(), "true".into());
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent", "user", &steps, None);
    // Both planned before either is recorded: the host dispatches them at once.
    let request_a = session.begin_step("a", input(&steps[0]), "null", &[]).expect("planned");
    let request_b = session.begin_step("b", input(&steps[1]), "null", &[]).expect("planned");
    assert!(session.begin_step("a", input(&steps[0]), "null", &[]).is_none(), "a step in flight is not planned twice");
    assert!(env.requests.borrow().is_empty(), "planning dispatches nothing");

    // b answers first; a's first answer is unusable, so it goes again a tier up.
    let StepProgress::Done(b) = session.record_dispatch("b", Ok(answered(&request_b))) else { panic!("b done") };
    assert_eq!(b.intent, "summarize");
    let invalid = DispatchFailure {
        error: DispatchError::Handler { kind: HandlerErrorKind::InvalidOutput, message: "not JSON".into() },
        usage: Usage { input: 20, output: 5, total: 25 },
        cost_usd: 0.002,
        provider_time_us: 3,
    };
    let StepProgress::Dispatch(retry) = session.record_dispatch("a", Err(invalid)) else { panic!("a retried") };
    assert_ne!(retry.routed_model, request_a.routed_model, "a tier up");
    assert_eq!(retry.token_budget, request_a.token_budget - 25, "what the failed attempt left");
    let StepProgress::Done(a) = session.record_dispatch("a", Ok(answered(&retry))) else { panic!("a done") };
    assert_eq!(a.routed_model, retry.routed_model);
    assert!(matches!(session.record_dispatch("a", Ok(answered(&retry))), StepProgress::FellBack), "not in flight");

    let metrics = session.complete().unwrap();
    assert_eq!((metrics.steps_executed, metrics.retries), (2, 1));
    assert_eq!(metrics.total_tokens_used, 42 + 25 + 42);
    let executed: Vec<_> = events_of(&env, EventKind::StepExecuted).iter().map(|e| e.step_id.clone()).collect();
    assert_eq!(executed, [Some("b".to_string()), Some("a".to_string())], "recorded as they settled");
}

#[test]
fn a_resumed_session_takes_in_finished_steps_without_running_or_announcing_them() {
    let mut env = enabled();
    env.settings.insert("orchestration_ais_routing_enabled".into(), "true".into());
    let steps = [step("a", "Extract fields", None), step("b", "Summarize it", None), step("c", "Summarize it", None)];
    let mut session = Session::initialize(&env, "wf", "agent-9", "user", &steps, None);
    let finished = FinishedStep {
        orchestrated: true,
        model: "claude-haiku-4-5".into(),
        usage: Usage { input: 60, output: 40, total: 100 },
        tokens_saved: 12,
        cost_usd: 0.002,
    };
    assert!(session.restore_step("a", &finished));
    assert!(!session.restore_step("a", &finished), "taken in once");
    assert!(!session.restore_step("zz", &finished), "an unknown step");
    assert!(session.restore_step("b", &FinishedStep { orchestrated: false, ..finished.clone() }));
    session.execute_step("c", input(&steps[2]), "null", &[]).unwrap();
    assert_eq!(env.requests.borrow().len(), 1, "only the step left was dispatched");
    let plans = session.metadata().unwrap().steps;
    assert_eq!((plans[0].status, plans[0].used), (StepStatus::Executed, 100));
    assert!(plans[0].routed_tier.is_some(), "the agent's scores see the tier it ran on");
    assert_eq!(plans[1].status, StepStatus::FellBack);
    let metrics = session.complete().unwrap();
    assert_eq!((metrics.total_tokens_used, metrics.total_tokens_saved), (100 + 42, 12));
    assert_eq!((metrics.steps_executed, metrics.steps_fell_back), (2, 1));
    let kinds: Vec<EventKind> = env.events.borrow().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Initialized, EventKind::StepExecuted, EventKind::Completed],
        "nothing announced twice"
    );
    assert_eq!(env.recorded.borrow().len(), 1);
}
