"""Idempotency keys (PRODUCT.md §7). Apply `@idempotent` to every creating POST handler.

Placeholder with the final interface; the runtime issue implements the Redis claim and replay.
"""

from __future__ import annotations

import functools


def idempotent(view_method):
    """Decorates an APIView `post(self, request, *args, **kwargs)` method."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        return view_method(self, request, *args, **kwargs)

    return wrapper
