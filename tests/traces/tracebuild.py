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
