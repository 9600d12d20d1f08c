"""A whole workflow through the orchestrator component on wasmtime-py, every
import of its `orchestrator-core` world written in Python: the companion of
run_handler.py, one level up. Proof that the orchestrator, like the handlers,
is not tied to `pilot`.

The Python host provides WASI 0.2 from wasmtime and, in Python:
- `settings`: an in-memory dict (orchestration on; compression, routing and
  the LLM classification tier off, so the orchestrator makes no model call of
  its own);
- `audit`: appends every event to a list, printed at the end;
- `llm`: a canned test double, not a model: its answers are fixed strings
  (free text for a text request, a fixed JSON object for a JSON one), its
  provider says `canned-double`, its token counts are whitespace words;
- `agents`: knows no agent (no scores, no past usage);
- `handlers`: a registry of three shipped handler components (summarize,
  extract, transform) read from their `info()`, and `dispatch`, which runs
  the request's handler in a fresh wasmtime-py `Store` of its own, with its
  own Python `llm` (the same double, counted per dispatch) and fuel metering,
  as run_handler.py hosts one.

It drives the seed lifecycle on one `workflow-session`: the constructor
(`initialize`), `is-active`, `execute-step` per step (the orchestrator calls
`handlers.dispatch` from inside), `complete` and `get-metadata`; it prints one
JSON line per result, each with a `kind`. What it does not bring is the
embedder's contract `host-runner` carries (budgets enforced on `llm` calls,
pricing, deadlines, memory caps, the outbound allow-list...): see the
README's "Embedding".

    python3 examples/embed-python/run_workflow.py target/components/orchestrator.wasm target/components/handlers
"""

import json
import os
import sys
import time

from wasmtime import Config, Engine, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker, Record, Variant

PACKAGE = "workflowpilot:orchestration"
VERSION = "0.1.0"
HOSTED = ["summarize", "extract", "transform"]
HANDLER_FUEL = 2_000_000_000

TICKET = (
    "Subject: Charged twice for the Pro plan\nCustomer: Maria Gonzalez\nEmail: maria.gonzalez@example.com\n"
    "Account ID: ACC-88213\nAmount: 479.00\nPriority: high\n\nI upgraded to the Pro annual plan on March 3rd "
    "and my card was charged twice, $479.00 each (TXN-5521, TXN-5522). Please refund the duplicate."
)
FACTS_SCHEMA = {
    "type": "object",
    "required": ["customer", "email", "account_id", "amount", "priority"],
    "properties": {
        "customer": {"type": "string"},
        "email": {"type": "string"},
        "account_id": {"type": "string"},
        "amount": {"type": "number"},
        "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
    },
}
# The canned answers of the `llm` test double: fixed, whatever is asked.
CANNED_TEXT = ("[canned test double, not a model] Maria Gonzalez (ACC-88213) was charged twice, $479.00 each "
               "(TXN-5521, TXN-5522), for the Pro annual plan and asks for the duplicate to be refunded.")
CANNED_JSON = {"customer": "Maria Gonzalez", "email": "maria.gonzalez@example.com", "account_id": "ACC-88213",
               "amount": 479.0, "priority": "high"}

SETTINGS = {
    "orchestration_enabled": "true",
    "orchestration_compression_enabled": "false",
    "orchestration_ais_routing_enabled": "false",
    "orchestration_llm_classification_enabled": "false",
    "orchestration_budget_strategy": "proportional",
    "orchestration_max_tokens_per_workflow": "20000",
    "orchestration_default_model": "canned-double",
}


def record(**fields):
    """A WIT record: attributes named as in the WIT (kebab-case)."""
    value = Record()
    for name, field in fields.items():
        setattr(value, name.replace("_", "-"), field)
    return value


def plain(value):
    """A value lifted by wasmtime-py as JSON-ready Python: records to dicts
    (snake_case keys), variants to their tag, or `{tag: payload}`."""
    if isinstance(value, Record):
        return {name.replace("-", "_"): plain(field) for name, field in vars(value).items()}
    if isinstance(value, Variant):
        return value.tag if value.payload is None else {value.tag: plain(value.payload)}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def count_tokens(_store, text):
    # A stand-in for a real BPE: whitespace-separated words.
    return len(text.split())


