//! Test guest: serves `spin` and loops forever, so only fuel can stop it.

use handler_kit::{HandlerError, HandlerInfo, StepRequest};

struct Spin;

impl handler_kit::Handler for Spin {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "spin".into(),
            version: "0.0.1".into(),
            intents: vec!["spin".into()],
            description: "Test guest that never returns".into(),
        }
    }

    fn execute(request: StepRequest) -> Result<String, HandlerError> {
        let mut counter: u64 = request.token_budget.into();
        loop {
            counter = std::hint::black_box(counter.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

handler_kit::export_handler!(Spin);
