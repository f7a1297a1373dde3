"""Human-readable renderings (rich tables) of the CLI's results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aos_sdk.cli.output import console, counted, kv_table, short, table
from aos_sdk.diff import TraceDiff
from aos_sdk.models import LatestDiff, Mismatch, MismatchGroup, ReplayResult, Run, Simulation, Skill, Step, TraceRecord
from aos_sdk.trace import HashError


def _compact(value: Any, n: int = 60) -> str:
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= n else text[: n - 1] + "…"


def show_skills(skills: Sequence[Skill]) -> None:
    rows = [(s.id, s.version, "yes" if s.side_effects else "no", s.default_replay, s.description) for s in skills]
    console().print(table("skills", ["id", "version", "side effects", "replay", "description"], rows))


def show_skill(skill: Skill) -> None:
    c = console()
    c.print(kv_table(f"skill {skill.id}", [(k, v) for k, v in skill.raw.items() if k != "failure_modes"]))
    rows = [(m.get("code"), m.get("probability"), m.get("transient"), m.get("mitigation")) for m in skill.failure_modes]
    c.print(table("failure modes", ["code", "probability", "transient", "mitigation"], rows))


def show_simulation(sim: Simulation) -> None:
    c = console()
    rows = [
        (e.get("step_index"), e.get("skill_id"), e.get("estimated_cost_cents"), e.get("estimated_latency_ms"))
        for e in sim.step_estimates
    ]
    c.print(table("step estimates", ["step", "skill", "cost (cents)", "latency (ms)"], rows))
    if sim.risks:
        risk_rows = [
            (r.get("step_index"), r.get("skill_id"), r.get("risk_type"), r.get("probability")) for r in sim.risks
        ]
        c.print(table("risks", ["step", "skill", "risk", "probability"], risk_rows))
    c.print(
        f"status: {sim.status}  feasible: {str(sim.feasible).lower()}  cost: {sim.estimated_cost_cents} cents  "
        f"duration: {sim.estimated_duration_ms} ms  risk: {sim.cumulative_risk}  "
        f"budget left: {sim.budget_remaining_cents} cents"
    )
    for gap in sim.permission_gaps:
        c.print(f"permission gap: {gap}")
    for warning in sim.warnings:
        c.print(f"warning: {warning}")
    if sim.trace_id:
        c.print(f"trace: {sim.trace_id}  root_hash: {sim.root_hash}")


def steps_table(steps: Sequence[Step], title: str = "steps") -> Any:
    rows = [
        (s.index, s.skill, s.status, s.retry_count, s.error_code, short(s.step_hash), _compact(s.output, 48))
        for s in steps
    ]
    return table(title, ["#", "skill", "status", "retries", "error", "step_hash", "output"], rows)


def show_run(run: Run) -> None:
    c = console()
    c.print(f"run {run.run_id}  status: {run.status}  trace: {run.trace_id}")
    if run.error_code:
        c.print(f"error: {run.error_code} {run.error_message}")
    if run.steps:
        c.print(steps_table(run.steps))
    c.print(f"root_hash: {run.root_hash}")


def show_replay(result: ReplayResult) -> None:
    c = console()
    c.print(
        f"parity: {str(result.parity).lower()}  mode: {result.mode}  original: {result.original_run_id}  "
        f"replay: {result.replay_run_id or '(dry run)'}"
    )
    c.print(f"root_hash: {result.root_hash}  original: {result.original_root_hash}")
    d = result.divergence
    if d:
        c.print(f"first divergence: step {d.get('step_index')} {d.get('reason')}")
        c.print(
            table(
                "diff",
                ["path", "expected", "actual"],
                [(x.get("path"), _compact(x.get("a")), _compact(x.get("b"))) for x in d.get("diff") or []],
            )
        )
        if result.mismatch_id:
            c.print(f"mismatch recorded: {result.mismatch_id}")


def show_runs(runs: Sequence[Run]) -> None:
    rows = [(r.run_id, r.source, r.status, r.agent_id, r.total_steps, short(r.root_hash), r.created_at) for r in runs]
    console().print(table("runs", ["run_id", "source", "status", "agent", "steps", "root_hash", "created"], rows))


def show_traces(traces: Sequence[TraceRecord]) -> None:
    rows = [
        (t.trace_id, t.source, t.status, t.agent_id, t.total_steps, short(t.root_hash), t.created_at) for t in traces
    ]
    console().print(table("traces", ["trace_id", "source", "status", "agent", "steps", "root_hash", "created"], rows))


def show_trace(t: TraceRecord) -> None:
    c = console()
    fields = [
        "trace_id",
        "run_id",
        "source",
        "status",
        "agent_id",
        "seed",
        "frozen_timestamp",
        "plan_hash",
        "root_hash",
        "replay_of",
        "redacted",
        "pinned",
        "total_cost_cents",
        "created_at",
    ]
    c.print(kv_table(f"trace {t.trace_id}", [(f, t.raw.get(f)) for f in fields]))
    c.print(steps_table(t.steps))


def show_diff(a: str, b: str, result: TraceDiff) -> None:
    c = console()
    if result.match:
        c.print(f"match: {a} and {b} are identical in every hashed field")
        return
    first = result.first_divergence
    if first:
        c.print(f"differ: first divergence at step {first.step_index} ({first.reason})")
    elif any(d["path"].startswith("steps[") for d in result.differences):
        c.print("differ: the step hashes agree but the content does not (an edited file? try `aos verify`)")
    else:
        c.print("differ: the steps agree; trace fields differ")
    rows = [(d["path"], _compact(d["a"]), _compact(d["b"])) for d in result.differences[:50]]
    c.print(table("differences", ["path", a, b], rows))


def show_verify(path: str, data: dict[str, Any], problem: HashError | None) -> None:
    c = console()
    if problem is None:
        steps = counted(len(data["steps"]), "step", "steps")
        c.print(f"OK: {path}: {steps}, every hash verifies; root_hash {data.get('root_hash')}")
        return
    where = f"step {problem.step_index}" if problem.step_index is not None else "trace"
    c.print(f"FAILED: {path}: {where}: {problem}")


def show_mismatches(items: Sequence[Mismatch]) -> None:
    rows = [
        (
            m.id,
            m.trace_id,
            m.step_index,
            m.reason,
            "yes" if m.resolved else "no",
            m.notification_state,
            m.issue_url,
            m.created_at,
        )
        for m in items
    ]
    console().print(
        table("mismatches", ["id", "trace", "step", "reason", "resolved", "notified", "issue", "created"], rows)
    )


def show_groups(items: Sequence[MismatchGroup]) -> None:
    rows = [
        (
            g.id,
            g.status,
            g.count,
            g.affected_traces,
            g.step_index,
            g.skill_id,
            g.reason,
            g.agent_id,
            g.last_trace_id,
            g.issue_url,
            g.last_seen,
        )
        for g in items
    ]
    columns = ["id", "status", "count", "traces", "step", "skill", "reason", "agent", "last trace", "issue"]
    columns.append("last seen")
    console().print(table("mismatch groups", columns, rows))


def _diff_lines(title: str, lines: Sequence[Any] | None) -> str:
    if lines is None:
        return f"{title}: (none: reported via the API, no replayed side)"
    body = "\n".join(f"{'!' if line.changed else ' '} {line.text}" for line in lines)
    return f"{title}:\n{body}"


def _show_latest_diff(diff: LatestDiff | None) -> None:
    c = console()
    if diff is None:
        c.print("latest diff: (no mismatch left in the group)")
        return
    c.print(f"latest diff (reported via {diff.reported_via}):")
    c.print(_diff_lines("expected", diff.expected_lines), markup=False)
    c.print(_diff_lines("actual", diff.actual_lines), markup=False)
    if diff.differences:
        rows = [(d.get("path"), d.get("a"), d.get("b")) for d in diff.differences]
        c.print(table("differences", ["path", "expected", "actual"], rows))
    elif diff.actual_lines is not None and diff.identical:
        c.print("the recorded and replayed outputs are identical (the hashes differ elsewhere)")


def show_group(g: MismatchGroup) -> None:
    c = console()
    fields = [
        "id",
        "status",
        "count",
        "affected_traces",
        "first_seen",
        "last_seen",
        "agent_id",
        "skill_id",
        "reason",
        "step_index",
        "plan_hash",
        "fingerprint",
        "last_trace_id",
        "issue_url",
        "resolution_kind",
        "resolution_note",
        "resolved_by",
        "resolved_at",
    ]
    c.print(kv_table(f"mismatch group {g.id}", [(f, g.raw.get(f)) for f in fields]))
    skill = f" ({g.skill_id})" if g.skill_id else ""
    c.print(f"diverged at step {g.step_index}{skill}: {g.reason}", markup=False)
    if g.latest_mismatch is not None:
        m = g.latest_mismatch
        c.print(f"latest mismatch: {m.id} on trace {m.trace_id} at {m.created_at}", markup=False)
    _show_latest_diff(g.latest_diff)
    rows = [(e.created_at, e.kind, e.actor, e.message, e.mismatch_id) for e in g.events]
    c.print(table("timeline", ["when", "event", "by", "message", "mismatch"], rows))
