"""Mismatch group API (PRODUCT.md §15): list, detail, resolve. Thin: parse, call one service, render."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOperator, IsViewer
from aosproject.errors import ApiError
from aosproject.filters import ChoiceFilter
from aosproject.pagination import ApiCursorPagination
from triage.api import principal_name
from triage.groups import GroupAlreadyResolved, group_resolve
from triage.models import GroupStatus, MismatchGroup, MismatchReason
from triage.serializers_groups import GroupResolveInput, MismatchGroupDetailSerializer, MismatchGroupSerializer


class GroupCursorPagination(ApiCursorPagination):
    """Most recently seen first (a group seen again moves to the front, as in Sentry)."""

    ordering = ("-last_seen", "-id")


OPEN = "open"  # unresolved or regressed: what needs triage, what the admin's group list opens on
OPEN_STATUSES = (GroupStatus.UNRESOLVED, GroupStatus.REGRESSED)


class MismatchGroupFilter(django_filters.FilterSet):
    status = ChoiceFilter(
        choices=[*GroupStatus.choices, (OPEN, "Unresolved or regressed")],
        method="filter_status",
        help_text="unresolved, resolved or regressed; open: unresolved or regressed (what needs triage).",
    )
    reason = ChoiceFilter(choices=MismatchReason.choices)
    skill = django_filters.CharFilter(field_name="skill_id")
    agent = django_filters.CharFilter(field_name="agent_id")

    class Meta:
        model = MismatchGroup
        fields: list[str] = []

    def filter_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.filter(status=value)


def _groups(request):
    return MismatchGroup.objects.for_tenant(request.auth.tenant).select_related("tenant", "last_mismatch__trace")


def _group_or_404(request, group_id: int) -> MismatchGroup:
    group = _groups(request).select_related("last_mismatch__tenant").filter(pk=group_id).first()
    if group is None:  # another tenant's group is as absent as one that never existed
        raise ApiError("not_found", f"No mismatch group {group_id}.", 404)
    return group


class MismatchGroupListView(generics.ListAPIView):
    """GET /api/v1/mismatch-groups (viewer; the caller's tenant)."""

    permission_classes = [IsViewer]
    serializer_class = MismatchGroupSerializer
    pagination_class = GroupCursorPagination
    filterset_class = MismatchGroupFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return MismatchGroup.objects.none()
        return _groups(self.request)


class MismatchGroupDetailView(APIView):
    """GET /api/v1/mismatch-groups/{id} (viewer): the group, its latest diff and its timeline."""

    permission_classes = [IsViewer]

    @extend_schema(responses={200: MismatchGroupDetailSerializer})
    def get(self, request, group_id: int):
        return Response(MismatchGroupDetailSerializer(_group_or_404(request, group_id)).data)


class MismatchGroupResolveView(APIView):
    """POST /api/v1/mismatch-groups/{id}/resolve (operator) `{kind, note}`."""

    permission_classes = [IsOperator]

    @extend_schema(request=GroupResolveInput, responses={200: MismatchGroupDetailSerializer})
    def post(self, request, group_id: int):
        group = _group_or_404(request, group_id)
        data = GroupResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            group = group_resolve(group=group, who=principal_name(request.auth), **data.validated_data)
        except GroupAlreadyResolved:
            raise ApiError("conflict", "The mismatch group is already resolved.", 409)
        return Response(MismatchGroupDetailSerializer(_group_or_404(request, group.pk)).data)
