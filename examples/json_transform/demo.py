"""A fixed users document → the active users' contacts, with `json_transform` (pure, replayable).

`--check-determinism` runs the plan twice with the same seed and frozen timestamp and compares the
two root hashes. Uses only the SDK. Exit 0 on success, 1 when the runs differ or fail, 2 on an API error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from aos_sdk import AOSClient, AOSError
from aos_sdk.models import Run

USERS = {
    "users": [
        {"id": 1, "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0001", "active": True},
        {"id": 2, "name": "Charles Babbage", "email": "charles@example.com", "phone": None, "active": False},
        {"id": 3, "name": "Grace Hopper", "email": "grace@example.com", "phone": "+1 202 555 0103", "active": True},
        {"id": 4, "name": "Alan Turing", "email": "alan@example.com", "phone": "+44 161 555 0104", "active": True},
    ]
}

PLAN: list[dict[str, Any]] = [
    {"skill": "json_transform", "params": {"payload": "{{ input }}", "query": "users[?active]"}},
    {
        "skill": "json_transform",
        "params": {"payload": "{{ steps[0].output }}", "query": "[].{name: name, email: email, phone: phone}"},
    },
    {
        "skill": "json_transform",
        "params": {
            "payload": {"contacts": "{{ steps[1].output }}"},
            "mapping": {"count": "length(contacts)", "contacts": "contacts"},
        },
    },
]
SEED = 7
TIMESTAMP = "2025-01-01T00:00:00Z"


def counted(n: int, one: str, many: str) -> str:
    """`1 step`, `2 steps`."""
    return f"{n} {one if n == 1 else many}"


def steps_table(run: Run, first: int = 3) -> Table:
    shown = min(first, len(run.steps))
    table = Table(title=f"trace {run.trace_id}: first {counted(shown, 'step', 'steps')}")
    for column in ("#", "skill", "status", "input_hash", "output_hash", "output"):
        table.add_column(column)
    for step in run.steps[:first]:
        text = json.dumps(step.output, separators=(",", ":"))
        table.add_row(
            str(step.index),
            step.skill,
            step.status,
            step.input_hash[:12],
            step.output_hash[:12],
            text if len(text) <= 60 else text[:59] + "…",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("AOS_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("AOS_API_KEY"))
    parser.add_argument("--check-determinism", action="store_true", help="Run twice and compare root hashes.")
    args = parser.parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)

    with AOSClient(args.base_url, api_key=args.api_key) as aos:
        try:
            run = aos.run(PLAN, input=USERS, seed=SEED, timestamp=TIMESTAMP, agent_id="demo-json-transform")
            if run.status != "succeeded":
                print(f"OUTCOME json_transform: failed, run ended {run.status} ({run.error_code})")
                return 1
            result = run.steps[-1].output
            console.print(steps_table(run))
            print(f"active contacts ({result['count']}): " + ", ".join(c["name"] for c in result["contacts"]))
            print(f"run {run.run_id} root_hash {run.root_hash}")
            deterministic = ""
            if args.check_determinism:
                again = aos.run(PLAN, input=USERS, seed=SEED, timestamp=TIMESTAMP, agent_id="demo-json-transform")
                same = again.root_hash == run.root_hash
                print(f"second run {again.run_id} root_hash {again.root_hash}: {'identical' if same else 'DIFFERENT'}")
                if not same:
                    print("OUTCOME json_transform: failed, the two runs' root hashes differ")
                    return 1
                deterministic = " deterministic=true"
        except AOSError as exc:
            print(f"OUTCOME json_transform: error, {exc}")
            return 2
    print(f"OUTCOME json_transform: ok contacts={result['count']}{deterministic} root_hash={run.root_hash}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
