"""Mismatch (traces → triage) and IdempotencyRecord (runtime → aosproject) moved without losing rows.

The migrations are state-only (decisions 0030, 0031): rows written through the old models are
read back through the new ones, and content types (with their permissions) follow the models.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("traces", "0002_webhookdelivery"),
    ("runtime", "0002_idempotencyrecord_run_id"),
    ("triage", None),
    ("aosproject", None),
]


MOVED_APPS = {app for app, _ in BEFORE}


def _migrate(targets):
    """Migrates to `targets`; returns the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in MOVED_APPS]
    return executor.loader.project_state([*others, *(t for t in targets if t[1])]).apps


@pytest.fixture
def before_the_move(transactional_db):
    """The database as it was before the move; the latest migrations again afterwards."""
    old_apps = _migrate(BEFORE)
    yield old_apps
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_it_keeps_mismatches_deliveries_and_idempotency_records(before_the_move):
    old = before_the_move
    tenant = old.get_model("accounts", "Tenant").objects.create(slug="moved", name="Moved")
    trace = old.get_model("traces", "Trace").objects.create(
        tenant=tenant, trace_id="t-moved", source="replay", plan_hash="p" * 64, frozen_timestamp="2025-01-01T00:00:00Z"
    )
    mismatch = old.get_model("traces", "Mismatch").objects.create(
        trace=trace, tenant=tenant, reported_by="ci", step_index=2, reason="output_mismatch", fingerprint="f" * 64
    )
    old.get_model("traces", "WebhookDelivery").objects.create(delivery_id="d-1", body_sha256="b" * 64)
    old.get_model("runtime", "IdempotencyRecord").objects.create(
        tenant=tenant,
        key="k-1",
        request_hash="h" * 64,
        method="POST",
        path="/api/v1/runtime/runs",
        expires_at="2030-01-01T00:00:00Z",
    )
    content_type = old.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label__in=["triage", "aosproject"]).delete()
    old_ct = content_type.objects.get_or_create(app_label="traces", model="mismatch")[0]
    permission = old.get_model("auth", "Permission").objects.create(
        content_type=old_ct, codename="legacy_mismatch_perm", name="legacy"
    )

    new = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from aosproject.models import IdempotencyRecord
    from triage.models import Mismatch, WebhookDelivery

    assert Mismatch.objects.get(pk=mismatch.pk).trace.trace_id == "t-moved"
    assert Mismatch.objects.get(pk=mismatch.pk).step_index == 2
    assert WebhookDelivery.objects.get().delivery_id == "d-1"
    assert IdempotencyRecord.objects.get().key == "k-1"
    moved = new.get_model("auth", "Permission").objects.select_related("content_type").get(pk=permission.pk)
    assert (moved.content_type.app_label, moved.content_type.model) == ("triage", "mismatch")


@pytest.fixture
def before_groups(transactional_db):
    old_apps = _migrate([("triage", "0001_initial")])
    yield old_apps
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_it_backfills_one_group_per_fingerprint(before_groups):
    old = before_groups
    tenant = old.get_model("accounts", "Tenant").objects.create(slug="old", name="Old")
    trace_model, mismatch_model = old.get_model("traces", "Trace"), old.get_model("triage", "Mismatch")
    traces = [
        trace_model.objects.create(
            tenant=tenant, trace_id=f"t-{i}", source="run", plan_hash="p" * 64, frozen_timestamp="2025-01-01T00:00:00Z"
        )
        for i in range(2)
    ]

    def mismatch(trace, fingerprint, **extra):
        return mismatch_model.objects.create(
            trace=trace, tenant=tenant, step_index=1, reason="output_mismatch", fingerprint=fingerprint, **extra
        )

    mismatch(traces[0], "f" * 64, reported_by="replay", issue_url="https://github.example/a/b/issues/7", issue_number=7)
    mismatch(traces[0], "f" * 64, reported_by="replay")
    mismatch(traces[1], "f" * 64, reported_by="api_key:3")
    done = mismatch(traces[1], "e" * 64, reported_by="replay", resolved=True, resolved_by="alice", resolution_note="ok")

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from triage.models import Mismatch, MismatchGroup

    open_group = MismatchGroup.objects.get(fingerprint="f" * 64)
    assert (open_group.count, open_group.affected_traces, open_group.status) == (3, 2, "unresolved")
    assert (open_group.issue_number, open_group.events.count()) == (7, 3)
    assert set(Mismatch.objects.filter(group=open_group).values_list("source", flat=True)) == {"replay", "api"}
    resolved = MismatchGroup.objects.get(fingerprint="e" * 64)
    assert (resolved.status, resolved.resolution_kind, resolved.resolved_by) == ("resolved", "fixed", "alice")
    assert Mismatch.objects.get(pk=done.pk).group_id == resolved.pk
