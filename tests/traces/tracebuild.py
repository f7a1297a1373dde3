"""Builders for trace tests: SDK payloads and stored traces (through the real ingest service)."""

from __future__ import annotations

from typing import Any

from aos_sdk.trace import Trace as TraceBuilder
from traces.models import Trace
from traces.serializers import TraceIngestSerializer
from traces.services import trace_ingest

PLAN = [
    {"skill": "json_transform", "params": {"payload": {"x": 1}, "mapping": {"y": "x"}}},
    {"skill": "http_call", "params": {"method": "GET", "url": "https://api.example.com/price"}},
    {"skill": "llm_invoke", "params": {"provider": "local", "messages": [{"role": "user", "content": "hi"}]}},
    {"skill": "json_transform", "params": {"payload": {"p": 2}, "query": "p"}},
    {"skill": "webhook_send", "params": {"url": "https://hooks.example.com/x", "text": "done"}},
]


def build(
    *,
    trace_id: str | None = None,
    outputs: list[Any] | None = None,
    steps: int = 5,
    seed: int = 42,
    timestamp: str = "2025-01-01T00:00:00Z",
    metadata: dict | None = None,
    agent_id: str = "agent-1",
    skills: list[str] | None = None,
) -> TraceBuilder:
    """A trace over PLAN (cycled) with predictable outputs; `outputs[i]` overrides step i."""
    plan = [PLAN[i % len(PLAN)] for i in range(steps)]
    if skills:
        plan = [{**step, "skill": skills[i % len(skills)]} for i, step in enumerate(plan)]
    builder = TraceBuilder(
        plan=plan, seed=seed, timestamp=timestamp, trace_id=trace_id, agent_id=agent_id, metadata=metadata or {}
    )
    for i, step in enumerate(plan):
        output = outputs[i] if outputs is not None and i < len(outputs) else {"step": i, "value": i * 10}
        builder.add_step(skill=step["skill"], params=step["params"], output=output, cost_cents=0.5, duration_ms=12)
    return builder


def store(tenant, builder: TraceBuilder | None = None, **kwargs: Any) -> Trace:
    """Stores a trace for `tenant` through the ingest service (validated like the API does)."""
    builder = builder or build(**kwargs)
    payload = TraceIngestSerializer(data=builder.to_dict())
    payload.is_valid(raise_exception=True)
    trace, _ = trace_ingest(tenant=tenant, data=payload.validated_data)
    return trace


def _sha(*parts: object) -> str:
    import hashlib

    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def bulk_trace(
    tenant,
    *,
    trace_id: str,
    steps: int,
    source: str = "run",
    replay_of: Trace | None = None,
    metadata: dict | None = None,
    diverge_at: int | None = None,
    run_id: str | None = None,
) -> Trace:
    """A finished trace with `steps` steps written by bulk_create (10,000 steps in about a second).

    Hashes are stand-ins (not the canonical ones): for pages and benchmarks, not for replays.
    Steps cycle through the skills of PLAN; every third is an LLM call with token usage. A step at
    `diverge_at` gets another output and hashes (a replay that left its original there).
    """
    from traces.models import TraceStep

    replay = (metadata or {}).get("replay")
    parity = replay.get("parity") if source == "replay" and isinstance(replay, dict) else None
    trace = Trace.objects.create(
        parity=parity if isinstance(parity, bool) else None,  # as run_replay stores it, next to the metadata
        trace_id=trace_id,
        run_id=run_id or f"run-{trace_id}",
        tenant=tenant,
        source=source,
        replay_of=replay_of,
        plan=[PLAN[i % len(PLAN)] for i in range(steps)],
        plan_hash=_sha("plan", steps),
        seed=42,
        frozen_timestamp="2025-01-01T00:00:00Z",
        status="succeeded",
        root_hash=_sha("root", trace_id),
        metadata=metadata or {},
        total_steps=steps,
        total_cost_cents=0.5 * steps,
        total_duration_ms=12.0 * steps,
    )
    rows = []
    for i in range(steps):
        call = PLAN[i % len(PLAN)]
        diverged = i == diverge_at
        if call["skill"] == "llm_invoke":
            output: Any = {
                "content": "BTC is down" if diverged else "BTC is up",
                "usage": {"prompt_tokens": 12, "completion_tokens": 30 + i % 7, "total_tokens": 42 + i % 7},
            }
        else:
            output = {"step": i, "value": -1 if diverged else i * 10}
        salt = "diverged" if diverged else "same"
        rows.append(
            TraceStep(
                trace=trace,
                index=i,
                skill_id=call["skill"],
                skill_version="1",
                params=call["params"],
                output=output,
                status="succeeded",
                input_hash=_sha("in", i),
                output_hash=_sha("out", i, salt),
                step_hash=_sha("step", i, salt),
                cost_cents=0.5,
                duration_ms=5.0 + i % 20,
                retry_count=1 if i % 50 == 7 else 0,
                replay_behaviour="check" if call["skill"] in ("json_transform", "llm_invoke") else "skip",
            )
        )
    TraceStep.objects.bulk_create(rows, batch_size=500)
    return trace
