"""Trace builder and verifier (PRODUCT.md §3, §5): the ingest format the server accepts.

    trace = Trace(plan=plan, seed=42, timestamp="2025-01-01T00:00:00Z")
    trace.add_step(skill="json_transform", params={...}, output={"y": 1})
    trace.verify()                      # None, or the first HashError
    trace.save("run.trace.json")        # Trace.load("run.trace.json") reads it back
    client.ingest_trace(trace)

Every hash comes from `aos_sdk.hashing`; `verify(data)` recomputes them the way the server does.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aos_sdk import hashing


def utc_timestamp() -> str:
    """The current UTC time in the frozen-timestamp form `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_trace_id() -> str:
    return "tr_" + uuid.uuid4().hex


class Trace:
    """Builds a hash-chained trace step by step; `to_dict()` is the ingest payload."""

    def __init__(
        self,
        *,
        plan: Sequence[Mapping[str, Any]] | None = None,
        seed: int = 0,
        timestamp: str | None = None,
        trace_id: str | None = None,
        agent_id: str = "",
        input: Any = None,
        metadata: Mapping[str, Any] | None = None,
        status: str | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError("seed must be an integer")
        self.trace_id = trace_id or new_trace_id()
        self._plan = [dict(step) for step in plan] if plan is not None else None
        self.seed = seed
        self.timestamp = timestamp or utc_timestamp()
        self.agent_id = agent_id
        self.input = copy.deepcopy(input)
        self.metadata = dict(metadata or {})
        self.status = status
        self.steps: list[dict[str, Any]] = []
        # Hashes read from a file or the server: kept as they were, so verify() can catch tampering.
        self._stored_hashes: dict[str, Any] | None = None

    @property
    def plan(self) -> list[dict[str, Any]]:
        """The plan as given, or (when none was given) one `{skill, params}` entry per step."""
        if self._plan is not None:
            return hashing.normalise_plan(self._plan)
        return [{"skill": s["skill"], "params": copy.deepcopy(s["params"])} for s in self.steps]

    @property
    def plan_hash(self) -> str:
        return hashing.plan_hash(self.plan)

    @property
    def root_hash(self) -> str:
        return hashing.root_hash(
            plan_hash=self.plan_hash,
            seed=self.seed,
            timestamp=self.timestamp,
            step_hashes=[s["step_hash"] for s in self.steps],
        )

    def add_step(
        self,
        *,
        skill: str,
        params: Mapping[str, Any] | None = None,
        output: Any = None,
        status: str = "succeeded",
        skill_version: str = "",
        error_code: str = "",
        error_message: str = "",
        cost_cents: float = 0,
        duration_ms: float = 0,
        retry_count: int = 0,
        idempotency_key: str = "",
        replay: str | None = None,
    ) -> dict[str, Any]:
        """Appends step `len(steps)` with its input, output and step hashes; returns it."""
        index = len(self.steps)
        resolved = copy.deepcopy(dict(params or {}))
        output = copy.deepcopy(output)
        ih = hashing.input_hash(resolved)
        oh = hashing.output_hash(output)
        step: dict[str, Any] = {
            "index": index,
            "skill": skill,
            "skill_version": skill_version,
            "params": resolved,
            "output": output,
            "status": status,
            "error_code": error_code,
            "error_message": error_message,
            "input_hash": ih,
            "output_hash": oh,
            "step_hash": hashing.step_hash(index=index, skill=skill, input_hash=ih, output_hash=oh, status=status),
            "cost_cents": cost_cents,
            "duration_ms": duration_ms,
            "retry_count": retry_count,
            "idempotency_key": idempotency_key,
        }
        if replay is not None:
            step["replay"] = replay
        self.steps.append(step)
        self._stored_hashes = None
        return step

    def finalise(self, *, status: str | None = None) -> dict[str, Any]:
        """Sets the final status (default: failed if any step failed) and returns the payload."""
        if status is not None:
            self.status = status
        elif self.status is None:
            self.status = "failed" if any(s["status"] == "failed" for s in self.steps) else "succeeded"
        return self.to_dict()

    def verify(self) -> HashError | None:
        """The first hash that does not match its content (plan, steps in order, root), or None."""
        return verify(self.to_dict())

    def save(self, path: str | os.PathLike[str]) -> Path:
        return save(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        return cls.from_dict(load(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trace:
        """A trace from its payload (a file, or the server's detail with `frozen_timestamp`), hashes as given."""
        timestamp = data.get("timestamp", data.get("frozen_timestamp"))
        trace = cls(
            plan=data.get("plan"),
            seed=data.get("seed", 0),
            timestamp=str(timestamp) if timestamp is not None else None,
            trace_id=data.get("trace_id"),
            agent_id=data.get("agent_id") or "",
            input=data.get("input"),
            metadata=data.get("metadata"),
            status=data.get("status"),
        )
        trace.steps = [copy.deepcopy(dict(s)) for s in data.get("steps", [])]
        trace._stored_hashes = {"plan_hash": data.get("plan_hash"), "root_hash": data.get("root_hash")}
        return trace

    def to_dict(self, *, overwrite: bool = False) -> dict[str, Any]:
        """The ingest payload for `POST /api/v1/traces` (field names as in PRODUCT.md §3)."""
        status = self.status or ("failed" if any(s["status"] == "failed" for s in self.steps) else "succeeded")
        data: dict[str, Any] = {
            "trace_id": self.trace_id,
            "agent_id": self.agent_id,
            "plan": self.plan,
            "plan_hash": self.plan_hash,
            "seed": self.seed,
            "timestamp": self.timestamp,
            "input": copy.deepcopy(self.input),
            "metadata": copy.deepcopy(self.metadata),
            "status": status,
            "root_hash": self.root_hash,
            "steps": copy.deepcopy(self.steps),
        }
        if self._stored_hashes is not None:
            data.update(self._stored_hashes)
        if overwrite:
            data["overwrite"] = True
        return data


@dataclass(frozen=True)
class HashError:
    """The first hash that does not match its content. `step_index` is None for trace fields."""

    field: str
    expected: str
    got: Any
    step_index: int | None = None

    @property
    def path(self) -> str:
        return self.field if self.step_index is None else f"steps[{self.step_index}].{self.field}"

    def __str__(self) -> str:
        return f"{self.path} is {self.got!r} but the content hashes to {self.expected}"


def recompute(data: Mapping[str, Any]) -> dict[str, Any]:
    """Every hash of a trace payload, recomputed from its content (ignores the sent hashes)."""
    plan_h = hashing.plan_hash(data["plan"])
    steps = []
    root = hashing.root_zero(plan_hash=plan_h, seed=data["seed"], timestamp=data["timestamp"])
    for step in data["steps"]:
        ih = hashing.input_hash(step.get("params", {}))
        oh = hashing.output_hash(step.get("output"))
        sh = hashing.step_hash(
            index=step["index"], skill=step["skill"], input_hash=ih, output_hash=oh, status=step["status"]
        )
        root = hashing.root_next(root, sh)
        steps.append({"input_hash": ih, "output_hash": oh, "step_hash": sh})
    return {"plan_hash": plan_h, "root_hash": root, "steps": steps}


def verify(data: Mapping[str, Any]) -> HashError | None:
    """The first disagreement between sent and recomputed hashes (plan, steps in order, root)."""
    computed = recompute(data)
    if data.get("plan_hash") != computed["plan_hash"]:
        return HashError("plan_hash", computed["plan_hash"], data.get("plan_hash"))
    for step, hashes in zip(data["steps"], computed["steps"], strict=True):
        for name in ("input_hash", "output_hash", "step_hash"):
            if step.get(name) != hashes[name]:
                return HashError(name, hashes[name], step.get(name), step_index=step["index"])
    if data.get("root_hash") != computed["root_hash"]:
        return HashError("root_hash", computed["root_hash"], data.get("root_hash"))
    return None


def save(data: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Writes a trace payload as pretty JSON (conventionally `*.trace.json`)."""
    target = Path(path)
    target.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return target


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads a trace payload; `ValueError` when the file is not a JSON object with `steps`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ValueError(f"{path}: not a trace (a JSON object with a 'steps' list)")
    return data
