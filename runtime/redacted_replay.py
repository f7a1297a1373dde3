"""Which steps of an ingested, redacted trace a replay serves instead of re-executing (PRODUCT.md §5, §13).

Ingest stores redacted content with the hashes of the original, so such a step cannot be re-run
(its params hold `[REDACTED]`, not the credential) nor have its stored output re-hashed. It is
served from the recording with its recorded hashes, and the replay result lists it.
"""

from __future__ import annotations

from typing import Any

from runtime.engine import RecordedStep
from runtime.plans import has_reference
from traces.models import TraceSource
from traces.redaction import REDACTED

_MARKER = REDACTED.rstrip("]")  # "[REDACTED" also matches "[REDACTED:github_token]"


def _carries_marker(value: Any) -> bool:
    if isinstance(value, str):
        return _MARKER in value
    if isinstance(value, dict):
        return any(_carries_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(_carries_marker(v) for v in value)
    return False


def redacted_step_indices(trace, plan: list[dict[str, Any]], recorded: list[RecordedStep]) -> list[int]:
    """Plan indices to serve as recorded: a redacted step, and any later step that references others."""
    if not trace.redacted or trace.source != TraceSource.INGEST:  # a run's redaction touches only its metadata
        return []
    served: list[int] = []
    for index, step in enumerate(plan):
        stored = recorded[index] if index < len(recorded) else None
        redacted_here = _carries_marker(step.get("params")) or (
            stored is not None and _carries_marker([stored.params, stored.output])
        )
        # A reference may read a redacted output: its resolved params would differ from the original's.
        inherits = bool(served) and has_reference(step.get("params") or {})
        if stored is not None and (redacted_here or inherits):
            served.append(index)
    return served
