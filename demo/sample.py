"""Sample data for `manage.py seed_demo`: deterministic runs, a parity replay, and a diverged replay
with its mismatch and group, so a fresh demo has something to triage (safe to re-run)."""

from __future__ import annotations

from accounts.models import Tenant
from aos_sdk.trace import Trace as TraceBuilder
from runtime.services import run_replay, run_start
from traces.models import Trace, TraceSource
from traces.serializers import TraceIngestSerializer
from traces.services import trace_ingest

DEMO_TIMESTAMP = "2025-01-01T00:00:00Z"


def _plans() -> list[tuple[str, list[dict], dict]]:
    price = {"skill": "json_transform", "params": {"payload": "{{ input }}", "mapping": {"usd": "price.usd"}}}
    summary = {
        "skill": "llm_invoke",
        "params": {"messages": [{"role": "user", "content": "BTC is at {{ steps[0].output.usd }} USD. Summarise."}]},
    }
    return [
        ("demo-transform", [price], {"price": {"usd": 97000}}),
        ("demo-summary", [price, summary], {"price": {"usd": 98000}}),
        (
            "demo-query",
            [{"skill": "json_transform", "params": {"payload": "{{ input.items }}", "query": "[?qty > `1`].name"}}],
            {"items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 3}]},
        ),
    ]


def seed_sample_data(*, tenant: Tenant) -> str:
    """Creates three runs (json_transform, llm_invoke local) and replays the first; once per tenant."""
    existing = Trace.objects.for_tenant(tenant).filter(source=TraceSource.RUN, agent_id__startswith="demo-")
    if existing.exists():
        return f"{existing.count()} runs (already seeded)"
    runs = [
        run_start(
            tenant=tenant,
            wait=True,
            plan=plan,
            run_input=run_input,
            seed=42,
            timestamp=DEMO_TIMESTAMP,
            agent_id=agent_id,
            metadata={"demo": True},
        )
        for agent_id, plan, run_input in _plans()
    ]
    result = run_replay(tenant=tenant, run_id=runs[0].run_id)
    parity = "parity" if result["parity"] else "divergence"
    diverged = _diverged_replay(tenant=tenant)
    return f"{len(runs)} runs, 1 replay ({parity}), 1 diverged replay ({diverged})"


def _diverged_replay(*, tenant: Tenant) -> str:
    """An agent's trace, ingested as recorded, whose price step no longer computes what was recorded.

    Replaying it re-executes the json_transform step and diverges at step 0: the replay service
    records the mismatch, which opens its group (and notifies, once a channel is configured).
    """
    payload = {"price": {"usd": 97000}}
    plan = [{"skill": "json_transform", "params": {"payload": payload, "mapping": {"usd": "price.usd"}}}]
    builder = TraceBuilder(
        plan=plan, seed=42, timestamp=DEMO_TIMESTAMP, trace_id="demo-pricing-agent", agent_id="demo-pricing-agent"
    )
    builder.add_step(skill="json_transform", params=plan[0]["params"], output={"usd": 96500}, duration_ms=3)
    data = TraceIngestSerializer(data=builder.to_dict())
    data.is_valid(raise_exception=True)
    trace, _ = trace_ingest(tenant=tenant, data=data.validated_data)
    result = run_replay(tenant=tenant, run_id=trace.trace_id)
    return "parity" if result["parity"] else f"mismatch at step {result['divergence']['step_index']}"
