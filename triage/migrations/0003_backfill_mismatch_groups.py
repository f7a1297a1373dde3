"""One group per (tenant, fingerprint) for the mismatches recorded before groups existed.

Counts, first/last seen and affected traces from the mismatches; the issue from the earliest
linked mismatch; a group whose mismatches are all resolved starts resolved (kind `fixed`, the
last resolver and note), so a new occurrence reopens it as a regression. One `reported` event per
mismatch, at its time. Batched per group, so a large table never sits in memory at once.
"""

from django.db import migrations
from django.db.models import Count, Max, Min


def backfill(apps, schema_editor):
    mismatch_model = apps.get_model("triage", "Mismatch")
    # Before `source` existed, our replays reported as "replay"; anything else came through the API.
    mismatch_model.objects.exclude(reported_by="replay").update(source="api")
    group_model = apps.get_model("triage", "MismatchGroup")
    event_model = apps.get_model("triage", "MismatchGroupEvent")
    keys = (
        mismatch_model.objects.filter(group__isnull=True)
        .values("tenant_id", "fingerprint")
        .annotate(n=Count("pk"), traces=Count("trace_id", distinct=True), first=Min("created_at"), last=Max("created_at"))
        .order_by("tenant_id", "fingerprint")
    )
    for key in keys.iterator():
        rows = mismatch_model.objects.filter(tenant_id=key["tenant_id"], fingerprint=key["fingerprint"])
        latest = rows.select_related("trace").order_by("-created_at").first()
        linked = rows.exclude(issue_number__isnull=True).order_by("created_at").first()
        all_resolved = not rows.filter(resolved=False).exists()
        last_resolved = rows.filter(resolved=True).order_by("-resolved_at").first() if all_resolved else None
        group = group_model.objects.create(
            tenant_id=key["tenant_id"],
            fingerprint=key["fingerprint"],
            plan_hash=latest.trace.plan_hash,
            step_index=latest.step_index,
            skill_id=latest.skill_id,
            reason=latest.reason,
            agent_id=latest.trace.agent_id,
            status="resolved" if all_resolved else "unresolved",
            count=key["n"],
            affected_traces=key["traces"],
            first_seen=key["first"],
            last_seen=key["last"],
            last_mismatch=latest,
            issue_url=linked.issue_url if linked else "",
            issue_number=linked.issue_number if linked else None,
            resolution_kind="fixed" if last_resolved else "",
            resolution_note=(last_resolved.resolution_note or "Resolved before groups existed.") if last_resolved else "",
            resolved_by=last_resolved.resolved_by if last_resolved else "",
            resolved_at=last_resolved.resolved_at if last_resolved else None,
        )
        rows.update(group=group)
        seen = list(rows.order_by("created_at").values_list("pk", "reported_by", "created_at"))
        events = event_model.objects.bulk_create(
            [
                event_model(group=group, kind="reported", mismatch_id=pk, actor=who, message="Recorded before groups existed.")
                for pk, who, _ in seen
            ],
            batch_size=500,
        )
        # auto_now_add stamped "now": the timeline shows when each mismatch really happened.
        for event, (_, _, when) in zip(events, seen):
            event.created_at = when
        event_model.objects.bulk_update(events, ["created_at"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("triage", "0002_mismatch_groups")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
