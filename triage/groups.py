"""Mismatch groups (PRODUCT.md §15): one per fingerprint, the unit operators triage.

`group_join` runs inside the transaction that records a mismatch: the group row is created or
locked (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite serialises writers anyway), so concurrent
reports of one fingerprint give one group and an exact count. Resolution and regression push
to GitHub after commit (`triage.tasks.group_resolution_push_task`); a regression's reopen and
comment go with the new mismatch's own notification (`triage.notify`), so the issue is reopened once.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from triage.issue_text import reported_via_api
from triage.models import (
    GroupEventKind,
    GroupStatus,
    Mismatch,
    MismatchGroup,
    MismatchGroupEvent,
    ResolutionKind,
)

# Resolved as one of these, a new mismatch only counts: the group stays resolved, nobody is notified.
KINDS_THAT_STAY_RESOLVED = frozenset(ResolutionKind.values) - {ResolutionKind.FIXED}


class GroupAlreadyResolved(Exception):
    pass


def group_event_add(
    *, group: MismatchGroup, kind: str, mismatch: Mismatch | None = None, actor: str = "", message: str = ""
) -> MismatchGroupEvent:
    return MismatchGroupEvent.objects.create(
        group=group, kind=kind, mismatch=mismatch, actor=actor[:200], message=message[:5000]
    )


def _locked_group(mismatch: Mismatch) -> tuple[MismatchGroup, bool]:
    """The fingerprint's group, locked for this transaction; created if it is the first mismatch."""
    lookup = {"tenant_id": mismatch.tenant_id, "fingerprint": mismatch.fingerprint}
    group = MismatchGroup.objects.select_for_update().filter(**lookup).first()
    if group is not None:
        return group, False
    try:
        with transaction.atomic():  # a savepoint: losing the race to create is not an error
            group = MismatchGroup.objects.create(
                **lookup,
                plan_hash=mismatch.trace.plan_hash,
                step_index=mismatch.step_index,
                skill_id=mismatch.skill_id,
                reason=mismatch.reason,
                first_seen=mismatch.created_at,
                last_seen=mismatch.created_at,
            )
        return group, True
    except IntegrityError:
        return MismatchGroup.objects.select_for_update().get(**lookup), False


def group_join(*, mismatch: Mismatch) -> MismatchGroup:
    """Adds a just-created mismatch to its group (counts, last seen, regression). Needs a transaction.

    A group resolved as `fixed` becomes `regressed`; resolved as anything else, it stays resolved,
    counts the event, and the new mismatch is recorded resolved (it will not be notified).
    """
    assert transaction.get_connection().in_atomic_block, "group_join runs inside the recording transaction"
    group, _created = _locked_group(mismatch)
    new_trace = not Mismatch.objects.filter(group=group, trace_id=mismatch.trace_id).exists()
    group.count += 1
    group.affected_traces += 1 if new_trace else 0
    group.last_seen = max(group.last_seen, mismatch.created_at)
    group.last_mismatch = mismatch
    group.agent_id = mismatch.trace.agent_id
    fields = ["count", "affected_traces", "last_seen", "last_mismatch", "agent_id"]
    mismatch_fields: dict = {"group": group}
    via = "the API" if reported_via_api(mismatch) else "a replay"
    message = f"Mismatch on trace {mismatch.trace.trace_id} (reported via {via})."
    counted_only = group.status == GroupStatus.RESOLVED and group.resolution_kind != ResolutionKind.FIXED
    if counted_only:
        message += f" Counted only: the group is resolved as {ResolutionKind(group.resolution_kind).label.lower()}."
    group_event_add(
        group=group, kind=GroupEventKind.REPORTED, mismatch=mismatch, actor=mismatch.reported_by, message=message
    )
    if group.status == GroupStatus.RESOLVED and group.resolution_kind == ResolutionKind.FIXED:
        group.status = GroupStatus.REGRESSED
        fields.append("status")
        group_event_add(
            group=group,
            kind=GroupEventKind.REOPENED,
            mismatch=mismatch,
            actor="aos",
            message=f"Regression: resolved as fixed by {group.resolved_by or 'someone'}, then seen again.",
        )
    elif counted_only:
        note = f"Counted only: the group is resolved as {ResolutionKind(group.resolution_kind).label.lower()}."
        mismatch_fields.update(resolved=True, resolved_at=timezone.now(), resolved_by="aos", resolution_note=note)
    group.save(update_fields=fields)
    Mismatch.objects.filter(pk=mismatch.pk).update(**mismatch_fields)
    for name, value in mismatch_fields.items():
        setattr(mismatch, name, value)
    return group


