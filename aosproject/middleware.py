from django.conf import settings

from aosproject.errors import error_response


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
