"""Trace endpoints under /api/v1/traces/ (PRODUCT.md §5). Views parse, call a service, render."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsDeveloper, IsOperator, IsViewer
from aosproject.errors import ApiError
from aosproject.idempotency import idempotent
from aosproject.pagination import ApiCursorPagination
from traces import services
from traces.filters import TraceFilter
from traces.models import Trace, TraceStep
from traces.serializers import TraceDetailSerializer, TraceIngestSerializer, TraceSerializer

TraceCursorPagination = ApiCursorPagination  # traces, runs and mismatches page alike


class TraceListCreateView(generics.ListAPIView):
    """GET: the tenant's traces (filters, cursor pagination). POST: ingest an SDK trace."""

    serializer_class = TraceSerializer
    filterset_class = TraceFilter
    pagination_class = TraceCursorPagination

    def get_permissions(self):
        return [IsDeveloper()] if self.request.method == "POST" else [IsViewer()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no principal
            return Trace.objects.none()
        # The plan and input can be large and the list does not show them.
        return services.trace_queryset(tenant=self.request.auth.tenant).defer("plan", "input")

    @extend_schema(request=TraceIngestSerializer, responses={201: TraceSerializer, 200: TraceSerializer})
    @idempotent
    def post(self, request, *args, **kwargs):
        payload = TraceIngestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        trace, created = services.trace_ingest(tenant=request.auth.tenant, data=payload.validated_data)
        return Response(TraceSerializer(trace).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _detail_queryset(tenant):
    return services.trace_queryset(tenant=tenant).prefetch_related(
        Prefetch("steps", queryset=TraceStep.objects.order_by("index"))
    )


class TraceDetailView(APIView):
    """GET a trace with its steps (by trace_id or run_id); DELETE it (operator)."""

    def get_permissions(self):
        return [IsOperator()] if self.request.method == "DELETE" else [IsViewer()]

    @extend_schema(responses=TraceDetailSerializer)
    def get(self, request, trace_id: str):
        trace = services.trace_get(
            tenant=request.auth.tenant, identifier=trace_id, queryset=_detail_queryset(request.auth.tenant)
        )
        return Response(TraceDetailSerializer(trace).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted with its steps and mismatches.")})
    def delete(self, request, trace_id: str):
        trace = services.trace_get(
            tenant=request.auth.tenant, identifier=trace_id, queryset=Trace.objects.only("id", "trace_id", "run_id")
        )
        services.trace_delete(trace=trace)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TraceByHashView(generics.ListAPIView):
    """Traces whose root hash is this one (a parity replay shares its original's root hash)."""

    serializer_class = TraceSerializer
    pagination_class = TraceCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Trace.objects.none()
        return (
            services.trace_queryset(tenant=self.request.auth.tenant)
            .filter(root_hash=self.kwargs["root_hash"].lower())
            .defer("plan", "input")
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if not response.data["results"] and not request.query_params.get("cursor"):
            raise ApiError("not_found", f"No trace with root hash {kwargs['root_hash']!r}.", 404)
        return response


class TraceCompareView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "TraceComparison",
            {
                "a": serializers.CharField(),
                "b": serializers.CharField(),
                "match": serializers.BooleanField(),
                "first_divergence": serializers.DictField(allow_null=True),
                "differences": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request, a: str, b: str):
        tenant = request.auth.tenant
        only = Trace.objects.defer("input", "metadata")
        trace_a = services.trace_get(tenant=tenant, identifier=a, queryset=only)
        trace_b = services.trace_get(tenant=tenant, identifier=b, queryset=only)
        return Response(services.trace_compare(a=trace_a, b=trace_b))
