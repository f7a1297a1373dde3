"""Mismatch API views (PRODUCT.md §6): thin — parse, call one service, render."""

from __future__ import annotations

from urllib.parse import parse_qs

import django_filters
from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsDeveloper, IsOperator, IsViewer
from aosproject.errors import ApiError
from aosproject.filters import BooleanFilter, ChoiceFilter, DateTimeFilter
from aosproject.idempotency import idempotent
from aosproject.jsonguard import JsonRefused, guarded_loads
from aosproject.plurals import counted
from traces.api import TraceCursorPagination
from traces.models import Trace
from traces.services import trace_get
from triage.github import GitHubError
from triage.models import Mismatch, MismatchReason, MismatchSource, NotificationState
from triage.serializers import (
    BulkReportInput,
    BulkReportOutput,
    MismatchReportedSerializer,
    MismatchReportInput,
    MismatchResolveInput,
    MismatchSerializer,
)
from triage.services import (
    AlreadyResolved,
    GitHubNotConfigured,
    mismatch_bulk_report,
    mismatch_record,
    mismatch_resolve,
)
from triage.webhooks import github_delivery_record, github_event_apply, signature_valid


def principal_name(principal) -> str:
    """A human name for `Resolved by …`: the Django username for sessions, else the subject."""
    user = getattr(principal, "user", None)
    return user.get_username() if user is not None else principal.subject


def _trace_or_404(request, trace_id: str) -> Trace:
    # The trace lookup of the trace endpoints: same tenant scoping, and a trace_id beats a run_id.
    return trace_get(tenant=request.auth.tenant, identifier=trace_id, queryset=Trace.objects.all())


class MismatchFilter(django_filters.FilterSet):
    resolved = BooleanFilter()
    reason = ChoiceFilter(choices=MismatchReason.choices)
    notification_state = ChoiceFilter(choices=NotificationState.choices)
    notified = BooleanFilter(method="filter_notified")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    trace = django_filters.CharFilter(field_name="trace__trace_id")
    fingerprint = django_filters.CharFilter()

    class Meta:
        model = Mismatch
        fields: list[str] = []

    def filter_notified(self, queryset, name, value):
        sent = NotificationState.SENT
        return queryset.filter(notification_state=sent) if value else queryset.exclude(notification_state=sent)


class MismatchReportView(APIView):
    """POST traces/{id}/mismatch: records now, notifies after commit (never waits on GitHub)."""

    permission_classes = [IsDeveloper]

    @extend_schema(request=MismatchReportInput, responses={201: MismatchReportedSerializer})
    @idempotent
    def post(self, request, trace_id: str):
        trace = _trace_or_404(request, trace_id)
        data = MismatchReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        count = max(trace.steps.count(), len(trace.plan or []))
        if data.validated_data["step_index"] >= count:
            steps = (
                "no steps" if count == 0 else ("1 step (index 0)" if count == 1 else f"{count} steps (0..{count - 1})")
            )
            raise ApiError(
                "validation_error",
                f"step_index: the trace has {steps}.",
                400,
                fields={"step_index": [f"Must be below {count}, the trace's step count."]},
            )
        with transaction.atomic():
            mismatch = mismatch_record(
                trace=trace, reported_by=request.auth.subject, source=MismatchSource.API, **data.validated_data
            )
        # Eager Celery (embedded default) has notified already; a worker has not: report what is true now.
        mismatch.refresh_from_db(fields=["notification_state", "issue_url"])
        return Response(MismatchReportedSerializer(mismatch).data, status=status.HTTP_201_CREATED)


class MismatchListView(generics.ListAPIView):
    """GET /api/v1/mismatches (tenant-wide)."""

    permission_classes = [IsViewer]
    serializer_class = MismatchSerializer
    pagination_class = TraceCursorPagination
    filterset_class = MismatchFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return Mismatch.objects.none()
        return Mismatch.objects.for_tenant(self.request.auth.tenant).select_related("trace", "tenant")


