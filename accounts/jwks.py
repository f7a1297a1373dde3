"""The identity provider's signing keys: cached, fetched by one thread at a time, failures cached too.

PyJWT's `PyJWKClient` fetches and parses (we keep it for that), but it has no lock, so N concurrent
requests with a cold or expired cache make N fetches, and it caches no failure, so every request
during an outage waits `OIDC_TIMEOUT` for its own fetch. Both stall a worker's threads and with them
the API-key requests queued behind (issue 11, finding 8). Here (docs/decisions/0003):

- one fetch at a time per process; a request that finds a fetch in flight does not wait for it: it
  uses the keys already known or is answered 503 at once;
- a failed fetch closes the circuit for `OIDC_JWKS_FAILURE_COOLDOWN_SECONDS`: no fetch, immediate
  503 (or the last known keys, which stay usable through an outage);
- an unknown `kid` refetches at most once per `OIDC_JWKS_REFETCH_COOLDOWN_SECONDS`.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import jwt
from jwt import PyJWK, PyJWKSet

logger = logging.getLogger(__name__)


class JwksUnavailable(jwt.PyJWKClientConnectionError):
    """The keys could not be fetched now (endpoint down, slow, or in its failure cooldown)."""


class JwksUnknownKey(jwt.PyJWKClientError):
    """No published signing key has this `kid` (after the refetch the cooldown allows)."""


class JwksKeySet:
    def __init__(
        self,
        url: str,
        *,
        lifespan: float,
        refetch_cooldown: float,
        failure_cooldown: float,
        timeout: float,
        ssl_context=None,
    ) -> None:
        self._client = jwt.PyJWKClient(
            url, cache_jwk_set=False, cache_keys=False, timeout=timeout, ssl_context=ssl_context
        )
        self.lifespan = lifespan
        self.refetch_cooldown = refetch_cooldown
        self.failure_cooldown = failure_cooldown
        self._fetch_lock = threading.Lock()
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = -math.inf
        self._failed_until = -math.inf
        self._last_error = ""

    def signing_key(self, kid: str) -> PyJWK:
        keys, age = self._keys, time.monotonic() - self._fetched_at
        if keys is not None and kid in keys and age < self.lifespan:
            return keys[kid]
        if keys is not None and age < min(self.refetch_cooldown, self.lifespan):
            raise JwksUnknownKey(f"No signing key with kid {kid!r}; the key set was fetched {age:.0f}s ago.")
        keys = self._refresh()
        if kid not in keys:
            raise JwksUnknownKey(f"No signing key with kid {kid!r}.")
        return keys[kid]

    def signing_keys(self) -> list[PyJWK]:
        keys = self._keys
        if keys is None or time.monotonic() - self._fetched_at >= self.lifespan:
            keys = self._refresh()
        return list(keys.values())

    def _refresh(self) -> dict[str, PyJWK]:
        """Fresh keys, or the known ones when a fetch is in flight or failing; else JwksUnavailable."""
        if time.monotonic() < self._failed_until:
            return self._known_or_unavailable(f"in its failure cooldown after: {self._last_error}")
        if not self._fetch_lock.acquire(blocking=False):
            return self._known_or_unavailable("another request is fetching them")
        try:
            if time.monotonic() < self._failed_until:  # failed while we reached the lock
                return self._known_or_unavailable(f"in its failure cooldown after: {self._last_error}")
            try:
                keys = self._fetch()
            except jwt.PyJWTError as exc:
                self._failed_until = time.monotonic() + self.failure_cooldown
                self._last_error = str(exc)
                logger.warning("JWKS fetch failed; not retrying for %ss: %s", self.failure_cooldown, exc)
                return self._known_or_unavailable(str(exc))
            self._keys, self._fetched_at = keys, time.monotonic()
            return keys
        finally:
            self._fetch_lock.release()

    def _fetch(self) -> dict[str, PyJWK]:
        jwk_set = PyJWKSet.from_dict(self._client.fetch_data())
        keys = {k.key_id: k for k in jwk_set.keys if k.public_key_use in ("sig", None) and k.key_id}
        if not keys:
            raise jwt.PyJWKClientError("The JWKS endpoint did not contain any signing keys")
        return keys

    def _known_or_unavailable(self, why: str) -> dict[str, PyJWK]:
        if self._keys is not None:
            return self._keys
        raise JwksUnavailable(f"The identity provider's keys are unavailable: {why}")
