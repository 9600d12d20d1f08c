// The `llm` import of the intent-handler world, in JavaScript: a canned
// answer (a test double, not a model) and every call recorded.
export const calls = [];

const CANNED = "Dana asked for a refund on ORD-4411; the agent offered a 50% credit, which she accepted.";
const words = (text) => text.split(/\s+/).filter(Boolean).length;

export function complete(request) {
  calls.push({ system: request.system, messages: request.messages.map((m) => m.content) });
  const input = request.messages.reduce((n, m) => n + words(m.content), 0);
  const output = words(CANNED);
  return {
    text: CANNED,
    model: request.model ?? "canned-double",
    provider: "embed-js",
    usage: { input, output, total: input + output },
    costUsd: 0,
    stopReason: "end_turn",
  };
}

export function countTokens(text) {
  return words(text);
}
