use super::*;
use serde_json::json;

#[test]
fn explicit_intent_wins_over_patterns() {
    let c = classify(Some(" Transform "), &json!({"schema": {}}), "Summarize the thread", "Summarize this");
    assert_eq!((c.intent.as_str(), c.method, c.confidence), ("transform", Method::Explicit, 1.0));
}

#[test]
fn name_and_instructions_decide() {
    let c = classify(
        None,
        &json!({}),
        "Extract invoice fields",
        "Extract the invoice number and total from the text below.",
    );
    assert_eq!(c.intent, "extract");
    assert_eq!(c.method, Method::Pattern);
    assert!(c.confidence >= 0.9, "clear single-intent step, got {}", c.confidence);

    let c = classify(None, &json!({}), "Ticket digest", "Summarize the customer's messages in three sentences.");
    assert_eq!(c.intent, "summarize");
}

#[test]
fn data_below_the_instructions_does_not_vote() {
    let data = "x ".repeat(200) + "please send and notify and filter";
    let c = classify(None, &json!({}), "Condense notes", &format!("Condense these notes.\n{data}"));
    assert_eq!(c.intent, "summarize");
    assert!(c.alternatives.is_empty());
}

#[test]
fn competing_cues_lower_confidence_and_list_alternatives() {
    let c = classify(None, &json!({}), "Process", "Extract the totals and summarize the findings");
    assert!(c.confidence < 0.9, "ambiguous step, got {}", c.confidence);
    assert!(!c.alternatives.is_empty());
}

#[test]
fn a_verb_after_a_sentence_that_may_be_the_instruction_is_not_enough_to_be_sure() {
    let prompt = "Make the rooming list. Twins where possible. If the block doesn't stretch, say who's left over.";
    let c = classify(None, &json!({}), "rooms", prompt);
    assert_eq!(c.intent, "conditional", "the rules' best guess stands");
    assert!(c.confidence < 0.9, "left to the LLM tier, got {}", c.confidence);
    assert!(c.reasoning.contains("after a sentence that may be the instruction"), "{}", c.reasoning);
    // The same sentence opening the instruction is sure.
    let c = classify(None, &json!({}), "rooms", "If the block doesn't stretch, say who's left over.");
    assert!(c.confidence >= 0.9, "{}", c.confidence);
    // After a greeting or a heading line the verb is the instruction's.
    for prompt in [
        "Hi team,\nPlease extract the invoice number, date and total.",
        "Invoice processing\nExtract the invoice number, date and total.",
    ] {
        let c = classify(None, &json!({}), "step", prompt);
        assert!(c.confidence >= 0.9, "{prompt}: {c:?}");
    }
    // A greeting is a whole word: "Highlights" opens a sentence that may be the instruction.
    let c = classify(None, &json!({}), "step", "Highlights go first. If any are late, say so.");
    assert!(c.confidence < 0.9, "{c:?}");
}

#[test]
fn params_contracts_beat_wording() {
    let c = classify(None, &json!({"schema": {"type": "object"}}), "Process the email", "Summarize and send");
    assert_eq!((c.intent.as_str(), c.method), ("extract", Method::Params));
    let c = classify(None, &json!({"schema": {}, "data": {}}), "Check", "x");
    assert_eq!(c.intent, "validate", "schema + data is validation, not extraction");
    let c = classify(None, &json!({"input": [], "where": []}), "Summarize", "x");
    assert_eq!(c.intent, "filter");
    let c = classify(None, &json!({"input": []}), "Summarize the notes", "x");
    assert_eq!(c.method, Method::Pattern, "`input` alone belongs to no contract");
}

