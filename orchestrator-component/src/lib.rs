//! The `orchestrator-core` component: exports `orchestrator` by wrapping
//! [`orchestration::Session`], whose environment is the WIT imports.

wit_bindgen::generate!({
    path: "../wit",
    world: "workflowpilot:orchestration/orchestrator-core",
    generate_all,
});

mod convert;

use exports::workflowpilot::orchestration::orchestrator as wit;
use orchestration::budget::IntentUsage;
use orchestration::routing::AgentScores;
use orchestration::session::StepProgress;
use orchestration::types::{DispatchFailure, Dispatched, Event, HandlerRequest, ModelAnswer, ModelCall};
use std::cell::RefCell;
use workflowpilot::orchestration::{agents, audit, handlers, llm, settings, types};

/// The environment of a session inside the component: every call goes to a WIT import.
struct Imports;

impl orchestration::Environment for Imports {
    fn setting(&self, key: &str) -> Option<String> {
        settings::get(key)
    }
    fn count_tokens(&self, text: &str) -> u32 {
        llm::count_tokens(text)
    }
    fn registered_intents(&self) -> Vec<String> {
        handlers::registered_intents()
    }
    fn control_params(&self, intent: &str) -> Vec<String> {
        handlers::control_params(intent)
    }
    fn intent_description(&self, intent: &str) -> Option<String> {
        handlers::intent_description(intent)
    }
    fn dispatch(&self, request: &HandlerRequest) -> Result<Dispatched, DispatchFailure> {
        handlers::dispatch(&convert::step_request(request)).map(convert::dispatched).map_err(convert::dispatch_failure)
    }
    fn emit(&self, event: Event) {
        // A refusal is the host's to log: the orchestrator's events are never reserved to another.
        let _ = audit::emit(&convert::audit_event(event));
    }
    fn complete(&self, call: &ModelCall) -> Result<ModelAnswer, String> {
        llm::complete(&convert::completion_request(call)).map(convert::model_answer).map_err(convert::llm_failure)
    }
    fn agent_scores(&self, agent_id: &str) -> Option<AgentScores> {
        agents::scores(agent_id).map(convert::agent_scores)
    }
    fn record_run(&self, agent_id: &str, scores: AgentScores) {
        agents::record_run(agent_id, convert::run_scores(scores));
    }
    fn intent_usage(&self, agent_id: &str) -> Vec<IntentUsage> {
        agents::usage_by_intent(agent_id).into_iter().map(convert::intent_usage).collect()
    }
}

struct Session(RefCell<orchestration::Session<Imports>>);

impl wit::GuestWorkflowSession for Session {
    fn new(
        workflow_id: String,
        agent_id: String,
        user_id: String,
        steps: Vec<types::WorkflowStep>,
        goal: Option<String>,
    ) -> Self {
        let steps: Vec<_> = steps.into_iter().map(convert::step).collect();
        let session =
            orchestration::Session::initialize(Imports, &workflow_id, &agent_id, &user_id, &steps, goal.as_deref());
        Session(RefCell::new(session))
    }

    fn is_active(&self) -> bool {
        self.0.borrow().is_active()
    }

    fn execute_step(
        &self,
        step_id: String,
        input: types::StepInput,
        memory_context: String,
        available_plugins: Vec<String>,
    ) -> Option<types::StepResult> {
        let input = convert::step_input(input);
        self.0.borrow_mut().execute_step(&step_id, input, &memory_context, &available_plugins).map(convert::step_result)
    }

    fn plan_step(
        &self,
        step_id: String,
        input: types::StepInput,
        memory_context: String,
        available_plugins: Vec<String>,
    ) -> Option<types::StepRequest> {
        let input = convert::step_input(input);
        let request = self.0.borrow_mut().begin_step(&step_id, input, &memory_context, &available_plugins)?;
        Some(convert::step_request(&request))
    }

    fn record_dispatch(
        &self,
        step_id: String,
        outcome: Result<handlers::DispatchResult, handlers::DispatchFailure>,
    ) -> wit::StepProgress {
        let outcome = outcome.map(convert::dispatched).map_err(convert::dispatch_failure);
        match self.0.borrow_mut().record_dispatch(&step_id, outcome) {
            StepProgress::Dispatch(request) => wit::StepProgress::Dispatch(convert::step_request(&request)),
            StepProgress::Done(result) => wit::StepProgress::Done(convert::step_result(result)),
            StepProgress::FellBack => wit::StepProgress::FellBack,
        }
    }

    fn restore_step(&self, step_id: String, finished: wit::FinishedStep) -> bool {
        self.0.borrow_mut().restore_step(&step_id, &convert::finished_step(finished))
    }

    fn complete(&self) -> Option<wit::WorkflowMetrics> {
        self.0.borrow_mut().complete().map(convert::metrics)
    }

    fn get_metadata(&self) -> Option<wit::OrchestrationMetadata> {
        self.0.borrow().metadata().map(convert::metadata)
    }
}

struct Component;

impl wit::Guest for Component {
    type WorkflowSession = Session;
}

export!(Component);
