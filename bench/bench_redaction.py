"""Redaction time against input size (printed, not asserted). Pure Python, no database.

    .venv/bin/python bench/bench_redaction.py [--max-kib 5120] [--baseline-max-kib 32]

For each size from 1 KiB to 5 MiB, `traces.redaction.redact` of an ingest-shaped input
`{"note": <text>}`, for three texts:
- `a.` repeated (the issue 21 input: every `a` starts at a word boundary, which made the old
  email pattern retry from each one: quadratic),
- ordinary log-like prose with an email, a bearer token and a card number every ~500 bytes,
- `eyJ-` repeated (the JWT pattern's worst case before it was bounded).
Time per KiB should stay flat (linear). The old email pattern (as it was before issue 21) runs
alone on the `a.` text in the same run as a baseline, for the smaller sizes only (it grows with
the square of the size: 64 KiB already takes tens of seconds).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from traces.redaction import redact  # noqa: E402

OLD_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
PROSE = (
    "2026-12-01T10:00:00Z worker-3 GET /api/v1/items?page=2 took 41 ms for tenant acme; "
    "user alice.smith+ops@example.co.uk retried with Authorization: Bearer abc.DEF-123_xyz "
    "and paid with 4111 1111 1111 1111 before the cache warmed up again. "
)
TEXTS = {"a.": "a.", "prose": PROSE, "eyJ-": "eyJ-"}


def text_of(kind: str, size: int) -> str:
    unit = TEXTS[kind]
    return (unit * (size // len(unit) + 1))[:size]


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-kib", type=int, default=5120)
    parser.add_argument("--baseline-max-kib", type=int, default=16)
    args = parser.parse_args()
    sizes = []
    kib = 1
    while kib <= args.max_kib:
        sizes.append(kib)
        kib *= 4 if kib < 1024 else 5
    print(f"| KiB | {' | '.join(f'{k} ms | {k} µs/KiB' for k in TEXTS)} | old email on a. ms | old µs/KiB | old/new |")
    print("|---" * (1 + 2 * len(TEXTS) + 3) + "|")
    for kib in sizes:
        cells, seconds_by_kind = [], {}
        for kind in TEXTS:
            seconds = seconds_by_kind[kind] = timed(redact, {"note": text_of(kind, kib * 1024)})
            cells += [f"{seconds * 1000:.1f}", f"{seconds * 1e6 / kib:.0f}"]
        if kib <= args.baseline_max_kib:
            old = timed(OLD_EMAIL.search, text_of("a.", kib * 1024))  # one pattern alone, not all of them
            cells += [f"{old * 1000:.1f}", f"{old * 1e6 / kib:.0f}", f"{old / seconds_by_kind['a.']:.0f}x"]
        else:
            cells += ["–", "–", "–"]
        print(f"| {kib} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