#[test]
fn settle_takes_the_first_accepted_tier_else_the_best_guess_else_the_fallback() {
    let guess = |intent: &str, confidence: f32, method| Classification {
        intent: intent.into(),
        confidence,
        method,
        reasoning: "r".into(),
        alternatives: vec!["filter".into()],
        ambiguous: false,
    };
    let c =
        settle(vec![(guess("summarize", 0.6, Method::Pattern), 0.9), (guess("extract", 0.8, Method::Llm), LLM_ACCEPT)]);
    assert_eq!((c.intent.as_str(), c.method, c.ambiguous), ("extract", Method::Llm, false));
    assert!(c.reasoning.contains("pattern summarize 0.60"), "{}", c.reasoning);

    let c = settle(vec![
        (guess("summarize", 0.58, Method::Pattern), 0.9),
        (guess("extract", 0.56, Method::Context), CONTEXT_ACCEPT),
    ]);
    assert_eq!((c.intent.as_str(), c.ambiguous), ("summarize", true));
    assert_eq!(c.alternatives, vec!["filter".to_string(), "extract".to_string()]);

    let c = settle(vec![(guess("summarize", 0.55, Method::Pattern), 0.9)]);
    assert_eq!((c.intent.as_str(), c.method, c.ambiguous), (FALLBACK_INTENT, Method::Fallback, true));
    assert_eq!(c.alternatives[0], "summarize");
}

/// Steps written after the cue and verb tables were tuned on
/// `bench/corpus`, never used to tune them: how the free tiers generalize.
const HELD_OUT: [(&str, &str, &str); 24] = [
    ("Notify finance", "Let the finance team know that the Q3 close is delayed by two days.", "send"),
    (
        "Customer details",
        "From the signup form below, capture the company name, seat count and billing country as JSON.",
        "extract",
    ),
    ("Thread summary", "Boil this email thread down to three bullet points for the account manager.", "summarize"),
    ("Apology", "Compose a short apology to the customer for the late delivery, offering a 10% voucher.", "generate"),
    ("Schema check", "Confirm every record has a non-empty SKU and a positive price.", "validate"),
    ("High value only", "Only keep orders above EUR 500.", "filter"),
    ("Revenue by region", "Compute total revenue by region for October.", "aggregate"),
    (
        "Company info",
        "Look up each lead's company size and industry in Clearbit and attach it to the record.",
        "enrich",
    ),
    ("CSV to JSON", "Convert the CSV rows below into JSON objects keyed by column name.", "transform"),
    ("Escalate?", "Should this ticket be escalated to tier 2 given the customer's plan and the outage?", "conditional"),
    ("Weekly digest", "Send the weekly metrics digest to ops@example.com.", "send"),
    ("Parse the PO", "Read the purchase order and return the PO number, vendor and line items.", "extract"),
    ("Standup notes", "Summarize yesterday's standup for people who missed it.", "summarize"),
    ("Job post", "Write a job post for a senior data engineer based in Lisbon.", "generate"),
    ("Duplicates", "Find the contacts that appear twice and drop the older copy.", "filter"),
    ("Spend per team", "Group the expenses by team and sum the amounts.", "aggregate"),
    ("Geo data", "Enrich each address with latitude and longitude from the geocoding service.", "enrich"),
    ("Dates to ISO", "Normalize all dates in the records to ISO 8601.", "transform"),
    ("Refund eligible?", "Is the order still within the 30-day refund window?", "conditional"),
    (
        "Contract check",
        "Verify that the contract has a signature date, both parties and a governing-law clause.",
        "validate",
    ),
    ("Incident brief", "Give the on-call lead a short overview of the incident so far.", "summarize"),
    (
        "Route by language",
        "Decide which regional queue gets this ticket based on the language it is written in.",
        "conditional",
    ),
    ("Teams alert", "Alert the on-call channel in Teams that the backup job failed.", "send"),
    ("Extract totals", "Extract subtotal, tax and total from the receipt.", "extract"),
];

#[test]
fn held_out_phrasings() {
    let mut misses = vec![];
    for (name, prompt, label) in HELD_OUT {
        let c = without_model(&json!({}), &context::StepContext { name, prompt, goal: None, reads: 1 }, 0.9);
        if c.intent != label {
            misses.push(format!("{name}: {label} classified {} ({:?} {:.2})", c.intent, c.method, c.confidence));
        }
    }
    let correct = HELD_OUT.len() - misses.len();
    println!("held-out free-tier accuracy {correct}/{}; misses: {misses:#?}", HELD_OUT.len());
    assert!(correct * 4 >= HELD_OUT.len() * 3, "below 75%: {misses:#?}");
}

