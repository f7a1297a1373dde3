"""Writes the rate-limit headers (PRODUCT.md §8) on every authenticated `/api/v1/` response.

The DRF throttle (`accounts.ratelimit.TenantRateThrottle`) counts the request and leaves its
state on the request; this middleware copies it into headers, errors and 429s included. DRF
checks permissions before throttles, so a 403 from a permission class never reached the
throttle: for those the bucket is peeked (not counted) so the response still carries headers.
Views that opt out of throttling (webhooks: `throttle_classes = []`) get no headers.
"""

from __future__ import annotations

from django.utils.log import log_response

from accounts.principal import Principal
from accounts.ratelimit import TenantRateThrottle, export_tier_limits, rate_limit_peek

API_PREFIX = "/api/v1/"


def _throttled_view(view_func) -> bool:
    view_class = getattr(view_func, "cls", None)  # DRF's as_view() records the class here
    throttles = getattr(view_class, "throttle_classes", ()) or ()
    return any(isinstance(t, type) and issubclass(t, TenantRateThrottle) for t in throttles)


class RateLimitHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        export_tier_limits()  # once per process, at startup

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return response
        state = getattr(request, "aos_rate_limit", None)
        if state is None and getattr(request, "aos_rate_limited_view", False):
            principal = getattr(request, "auth", None)
            if isinstance(principal, Principal):
                state = rate_limit_peek(principal=principal)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        if response.status_code == 429:
            # A client over its quota is expected traffic, not a server problem: INFO, not Django's
            # WARNING (log_response marks the response logged, so Django does not log it again).
            log_response("Too Many Requests: %s", request.path, response=response, request=request, level="info")
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.aos_rate_limited_view = _throttled_view(view_func)
        return None
