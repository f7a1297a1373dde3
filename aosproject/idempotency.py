"""Idempotency keys (PRODUCT.md §7). Apply `@idempotent` to every creating POST handler.

The shared API layer (any app's views use it); it imports no app above `accounts`. What a key
that *started work* (a run) answers is the business of the app that started it: that app
registers it with `started_work_register` (runtime does, in its AppConfig.ready()).

A request carrying `Idempotency-Key` is scoped to (tenant, key) and fingerprinted by
`H(method, full path, parsed body)`. Two layers make "N concurrent identical requests → one
execution" hold:

1. An atomic claim in the cache. With django-redis it is `SET NX EX` on the raw client (one
   round trip, atomic across every web process); with any other cache backend it is
   `cache.add`, which is atomic only inside one process (the embedded locmem default).
2. The `IdempotencyRecord` row (unique tenant+key), written before the view runs: the durable
   backstop when the cache is per-process, was flushed, or is down (Redis errors fall back to it).

Outcomes: first request → runs, its 2xx/3xx status and body are stored for
IDEMPOTENCY_TTL_SECONDS; repeat with the same payload → stored response with
`Idempotent-Replayed: true`; same key, different payload → 422 `idempotency_key_reused`;
repeat while the first is in flight → 409 `idempotency_in_progress`.

Chosen: 4xx and 5xx results and exceptions are NOT stored; the claim is released so the client
can retry (or correct the payload) under the same key -- unless execution may have begun. The
view reports the run it started (`idempotency_started`) before anything executes; from then on
the claim is never released, whatever happens to the request (an exception, gunicorn's
SystemExit on a worker timeout), and a repeat is answered from that run: 409 with its URL while
it is in flight, its outcome once it finished. A claim that started nothing is treated as
abandoned (the worker died mid-request) after max(IDEMPOTENCY_LOCK_SECONDS, run deadline +
grace), the longest a run can be in flight, and can then be retaken.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from aos_sdk.hashing import H
from aosproject.errors import ApiError
from aosproject.log_throttle import LogThrottle
from aosproject.metrics import IDEMPOTENCY
from aosproject.models import IdempotencyRecord
from aosproject.redis_client import raw_redis

logger = logging.getLogger(__name__)
# Redis down: one warning a minute, not one per request (the rate limiter does the same).
_degraded_warning = LogThrottle()

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
IN_FLIGHT, DONE = "p", "d"


@dataclass(frozen=True)
class StartedWork:
    """How keys that started work are handled, registered by the app whose views start it.

    `lock_seconds`: how long such work can be in flight (a claim lasts at least that long);
    `answer(record)`: the response to a repeat of a request that started `record.run_id`
    (may raise an ApiError, e.g. 409 while it is in flight).
    """

    lock_seconds: Callable[[], int]
    answer: Callable[[IdempotencyRecord], Response]


_started_work: StartedWork | None = None


def started_work_register(*, lock_seconds: Callable[[], int], answer: Callable[[IdempotencyRecord], Response]) -> None:
    global _started_work
    _started_work = StartedWork(lock_seconds=lock_seconds, answer=answer)


# Deletes the claim only if it is still ours (a lease that expired may have been retaken).
_RELEASE_LUA = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class _ClaimStore:
    """The fast, atomic claim: Redis raw client when the cache is django-redis, else `cache.add`."""

    def __init__(self) -> None:
        self.redis = raw_redis()

    def add(self, key: str, value: str, ttl: int) -> bool:
        if self.redis is not None:
            return bool(self.redis.set(key, value, nx=True, ex=ttl))
        return cache.add(key, value, ttl)

    def get(self, key: str) -> str | None:
        if self.redis is not None:
            raw = self.redis.get(key)
            return raw.decode() if isinstance(raw, bytes) else raw
        return cache.get(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        if self.redis is not None:
            self.redis.set(key, value, ex=ttl)
        else:
            cache.set(key, value, ttl)

    def release(self, key: str, value: str) -> None:
        if self.redis is not None:
            self.redis.eval(_RELEASE_LUA, 1, key, value)
        elif cache.get(key) == value:
            cache.delete(key)


def _request_hash(request) -> str:
    data = request.data
    try:
        return H({"method": request.method, "path": request.get_full_path(), "body": data})
    except Exception:  # values JCS cannot encode (e.g. ints beyond 2**53): a stable JSON dump will do
        dumped = json.dumps([request.method, request.get_full_path(), data], sort_keys=True, default=str)
        return hashlib.sha256(dumped.encode()).hexdigest()


def _cache_key(tenant_id: int, key: str) -> str:
    return cache.make_key(f"idem:{tenant_id}:{hashlib.sha256(key.encode()).hexdigest()}")


def lock_seconds() -> int:
    """How long an in-flight claim lasts: at least as long as the run it may start can."""
    work = _started_work.lock_seconds() if _started_work is not None else 0
    return max(settings.IDEMPOTENCY_LOCK_SECONDS, work)


def _is_live(record: IdempotencyRecord, now) -> bool:
    if record.expires_at <= now:
        return False
    if record.state == IdempotencyRecord.State.IN_PROGRESS and not record.run_id:
        return record.created_at > now - timedelta(seconds=lock_seconds())
    return True  # completed, or started a run: never retaken before the TTL


def _db_claim(*, tenant, key: str, request_hash: str, method: str, path: str) -> tuple[bool, IdempotencyRecord | None]:
    """(True, ours) when this request now owns the key, else (False, the live record)."""
    now = timezone.now()
    existing = IdempotencyRecord.objects.filter(tenant=tenant, key=key).first()
    if existing is not None:
        if _is_live(existing, now):
            return False, existing
        # Expired or abandoned: replace it (only that exact row, in case someone else already did).
        IdempotencyRecord.objects.filter(pk=existing.pk, state=existing.state, created_at=existing.created_at).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                tenant=tenant,
                key=key,
                request_hash=request_hash,
                method=method,
                path=path[:500],
                state=IdempotencyRecord.State.IN_PROGRESS,
                expires_at=now + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS),
            )
    except IntegrityError:
        return False, IdempotencyRecord.objects.filter(tenant=tenant, key=key).first()
    return True, record


def _in_progress() -> ApiError:
    IDEMPOTENCY.labels(result="in_progress").inc()
    return ApiError(
        "idempotency_in_progress", "A request with this Idempotency-Key is still being processed; retry shortly.", 409
    )


def _reused() -> ApiError:
    IDEMPOTENCY.labels(result="mismatch").inc()
    return ApiError(
        "idempotency_key_reused", "This Idempotency-Key was already used with a different request payload.", 422
    )


def _answer_from_run(record: IdempotencyRecord) -> Response:
    """A request that started work but stored no response: the registered app answers."""
    if _started_work is None:
        raise _in_progress()
    return _started_work.answer(record)


def _answer_existing(record: IdempotencyRecord | None, request_hash: str) -> Response:
    if record is None:  # lost a race with a release; the caller can simply retry
        raise _in_progress()
    if record.request_hash != request_hash:
        raise _reused()
    if record.state != IdempotencyRecord.State.COMPLETED:
        if record.run_id:
            return _answer_from_run(record)
        raise _in_progress()
    IDEMPOTENCY.labels(result="replayed").inc()
    return Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"})


class _Claim:
    """The fast claim for one request; Redis errors degrade to the database backstop alone."""

    def __init__(self, cache_key: str, request_hash: str) -> None:
        self.cache_key = cache_key
        self.value = f"{IN_FLIGHT}:{request_hash}:{uuid.uuid4().hex}"
        self.store: _ClaimStore | None = None
        self.held = False

    def _guard(self, fn, default=None):
        try:
            return fn()
        except Exception as exc:  # Redis down: the unique constraint still guarantees one execution
            if _degraded_warning.ready():
                logger.warning("idempotency cache unavailable, using the database only: %s", exc)
            self.store = None
            return default

    def try_acquire(self) -> str | None:
        """None when acquired (or the cache is unusable), else the current holder's value."""
        self.store = self._guard(_ClaimStore)
        if self.store is None:
            return None
        ttl = lock_seconds()
        for _ in range(3):  # the holder's value can expire between our SET NX and GET
            if self._guard(lambda: self.store.add(self.cache_key, self.value, ttl), default=True):
                self.held = self.store is not None
                return None
            current = self._guard(lambda: self.store.get(self.cache_key))
            if current:
                return current
        return None

    def release(self) -> None:
        if self.store is not None and self.held:
            self._guard(lambda: self.store.release(self.cache_key, self.value))
        self.held = False

    def complete(self, request_hash: str) -> None:
        if self.store is not None:
            ttl = settings.IDEMPOTENCY_TTL_SECONDS
            self._guard(lambda: self.store.set(self.cache_key, f"{DONE}:{request_hash}", ttl))


