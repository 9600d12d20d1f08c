//! The context tier: the pattern tier's evidence plus what it did not read.
//! Cue words further into the prompt (weakly: data pasted there may carry
//! words of other intents), the workflow's goal (weakly: it speaks for every
//! step), and the dependency graph: a step that reads several earlier
//! steps' outputs is combining them.

use super::outcome::{Classification, Method};
use super::rules::{Evidence, NAME_WEIGHT, PROMPT_WEIGHT, from_cues, score_cues, verb_bonus};
use super::sentences::INSTRUCTION_WINDOW;

/// How much of the prompt this tier reads.
const CONTEXT_WINDOW: usize = 1_200;
/// Cues past the opening the pattern tier reads.
const FURTHER_WEIGHT: f32 = 0.5;
const GOAL_WEIGHT: f32 = 0.5;
/// Points for `aggregate` when a step reads two or more earlier steps.
const FAN_IN_POINTS: f32 = 2.0;

/// What the context tier looks at for one step.
pub struct StepContext<'a> {
    pub name: &'a str,
    pub prompt: &'a str,
    /// The workflow's goal (its description), when it has one.
    pub goal: Option<&'a str>,
    /// How many earlier steps' outputs the step reads.
    pub reads: usize,
}

/// The context tier's answer, `None` when nothing in the context points anywhere.
pub fn classify(step: &StepContext) -> Option<Classification> {
    let opening: String = step.prompt.chars().take(INSTRUCTION_WINDOW).collect();
    let further: String =
        step.prompt.chars().skip(INSTRUCTION_WINDOW).take(CONTEXT_WINDOW - INSTRUCTION_WINDOW).collect();
    let mut evidence = vec![
        Evidence::text(step.name, NAME_WEIGHT),
        Evidence::text(&opening, PROMPT_WEIGHT),
        Evidence::text(&further, FURTHER_WEIGHT),
    ];
    if let Some(goal) = step.goal {
        evidence.push(Evidence::text(goal, GOAL_WEIGHT));
    }
    let mut bonus = verb_bonus(step.prompt);
    if step.reads >= 2 {
        bonus.push(("aggregate", FAN_IN_POINTS, format!("reads {} earlier steps' outputs", step.reads)));
    }
    let scored = score_cues(&evidence, &bonus);
    let mut c = from_cues(&scored, Method::Context, NAME_WEIGHT + PROMPT_WEIGHT)?;
    c.reasoning = format!("context: {}", c.reasoning);
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_opening_of_the_prompt() {
        let prompt = format!("{}Please condense the above into a short recap.", "Here is the thread. ".repeat(20));
        let step = StepContext { name: "Step 3", prompt: &prompt, goal: None, reads: 1 };
        assert_eq!(super::super::classify(None, &serde_json::json!({}), step.name, &prompt).method, Method::Fallback);
        assert_eq!(classify(&step).unwrap().intent, "summarize");
    }

    #[test]
    fn fan_in_points_to_aggregate_and_the_goal_breaks_ties() {
        let step = StepContext { name: "Step 4", prompt: "Use the outputs above.", goal: None, reads: 3 };
        let c = classify(&step).unwrap();
        assert_eq!(c.intent, "aggregate");
        assert!(c.reasoning.contains("reads 3 earlier steps"));

        let step = StepContext { name: "Step 2", prompt: "Go on.", goal: Some("Verify each expense report"), reads: 1 };
        assert_eq!(classify(&step).unwrap().intent, "validate");
        assert!(classify(&StepContext { goal: None, ..step }).is_none());
    }
}
