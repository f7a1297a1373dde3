"""Small typed results built from the server's JSON at the edge (unknown fields kept in `raw`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args

T = TypeVar("T", bound="Model")

FINISHED_STATUSES = frozenset({"succeeded", "failed", "simulated"})


@dataclasses.dataclass(frozen=True)
class Model:
    """Base: `from_json` fills the declared fields that are present; `raw` is the whole object."""

    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
        names = {f.name for f in dataclasses.fields(cls)} - {"raw"}
        values = {k: v for k, v in data.items() if k in names}
        return cls(raw=dict(data), **cls._convert(values))

    @classmethod
    def _convert(cls, values: dict[str, Any]) -> dict[str, Any]:
        return values

    def to_json(self) -> dict[str, Any]:
        return dict(self.raw)


@dataclasses.dataclass(frozen=True)
class Health(Model):
    status: str = ""


@dataclasses.dataclass(frozen=True)
class Principal(Model):
    subject: str = ""
    tenant: str = ""
    role: str = ""
    roles: list[str] = dataclasses.field(default_factory=list)
    tier: str = ""
    method: str = ""


@dataclasses.dataclass(frozen=True)
class Skill(Model):
    id: str = ""
    version: str = ""
    description: str = ""
    params_schema: dict[str, Any] = dataclasses.field(default_factory=dict)
    cost_model: dict[str, Any] = dataclasses.field(default_factory=dict)
    latency_model: dict[str, Any] = dataclasses.field(default_factory=dict)
    failure_modes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    constraints: list[str] = dataclasses.field(default_factory=list)
    side_effects: bool = False
    external: bool = False
    default_replay: str = ""


@dataclasses.dataclass(frozen=True)
class Capabilities(Model):
    tenant: str = ""
    budget_cents: float = 0
    allowed_skills: list[str] = dataclasses.field(default_factory=list)
    skills: list[str] = dataclasses.field(default_factory=list)
    rate_limit: dict[str, Any] = dataclasses.field(default_factory=dict)
    limits: dict[str, Any] = dataclasses.field(default_factory=dict)
    roles: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Simulation(Model):
    feasible: bool = False
    status: str = ""
    estimated_cost_cents: float = 0
    estimated_duration_ms: float = 0
    budget_remaining_cents: float = 0
    budget_sufficient: bool = False
    cumulative_risk: float = 0
    permission_gaps: list[Any] = dataclasses.field(default_factory=list)
    risks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    step_estimates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    alternatives: list[Any] = dataclasses.field(default_factory=list)
    warnings: list[Any] = dataclasses.field(default_factory=list)
    seed: int = 0
    trace_id: str | None = None
    root_hash: str | None = None


@dataclasses.dataclass(frozen=True)
class Step(Model):
    index: int = 0
    skill: str = ""
    skill_version: str = ""
    params: Any = None
    output: Any = None
    status: str = ""
    error_code: str = ""
    error_message: str = ""
    input_hash: str = ""
    output_hash: str = ""
    step_hash: str = ""
    cost_cents: float = 0
    duration_ms: float = 0
    retry_count: int = 0
    idempotency_key: str = ""
    replay: str | None = None


def _steps(values: dict[str, Any]) -> dict[str, Any]:
    if isinstance(values.get("steps"), list):
        values["steps"] = [Step.from_json(s) for s in values["steps"]]
    return values


@dataclasses.dataclass(frozen=True)
class Run(Model):
    """A run or replay: the 202 answer has only run_id, trace_id, status and url."""

    run_id: str = ""
    trace_id: str = ""
    source: str = ""
    status: str = ""
    agent_id: str = ""
    plan_hash: str = ""
    root_hash: str = ""
    seed: int = 0
    timestamp: str = ""
    budget_cents: float = 0
    error_code: str = ""
    error_message: str = ""
    total_steps: int = 0
    total_cost_cents: float = 0
    total_duration_ms: float = 0
    replay_of: str | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_at: str | None = None
    finished_at: str | None = None
    plan: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    input: Any = None
    steps: list[Step] = dataclasses.field(default_factory=list)
    url: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @classmethod
    def _convert(cls, values: dict[str, Any]) -> dict[str, Any]:
        return _steps(values)


@dataclasses.dataclass(frozen=True)
class ReplayResult(Model):
    parity: bool = False
    replay_run_id: str | None = None
    original_run_id: str = ""
    mode: str = ""
    dry_run: bool = False
    root_hash: str = ""
    original_root_hash: str = ""
    divergence: dict[str, Any] | None = None
    mismatch_id: str | None = None


@dataclasses.dataclass(frozen=True)
class TraceRecord(Model):
    """A stored trace (list items have no plan, input or steps; detail has them)."""

    trace_id: str = ""
    run_id: str | None = None
    tenant: str = ""
    source: str = ""
    replay_of: str | None = None
    agent_id: str = ""
    plan_hash: str = ""
    seed: int = 0
    frozen_timestamp: str = ""
    status: str = ""
    root_hash: str = ""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    pinned: bool = False
    redacted: bool = False
    error_code: str = ""
    error_message: str = ""
    total_steps: int = 0
    total_cost_cents: float = 0
    total_duration_ms: float = 0
    created_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    plan: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    input: Any = None
    steps: list[Step] = dataclasses.field(default_factory=list)

    @classmethod
    def _convert(cls, values: dict[str, Any]) -> dict[str, Any]:
        return _steps(values)

    def to_trace_dict(self) -> dict[str, Any]:
        """The trace in the SDK's file / ingest format (`timestamp`, full steps), for save and verify."""
        return {
            "trace_id": self.trace_id,
            "agent_id": self.agent_id,
            "plan": self.raw.get("plan", []),
            "plan_hash": self.plan_hash,
            "seed": self.seed,
            "timestamp": self.frozen_timestamp,
            "input": self.raw.get("input"),
            "metadata": self.metadata,
            "status": self.status,
            "root_hash": self.root_hash,
            "steps": [dict(s) for s in self.raw.get("steps", [])],
        }


