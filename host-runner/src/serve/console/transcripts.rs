//! What a run's models were sent and answered, when the server keeps
//! transcripts (`pilot serve --keep-transcripts`), with secrets redacted:
//! the values of known secrets (the bearer token, provider keys, plugin
//! URLs) and what looks like an API key or a bearer credential.

use super::layout::esc;
use crate::host::Host;

/// Environment variables whose values are secrets wherever they appear.
const SECRET_ENV: [&str; 3] = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "PILOT_TOKEN"];
/// Prefixes of API keys, redacted with what follows them.
const KEY_PREFIXES: [&str; 7] = ["sk-", "sk_", "xoxb-", "xoxp-", "AKIA", "ghp_", "github_pat_"];
/// Characters a key may hold after its prefix.
const KEY_MIN: usize = 12;

/// The section of a run's page; `steps` are the run's step ids.
pub fn section<'s>(host: &Host, token: &str, execution_id: &str, steps: impl Iterator<Item = &'s str>) -> String {
    let Some(transcript) = host.transcript() else {
        return "<h2>What the models were sent</h2><p class=\"note\">Transcripts are not kept: prompts hold user \
                data and are stored only when the server is started with <code>pilot serve --keep-transcripts</code> \
                (in memory, the most recent 1,000 steps).</p>"
            .into();
    };
    let mut secrets = known_secrets(host);
    secrets.push(token.to_string());
    let mut out = String::from("<h2>What the models were sent and answered</h2>");
    let mut any = false;
    for step in steps {
        let Some(exchange) = transcript.peek(execution_id, step) else { continue };
        any = true;
        out.push_str(&format!(
            "<details><summary>{}</summary><h3 class=\"note\">sent</h3><pre>{}</pre><h3 class=\"note\">answered</h3><pre>{}</pre></details>",
            esc(step),
            esc(&redact(&exchange.sent, &secrets)),
            esc(&redact(&exchange.answered, &secrets))
        ));
    }
    if !any {
        out.push_str("<p class=\"note\">No transcript for this run: it ran before this server started, on another replica, or has aged out.</p>");
    }
    out
}

/// The secret values this host knows: provider keys, its token and plugin URLs.
fn known_secrets(host: &Host) -> Vec<String> {
    let mut secrets: Vec<String> = SECRET_ENV.iter().filter_map(|k| std::env::var(k).ok()).collect();
    if let Ok(settings) = host.db().settings() {
        secrets.extend(settings.iter().filter(|(k, _)| k.starts_with("plugin_")).map(|(_, v)| v.clone()));
    }
    secrets.retain(|s| s.trim().len() >= 8);
    secrets
}

/// `text` with every known secret and every key-like or bearer credential replaced by `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        out = out.replace(secret.as_str(), "[redacted]");
    }
    let mut redacted = String::with_capacity(out.len());
    let mut rest = out.as_str();
    'scan: while !rest.is_empty() {
        for prefix in KEY_PREFIXES.iter().copied().chain(["Bearer ", "bearer "]) {
            if let Some(after) = rest.strip_prefix(prefix) {
                let at_word_start = redacted.chars().next_back().is_none_or(|c| !c.is_alphanumeric());
                let len =
                    after.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.+/=".contains(c))).unwrap_or(after.len());
                if at_word_start && len >= KEY_MIN {
                    redacted.push_str(prefix);
                    redacted.push_str("[redacted]");
                    rest = &after[len..];
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        redacted.push(c);
        rest = &rest[c.len_utf8()..];
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn secrets_and_key_like_strings_are_redacted() {
        let secrets = vec!["https://hooks.slack.com/services/T0/B0/abcdefgh".to_string()];
        let text = "post to https://hooks.slack.com/services/T0/B0/abcdefgh with sk-ant-api03-abcdefghijklmnop \
                    and Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload; risk-assessment stays";
        let out = redact(text, &secrets);
        assert!(
            !out.contains("hooks.slack.com") && !out.contains("abcdefghijklmnop") && !out.contains("eyJhbG"),
            "{out}"
        );
        assert!(out.contains("sk-[redacted]") && out.contains("Bearer [redacted]"), "{out}");
        assert!(out.contains("risk-assessment stays"), "words with a prefix inside are not keys: {out}");
        assert_eq!(redact("sk-short", &[]), "sk-short");
        let token = vec!["c0ffee-token-1234".to_string()];
        assert_eq!(redact("x c0ffee-token-1234 y", &token), "x [redacted] y");
        assert_eq!(redact("Authorization: Bearer abc+def/ghi=jkl==", &[]), "Authorization: Bearer [redacted]");
    }
}