def group_resolve(*, group: MismatchGroup, kind: str, note: str, who: str) -> MismatchGroup:
    """Resolves the group and its unresolved mismatches; GitHub gets kind + note (and a close) after commit."""
    from triage.tasks import group_resolution_push_task  # tasks import services, not the other way

    kind = ResolutionKind(kind)  # ValueError on an unknown kind
    if not note.strip():
        raise ValueError("A resolution needs a note.")
    now = timezone.now()
    with transaction.atomic():
        updated = (
            MismatchGroup.objects.filter(pk=group.pk)
            .exclude(status=GroupStatus.RESOLVED)
            .update(
                status=GroupStatus.RESOLVED,
                resolution_kind=kind,
                resolution_note=note,
                resolved_by=who[:200],
                resolved_at=now,
            )
        )
        if not updated:
            raise GroupAlreadyResolved(str(group.pk))
        Mismatch.objects.filter(group_id=group.pk, resolved=False).update(
            resolved=True, resolved_at=now, resolved_by=who[:200], resolution_note=f"{kind.label}: {note}"
        )
        group_event_add(group=group, kind=GroupEventKind.RESOLVED, actor=who, message=f"{kind.label}: {note}")
        group_id = group.pk
        transaction.on_commit(lambda: group_resolution_push_task.delay(group_id), robust=True)
    group.refresh_from_db()
    return group


def group_unresolve_from_github(*, issue_url: str, login: str) -> int:
    """An issue reopened on GitHub: its resolved groups are unresolved again, with their mismatches.

    Regressed groups stay regressed (a regression's reopen comes back as this very webhook).
    Needs the webhook's transaction; returns how many mismatches it unresolved.
    """
    assert transaction.get_connection().in_atomic_block, "applied inside the webhook delivery's transaction"
    unresolved = 0
    # Locked like group_join locks them: a mismatch joining meanwhile sees the new status.
    groups = MismatchGroup.objects.select_for_update().filter(issue_url=issue_url, status=GroupStatus.RESOLVED)
    for group in groups:
        MismatchGroup.objects.filter(pk=group.pk).update(status=GroupStatus.UNRESOLVED)
        unresolved += Mismatch.objects.filter(group_id=group.pk, resolved=True).update(
            resolved=False, resolved_at=None, resolved_by="", resolution_note=""
        )
        group_event_add(group=group, kind=GroupEventKind.REOPENED, actor=login, message="Issue reopened on GitHub.")
    return unresolved


def group_resolve_from_github(*, issue_url: str, login: str) -> int:
    """An issue closed on GitHub: its open groups are resolved as fixed (closing is how GitHub says so),
    with their mismatches. Needs the webhook's transaction; returns how many mismatches it resolved."""
    assert transaction.get_connection().in_atomic_block, "applied inside the webhook delivery's transaction"
    now = timezone.now()
    note = "Issue closed on GitHub."
    resolved = 0
    groups = MismatchGroup.objects.select_for_update().filter(issue_url=issue_url).exclude(status=GroupStatus.RESOLVED)
    for group in groups:
        MismatchGroup.objects.filter(pk=group.pk).update(
            status=GroupStatus.RESOLVED,
            resolution_kind=ResolutionKind.FIXED,
            resolution_note=note,
            resolved_by=login[:200],
            resolved_at=now,
        )
        resolved += Mismatch.objects.filter(group_id=group.pk, resolved=False).update(
            resolved=True,
            resolved_at=now,
            resolved_by=login[:200],
            resolution_note=f"{ResolutionKind.FIXED.label}: {note}",
        )
        group_event_add(group=group, kind=GroupEventKind.RESOLVED, actor=login, message=note)
    return resolved
