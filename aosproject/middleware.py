import logging

from django.conf import settings

from aosproject.errors import database_unavailable_response, error_response, is_database_unavailable

request_logger = logging.getLogger("django.request")


class ApiTrailingSlashMiddleware:
    """One rule for every /api/v1/ path: none ends with a slash, and a sent trailing slash is ignored.

    `/api/v1/traces/` and `/api/v1/traces` are the same endpoint, as are `/api/v1/mismatches/` and
    `/api/v1/mismatches`: no redirect (a redirected POST loses its body in many clients) and no
    path that answers only in one spelling. Only `path_info` (what the URL resolver reads) changes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/v1/") and request.path_info.endswith("/"):
            request.path_info = request.path_info.rstrip("/") or "/"
        return self.get_response(request)


class ApiBodyLimitMiddleware:
    """Refuses oversized API bodies with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response("validation_error", "Content-Length is not a number.", 400)
            limit = settings.API_MAX_BODY_BYTES
            if length > limit:
                return error_response(
                    "payload_too_large", f"Request body is {length} bytes; the limit is {limit} bytes.", 413
                )
        return self.get_response(request)


class ApiDebugErrorMiddleware:
    """With DEBUG on, an unhandled error under /api/ still answers the JSON envelope.

    Django's debug 500 page is HTML; API clients must never get HTML. The traceback goes to
    the log instead. With DEBUG off, `aosproject.errors.handler500` already answers JSON.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not settings.DEBUG or not request.path.startswith("/api/"):
            return None
        if is_database_unavailable(exception):
            return database_unavailable_response(exception, request.path)
        request_logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return error_response(
            "server_error", f"Internal server error ({type(exception).__name__}); see the server log.", 500
        )
