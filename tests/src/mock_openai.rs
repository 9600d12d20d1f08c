//! A loopback mock of an OpenAI-compatible Chat Completions API
//! (`POST /v1/chat/completions`): its answers in that wire format.

pub use crate::mock_api::{MockApi, Received, Scripted};
use serde_json::json;

/// A successful completion with the given content and usage.
pub fn completion(content: &str, prompt_tokens: u32, completion_tokens: u32) -> Scripted {
    Scripted {
        status: 200,
        headers: vec![],
        body: json!({
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion",
            "created": 1741569952,
            "model": "gpt-4.1-mini-2025-04-14",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens
            }
        }),
    }
}

/// An error in the API's envelope.
pub fn error(status: u16, kind: &str, message: &str) -> Scripted {
    Scripted {
        status,
        headers: vec![],
        body: json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
    }
}

pub struct MockOpenAi;

impl MockOpenAi {
    /// Serves the Chat Completions route on a free loopback port; its base
    /// URL for the provider is `<base_url>/v1`.
    pub async fn start(answers: Vec<Scripted>) -> MockApi {
        MockApi::start("/v1/chat/completions", answers).await
    }
}
