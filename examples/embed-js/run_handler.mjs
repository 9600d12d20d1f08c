// A third host: a shipped handler transpiled by jco (npm
// @bytecodealliance/jco) into an ES module and run on Node, WASI from
// @bytecodealliance/preview2-shim, `llm` from ./host/llm.js. See run.sh.
import { handler } from "./out/handler.js";
import { calls } from "./host/llm.js";

const info = handler.info();
console.log(JSON.stringify({ name: info.name, version: info.version, intents: info.intents }));

const prompt = "Summarize the call for the account team.";
const transcript = "Dana: I want a refund for ORD-4411. Agent: I can offer a 50% credit.";
const piece = (name, source, content) => ({
  name, source, format: "text", content,
  tokens: content.split(/\s+/).length, originalTokens: content.split(/\s+/).length, compressed: false,
});
const params = JSON.stringify({ transcript });
const output = handler.execute({
  workflowId: "embed-js",
  step: { id: "recap", name: "recap", prompt, intent: "summarize", params, dependsOn: [], critical: false },
  intent: "summarize",
  params,
  context: "{}",
  memoryContext: "null",
  material: [piece("prompt", "prompt", prompt), piece("transcript", "param", transcript)],
  availablePlugins: [],
  routedModel: "canned-double",
  tokenBudget: 2000,
}); // a handler error is thrown as a ComponentError carrying the variant
console.log(JSON.stringify({ output: JSON.parse(output), llm_calls: calls }));
