#!/usr/bin/env python3
"""Validate the free-style corpus (bench/corpus/free/*.json) and print counts.

Usage: python3 bench/corpus/free/check.py [DIR] [--minimums FILES,STEPS,STEPS_WITH_DATA_FACTS]

The minimums (default 26,104,90) are the free split's size; a smaller
split (bench/corpus/heldout2) passes its own, e.g. `--minimums 12,50,45`.

Exits non-zero and prints `file: step: problem` lines on any violation.
Standard library only.
"""
import collections
import glob
import json
import os
import re
import sys

INTENTS = ["extract", "summarize", "generate", "validate", "send", "transform",
           "conditional", "aggregate", "filter", "enrich", "classify"]
TIERS = ["fast", "balanced", "powerful"]
PLUGINS = {"slack", "email", "crm", "webhook"}
TOP_KEYS = {"id", "name", "description", "agent_id", "user_id", "inputs",
            "memory_context", "available_plugins", "steps"}
TOP_REQUIRED = TOP_KEYS - {"memory_context"}
MEMORY_KEYS = {"user_context", "recent_runs"}
STEP_KEYS = {"id", "name", "prompt", "intent", "params", "depends_on", "critical", "labels"}
LABEL_KEYS = {"intent", "tier", "key_facts", "data_facts"}
# Parameter names of the intent handlers' contracts: the free style never uses them.
FORBIDDEN_PARAMS = {"schema", "target_length", "style", "type", "max_words", "data", "rules",
                    "plugin", "channel", "to", "message", "input", "mapping", "drop_empty",
                    "sort_by", "limit", "condition", "question", "then", "else", "branches",
                    "group_by", "operations", "where", "match", "criteria", "source", "key",
                    "fields", "labels", "select", "rename"}
FILE_RE = re.compile(r"^\d\d-[a-z0-9]+(-[a-z0-9]+)*\.json$")
MIN_FILES, MIN_STEPS, MIN_STEPS_WITH_DATA_FACTS = 26, 104, 90
STEPS_PER_FILE = (3, 6)
FACT_LEN = (4, 40)
MAX_KEY_FACTS, MAX_DATA_FACTS = 3, 4


def spans(text):
    """(expression, error) for every {{...}} in text."""
    out, pos = [], 0
    while True:
        i = text.find("{{", pos)
        if i < 0:
            return out, None
        j = text.find("}}", i)
        if j < 0:
            return out, "unclosed `{{` at byte %d" % i
        out.append(text[i + 2:j].strip())
        pos = j + 2


def parse_ref(expr):
    """('input', KEY) or ('steps', ID), or (None, error)."""
    parts = [p.strip() for p in expr.split(".")]
    if any(not p for p in parts):
        return None, "malformed template `{{%s}}`" % expr
    if len(parts) == 2 and parts[0] == "input":
        return ("input", parts[1]), None
    if len(parts) == 3 and parts[0] == "steps" and parts[2] == "output":
        return ("steps", parts[1]), None
    if len(parts) > 3 and parts[0] == "steps" and parts[2] == "output":
        return None, "`{{%s}}` reads a field of an output; use the whole `{{steps.ID.output}}`" % expr
    return None, "unknown template `{{%s}}`: use {{input.KEY}} or {{steps.ID.output}}" % expr


def leaves(value):
    """Every scalar leaf of a JSON value."""
    if isinstance(value, list):
        for v in value:
            yield from leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    else:
        yield value


def strings_in(value):
    """Every string leaf of a JSON value."""
    return (v for v in leaves(value) if isinstance(v, str))


def dumps_variants(value):
    """The texts a value can appear as once rendered."""
    if isinstance(value, str):
        return [value]
    out = []
    for ascii_ in (True, False):
        out.append(json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_))
        out.append(json.dumps(value, ensure_ascii=ascii_))
        out.append(json.dumps(value, indent=2, ensure_ascii=ascii_))
    return out


