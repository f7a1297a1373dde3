"""A django-redis cache that serves django-ratelimit's counter in one Redis round trip.

django-ratelimit's `get_usage(increment=True)` calls `cache.add(key, 1, 65)` and, when the key
already exists (every request but the first of a window), `cache.incr(key)`. On stock
django-redis that is `SET NX EX` plus an `EVAL` (EXISTS + INCRBY): two round trips per request.

Here `add(key, 1, timeout)` runs one script, `INCR` (+ `EXPIRE` when it created the key), and
answers whether it created the key; the `incr(key)` django-ratelimit makes right after returns the
count that script already produced, without touching Redis. The key, window and decision stay
django-ratelimit's. Any other use of the cache behaves like stock django-redis. Used only as the
`ratelimit` cache alias (see docs/decisions/0006-rate-limit-one-round-trip.md).

When this cache is the default cache's Redis, the same script also reads the principal version
(accounts/principal_cache.py, docs/decisions/0040), so a counted request learns whether cached
principals are still current without a round trip of its own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django_redis.cache import RedisCache

from accounts import principal_cache

# INCR creates a missing key at 1; only then does it need its expiry (window + fudge).
# KEYS[2], when given, is the principal version: returned with the count.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
if #KEYS > 1 then
    return {count, redis.call('GET', KEYS[2])}
end
return count
"""


class FusedCounterRedisCache(RedisCache):
    """`add(key, 1)` + `incr(key)` (django-ratelimit's counting pair) in one script call."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._script: Any = None
        # Django gives each thread (and async context) its own cache instance, so a plain
        # dict is enough to carry a count from `add` to the `incr` that follows it.
        self._counted: dict[Any, int] = {}

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, client=None) -> bool:
        expiry = self.default_timeout if timeout is DEFAULT_TIMEOUT else timeout
        if value != 1 or isinstance(value, bool) or client is not None or not expiry or expiry < 1:
            # Not django-ratelimit's counting call (or no expiry to set): stock behaviour.
            return super().add(key, value, timeout, version=version, client=client)
        redis = self.client.get_client(write=True)
        full_key = self.client.make_key(key, version=version)
        if self._script is None:
            self._script = redis.register_script(_COUNT_SCRIPT)
        # Raises redis' own ConnectionError/TimeoutError when Redis is down, like stock
        # django-redis with IGNORE_EXCEPTIONS off; the rate limiter fails open on those.
        version_key = self._principal_version_key()
        keys = [full_key] if version_key is None else [full_key, version_key]
        answer = self._script(keys=keys, args=[int(expiry)], client=redis)
        if version_key is not None:
            answer, version = answer
            principal_cache.observe_version(version)
        count = int(answer)
        if count == 1:
            return True
        self._counted[full_key] = count
        return False

    def _principal_version_key(self) -> str | None:
        """The principal version's key when it lives on this Redis (the default cache's), else None."""
        default = settings.CACHES.get("default", {})
        if default.get("LOCATION") != self._server or not str(default.get("BACKEND", "")).startswith("django_redis"):
            return None
        return principal_cache.version_key()

    def incr(self, key, delta=1, version=None, client=None, ignore_key_check=False) -> int:
        full_key = self.client.make_key(key, version=version)
        counted = self._counted.pop(full_key, None)
        if counted is not None and delta == 1:
            return counted
        return super().incr(key, delta, version=version, client=client, ignore_key_check=ignore_key_check)
