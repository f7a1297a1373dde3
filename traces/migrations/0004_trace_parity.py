"""Trace.parity as a real, indexed column (issue 19), backfilled from `metadata.replay.parity`.

Replays recorded before this migration kept their outcome only in the metadata JSON; two
UPDATEs (matched, diverged) copy it, whatever the table's size. Everything else stays NULL.
"""

from django.db import migrations, models


def parity_backfill(apps, schema_editor):
    Trace = apps.get_model("traces", "Trace")
    for value in (True, False):
        Trace.objects.filter(source="replay", metadata__replay__parity=value).update(parity=value)


def parity_clear(apps, schema_editor):
    apps.get_model("traces", "Trace").objects.update(parity=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_tenant_max_concurrent"),
        ("traces", "0003_move_mismatch_to_triage"),
    ]

    operations = [
        migrations.AddField(
            model_name="trace",
            name="parity",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.RunPython(parity_backfill, parity_clear, elidable=True),
        migrations.AddIndex(
            model_name="trace",
            index=models.Index(fields=["tenant", "status", "-created_at", "-id"], name="trace_tenant_status"),
        ),
        migrations.AddIndex(
            model_name="trace",
            index=models.Index(fields=["tenant", "parity", "-created_at", "-id"], name="trace_tenant_parity"),
        ),
    ]
