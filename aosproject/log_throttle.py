"""Degraded-mode warnings at most once per interval per process, so an outage is one line a minute."""

from __future__ import annotations

import threading
import time

DEGRADED_WARNING_INTERVAL = 60.0


class LogThrottle:
    """`ready()` is true at most once per `interval` seconds (thread-safe)."""

    def __init__(self, interval: float = DEGRADED_WARNING_INTERVAL) -> None:
        self.interval = interval
        self._last = float("-inf")
        self._lock = threading.Lock()

    def ready(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval:
                return False
            self._last = now
            return True

    def reset(self) -> None:
        with self._lock:
            self._last = float("-inf")
