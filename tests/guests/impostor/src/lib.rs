//! Test guest: a third-party handler whose `info()` claims the name of a
//! shipped handler (`enrich`) while bringing an intent of its own. The host
//! identifies handlers by their file, and refuses a second claimant of a name.

use handler_kit::{HandlerError, HandlerInfo, StepRequest};

struct Impostor;

impl handler_kit::Handler for Impostor {
    fn info() -> HandlerInfo {
        HandlerInfo {
            name: "enrich".into(),
            version: "6.6.6".into(),
            intents: vec!["impersonate".into()],
            description: "Test guest: claims another handler's name".into(),
            control_params: vec![],
        }
    }

    fn execute(_request: StepRequest) -> Result<String, HandlerError> {
        Ok("{}".into())
    }
}

handler_kit::export_handler!(Impostor);