class CannedLlm:
    """The `llm` import, a test double: canned answers, counted usage."""

    def __init__(self):
        self.calls = []

    def complete(self, _store, request):
        started = time.perf_counter()
        messages = [getattr(m, "content") for m in getattr(request, "messages")]
        # `response-format` is a variant with a payload-less case, so always a `Variant`.
        wants_json = getattr(request, "response-format").tag in ("json", "json-schema")
        text = json.dumps(CANNED_JSON) if wants_json else CANNED_TEXT
        usage = record(input=sum(count_tokens(None, m) for m in messages), output=count_tokens(None, text), total=0)
        usage.total = usage.input + usage.output
        self.calls.append({"format": getattr(request, "response-format").tag, "usage": usage,
                           "time_us": int((time.perf_counter() - started) * 1e6)})
        # `result<completion, llm-failure>`: a record and a variant, told apart by type,
        # so `ok` is the record itself (no `Variant("ok", ...)` wrapper).
        return record(text=text, model=getattr(request, "model") or "canned-double", provider="canned-double",
                      usage=usage, cost_usd=0.0, stop_reason="end_turn")

    def spent(self):
        total = lambda field: sum(getattr(c["usage"], field) for c in self.calls)
        return record(input=total("input"), output=total("output"), total=total("total"))

    def link(self, root):
        with root.add_instance(f"{PACKAGE}/llm@{VERSION}") as llm:
            llm.add_func("complete", self.complete)
            llm.add_func("count-tokens", count_tokens)


def export(instance, store, interface, func):
    scope = instance.get_export_index(store, f"{PACKAGE}/{interface}@{VERSION}")
    index = instance.get_export_index(store, func, scope)
    return instance.get_func(store, index)


class Handlers:
    """The `handlers` import: the registry, and `dispatch` into a fresh sandbox per request."""

    def __init__(self, engine, directory):
        self.engine = engine
        self.components = {}
        self.infos = {}
        for name in HOSTED:
            component = Component.from_file(engine, os.path.join(directory, f"{name}.wasm"))
            store, instance, _ = self.instantiate(component)
            info = export(instance, store, "handler", "info")(store)
            for intent in info.intents:
                self.components[intent] = component
                self.infos[intent] = info

    def instantiate(self, component):
        store = Store(self.engine)
        store.set_wasi(WasiConfig())
        store.set_fuel(HANDLER_FUEL)
        llm = CannedLlm()
        linker = Linker(self.engine)
        linker.add_wasip2()
        linker.add_wasi_http()
        with linker.root() as root:
            llm.link(root)
        # The handler's `audit`, `settings`, `database`, `plugins`: none of these three calls them.
        linker.define_unknown_imports_as_traps(component)
        return store, linker.instantiate(store, component), llm

    def registered_intents(self, _store):
        return sorted(self.infos)

    def control_params(self, _store, intent):
        info = self.infos.get(intent)
        return list(getattr(info, "control-params")) if info else []

    def intent_description(self, _store, intent):
        info = self.infos.get(intent)
        return info.description if info else None

    def dispatch(self, _store, request):
        # `result<dispatch-result, dispatch-failure>`: two records, which
        # wasmtime-py cannot tell apart by type, so here the case is spelled out.
        component = self.components.get(request.intent)
        if component is None:
            return Variant("err", failure(Variant("no-handler", request.intent), CannedLlm()))
        store, instance, llm = self.instantiate(component)
        execute = export(instance, store, "handler", "execute")
        try:
            output = execute(store, request)
            execute.post_return(store)
        except WasmtimeError as trap:  # a trap, fuel exhaustion included
            fuel_out = store.get_fuel() == 0
            error = Variant("fuel-exhausted", HANDLER_FUEL) if fuel_out else Variant("trapped", str(trap))
            return Variant("err", failure(error, llm))
        # `result<json, handler-error>`: a string is `ok`, a `Variant` the handler's error.
        if isinstance(output, Variant):
            return Variant("err", failure(Variant("handler", output), llm))
        info = self.infos[request.intent]
        return Variant("ok", record(
            output=output, handler=info.name, handler_version=info.version, usage=llm.spent(), cost_usd=0.0,
            model=getattr(request, "routed-model") if llm.calls else "", llm_calls=len(llm.calls),
            fuel_consumed=HANDLER_FUEL - store.get_fuel(), provider_time_us=sum(c["time_us"] for c in llm.calls),
        ))


def failure(error, llm):
    return record(error=error, usage=llm.spent(), cost_usd=0.0, llm_calls=len(llm.calls),
                  provider_time_us=sum(c["time_us"] for c in llm.calls))


events = []


def emit(_store, event):
    events.append(event)
    # `result<_, audit-error>`: `audit-error` (`not-granted`, `reserved(string)`) lowers
    # untagged as `None` or a str, which `ok`'s `None` collides with: so the result is tagged.
    return Variant("ok")


def workflow_step(id, name, prompt, intent, params, depends_on=()):
    return record(id=id, name=name, prompt=prompt, intent=intent, params=json.dumps(params),
                  depends_on=list(depends_on), critical=False)