TEMPLATE_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def render(text, inputs):
    """Substitute {{input.K}} (strings as-is, others as compact JSON); drop step outputs."""
    def sub(m):
        ref, _ = parse_ref(m.group(1))
        if ref and ref[0] == "input" and ref[1] in inputs:
            v = inputs[ref[1]]
            return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)
        return ""
    return TEMPLATE_RE.sub(sub, text)


def render_value(value, inputs):
    if isinstance(value, str):
        exprs, _ = spans(value)
        whole = TEMPLATE_RE.fullmatch(value)
        if whole and len(exprs) == 1:
            ref, _ = parse_ref(whole.group(1))
            if ref and ref[0] == "input" and ref[1] in inputs:
                return inputs[ref[1]]
            return ""
        return render(value, inputs)
    if isinstance(value, list):
        return [render_value(v, inputs) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, inputs) for k, v in value.items()}
    return value


def check_file(path, problems, stats):
    fname = os.path.basename(path)

    def bad(step, msg):
        problems.append("%s: %s: %s" % (fname, step, msg))

    if not FILE_RE.match(fname):
        bad("-", "file name is not NN-short-name.json")
    try:
        with open(path, encoding="utf-8") as f:
            wf = json.load(f)
    except (OSError, ValueError) as e:
        bad("-", "does not parse: %s" % e)
        return
    if not isinstance(wf, dict):
        bad("-", "top level is not an object")
        return
    for k in sorted(set(wf) - TOP_KEYS):
        bad("-", "unknown top-level key `%s`" % k)
    for k in sorted(TOP_REQUIRED - set(wf)):
        bad("-", "missing top-level key `%s`" % k)
    for k in ("id", "name", "description", "agent_id", "user_id"):
        if k in wf and (not isinstance(wf[k], str) or not wf[k].strip()):
            bad("-", "`%s` must be a non-empty string" % k)
    inputs = wf.get("inputs", {})
    if not isinstance(inputs, dict):
        bad("-", "`inputs` must be an object")
        inputs = {}
    mem = wf.get("memory_context")
    if mem is not None:
        if not isinstance(mem, dict):
            bad("-", "`memory_context` must be an object")
        else:
            for k in sorted(set(mem) - MEMORY_KEYS):
                bad("-", "unknown memory_context key `%s`" % k)
            runs = mem.get("recent_runs", [])
            if not isinstance(runs, list) or len(runs) > 2:
                bad("-", "`recent_runs` must be a list of at most 2 runs")
    plugins = wf.get("available_plugins", [])
    if not isinstance(plugins, list) or any(p not in PLUGINS for p in plugins):
        bad("-", "available_plugins must only name %s" % ", ".join(sorted(PLUGINS)))
    steps = wf.get("steps", [])
    if not isinstance(steps, list) or not steps:
        bad("-", "`steps` must be a non-empty list")
        return
    if not STEPS_PER_FILE[0] <= len(steps) <= STEPS_PER_FILE[1]:
        bad("-", "%d steps (want %d-%d)" % (len(steps), *STEPS_PER_FILE))

    ids, deps = [], {}
    for i, s in enumerate(steps):
        if not isinstance(s, dict) or not isinstance(s.get("id"), str) or not s["id"].strip():
            bad("steps[%d]" % i, "step without a string `id`")
            return
        if s["id"] in deps:
            bad(s["id"], "duplicate step id")
        ids.append(s["id"])
        d = s.get("depends_on", [])
        if not isinstance(d, list) or not all(isinstance(x, str) for x in d):
            bad(s["id"], "`depends_on` must be a list of step ids")
            d = []
        deps[s["id"]] = d
    for sid, d in deps.items():
        for x in d:
            if x not in deps:
                bad(sid, "depends on unknown step `%s`" % x)

    def ancestors(sid):
        seen, todo = set(), list(deps.get(sid, []))
        while todo:
            x = todo.pop()
            if x in seen or x not in deps:
                continue
            seen.add(x)
            todo.extend(deps[x])
        return seen

    for sid in ids:
        if sid in ancestors(sid):
            bad(sid, "dependency cycle")

    stats["files"] += 1
    for s in steps:
        sid = s["id"]
        stats["steps"] += 1
        for k in sorted(set(s) - STEP_KEYS):
            bad(sid, "unknown step key `%s`" % k)
        prompt = s.get("prompt", "")
        if not isinstance(prompt, str):
            bad(sid, "`prompt` must be a string")
            prompt = ""
        intent = s.get("intent")
        if intent is not None and intent not in INTENTS:
            bad(sid, "unknown intent `%s`" % intent)
        if not prompt.strip() and intent is None:
            bad(sid, "`prompt` is required unless the step sets `intent`")
        if "critical" in s and not isinstance(s["critical"], bool):
            bad(sid, "`critical` must be a boolean")
        params = s.get("params", {})
        if not isinstance(params, dict):
            bad(sid, "`params` must be an object")
            params = {}
        for k in sorted(set(params) & FORBIDDEN_PARAMS):
            bad(sid, "params key `%s` is a handler-contract key (not free style)" % k)

        # templates
        texts = [("prompt", prompt)] + [("params", t) for t in strings_in(params)]
        refs, anc = [], ancestors(sid)
        for where, text in texts:
            exprs, err = spans(text)
            if err:
                bad(sid, "%s: %s" % (where, err))
            if exprs and where == "prompt":
                bad(sid, "prompt contains a template; the free style keeps data in params")
            for e in exprs:
                ref, err = parse_ref(e)
                if err:
                    bad(sid, "%s: %s" % (where, err))
                    continue
                refs.append(ref)
                if ref[0] == "input" and ref[1] not in inputs:
                    bad(sid, "%s: `{{input.%s}}` names no workflow input" % (where, ref[1]))
                if ref[0] == "steps" and ref[1] not in anc:
                    bad(sid, "%s: reads `%s` but does not depend on it" % (where, ref[1]))

        # labels
        labels = s.get("labels")
        if not isinstance(labels, dict):
            bad(sid, "missing `labels`")
            continue
        for k in sorted(set(labels) - LABEL_KEYS):
            bad(sid, "unknown labels key `%s`" % k)
        li, lt = labels.get("intent"), labels.get("tier")
        if li not in INTENTS:
            bad(sid, "labels.intent `%s` is not one of the 11 intents" % li)
        if lt not in TIERS:
            bad(sid, "labels.tier `%s` is not fast/balanced/powerful" % lt)
        if intent is not None and intent != li:
            bad(sid, "step intent `%s` differs from labels.intent `%s`" % (intent, li))
        stats["intent"][li] += 1
        stats["tier"][lt] += 1
        stats["cell"][(li, lt)] += 1
        if intent is not None:
            stats["explicit_with_prompt" if prompt.strip() else "explicit_no_prompt"] += 1
        kf = labels.get("key_facts", [])
        dfs = labels.get("data_facts", [])
        if not isinstance(kf, list) or not all(isinstance(x, str) for x in kf):
            bad(sid, "key_facts must be a list of strings")
            kf = []
        if not isinstance(dfs, list) or not all(isinstance(x, str) for x in dfs):
            bad(sid, "data_facts must be a list of strings")
            dfs = []
        if len(kf) > MAX_KEY_FACTS:
            bad(sid, "more than %d key_facts" % MAX_KEY_FACTS)
        if len(dfs) > MAX_DATA_FACTS:
            bad(sid, "more than %d data_facts" % MAX_DATA_FACTS)
        for fact in kf:
            if fact not in prompt:
                bad(sid, "key_fact %r is not in the prompt" % fact)

        # what the step sees: literal params (inputs resolved), and the inputs
        # its templates name; every input when it has no template at all.
        visible = []
        rendered = render_value(params, inputs)
        visible += list(strings_in(rendered))
        visible += [str(v) for v in _scalars(rendered)]
        visible += dumps_variants(rendered)
        named = {r[1] for r in refs if r[0] == "input"}
        seen_inputs = list(inputs) if not refs else sorted(named & set(inputs))
        for k in seen_inputs:
            visible += dumps_variants(inputs[k])
        for fact in dfs:
            if not FACT_LEN[0] <= len(fact) <= FACT_LEN[1]:
                bad(sid, "data_fact %r is not %d-%d characters" % (fact, *FACT_LEN))
            if fact in prompt:
                bad(sid, "data_fact %r occurs in the prompt" % fact)
            if not any(fact in v for v in visible):
                bad(sid, "data_fact %r is not in the data the step sees (params literals, %s)" % (
                    fact, "all inputs" if not refs else "inputs " + (", ".join(seen_inputs) or "none")))
        if dfs:
            stats["with_data_facts"] += 1
            stats["data_facts"] += len(dfs)
        stats["key_facts"] += len(kf)


