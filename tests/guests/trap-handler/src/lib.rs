//! Test guest: serves `explode` and panics (a trap in the host's eyes).

use handler_kit::{HandlerError, HandlerInfo, StepRequest};

struct Trap;

impl handler_kit::Handler for Trap {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "trap".into(),
            version: "0.0.1".into(),
            intents: vec!["explode".into()],
            description: "Test guest that panics on every step".into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        panic!("trap-handler refuses step {}", request.step.id);
    }
}

handler_kit::export_handler!(Trap);
