import logging

from django.conf import settings

from aosproject.errors import error_response

request_logger = logging.getLogger("django.request")


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
        request_logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return error_response(
            "server_error", f"Internal server error ({type(exception).__name__}); see the server log.", 500
        )