def _scalars(value):
    """Every number leaf of a JSON value."""
    return (v for v in leaves(value) if isinstance(v, (int, float)) and not isinstance(v, bool))


def main():
    global MIN_FILES, MIN_STEPS, MIN_STEPS_WITH_DATA_FACTS
    args = sys.argv[1:]
    if "--minimums" in args:
        at = args.index("--minimums")
        try:
            MIN_FILES, MIN_STEPS, MIN_STEPS_WITH_DATA_FACTS = (int(n) for n in args[at + 1].split(","))
        except (IndexError, ValueError):
            sys.exit("--minimums takes three numbers: FILES,STEPS,STEPS_WITH_DATA_FACTS")
        del args[at:at + 2]
    root = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    files = sorted(glob.glob(os.path.join(root, "*.json")))
    problems = []
    stats = {"files": 0, "steps": 0, "intent": collections.Counter(), "tier": collections.Counter(),
             "cell": collections.Counter(), "with_data_facts": 0, "data_facts": 0, "key_facts": 0,
             "explicit_with_prompt": 0, "explicit_no_prompt": 0}
    for path in files:
        check_file(path, problems, stats)
    if stats["files"] < MIN_FILES:
        problems.append("-: -: %d workflow files (want at least %d)" % (stats["files"], MIN_FILES))
    if stats["steps"] < MIN_STEPS:
        problems.append("-: -: %d steps (want at least %d)" % (stats["steps"], MIN_STEPS))
    if stats["with_data_facts"] < MIN_STEPS_WITH_DATA_FACTS:
        problems.append("-: -: %d steps carry data facts (want at least %d)" % (
            stats["with_data_facts"], MIN_STEPS_WITH_DATA_FACTS))

    n = stats["steps"] or 1
    print("files: %d  steps: %d" % (stats["files"], stats["steps"]))
    print("%-12s %5s %5s %9s %9s" % ("intent", "steps", "fast", "balanced", "powerful"))
    for i in INTENTS:
        print("%-12s %5d %5d %9d %9d" % (i, stats["intent"][i], stats["cell"][(i, "fast")],
                                          stats["cell"][(i, "balanced")], stats["cell"][(i, "powerful")]))
    print("%-12s %5d %5d %9d %9d" % ("total", stats["steps"], stats["tier"]["fast"],
                                      stats["tier"]["balanced"], stats["tier"]["powerful"]))
    print("tiers: " + ", ".join("%s %d (%.0f%%)" % (t, stats["tier"][t], 100.0 * stats["tier"][t] / n)
                                for t in TIERS))
    print("explicit intent: %d with a prompt, %d without" % (stats["explicit_with_prompt"],
                                                             stats["explicit_no_prompt"]))
    print("steps with data facts: %d  data facts: %d  key facts: %d" % (
        stats["with_data_facts"], stats["data_facts"], stats["key_facts"]))
    if problems:
        print("\n%d problem(s):" % len(problems), file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
