#!/usr/bin/env python3
"""Fills a pilot.db (SQLite) with synthetic finished runs, to time `pilot report`
and the console's rollout page at scale. The rows are made up, not measured:
use them for timings only, never for savings.

    pilot --db /tmp/big.db flags list > /dev/null   # creates the tables
    scripts/synthetic-cohort-rows.py /tmp/big.db 20000
    farm-bench -n 9 -- pilot --db /tmp/big.db report --since 7d --json
"""
import datetime
import json
import random
import sqlite3
import sys
import uuid

INTENTS = ["summarize", "extract", "transform", "classify"]


def main(path: str, runs: int) -> None:
    random.seed(7)
    db = sqlite3.connect(path)
    now = datetime.datetime.now(datetime.timezone.utc)
    executions, usage = [], []
    for _ in range(runs):
        run = str(uuid.uuid4())
        started = now - datetime.timedelta(seconds=random.uniform(0, 6.9 * 86_400))
        started = started.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        workflow, agent = f"wf-{random.randrange(200)}", f"agent-{random.randrange(12):02d}"
        orchestrated = random.random() < 0.5
        scope = "percent" if orchestrated else "outside_percent"
        executions.append((run, workflow, agent, "user", "r", "completed", started, started, started, int(orchestrated), scope))
        for step in range(3):
            tokens = random.randint(100, 400) if orchestrated else random.randint(400, 900)
            info = {
                "orchestration": orchestrated,
                "path": "orchestrated" if orchestrated else "fallback",
                "intent": random.choice(INTENTS),
                "time_ms": random.uniform(800, 2_500),
                "model": "synthetic",
                "provider": "synthetic",
            }
            usage.append((agent, "user", run, f"s{step}", tokens, tokens * 3e-6, json.dumps(info)))
        if orchestrated:
            info = {"orchestration": True, "path": "orchestrator", "calls": 1}
            usage.append((agent, "user", run, None, 50, 50e-6, json.dumps(info)))
    db.executemany(
        "INSERT INTO executions (id, workflow_id, agent_id, user_id, replica, state, started_at, ended_at,"
        " heartbeat_at, orchestrated, flag_scope) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        executions,
    )
    db.executemany(
        "INSERT INTO token_usage (agent_id, user_id, execution_id, step_id, tokens_used, cost, model_info)"
        " VALUES (?,?,?,?,?,?,?)",
        usage,
    )
    db.commit()
    print(f"{len(executions)} runs, {len(usage)} usage rows in {path}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        sys.exit("usage: synthetic-cohort-rows.py PILOT_DB RUNS")
    main(sys.argv[1], int(sys.argv[2]))