@dataclasses.dataclass(frozen=True)
class Comparison(Model):
    a: str = ""
    b: str = ""
    match: bool = False
    first_divergence: dict[str, Any] | None = None
    differences: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class MismatchReport(Model):
    mismatch_id: str = ""
    trace_id: str = ""
    status: str = ""
    notified: bool = False
    issue_url: str | None = None


@dataclasses.dataclass(frozen=True)
class Mismatch(Model):
    id: str = ""
    trace_id: str = ""
    tenant: str = ""
    reported_by: str = ""
    reported_via: str = ""
    step_index: int = 0
    skill_id: str = ""
    reason: str = ""
    expected_hash: str = ""
    actual_hash: str = ""
    details: Any = None
    fingerprint: str = ""
    group_id: int | None = None
    notified: bool = False
    notification_state: str = ""
    notification_channel: str = ""
    issue_url: str | None = None
    resolved: bool = False
    resolved_at: str | None = None
    resolved_by: str | None = None
    resolution_note: str = ""
    created_at: str | None = None


ResolutionKind = Literal["fixed", "accepted_nondeterminism", "flaky_skill", "infrastructure", "duplicate"]
"""How a mismatch group was resolved (PRODUCT.md §15); the server refuses any other value (400)."""
RESOLUTION_KINDS: tuple[ResolutionKind, ...] = get_args(ResolutionKind)

GroupStatus = Literal["unresolved", "resolved", "regressed"]
GROUP_STATUSES: tuple[GroupStatus, ...] = get_args(GroupStatus)

GroupStatusFilter = Literal["unresolved", "resolved", "regressed", "open"]
"""What `mismatch_groups(status=...)` and `aos groups --status` accept: a status, or open (unresolved or regressed)."""
GROUP_STATUS_FILTERS: tuple[GroupStatusFilter, ...] = get_args(GroupStatusFilter)


@dataclasses.dataclass(frozen=True)
class MismatchGroupEvent(Model):
    """One entry of a group's timeline: reported, notified, commented, resolved or reopened."""

    id: int = 0
    kind: str = ""
    created_at: str | None = None
    actor: str = ""
    message: str = ""
    mismatch_id: str | None = None


@dataclasses.dataclass(frozen=True)
class DiffLine(Model):
    text: str = ""
    changed: bool = False


@dataclasses.dataclass(frozen=True)
class LatestDiff(Model):
    """The latest mismatch's expected vs actual output of the diverging step (`actual_lines` is None
    for a mismatch reported via the API: it has no replayed side)."""

    reported_via: str = ""
    expected_lines: list[DiffLine] = dataclasses.field(default_factory=list)
    actual_lines: list[DiffLine] | None = None
    differences: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    identical: bool = False

    @classmethod
    def _convert(cls, values: dict[str, Any]) -> dict[str, Any]:
        for name in ("expected_lines", "actual_lines"):
            if isinstance(values.get(name), list):
                values[name] = [DiffLine.from_json(line) for line in values[name]]
        return values


@dataclasses.dataclass(frozen=True)
class MismatchGroup(Model):
    """One group per fingerprint (tenant, plan hash, step, skill, reason): Sentry's issue. The list
    items have no `latest_mismatch`, `latest_diff` or `events`; the detail has them."""

    id: int = 0
    tenant: str = ""
    fingerprint: str = ""
    status: str = ""
    count: int = 0
    affected_traces: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    agent_id: str = ""
    plan_hash: str = ""
    step_index: int = 0
    skill_id: str = ""
    reason: str = ""
    last_trace_id: str | None = None
    issue_url: str | None = None
    issue_number: int | None = None
    resolution_kind: str | None = None
    resolution_note: str = ""
    resolved_by: str = ""
    resolved_at: str | None = None
    latest_mismatch: Mismatch | None = None
    latest_diff: LatestDiff | None = None
    events: list[MismatchGroupEvent] = dataclasses.field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    @classmethod
    def _convert(cls, values: dict[str, Any]) -> dict[str, Any]:
        if isinstance(values.get("latest_mismatch"), dict):
            values["latest_mismatch"] = Mismatch.from_json(values["latest_mismatch"])
        if isinstance(values.get("latest_diff"), dict):
            values["latest_diff"] = LatestDiff.from_json(values["latest_diff"])
        if isinstance(values.get("events"), list):
            values["events"] = [MismatchGroupEvent.from_json(e) for e in values["events"]]
        return values


@dataclasses.dataclass(frozen=True)
class BulkReport(Model):
    issue_url: str | None = None
    issue_number: int | None = None
    mismatch_count: int = 0
    trace_count: int = 0


@dataclasses.dataclass(frozen=True)
class Secret(Model):
    name: str = ""
    created_at: str | None = None
    updated_at: str | None = None
    last_used_at: str | None = None
