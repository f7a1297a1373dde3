"""Idempotency keys that started a run (PRODUCT.md §7, §14); the decorator is `aosproject.idempotency`.

Registered in RuntimeConfig.ready(): a claim lasts at least as long as a run can be in flight,
and a repeat of a request that started a run is answered from that run.
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from rest_framework.response import Response

from aosproject.errors import ApiError
from aosproject.idempotency import REPLAYED_HEADER, lock_seconds, started_work_register
from aosproject.metrics import IDEMPOTENCY
from aosproject.models import IdempotencyRecord
from runtime.policy import run_lease_seconds


def answer_from_run(record: IdempotencyRecord) -> Response:
    """A request that started a run but stored no response: 409 with the run's URL while that
    request may still be alive; once its lease passed (it died), the run's outcome."""
    from runtime.serializers import RunDetailSerializer
    from traces.models import Trace, TraceStatus

    url = reverse("runtime-run-detail", kwargs={"run_id": record.run_id})
    # Within its lease the first request may still answer (and store its own response): 409.
    request_alive = record.created_at > timezone.now() - timedelta(seconds=lock_seconds())
    trace = None if request_alive else Trace.objects.filter(tenant=record.tenant_id, run_id=record.run_id).first()
    if trace is None or trace.status not in (TraceStatus.SUCCEEDED, TraceStatus.FAILED):
        IDEMPOTENCY.labels(result="in_progress").inc()
        raise ApiError(
            "idempotency_in_progress",
            f"The request with this Idempotency-Key started run {record.run_id}, which has not finished; "
            "follow its URL.",
            409,
            run_id=record.run_id,
            url=url,
        )
    IDEMPOTENCY.labels(result="replayed").inc()
    return Response(RunDetailSerializer(trace).data, status=200, headers={REPLAYED_HEADER: "true", "Location": url})


def runs_register() -> None:
    started_work_register(lock_seconds=run_lease_seconds, answer=answer_from_run)
