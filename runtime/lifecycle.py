"""A run's way through the task queue (PRODUCT.md §14): dispatch, bounded waiting, reaping.

- `run_dispatch` sends a queued run to Celery with soft and hard time limits just past its
  deadline. A broker that is down answers 503 and the run is marked failed
  (`ERR_BROKER_UNAVAILABLE`): it is never left queued, and never executes later behind the
  client's back (the client was told it did not start; decision 0012).
- `run_wait` lets `wait: true` wait at most AOS_RUN_WAIT_SECONDS, and only while one of this
  process's AOS_RUN_WAIT_SLOTS is free, so waiting requests never take every web thread. It is
  woken by the worker (`run_finished_signal`: LPUSH to a per-run Redis list that the waiting
  thread BLPOPs, decision 0066) and checks the database between blocking chunks, so a lost
  signal or a Redis outage costs latency (polling), never a wrong answer or a longer wait.
- `runs_reap` ends runs still queued/running past their deadline plus grace (`ERR_ABANDONED`)
  and re-sends runs still queued after AOS_RUN_REDISPATCH_SECONDS (a lost message, or a process
  that died between commit and send; executing a run twice is impossible: `run_execute` takes
  it with a conditional update).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from aos_sdk import hashing
from aosproject.errors import ApiError
from aosproject.log_throttle import LogThrottle
from aosproject.redis_client import raw_redis
from runtime.admission import admission_release
from traces.models import Trace, TraceSource, TraceStatus

logger = logging.getLogger(__name__)

ERR_ABANDONED = "ERR_ABANDONED"
ERR_BROKER_UNAVAILABLE = "ERR_BROKER_UNAVAILABLE"
FINISHED = (TraceStatus.SUCCEEDED, TraceStatus.FAILED)

# One blocking BLPOP lasts at most this long: below the cache's 1 s socket timeout, and between two
# of them the database is checked (a signal lost with a Redis restart costs at most this delay).
WAKE_CHUNK_SECONDS = 0.5
_signal_warning = LogThrottle()

_wait_slots_lock = threading.Lock()
_wait_slots: tuple[int, threading.BoundedSemaphore] | None = None


def task_time_limits() -> tuple[float, float]:
    """(soft, hard) Celery time limits: past the deadline, and the hard one before the reaper acts."""
    deadline, grace = settings.AOS_RUN_DEADLINE_SECONDS, settings.AOS_RUN_REAP_GRACE_SECONDS
    return deadline + min(10.0, grace / 4), deadline + grace / 2


def _fail(trace_pks: list[int], *, from_status: str, code: str, message: str) -> int:
    """Ends traces failed with the root hash of zero steps (a reaped run is replayable)."""
    failed = 0
    now = timezone.now()
    for trace in Trace.objects.filter(pk__in=trace_pks, status=from_status):
        root = hashing.root_zero(plan_hash=trace.plan_hash, seed=trace.seed, timestamp=trace.frozen_timestamp)
        failed += Trace.objects.filter(pk=trace.pk, status=from_status).update(
            status=TraceStatus.FAILED, error_code=code, error_message=message, root_hash=root, finished_at=now
        )
        if trace.run_id:
            admission_release(tenant_id=trace.tenant_id, token=trace.run_id)
    return failed


def _send(trace_pk: int) -> None:
    from runtime.tasks import run_execute_task

    soft, hard = task_time_limits()
    run_execute_task.apply_async((trace_pk,), soft_time_limit=soft, time_limit=hard)


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError

    return (OperationalError, OSError)


class BrokerUnavailable(ApiError):
    nothing_started = True  # the Idempotency-Key can be used again

    def __init__(self, run_id: str) -> None:
        super().__init__(
            "service_unavailable",
            "The task queue is unavailable; the run was not started. Retry later.",
            503,
            headers={"Retry-After": "5"},
            run_id=run_id,
        )


def run_dispatch(*, trace: Trace) -> None:
    """Sends the run to the workers (inline with eager tasks); 503 when the broker is down."""
    try:
        _send(trace.pk)
    except _broker_errors() as exc:
        logger.warning("broker unavailable, run %s not started: %s", trace.run_id, exc)
        _fail(
            [trace.pk],
            from_status=TraceStatus.QUEUED,
            code=ERR_BROKER_UNAVAILABLE,
            message="The task queue was unavailable; the run was not started.",
        )
        raise BrokerUnavailable(trace.run_id or "") from exc


def _slots() -> threading.BoundedSemaphore:
    global _wait_slots
    with _wait_slots_lock:
        size = max(0, settings.AOS_RUN_WAIT_SLOTS)
        if _wait_slots is None or _wait_slots[0] != size:
            _wait_slots = (size, threading.BoundedSemaphore(size) if size else threading.BoundedSemaphore(1))
            if not size:
                _wait_slots[1].acquire()  # zero slots: never wait
        return _wait_slots[1]


def _done_key(trace_pk: int) -> str:
    return cache.make_key(f"run-done:{trace_pk}")


def run_finished_signal(*, trace_pk: int) -> None:
    """Wakes the request waiting on this run, if any (one round trip: LPUSH and EXPIRE).

    Called once the finished run is committed. The list outlives any wait (AOS_RUN_WAIT_SECONDS)
    and then expires; nothing is sent without Redis (eager tasks run inside the waiting request).
    """
    try:
        client = raw_redis()
        if client is None:
            return
        key = _done_key(trace_pk)
        pipe = client.pipeline(transaction=False)
        pipe.lpush(key, "1")
        pipe.expire(key, int(settings.AOS_RUN_WAIT_SECONDS) + 60)
        pipe.execute()
    except Exception as exc:  # the waiter's database checks still see the run finish
        if _signal_warning.ready():
            logger.warning("run finished signal not sent (waiters fall back to polling): %s", exc)


def _finished(trace_pk: int) -> bool:
    return Trace.objects.filter(pk=trace_pk, status__in=FINISHED).exists()


def run_wait(*, trace: Trace, seconds: float) -> bool:
    """Waits until the run finished or `seconds` passed; True when it finished.

    Blocks on the run's Redis list in chunks of WAKE_CHUNK_SECONDS (woken the moment the worker
    signals), checking the database after each chunk that timed out; without Redis, or once a
    Redis call failed, it polls the database (50 ms, doubling up to 500 ms). Never past `seconds`
    by more than one Redis socket timeout.
    """
    if _finished(trace.pk):
        return True
    slots = _slots()
    if not slots.acquire(blocking=False):
        return False  # this process already has its share of waiting threads
    try:
        end = time.monotonic() + seconds
        client = _wake_client()
        key = _done_key(trace.pk)
        pause = 0.05
        while (left := end - time.monotonic()) > 0:
            if client is not None:
                try:
                    # A timeout of 0 would block forever: never below 10 ms.
                    if client.blpop([key], timeout=max(0.01, min(WAKE_CHUNK_SECONDS, left))):
                        return True  # pushed after the finished run was committed
                except Exception as exc:
                    client = None
                    if _signal_warning.ready():
                        logger.warning("run wait: Redis unavailable, polling the database: %s", exc)
            else:
                time.sleep(max(0.0, min(pause, left)))
                pause = min(pause * 2, 0.5)
            if _finished(trace.pk):
                return True
        return False
    finally:
        slots.release()


def _wake_client():
    try:
        return raw_redis()
    except Exception:  # misconfigured or unreachable: poll
        return None


@dataclass(frozen=True)
class ReapResult:
    abandoned: int
    redispatched: int


def runs_reap(*, now: datetime | None = None) -> ReapResult:
    """Ends stuck runs `ERR_ABANDONED` and re-sends runs still queued (see module docstring)."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.AOS_RUN_DEADLINE_SECONDS + settings.AOS_RUN_REAP_GRACE_SECONDS)
    runs = Trace.objects.filter(source=TraceSource.RUN)
    message = "The run did not finish within its deadline plus grace; its worker was lost."
    abandoned = _fail(
        list(runs.filter(status=TraceStatus.RUNNING, updated_at__lt=now - lease).values_list("pk", flat=True)),
        from_status=TraceStatus.RUNNING,
        code=ERR_ABANDONED,
        message=message,
    )
    abandoned += _fail(
        list(runs.filter(status=TraceStatus.QUEUED, created_at__lt=now - lease).values_list("pk", flat=True)),
        from_status=TraceStatus.QUEUED,
        code=ERR_ABANDONED,
        message="The run was never started by a worker within its deadline plus grace.",
    )
    stale = now - timedelta(seconds=settings.AOS_RUN_REDISPATCH_SECONDS)
    redispatched = 0
    for pk in runs.filter(status=TraceStatus.QUEUED, created_at__lt=stale).values_list("pk", flat=True):
        try:
            _send(pk)
        except _broker_errors() as exc:
            logger.warning("reaper: broker unavailable, %d queued runs not re-sent: %s", redispatched, exc)
            break
        redispatched += 1
    return ReapResult(abandoned=abandoned, redispatched=redispatched)
