"""Replay comparison (PRODUCT.md §4): the first divergence between a recorded run and its replay. Pure."""

from __future__ import annotations

from typing import Any

from aos_sdk import hashing
from runtime.engine import RecordedStep, StepRun
from traces.diff import structural_diff


def _divergence(index: int, reason: str, expected_hash: str, actual_hash: str, expected: Any, actual: Any):
    return {
        "step_index": index,
        "reason": reason,
        "expected_hash": expected_hash,
        "actual_hash": actual_hash,
        "expected": expected,
        "actual": actual,
        "diff": structural_diff(expected, actual),
    }


def compare(
    recorded: list[RecordedStep],
    replayed: list[StepRun],
    behaviours: list[str],
    *,
    recorded_root: str,
    replay_root: str,
) -> dict[str, Any] | None:
    """The first divergence: per step skill, input hash, status, then output hash (check steps;
    for skip steps the recorded output is checked against its stored hash)."""
    for exp, act in zip(recorded, replayed, strict=False):
        i = exp.index
        if exp.skill_id != act.skill_id:
            return _divergence(i, "skill_mismatch", exp.step_hash, act.step_hash, exp.skill_id, act.skill_id)
        if exp.input_hash != act.input_hash:
            return _divergence(i, "input_mismatch", exp.input_hash, act.input_hash, exp.params, act.params)
        if exp.status != act.status:
            expected = {"status": exp.status, "error_code": exp.error_code}
            actual = {"status": act.status, "error_code": act.error_code}
            return _divergence(i, "status_mismatch", exp.step_hash, act.step_hash, expected, actual)
        # The server recomputes hashes: a stored output edited after the fact no longer matches.
        recorded_hash = hashing.output_hash(exp.output)
        behaviour = behaviours[i] if i < len(behaviours) else "check"
        if behaviour == "check" and recorded_hash != act.output_hash:
            return _divergence(i, "output_mismatch", recorded_hash, act.output_hash, exp.output, act.output)
        if behaviour == "skip" and recorded_hash != exp.output_hash:
            return _divergence(i, "output_mismatch", exp.output_hash, recorded_hash, exp.output, act.output)
    if len(recorded) != len(replayed):
        index = min(len(recorded), len(replayed))
        return _divergence(index, "step_count_mismatch", recorded_root, replay_root, len(recorded), len(replayed))
    return None