/// The free tiers' intent for an instruction alone (no name, goal or params).
fn intent(prompt: &str) -> String {
    without_model(&json!({}), &context::StepContext { name: "s", prompt, goal: None, reads: 0 }, 0.9).intent
}

#[test]
fn grammar_of_selection_delivery_and_advice() {
    assert_eq!(intent("Which SKUs are at or below their reorder point?"), "filter");
    assert_eq!(intent("Which team should handle this?"), "classify");
    assert_eq!(intent("Which product claims does the brief say we're allowed to make?"), "extract");
    assert_eq!(intent("Which deadlines do the minutes mention, if any?"), "extract");
    // A question naming a class, or asking the reader, still asks for a choice.
    assert_eq!(intent("What category does the ticket say it is?"), "classify");
    assert_ne!(intent("Which score do you give this essay?"), "extract");
    assert_eq!(intent("List the objections raised and who raised each one."), "extract");
    assert_eq!(intent("List every invoice that is overdue."), "filter");
    assert_eq!(intent("Pull out the readings outside 2-8 degrees, tote by tote."), "filter");
    assert_eq!(intent("List the orders more than 500 euros."), "filter");
    assert_eq!(intent("Pull the invoice totals over the last 3 months."), "extract");
    // Bounds on the answer and cited clauses are not comparisons that pick items.
    for prompt in [
        "List the top risks in under 50 words.",
        "List no more than 3 key takeaways.",
        "Extract up to 10 action items, no more than 15 words each.",
        "List the obligations under 7.2 of the contract.",
    ] {
        assert_eq!(intent(prompt), "extract", "{prompt}");
    }
    assert_eq!(intent("Open a ticket through the service-desk webhook with the details."), "send");
    assert_eq!(intent("Explain in plain words what the query counts."), "generate");
    assert_eq!(intent("Recommend one vendor with a short justification."), "generate");
}

#[test]
fn grammar_of_lead_ins_notes_and_reported_questions() {
    // The verb after a lead-in that only says what to read.
    assert_eq!(intent("Read through the incident log and count the outages per region."), "aggregate");
    // A scene-setting sentence, then the instruction.
    assert_eq!(intent("Payroll closes on Friday. Verify each timesheet against the rota."), "validate");
    // Verbless notes: fields, a selection, a length, a figure per group, classes to choose from.
    assert_eq!(intent("For every parcel: tracking id, weight, sender and depot."), "extract");
    assert_eq!(intent("Give me the owner, plan, renewal date and seat count for each account."), "extract");
    assert_eq!(intent("Only the unpaid orders from March."), "filter");
    assert_eq!(intent("Two sentences for the duty manager on what broke overnight."), "summarize");
    assert_eq!(intent("Average wait time per clinic."), "aggregate");
    assert_eq!(intent("A call on each claim: covered, partly covered, or excluded."), "classify");
    // A question about items, then the fields wanted for each.
    assert_eq!(intent("Which permits expire this month? For each: site, holder, expiry date."), "extract");
    // Questions weighing courses of action decide a branch.
    assert_eq!(intent("Can the order ship from stock, or do we have to backorder it?"), "conditional");
    // A question put as an instruction.
    assert_eq!(intent("Say whether the supplier passes each audit clause."), "validate");
    assert_eq!(intent("Tell me if the refund went through."), "conditional");
    // Destinations named with a possessive or a determiner.
    assert_eq!(intent("Upload the batch to the lab's webhook."), "send");
    assert_eq!(intent("Attach the quote to this customer's CRM record."), "send");
    // "or not <class>" is an option; "or not?" is a yes/no question.
    assert_eq!(intent("Is this ticket billing, technical, or not support at all?"), "classify");
    assert_eq!(intent("Is the invoice complete or not?"), "conditional");
}

#[test]
fn cues_match_at_word_starts_only() {
    // "resend" must not count as "send"; "unfiltered" must not count as "filter".
    let c = classify(None, &json!({}), "Step", "Look at the unfiltered resend queue");
    assert_eq!(c.method, Method::Fallback);
    assert_eq!(c.intent, FALLBACK_INTENT);
}
