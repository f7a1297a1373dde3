"""Structural diff of JSON values and the first divergence between two traces (pure).

The server imports `structural_diff` from here (replay's expected/actual diff, trace compare),
so a diff computed locally by `aos diff` reads exactly like the one the server returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MISSING = "<missing>"

# In the order replay checks a step (PRODUCT.md §4): skill, input hash, status, output hash.
STEP_CHECKS = (
    ("skill", "skill_mismatch"),
    ("input_hash", "input_mismatch"),
    ("status", "status_mismatch"),
    ("output_hash", "output_mismatch"),
)


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def structural_diff(a: Any, b: Any, path: str = "", limit: int = 200) -> list[dict[str, Any]]:
    """Differences between `a` and `b` as `[{"path", "a", "b"}]`, depth first, in key order.

    A key present on one side only is reported with `"<missing>"` on the other. At most `limit`
    entries are returned (a huge diff is not useful to a human and costs memory).
    """
    out: list[dict[str, Any]] = []
    _walk(a, b, path, out, limit)
    return out


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            _walk(a.get(key, MISSING), b.get(key, MISSING), _join(path, key), out, limit)
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            _walk(a[i] if i < len(a) else MISSING, b[i] if i < len(b) else MISSING, _join(path, i), out, limit)
        return
    # bool is an int in Python; JSON tells them apart, and so do we.
    if a != b or type(a) is not type(b):
        out.append({"path": path or "$", "a": a, "b": b})


@dataclass(frozen=True)
class Divergence:
    """The first step where two traces differ; `diff` is the structural diff of that step."""

    step_index: int
    reason: str
    a: Any
    b: Any
    diff: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"step_index": self.step_index, "reason": self.reason, "a": self.a, "b": self.b, "diff": self.diff}


@dataclass(frozen=True)
class TraceDiff:
    match: bool
    first_divergence: Divergence | None
    differences: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        first = self.first_divergence.to_json() if self.first_divergence else None
        return {"match": self.match, "first_divergence": first, "differences": self.differences}


def _step_view(step: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("skill", "params", "output", "status", "input_hash", "output_hash", "step_hash")
    return {k: step.get(k) for k in keys}


def comparable(trace: Mapping[str, Any]) -> dict[str, Any]:
    """What two traces are compared on (as the server's compare): hashed content, not audit fields."""
    return {
        "plan_hash": trace.get("plan_hash"),
        "seed": trace.get("seed"),
        "frozen_timestamp": trace.get("timestamp", trace.get("frozen_timestamp")),
        "status": trace.get("status"),
        "root_hash": trace.get("root_hash"),
        "steps": [_step_view(s) for s in trace.get("steps", [])],
    }


def first_divergence(a_steps: Sequence[Mapping[str, Any]], b_steps: Sequence[Mapping[str, Any]]) -> Divergence | None:
    for a, b in zip(a_steps, b_steps, strict=False):
        for key, reason in STEP_CHECKS:
            if a.get(key) != b.get(key):
                index = int(a.get("index", 0))
                return Divergence(index, reason, a.get(key), b.get(key), structural_diff(_step_view(a), _step_view(b)))
    if len(a_steps) != len(b_steps):
        return Divergence(min(len(a_steps), len(b_steps)), "step_count_mismatch", len(a_steps), len(b_steps))
    return None


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> TraceDiff:
    """Compares two trace dicts (file/ingest format or the server's detail): first divergence + diff."""
    differences = structural_diff(comparable(a), comparable(b))
    first = first_divergence(a.get("steps", []), b.get("steps", []))
    return TraceDiff(match=not differences, first_divergence=first, differences=differences)