def _plain_json(data: Any) -> Any:
    """What the client saw, as plain JSON (UUIDs, datetimes and decimals rendered by DRF)."""
    return json.loads(JSONRenderer().render(data) or b"null")


def idempotent(view_method):
    """Decorates an APIView `post(self, request, *args, **kwargs)` method."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        raw_key = request.headers.get(HEADER)
        tenant = getattr(request.auth, "tenant", None)
        if raw_key is None or tenant is None:  # no key, or a view without a tenant principal
            return view_method(self, request, *args, **kwargs)
        key = raw_key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ApiError(
                "validation_error",
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.",
                400,
                fields={HEADER: ["Invalid idempotency key."]},
            )
        request_hash = _request_hash(request)
        claim = _Claim(_cache_key(tenant.pk, key), request_hash)

        holder = claim.try_acquire()
        if holder is not None:
            state, _, held_hash = holder.partition(":")
            held_hash = held_hash.split(":", 1)[0]
            if held_hash != request_hash:
                raise _reused()
            if state == IN_FLIGHT:
                record = IdempotencyRecord.objects.filter(tenant=tenant, key=key).first()
                if record is not None and record.run_id and record.request_hash == request_hash:
                    return _answer_from_run(record)  # 409 with the run's URL, or its outcome
                raise _in_progress()
            # DONE: the stored response is in the database.

        owned, record = _db_claim(
            tenant=tenant, key=key, request_hash=request_hash, method=request.method, path=request.get_full_path()
        )
        if not owned:
            claim.release()
            if record is not None and record.state == IdempotencyRecord.State.COMPLETED:
                claim.complete(record.request_hash)  # re-warm the cache after a flush or restart
            return _answer_existing(record, request_hash)

        request.aos_idempotency_record = record
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException as exc:
            # Once execution may have begun, nothing (not even SystemExit) gives the key back.
            if not record.run_id or getattr(exc, "nothing_started", False):
                _release(record, claim)
            raise
        if response.status_code >= 400:
            if not record.run_id:
                _release(record, claim)
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.COMPLETED,
            response_status=response.status_code,
            response_body=_plain_json(getattr(response, "data", None)),
            expires_at=timezone.now() + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS),
        )
        claim.complete(request_hash)
        IDEMPOTENCY.labels(result="new").inc()
        return response

    return wrapper


def idempotency_started(request, *, run_id: str) -> None:
    """Called by a view before its run can execute: the key now belongs to that run for good."""
    record = getattr(request, "aos_idempotency_record", None)
    if record is None:
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(run_id=run_id)
    record.run_id = run_id


def _release(record: IdempotencyRecord, claim: _Claim) -> None:
    """A failed first attempt leaves no trace, so the same key can be retried."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS).delete()
    claim.release()
    IDEMPOTENCY.labels(result="released").inc()
