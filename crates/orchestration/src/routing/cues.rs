//! The cue words read in a step's name and instructions (and its workflow's
//! goal), with their points and caps, and how a cue is matched.

/// Cues of reasoning, stakes or code in the step name and the prompt's
/// instructions. A cue matches at a word start and, unless it ends with `*`,
/// at a word end too (`analyz*` matches `analyze` and `analyzing`; `spec` does
/// not match `specific`). Their sum is capped at [`REASONING_CAP`].
pub(super) const REASONING_CUES: [(&str, f32); 56] = [
    // legal, contract, regulatory and HR reasoning
    ("legal", 1.0),
    ("contract clause*", 1.0),
    ("clause*", 1.0),
    ("indemn*", 1.0),
    ("liabilit*", 1.0),
    ("governing law", 1.0),
    ("nda*", 1.5),
    ("lease*", 1.5),
    ("gdpr", 1.0),
    ("dpa", 0.75),
    ("playbook*", 0.75),
    ("redline*", 1.0),
    ("counsel", 0.5),
    ("section*", 0.5),
    ("consent*", 0.75),
    ("permitted transferee*", 1.0),
    ("change-of-control", 0.5),
    ("termination*", 0.5),
    ("scc*", 0.75),
    ("policy", 0.5),
    ("policies", 0.5),
    ("complian*", 0.5),
    ("regulat*", 0.5),
    ("accreditation*", 0.5),
    ("harassment", 1.0),
    ("retaliat*", 1.0),
    ("investigation*", 0.75),
    ("accused", 0.75),
    // judgment and synthesis
    ("analyz*", 0.75),
    ("analyse*", 0.75),
    ("analysis", 0.75),
    ("assess*", 1.0),
    ("reconcil*", 1.0),
    ("root cause*", 1.0),
    ("compar*", 0.75),
    ("justif*", 0.75),
    ("negotiat*", 0.75),
    ("strateg*", 0.75),
    ("weigh*", 1.0),
    ("judge*", 1.0),
    ("consider*", 0.75),
    ("decide whether", 0.75),
    ("recommend*", 0.5),
    ("reasoning", 0.75),
    ("explain why", 0.75),
    ("evidence", 0.5),
    ("fact-check*", 0.75),
    ("factual*", 0.75),
    ("unsupported", 0.5),
    ("impersonat*", 0.75),
    ("defect*", 0.5),
    ("exposure*", 0.5),
    // predictions
    ("how likely", 0.75),
    ("forecast*", 0.75),
    ("probabilit*", 0.75),
    ("reasons", 0.5),
];
/// Stakes raised by the audience or the subject, counted with [`REASONING_CUES`].
pub(super) const STAKES_CUES: [(&str, f32); 4] = [("ceo", 0.5), ("board", 0.5), ("executive*", 0.5), ("risk*", 0.5)];
/// Cues of code, counted with [`REASONING_CUES`].
pub(super) const CODE_CUES: [(&str, f32); 8] = [
    ("code", 1.0),
    ("function*", 0.75),
    ("sql", 2.0),
    ("postgres*", 2.0),
    ("script*", 2.0),
    ("terraform", 2.0),
    ("spec", 0.5),
    ("specification*", 0.5),
];
pub(super) const REASONING_CAP: f32 = 3.5;

/// Cues of mechanical work (same matching); their sum is capped at [`SIMPLICITY_CAP`].
pub(super) const SIMPLICITY_CUES: [(&str, f32); 15] = [
    ("notify", -0.5),
    ("format as", -0.5),
    ("format the", -0.5),
    ("formatting", -0.5),
    ("reformat*", -0.5),
    ("copy", -0.5),
    ("list", -0.5),
    ("extract the number*", -0.5),
    ("one line", -0.5),
    ("one-line", -0.5),
    ("one sentence", -0.5),
    ("subject line", -0.5),
    ("yes or no", -0.5),
    ("yes/no", -0.5),
    ("forward*", -0.5),
];
pub(super) const SIMPLICITY_CAP: f32 = -1.5;

/// Domains where a wrong judgment is costly (legal, medical, financial crime
/// and insurance, security), read in the workflow's goal (the step's own
/// words are [`REASONING_CUES`]): a step of such a workflow that needs model
/// judgment is harder than the same words elsewhere. Their sum is capped at [`DOMAIN_CAP`].
pub(super) const DOMAIN_CUES: [(&str, f32); 32] = [
    ("legal", 1.0),
    ("contract*", 1.0),
    ("agreement*", 1.0),
    ("nda*", 1.0),
    ("litigation", 1.0),
    ("lawsuit*", 1.0),
    ("medical", 1.5),
    ("clinical", 1.5),
    ("patient*", 1.0),
    ("diagnos*", 1.0),
    ("physician*", 1.0),
    ("prior-auth*", 1.0),
    ("prior authori*", 1.0),
    ("prescription*", 1.0),
    ("fraud*", 1.5),
    ("suspicious", 1.0),
    ("structuring", 1.0),
    ("money laundering", 1.5),
    ("aml", 1.5),
    ("sanction*", 1.0),
    ("insurance", 1.0),
    ("underwrit*", 1.0),
    ("claim form*", 0.5),
    ("compliance", 1.0),
    ("regulator*", 1.0),
    ("audit*", 0.5),
    ("security", 1.0),
    ("breach*", 1.0),
    ("intrusion*", 1.5),
    ("attack*", 1.0),
    ("credential*", 1.0),
    ("malware", 1.5),
];
pub(super) const DOMAIN_CAP: f32 = 2.5;

/// Only the prompt's instructions are read for cues: its first paragraph, at
/// most this many characters (data pasted below must not vote).
const INSTRUCTION_WINDOW: usize = 600;

/// The text cues are read from: the step name and the prompt's first paragraph.
pub(super) fn cue_text(step_name: &str, prompt: &str) -> String {
    let first = prompt.trim_start().split("\n\n").next().unwrap_or("");
    let window: String = first.chars().take(INSTRUCTION_WINDOW).collect();
    format!("{}\n{}", step_name, window).to_lowercase()
}

/// The cues found in `text`, each as `` `word` ``, and the sum of their points.
pub(super) fn match_cues<'a>(text: &str, cues: impl Iterator<Item = &'a (&'a str, f32)>) -> (Vec<String>, f32) {
    let mut hits = Vec::new();
    let mut sum = 0.0;
    for (cue, points) in cues {
        if contains_cue(text, cue) {
            hits.push(format!("`{}`", cue.trim_end_matches('*')));
            sum += points;
        }
    }
    (hits, sum)
}

/// Whether `cue` occurs in `text` at a word start and, unless the cue ends
/// with `*`, ending at a word end.
pub(super) fn contains_cue(text: &str, cue: &str) -> bool {
    let (needle, prefix) = match cue.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (cue, false),
    };
    let word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(needle).any(|(at, _)| {
        !word_char(text[..at].chars().next_back()) && (prefix || !word_char(text[at + needle.len()..].chars().next()))
    })
}
