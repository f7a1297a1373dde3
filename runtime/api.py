"""/api/v1/runtime/ views: parse input, call one service, render output (PRODUCT.md §4)."""

from __future__ import annotations

import functools

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsDeveloper, IsViewer
from aosproject.errors import ApiError
from aosproject.idempotency import idempotency_started, idempotent
from runtime import serializers as s
from runtime import services
from runtime.fastinput import fast_validated
from runtime.filters import RunFilter
from runtime.skills import REGISTRY, skill_ids
from traces.api import TraceCursorPagination
from traces.models import Trace, TraceSource, TraceStatus

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False, description="Repeat-safe creation (24 h)."
)


class SimulateView(APIView):
    permission_classes = [IsDeveloper]

    @extend_schema(
        request=s.SimulateInputSerializer,
        responses={200: s.SimulateOutputSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Simulate a plan: cost, latency, risks, budget and permissions (deterministic).",
    )
    @idempotent
    def post(self, request):
        data = _valid(s.SimulateInputSerializer, request)
        result = services.plan_simulate(tenant=request.auth.tenant, **data)
        return Response(result, status=status.HTTP_200_OK)


class RunListCreateView(generics.ListAPIView):
    serializer_class = s.RunSerializer
    pagination_class = TraceCursorPagination  # runs are traces: same order, same cursor
    filterset_class = RunFilter

    def get_permissions(self):
        return [IsDeveloper()] if self.request.method == "POST" else [IsViewer()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no principal
            return Trace.objects.none()
        return (
            Trace.objects.for_tenant(self.request.auth.tenant)
            .filter(source__in=(TraceSource.RUN, TraceSource.REPLAY))
            .select_related("replay_of")
        )

    @extend_schema(summary="List runs and replays (newest first, cursor pagination).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.RunInputSerializer,
        responses={201: s.RunDetailSerializer, 202: s.RunQueuedSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Run a plan (Celery task); `wait: true` returns the finished run, or 202 after AOS_RUN_WAIT_SECONDS.",
    )
    @idempotent
    def post(self, request):
        data = _valid(s.RunInputSerializer, request)
        wait = data.pop("wait")
        run_input = data.pop("input")
        trace = services.run_start(
            tenant=request.auth.tenant,
            wait=wait,
            run_input=run_input,
            on_created=lambda created: idempotency_started(request, run_id=created.run_id),
            **data,
        )
        if wait and trace.status in (TraceStatus.SUCCEEDED, TraceStatus.FAILED):
            return Response(s.RunDetailSerializer(trace).data, status=status.HTTP_201_CREATED)
        url = reverse("runtime-run-detail", kwargs={"run_id": trace.run_id})
        body = {"run_id": trace.run_id, "trace_id": trace.trace_id, "status": trace.status, "url": url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class RunDetailView(APIView):
    @extend_schema(responses={200: s.RunDetailSerializer}, summary="A run's status and its trace.")
    def get(self, request, run_id: str):
        trace = services.run_get(tenant=request.auth.tenant, run_id=run_id)
        return Response(s.RunDetailSerializer(trace).data)


class ReplayView(APIView):
    permission_classes = [IsDeveloper]

    @extend_schema(
        request=s.ReplayInputSerializer,
        responses={200: s.ReplayOutputSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Replay a run with its seed and frozen timestamp; report the first divergence.",
    )
    @idempotent
    def post(self, request, run_id: str):
        data = _valid(s.ReplayInputSerializer, request)
        started = functools.partial(idempotency_started, request)
        result = services.run_replay(
            tenant=request.auth.tenant, run_id=run_id, on_started=lambda replay_id: started(run_id=replay_id), **data
        )
        return Response(result, status=status.HTTP_200_OK)


class SkillListView(APIView):
    @extend_schema(responses={200: s.SkillSerializer(many=True)}, summary="The skill registry.")
    def get(self, request):
        return Response([REGISTRY[i].describe() for i in skill_ids()])


class SkillDetailView(APIView):
    @extend_schema(responses={200: s.SkillSerializer}, summary="One skill.")
    def get(self, request, skill_id: str):
        skill = REGISTRY.get(skill_id)
        if skill is None:
            raise ApiError("not_found", f"No skill {skill_id!r}.", 404, available=skill_ids())
        return Response(skill.describe())


class CapabilitiesView(APIView):
    @extend_schema(responses={200: s.CapabilitiesSerializer}, summary="Budget, allowed skills and rate-limit quota.")
    def get(self, request):
        # The throttle has just read the bucket for this request; reuse it (no second Redis read).
        counted = getattr(request, "aos_rate_limit", None)
        return Response(services.capabilities_get(principal=request.auth, rate_limit_state=counted))


def _valid(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise ApiError("validation_error", "The request body must be a JSON object.", 400)
    fast = fast_validated(serializer_class, request.data)  # a valid body skips building the fields
    if fast is not None:
        return fast
    serializer = serializer_class(data=request.data)  # writes the error envelope
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
