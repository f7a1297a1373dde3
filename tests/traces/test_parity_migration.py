"""traces 0004: parity becomes a column, backfilled from the replays' `metadata.replay.parity`."""

from __future__ import annotations

import pytest


@pytest.mark.django_db(transaction=True)
def test_it_backfills_parity_from_the_replay_metadata(migrator):
    old = migrator.apply_initial_migration(("traces", "0003_move_mismatch_to_triage"))
    Tenant = old.apps.get_model("accounts", "Tenant")
    Trace = old.apps.get_model("traces", "Trace")
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    rows = {
        "matched": ("replay", {"replay": {"mode": "recorded", "parity": True}}),
        "diverged": ("replay", {"replay": {"mode": "live", "parity": False}}),
        "replay-without-metadata": ("replay", {}),
        "run": ("run", {"replay": {"parity": True}}),  # not a replay, whatever its metadata says
        "ingested": ("ingest", {"note": "x"}),
    }
    for trace_id, (source, metadata) in rows.items():
        Trace.objects.create(
            trace_id=trace_id, tenant=tenant, source=source, plan_hash="0" * 64, frozen_timestamp="t", metadata=metadata
        )

    new = migrator.apply_tested_migration(("traces", "0004_trace_parity"))
    parity = dict(new.apps.get_model("traces", "Trace").objects.values_list("trace_id", "parity"))
    assert parity == {
        "matched": True,
        "diverged": False,
        "replay-without-metadata": None,
        "run": None,
        "ingested": None,
    }
    migrator.reset()
