"""Sample runs for `manage.py seed_demo`: a few deterministic runs and one replay (safe to re-run)."""

from __future__ import annotations

from accounts.models import Tenant
from runtime.services import run_replay, run_start
from traces.models import Trace, TraceSource

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
    return f"{len(runs)} runs, 1 replay ({parity})"
