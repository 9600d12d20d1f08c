"""`sentiment`: rates how the step's text feels, in Python.

A handler of the `intent-handler` world built with componentize-py (see the
README's "Writing a handler in Python"). It serves the intent `sentiment`:
the step's material (its instruction and every piece of data, as the
orchestrator assembled them) goes to the routed model in one call that must
answer a JSON Schema: `label` (positive, neutral or negative), `score` from
-1 to 1 and the `evidence`, a short quote from the data. The answer is
checked before it is returned; the host counts the tokens and enforces the
step's budget.

Params (settings, not data): `labels`, a list of labels to use instead of
positive/neutral/negative.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import handler
from wit_world.imports import llm
from wit_world.imports import workflowpilot_orchestration_types as types

DEFAULT_LABELS = ["positive", "neutral", "negative"]
MAX_TOKENS = 200

SYSTEM = (
    "You rate the sentiment of the data for an automated workflow, as the instruction asks. "
    "Give the one label that fits, a score from -1 (most negative) to 1 (most positive), "
    "and the evidence: a short quote from the data."
)

TAGS = {
    types.MaterialSource.PARAM: "param",
    types.MaterialSource.INPUT: "input",
    types.MaterialSource.STEP_OUTPUT: "step_output",
    types.MaterialSource.MEMORY: "memory",
}


def render(material):
    """The material as one message: the instruction first, then each piece in its tag."""
    blocks = []
    for piece in material:
        content = piece.content.strip()
        if piece.source == types.MaterialSource.PROMPT:
            blocks.append(f"<instruction>\n{content}\n</instruction>")
        else:
            tag = TAGS[piece.source]
            blocks.append(f'<{tag} name="{piece.name}">\n{content}\n</{tag}>')
    return "\n\n".join(blocks)


def labels_of(params_json):
    try:
        params = json.loads(params_json or "{}")
    except json.JSONDecodeError as e:
        raise Err(types.HandlerError_InvalidInput(f"params are not JSON: {e}"))
    labels = params.get("labels", DEFAULT_LABELS) if isinstance(params, dict) else DEFAULT_LABELS
    if not (isinstance(labels, list) and len(labels) >= 2 and all(isinstance(l, str) and l for l in labels)):
        raise Err(types.HandlerError_InvalidInput("params.labels must be a list of at least two non-empty strings"))
    return labels


class Handler(exports.Handler):
    def info(self) -> handler.HandlerInfo:
        return handler.HandlerInfo(
            name="sentiment",
            version="0.1.0",
            intents=["sentiment"],
            description="Rates the sentiment of the step's text: a label, a score from -1 to 1 and a quote",
            control_params=["labels"],
        )

    def execute(self, request: types.StepRequest) -> str:
        labels = labels_of(request.params)
        data = [p for p in request.material if p.source != types.MaterialSource.PROMPT and p.content.strip()]
        if not data:
            raise Err(types.HandlerError_InvalidInput("the step has no text to rate: give it data in params or inputs"))
        schema = {
            "type": "object",
            "properties": {
                "label": {"type": "string", "enum": labels},
                "score": {"type": "number", "minimum": -1, "maximum": 1},
                "evidence": {"type": "string"},
            },
            "required": ["label", "score", "evidence"],
        }
        completion_request = llm.CompletionRequest(
            model=None,
            system=SYSTEM,
            messages=[llm.Message(role=llm.Role.USER, content=render(request.material))],
            max_tokens=MAX_TOKENS,
            temperature=0.0,
            response_format=llm.ResponseFormat_JsonSchema(json.dumps(schema)),
        )
        try:
            completion = llm.complete(completion_request)
        except Err as e:
            raise Err(types.HandlerError_Llm(e.value))
        try:
            answer = json.loads(completion.text)
        except json.JSONDecodeError as e:
            raise Err(types.HandlerError_InvalidOutput(f"the model's answer is not JSON: {e}"))
        label, score = answer.get("label"), answer.get("score")
        if label not in labels:
            raise Err(types.HandlerError_InvalidOutput(f"the model's label `{label}` is not one of {', '.join(labels)}"))
        if not isinstance(score, (int, float)) or not -1 <= score <= 1:
            raise Err(types.HandlerError_InvalidOutput(f"the model's score {score!r} is not a number from -1 to 1"))
        return json.dumps({"label": label, "score": score, "evidence": str(answer.get("evidence", ""))})
