"""Cost of masking secret values in step outputs (printed, not asserted). No database.

    .venv/bin/python bench/bench_secrets.py [--steps 50] [--kib 64] [--repeat 5]

Runs the pure engine (`runtime.engine.execute`) over a plan of json_transform steps whose outputs
are `--kib` KiB of JSON text each, three ways in the same run: no secrets (the baseline), a masker
holding one value that never occurs, and one that occurs in every output. Prints the median wall
time of each and its ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")

import django  # noqa: E402

django.setup()

from runtime import engine  # noqa: E402
from vault.masking import Masker  # noqa: E402

VALUE = "bench-secret-Zq81/val+ue"
TS = "2025-01-01T00:00:00Z"


class FixedSecrets:
    """What RunSecrets offers the engine, without the database."""

    def __init__(self, values: list[str]) -> None:
        self.masker = Masker(values)

    def value(self, name: str) -> str:
        return VALUE

    def mask(self, value):
        return self.masker.mask(value)


def plan(steps: int, kib: int, leak: bool) -> list[dict]:
    words = ["alpha", "beta", "dG9rZW4tYmFzZTY0", "https://api.example.com/x?y=1"] + ([VALUE] if leak else [])
    payload = {f"k{i}": " ".join(words * 4) for i in range(kib * 1024 // (len(" ".join(words * 4)) + 8))}
    return [{"skill": "json_transform", "params": {"payload": payload, "query": "@"}} for _ in range(steps)]


def timed(steps: list[dict], secrets, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine.execute(steps, run_input=None, seed=1, timestamp=TS, budget_cents=None, secrets=secrets)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--kib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    clean, leaky = plan(args.steps, args.kib, False), plan(args.steps, args.kib, True)
    baseline = timed(clean, None, args.repeat)
    absent = timed(clean, FixedSecrets([VALUE]), args.repeat)
    present = timed(leaky, FixedSecrets([VALUE]), args.repeat)
    print(f"{args.steps} steps x {args.kib} KiB output, median of {args.repeat}:")
    print(f"  no secrets (baseline)      {baseline * 1000:8.1f} ms")
    print(f"  masker, value absent       {absent * 1000:8.1f} ms  ({absent / baseline:.2f}x)")
    print(f"  masker, value in outputs   {present * 1000:8.1f} ms  ({present / baseline:.2f}x)")


if __name__ == "__main__":
    main()
