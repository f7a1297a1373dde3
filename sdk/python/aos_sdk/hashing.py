"""Canonical JSON and content hashes (PRODUCT.md §3).

This is the one implementation: the server imports it from here, so server and SDK agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import rfc8785

STEP_STATUSES = ("succeeded", "failed", "skipped")


def canonical(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    return rfc8785.dumps(value)


def H(value: Any) -> str:  # noqa: N802 - the spec's name
    """Lower-case hex SHA-256 of the canonical form (64 chars, never truncated)."""
    return hashlib.sha256(canonical(value)).hexdigest()


def normalise_plan(plan: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each step exactly as given, plus ``"params": {}`` when missing."""
    normalised = []
    for step in plan:
        step = dict(step)
        step.setdefault("params", {})
        normalised.append(step)
    return normalised


def plan_hash(plan: Sequence[Mapping[str, Any]]) -> str:
    return H(normalise_plan(plan))


def input_hash(resolved_params: Any) -> str:
    return H(resolved_params)


def output_hash(output: Any) -> str:
    return H(output)


def step_hash(*, index: int, skill: str, input_hash: str, output_hash: str, status: str) -> str:
    if status not in STEP_STATUSES:
        raise ValueError(f"status must be one of {STEP_STATUSES}, not {status!r}")
    return H(
        {
            "index": index,
            "skill": skill,
            "input_hash": input_hash,
            "output_hash": output_hash,
            "status": status,
        }
    )


def root_zero(*, plan_hash: str, seed: int, timestamp: str) -> str:
    return H({"plan_hash": plan_hash, "seed": seed, "timestamp": timestamp})


def root_next(prev: str, step_hash: str) -> str:
    return H({"prev": prev, "step": step_hash})


def root_hash(*, plan_hash: str, seed: int, timestamp: str, step_hashes: Iterable[str]) -> str:
    """The chained root: root_0 folded with every step hash in order."""
    root = root_zero(plan_hash=plan_hash, seed=seed, timestamp=timestamp)
    for sh in step_hashes:
        root = root_next(root, sh)
    return root
