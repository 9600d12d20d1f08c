"""A second host: runs a shipped handler component with wasmtime-py (PyPI
`wasmtime`, whose `wasmtime.component` API loads components), the imports
implemented in Python. Proof that the components are not tied to `pilot`:
any wasmtime host that provides the world's imports can run them.

It provides WASI 0.2 and wasi:http from wasmtime, and `llm` (complete,
count-tokens) in Python, answering from a canned reply (a test double, not a
model); every other import of the `intent-handler` world traps if called
(the summarize handler never calls them). What it does not bring is the
embedder's contract `host-runner` carries (budgets, pricing, fuel, the
outbound allow-list...): see the README's "Embedding".

    python3 examples/embed-python/run_handler.py target/components/handlers/summarize.wasm
"""

import json
import sys

from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record, Variant

PACKAGE = "workflowpilot:orchestration"
VERSION = "0.1.0"
CANNED = "Dana asked for a refund on ORD-4411; the agent offered a 50% credit, which she accepted."


def record(**fields):
    """A WIT record: attributes named as in the WIT (kebab-case)."""
    value = Record()
    for name, field in fields.items():
        setattr(value, name.replace("_", "-"), field)
    return value


def count_tokens(_store, text):
    # A stand-in for a real BPE: whitespace-separated words.
    return len(text.split())


calls = []


def complete(_store, request):
    messages = [getattr(m, "content") for m in getattr(request, "messages")]
    calls.append({"system": getattr(request, "system"), "messages": messages})
    usage = record(input=sum(count_tokens(None, m) for m in messages), output=count_tokens(None, CANNED), total=0)
    usage.total = usage.input + usage.output
    completion = record(
        text=CANNED,
        model=getattr(request, "model") or "canned-double",
        provider="embed-python",
        usage=usage,
        cost_usd=0.0,
        stop_reason="end_turn",
    )
    # `result<completion, llm-failure>`: wasmtime-py tells the cases apart by
    # type (a record, a variant), so `ok` is the record itself.
    return completion


def step_request(prompt, transcript):
    piece = lambda name, source, content: record(
        name=name, source=source, format="text", content=content,
        tokens=count_tokens(None, content), original_tokens=count_tokens(None, content), compressed=False,
    )
    params = json.dumps({"transcript": transcript})
    step = record(id="recap", name="recap", prompt=prompt, intent="summarize", params=params,
                  depends_on=[], critical=False)
    return record(
        workflow_id="embed-python", step=step, intent="summarize", params=params, context="{}",
        memory_context="null",
        material=[piece("prompt", "prompt", prompt), piece("transcript", "param", transcript)],
        available_plugins=[], routed_model="canned-double", token_budget=2000,
    )


def export(instance, store, interface, func):
    scope = instance.get_export_index(store, f"{PACKAGE}/{interface}@{VERSION}")
    index = instance.get_export_index(store, func, scope)
    return instance.get_func(store, index)


def main(path):
    engine = Engine()
    store = Store(engine)
    store.set_wasi(WasiConfig())
    linker = Linker(engine)
    linker.add_wasip2()
    linker.add_wasi_http()
    with linker.root() as root:
        with root.add_instance(f"{PACKAGE}/llm@{VERSION}") as llm:
            llm.add_func("complete", complete)
            llm.add_func("count-tokens", count_tokens)
    component = Component.from_file(engine, path)
    linker.define_unknown_imports_as_traps(component)
    instance = linker.instantiate(store, component)

    info = export(instance, store, "handler", "info")(store)
    print(json.dumps({"name": info.name, "version": info.version, "intents": info.intents}))
    execute = export(instance, store, "handler", "execute")
    result = execute(store, step_request("Summarize the call for the account team.",
                                         "Dana: I want a refund for ORD-4411. Agent: I can offer a 50% credit."))
    execute.post_return(store)
    # `result<json, handler-error>`: a string is `ok`, a variant the handler's error.
    if isinstance(result, Variant):
        sys.exit(f"execute failed: {result.tag}: {result.payload}")
    print(json.dumps({"output": json.loads(result), "llm_calls": calls}))


if __name__ == "__main__":
    main(sys.argv[1])
