"""The mismatch list's "Resolve with note…": the selection resolved as the mismatch page resolves one.

A selected mismatch whose group is still open (unresolved or regressed) resolves that group with
`group_resolve`, once per group however many of its mismatches are selected; the others (no group,
or a group already resolved) are resolved alone with the note stored as "<Kind>: <note>", exactly
what the mismatch page does (decisions 0057 and 0072). The kind and the note are both required.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from aosproject.plurals import counted
from triage.groups import GroupAlreadyResolved, group_resolve
from triage.models import GroupStatus, Mismatch, MismatchGroup, ResolutionKind
from triage.services import AlreadyResolved, mismatch_resolve


def groups_with_members(groups: int, members: int) -> str:
    """ "1 group (with its 1 unresolved mismatch)", "2 groups (with their 5 unresolved mismatches)"."""
    own = "its" if groups == 1 else "their"
    return f"{counted(groups, 'group')} (with {own} {counted(members, 'unresolved mismatch', 'unresolved mismatches')})"


@dataclass
class BulkResolvePlan:
    """What the confirmation page announces and the apply step does, from one read of the selection."""

    mismatches: list[Mismatch]
    groups: list[MismatchGroup] = field(default_factory=list)
    group_unresolved: dict[int, int] = field(default_factory=dict)  # group pk -> its unresolved mismatches
    lone: list[Mismatch] = field(default_factory=list)
    already_resolved: int = 0

    @property
    def summary(self) -> str:
        """ "Resolves 2 groups (with their 5 unresolved mismatches) and 1 lone mismatch; 1 is already resolved." """
        parts = []
        if self.groups:
            parts.append(groups_with_members(len(self.groups), sum(self.group_unresolved.values())))
        if self.lone:
            parts.append(counted(len(self.lone), "lone mismatch", "lone mismatches"))
        text = f"Resolves {' and '.join(parts)}" if parts else "Resolves nothing"
        if self.already_resolved:
            selected = counted(self.already_resolved, "selected mismatch", "selected mismatches")
            text += f"; {selected} {'is' if self.already_resolved == 1 else 'are'} already resolved"
        return text + "."


def bulk_resolve_plan(queryset: QuerySet[Mismatch]) -> BulkResolvePlan:
    """Splits the selection into open groups (each once) and lone mismatches; three queries in all."""
    mismatches = list(queryset.select_related("trace", "tenant", "group").order_by("created_at", "pk"))
    plan = BulkResolvePlan(mismatches=mismatches)
    seen: set[int] = set()
    for mismatch in mismatches:
        group = mismatch.group
        if group is not None and group.status != GroupStatus.RESOLVED:
            if group.pk not in seen:
                seen.add(group.pk)
                plan.groups.append(group)
        elif mismatch.resolved:
            plan.already_resolved += 1
        else:
            plan.lone.append(mismatch)
    if seen:
        rows = (
            Mismatch.objects.filter(group_id__in=seen, resolved=False)
            .values("group_id")
            .annotate(n=Count("pk"))
            .values_list("group_id", "n")
        )
        plan.group_unresolved = {pk: 0 for pk in seen} | dict(rows)
    return plan


def bulk_resolve_apply(plan: BulkResolvePlan, *, kind: str, note: str, who: str) -> str:
    """Resolves what the plan names; returns the sentence the list shows afterwards."""
    kind = ResolutionKind(kind)  # ValueError on an unknown kind
    groups = members = lone = raced = 0
    for group in plan.groups:
        try:
            group_resolve(group=group, kind=kind, note=note, who=who)
        except GroupAlreadyResolved:
            raced += 1  # resolved by someone else since the page was drawn
        else:
            groups += 1
            members += plan.group_unresolved.get(group.pk, 0)
    for mismatch in plan.lone:
        try:
            mismatch_resolve(mismatch=mismatch, who=who, note=f"{kind.label}: {note}")
        except AlreadyResolved:
            raced += 1
        else:
            lone += 1
    parts = []
    if groups:
        parts.append(groups_with_members(groups, members))
    if lone:
        parts.append(counted(lone, "lone mismatch", "lone mismatches"))
    text = f"Resolved {' and '.join(parts)} as {kind.label.lower()}" if parts else "Resolved nothing"
    skipped = plan.already_resolved + raced
    if skipped:
        text += f"; {skipped} {'was' if skipped == 1 else 'were'} already resolved"
    return text + "."
