//! What `generate` decides without the model: the content type (given or
//! detected), and per type the system prompt, temperature and output cap.

/// The seed's cap on generated output.
pub const MAX_OUTPUT_TOKENS: u32 = 4096;
/// Output tokens allowed per requested word: English runs ~1.3 tokens a word, plus headroom.
const TOKENS_PER_WORD: u32 = 2;
/// Only the opening of a prompt is read for type words: data pasted further
/// down (an email thread, a report to answer) must not vote.
const INSTRUCTION_WINDOW: usize = 240;

/// The kinds of content `generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Email,
    Report,
    Code,
    Creative,
    Text,
}

use ContentType::*;

const NAMES: [(&str, ContentType); 5] =
    [("email", Email), ("report", Report), ("code", Code), ("creative", Creative), ("text", Text)];

/// Words that reveal the type; `text` is what remains.
const CUES: [(ContentType, &[&str]); 4] = [
    (Email, &["email", "emails", "e-mail", "reply", "replies", "letter"]),
    (Report, &["report", "reports", "analysis", "overview"]),
    (Code, &["code", "function", "functions", "script", "scripts", "sql", "regex", "snippet"]),
    (Creative, &["story", "stories", "poem", "poems", "slogan", "slogans", "tagline", "taglines", "haiku"]),
];

impl ContentType {
    /// The type named `name` as params spell it.
    pub fn parse(name: &str) -> Option<ContentType> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(_, t)| *t == self).map_or("text", |(n, _)| n)
    }

    /// The type of the first type word in the step's name, else in the
    /// opening of its prompt; `text` when there is none.
    pub fn detect(step_name: &str, prompt: &str) -> ContentType {
        let opening = match prompt.char_indices().nth(INSTRUCTION_WINDOW) {
            Some((end, _)) => &prompt[..end],
            None => prompt,
        };
        [step_name, opening].into_iter().find_map(first_cue).unwrap_or(Text)
    }

    pub fn temperature(self) -> f32 {
        match self {
            Code => 0.2,
            Email | Report => 0.5,
            Creative => 0.9,
            Text => 0.7,
        }
    }

    /// The system prompt, with the length limit when one is given.
    pub fn system_prompt(self, max_words: Option<u32>) -> String {
        let task = match self {
            Email => {
                "Write the complete email: a `Subject:` line, greeting, body and sign-off, in the tone asked \
                 for (clear and courteous by default). Never invent names, amounts, dates or commitments."
            }
            Report => {
                "Write the report: key findings first, then support under short headings. Use only the \
                 facts and figures given; say where data is missing."
            }
            Code => {
                "Answer with the code only: no Markdown fences, no explanation around it; comments in the \
                 code where a reader needs them."
            }
            Creative => "Write original, vivid copy in the form asked for (story, poem, slogan, tagline).",
            Text => "Do exactly what the request asks, clearly and concisely.",
        };
        match max_words {
            Some(words) => format!("{task} Write at most {words} words. No preamble."),
            None => format!("{task} No preamble."),
        }
    }

    /// Cleans the answer: code comes without a surrounding Markdown fence,
    /// which models add even when told not to.
    pub fn clean(self, answer: &str) -> String {
        let answer = answer.trim();
        if self == Code
            && let Some(inner) = answer.strip_prefix("```").and_then(|a| a.strip_suffix("```"))
        {
            // The opening fence's line may name the language.
            let body = inner.split_once('\n').map_or(inner, |(_, body)| body);
            return body.trim().to_string();
        }
        answer.to_string()
    }
}

/// Output tokens to ask for: about two per requested word, never above the seed's cap.
pub fn max_tokens(max_words: Option<u32>) -> u32 {
    max_words.map_or(MAX_OUTPUT_TOKENS, |words| words.saturating_mul(TOKENS_PER_WORD).min(MAX_OUTPUT_TOKENS))
}

fn first_cue(text: &str) -> Option<ContentType> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(str::to_lowercase)
        .find_map(|word| CUES.iter().find(|(_, words)| words.contains(&word.as_str())).map(|(t, _)| *t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_type_from_the_first_type_word() {
        assert_eq!(ContentType::detect("", "Draft a reply to the customer about the refund."), Email);
        assert_eq!(ContentType::detect("", "Write an E-mail to finance."), Email);
        assert_eq!(ContentType::detect("", "Write a short analysis of Q3 churn."), Report);
        assert_eq!(ContentType::detect("", "Write a SQL query listing unpaid invoices."), Code);
        assert_eq!(ContentType::detect("", "Write a Python function that emails the report."), Code);
        assert_eq!(ContentType::detect("", "Give me a tagline for the spring launch."), Creative);
        assert_eq!(ContentType::detect("", "Thank the team for the launch."), Text);
        // Words inside other words do not count.
        assert_eq!(ContentType::detect("", "Describe the reporting codebase."), Text);
    }

    #[test]
    fn the_step_name_wins_and_pasted_data_does_not_vote() {
        assert_eq!(ContentType::detect("Customer email", "Write an overview of the refund."), Email);
        let prompt = format!("Thank the customer for their patience.\n\n{}Sent from my email", "x ".repeat(200));
        assert_eq!(ContentType::detect("Reply", &prompt), Email);
        assert_eq!(ContentType::detect("Thanks", &prompt), Text);
    }

    #[test]
    fn names_round_trip_and_temperatures_follow_the_type() {
        for (name, t) in NAMES {
            assert_eq!(ContentType::parse(name), Some(t));
            assert_eq!(t.name(), name);
        }
        assert_eq!(ContentType::parse("memo"), None);
        assert_eq!(Code.temperature(), 0.2);
        assert_eq!(Email.temperature(), 0.5);
        assert_eq!(Report.temperature(), 0.5);
        assert_eq!(Creative.temperature(), 0.9);
        assert_eq!(Text.temperature(), 0.7);
    }

    #[test]
    fn system_prompts_carry_the_length_limit() {
        assert!(Email.system_prompt(Some(150)).contains("Write at most 150 words."));
        assert!(!Report.system_prompt(None).contains("at most"));
        assert!(Code.system_prompt(None).contains("code only"));
    }

    #[test]
    fn output_tokens_follow_max_words_up_to_the_cap() {
        assert_eq!(max_tokens(None), 4096);
        assert_eq!(max_tokens(Some(150)), 300);
        assert_eq!(max_tokens(Some(10_000)), 4096);
    }

    #[test]
    fn code_loses_a_surrounding_fence_only() {
        assert_eq!(Code.clean("```sql\nSELECT 1;\n```\n"), "SELECT 1;");
        assert_eq!(Code.clean("```\nx = 1\n```"), "x = 1");
        assert_eq!(Code.clean("```SELECT 1```"), "SELECT 1");
        assert_eq!(Code.clean("  x = 1\n"), "x = 1");
        assert_eq!(Code.clean("Here:\n```py\nx\n```"), "Here:\n```py\nx\n```");
        assert_eq!(Text.clean("```a```"), "```a```");
    }
}