class TraceMismatchListView(MismatchListView):
    """GET traces/{id}/mismatches."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Mismatch.objects.none()
        trace = _trace_or_404(self.request, self.kwargs["trace_id"])
        return Mismatch.objects.filter(trace=trace).select_related("trace", "tenant")


class MismatchResolveView(APIView):
    """POST traces/{id}/mismatches/{mid}/resolve (operator)."""

    permission_classes = [IsOperator]

    @extend_schema(request=MismatchResolveInput, responses={200: MismatchSerializer})
    def post(self, request, trace_id: str, mismatch_id):
        trace = _trace_or_404(request, trace_id)
        mismatch = Mismatch.objects.select_related("trace", "tenant").filter(trace=trace, pk=mismatch_id).first()
        if mismatch is None:
            raise ApiError("not_found", f"No mismatch {mismatch_id} on trace {trace_id!r}.", 404)
        data = MismatchResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            mismatch = mismatch_resolve(
                mismatch=mismatch, who=principal_name(request.auth), note=data.validated_data["note"]
            )
        except AlreadyResolved:
            raise ApiError("conflict", "The mismatch is already resolved.", 409)
        return Response(MismatchSerializer(mismatch).data)


class MismatchBulkReportView(APIView):
    """POST traces/mismatches/bulk-report (operator): one GitHub issue for many mismatches."""

    permission_classes = [IsOperator]

    @extend_schema(request=BulkReportInput, responses={201: BulkReportOutput})
    @idempotent
    def post(self, request):
        data = BulkReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["github_issue"]:
            raise ApiError(
                "validation_error",
                "github_issue: only GitHub bulk reports exist.",
                400,
                fields={"github_issue": ["Must be true."]},
            )
        wanted = list(dict.fromkeys(data.validated_data["mismatch_ids"]))
        found = list(
            Mismatch.objects.for_tenant(request.auth.tenant)
            .filter(pk__in=wanted)
            .select_related("trace", "tenant")
            .order_by("trace__trace_id", "step_index", "created_at")
        )
        missing = sorted({str(w) for w in wanted} - {str(m.pk) for m in found})
        if missing:
            raise ApiError(
                "not_found",
                f"{counted(len(missing), 'mismatch', 'mismatches')} not found in this tenant.",
                404,
                missing=missing,
            )
        try:
            ref = mismatch_bulk_report(
                tenant=request.auth.tenant, mismatches=found, reported_by=principal_name(request.auth)
            )
        except GitHubNotConfigured as exc:
            raise ApiError("github_not_configured", str(exc), 409)
        except GitHubError as exc:
            raise ApiError("github_error", str(exc), 502, retryable=exc.retryable)
        return Response(
            {
                "issue_url": ref.url,
                "issue_number": ref.number,
                "mismatch_count": len(found),
                "trace_count": len({m.trace_id for m in found}),
            },
            status=status.HTTP_201_CREATED,
        )


class GitHubWebhookView(APIView):
    """POST integrations/github/webhook: signed by GitHub, so no API credentials and no rate limit."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(request=None, responses={200: None, 202: None, 401: None})
    def post(self, request):
        body = request.body  # the raw bytes the signature covers; read before DRF parses anything
        if not signature_valid(
            secret=settings.GITHUB_WEBHOOK_SECRET, body=body, header=request.headers.get("X-Hub-Signature-256")
        ):
            raise ApiError("invalid_signature", "Missing or invalid X-Hub-Signature-256.", 401)
        try:
            if request.content_type == "application/x-www-form-urlencoded":
                payload = guarded_loads(parse_qs(body.decode())["payload"][0])
            else:
                payload = guarded_loads(body or b"{}")
        except JsonRefused as exc:  # signed, but nothing the database could hold (NUL in html_url, ...)
            raise ApiError("validation_error", exc.message, 400, fields=exc.fields)
        except (ValueError, KeyError, UnicodeDecodeError):
            raise ApiError("malformed_json", "The webhook payload is not JSON.", 400)
        if not isinstance(payload, dict):
            raise ApiError("malformed_json", "The webhook payload must be a JSON object.", 400)
        event = request.headers.get("X-GitHub-Event", "")
        delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
        if len(delivery_id) > 100:
            raise ApiError("validation_error", "X-GitHub-Delivery is longer than 100 characters.", 400)
        with transaction.atomic():
            if not github_delivery_record(delivery_id=delivery_id, body=body, event=event):
                # A replay (or GitHub's redelivery of one we applied): acknowledged, so it is not resent.
                return Response({"ok": True, "event": event, "duplicate": True, "ignored": True, "updated": 0})
            result = github_event_apply(event=event, payload=payload)
        return Response(result, status=status.HTTP_202_ACCEPTED if result["ignored"] else status.HTTP_200_OK)
