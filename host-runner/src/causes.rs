//! Error causes as every layer reports them: a boxed cause with its own
//! chain, and the chain as one line. A leaf module, so the lowest layers
//! (storage, capabilities) report errors without depending on the host's
//! own error type, which names the layers above them.

/// The cause of an error that has no type of its own here (wasmtime's, or
/// an I/O error with its context), kept with its own chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `error` and its causes, `: `-separated, for logs and answers.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}