def main(orchestrator_path, handlers_dir):
    config = Config()
    # Fuel is on engine-wide: the handlers' stores are metered, the orchestrator's gets fuel enough.
    config.consume_fuel = True
    engine = Engine(config)
    handlers = Handlers(engine, handlers_dir)
    llm = CannedLlm()  # the orchestrator's own model calls (none with these settings)

    store = Store(engine)
    store.set_wasi(WasiConfig())
    store.set_fuel(2**63 - 1)
    linker = Linker(engine)
    linker.add_wasip2()
    with linker.root() as root:
        with root.add_instance(f"{PACKAGE}/settings@{VERSION}") as settings:
            settings.add_func("get", lambda _s, key: SETTINGS.get(key))  # `option<string>`: `None` or the str
            settings.add_func("get-prefix", lambda _s, prefix: sorted(
                (k, v) for k, v in SETTINGS.items() if k.startswith(prefix)))
        with root.add_instance(f"{PACKAGE}/audit@{VERSION}") as audit:
            audit.add_func("emit", emit)
        llm.link(root)
        with root.add_instance(f"{PACKAGE}/agents@{VERSION}") as agents:
            agents.add_func("scores", lambda _s, agent_id: None)
            agents.add_func("usage-by-intent", lambda _s, agent_id: [])
            agents.add_func("record-run", lambda _s, agent_id, scores: None)
        with root.add_instance(f"{PACKAGE}/handlers@{VERSION}") as imports:
            imports.add_func("registered-intents", handlers.registered_intents)
            imports.add_func("control-params", handlers.control_params)
            imports.add_func("intent-description", handlers.intent_description)
            imports.add_func("dispatch", handlers.dispatch)
    instance = linker.instantiate(store, Component.from_file(engine, orchestrator_path))

    steps = [
        workflow_step("summary", "Summarize the ticket", f"Summarize this support ticket.\n\n{TICKET}",
                      "summarize", {"target_length": 60}),
        workflow_step("facts", "Extract ticket fields", f"Extract the customer and billing fields.\n\n{TICKET}",
                      "extract", {"schema": FACTS_SCHEMA}),
        workflow_step("helpdesk_record", "Shape the helpdesk record", "", "transform", {
            "input": "{{steps.facts.output}}",
            "mapping": {"requester": "/customer", "account": "/account_id", "priority": "/priority",
                        "queue": "billing"},
        }, depends_on=["facts"]),
    ]
    # A resource's functions are exports named `[constructor]R`, `[method]R.f`; the
    # constructor returns a `ResourceAny`, passed as `self` to every method.
    call = lambda func, *args: call_export(instance, store, func, *args)
    session = call("[constructor]workflow-session", "support-ticket-triage", "agent-support-01", "user-4711",
                   steps, "Summarize a support ticket, extract its facts, shape the helpdesk record.")
    print(json.dumps({"kind": "is_active", "value": call("[method]workflow-session.is-active", session)}))

    outputs = {}
    for step in steps:
        params = json.loads(step.params)
        if params.get("input") == "{{steps.facts.output}}":  # the host resolves templates
            params["input"] = outputs.get("facts")
        depends_on = getattr(step, "depends-on")
        # The context the host scopes to what the step reads (a fell-back step's output is null here).
        context = {"steps": {dep: outputs.get(dep) for dep in depends_on}} if depends_on \
            else {"inputs": {"ticket": TICKET}}
        step_input = record(step=step, params=json.dumps(params), context=json.dumps(context))
        # `option<step-result>`: the record, or `None` (run the step the normal way).
        result = call("[method]workflow-session.execute-step", session, step.id, step_input, "null", [])
        if result is None:
            print(json.dumps({"kind": "step", "step": step.id, "fell_back": True}))
            continue
        outputs[step.id] = json.loads(result.output)
        print(json.dumps({"kind": "step", "step": step.id, **plain(result), "output": outputs[step.id]}))

    metrics = call("[method]workflow-session.complete", session)
    print(json.dumps({"kind": "metrics", "value": plain(metrics)}))
    metadata = call("[method]workflow-session.get-metadata", session)
    print(json.dumps({"kind": "metadata", "value": plain(metadata)}))
    session.drop(store)

    # `event-type` is a variant: its tag, in the host's spelling (ORCHESTRATION_STEP_EXECUTED).
    audit_line = [{"event_type": getattr(e, "event-type").tag.replace("-", "_").upper(), "severity": e.severity,
                   "step_id": getattr(e, "step-id"), "metadata": json.loads(e.metadata)} for e in events]
    print(json.dumps({"kind": "audit", "events": audit_line}))
    print(json.dumps({"kind": "llm", "orchestrator_calls": len(llm.calls)}))


def call_export(instance, store, name, *args):
    func = export(instance, store, "orchestrator", name)
    result = func(store, *args)
    func.post_return(store)
    return result


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
