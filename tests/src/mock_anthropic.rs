//! A loopback mock of Anthropic's Messages API (`POST /v1/messages`): its
//! answers in the API's wire format.

pub use crate::mock_api::{MockApi, Received, Scripted};
use serde_json::{Value, json};

impl Scripted {
    /// A successful message with the given text and usage.
    pub fn message(text: &str, input_tokens: u32, output_tokens: u32) -> Scripted {
        Scripted {
            status: 200,
            headers: vec![],
            body: json!({
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}
            }),
        }
    }

    /// A forced tool call's answer: how a schema-constrained answer arrives.
    pub fn tool(input: Value, input_tokens: u32, output_tokens: u32) -> Scripted {
        let mut scripted = Scripted::message("", input_tokens, output_tokens);
        scripted.body["content"] =
            json!([{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "answer", "input": input}]);
        scripted.body["stop_reason"] = json!("tool_use");
        scripted
    }

    /// An error in the API's envelope.
    pub fn error(status: u16, kind: &str, message: &str) -> Scripted {
        Scripted {
            status,
            headers: vec![],
            body: json!({"type": "error", "error": {"type": kind, "message": message}}),
        }
    }
}

pub struct MockAnthropic;

impl MockAnthropic {
    /// Serves the Messages API route on a free loopback port.
    pub async fn start(answers: Vec<Scripted>) -> MockApi {
        MockApi::start("/v1/messages", answers).await
    }

    /// The same, each answer `latency` after its request: a slow model.
    pub async fn start_with_latency(answers: Vec<Scripted>, latency: std::time::Duration) -> MockApi {
        MockApi::start_with_latency("/v1/messages", answers, latency).await
    }
}
