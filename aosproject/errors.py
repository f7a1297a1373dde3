"""One error envelope for every API error (PRODUCT.md §9).

`{"error": "<code>", "message": "<human text>", ...}` plus `fields` for validation errors.
Views raise `ApiError` (or DRF's exceptions); this handler turns all of them into the envelope.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An API error with an explicit envelope code, status and optional extra fields."""

    def __init__(
        self, code: str, message: str, status_code: int = 400, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.headers = headers or {}  # e.g. Retry-After on a 429 or 503
        self.extra = extra


class Conflict(ApiError):
    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__("conflict", message, 409, **extra)


_CODES: dict[type, str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limit_exceeded",
    exceptions.ParseError: "malformed_json",
    exceptions.ValidationError: "validation_error",
}


# The database went away under the request (connection dropped, refused, failover): the server is
# not broken, the dependency is unavailable. 503 with Retry-After, like a broker that is down; the
# dead connection is closed at the end of the request and the next one reconnects (CONN_HEALTH_CHECKS).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = "5"
DATABASE_MESSAGE = "The database is unavailable; nothing was changed by this request unless it says so. Retry later."


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


def database_unavailable_response(exc: BaseException, path: str) -> JsonResponse:
    """The envelope for a database that went away, for middleware and Django's error handlers."""
    logger.warning("database unavailable on %s: %s: %s", path, type(exc).__name__, str(exc).strip()[:200])
    response = error_response("service_unavailable", DATABASE_MESSAGE, 503)
    response["Retry-After"] = DATABASE_RETRY_AFTER
    return response


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def error_response(code: str, message: str, status_code: int, **extra: Any) -> JsonResponse:
    """A plain Django response in the envelope, for middleware and non-DRF views."""
    return JsonResponse(error_body(code, message, **extra), status=status_code)


def _flatten(detail: Any) -> Any:
    """DRF's ErrorDetail tree → plain strings (first message per field is enough for humans)."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        flat = [_flatten(v) for v in detail]
        if all(isinstance(v, str) for v in flat):
            return flat
        return flat
    return str(detail)


def _first_message(fields: Any, prefix: str = "") -> str:
    if isinstance(fields, dict):
        for key, value in fields.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            return _first_message(value, path)
    if isinstance(fields, list) and fields:
        if isinstance(fields[0], str):
            return f"{prefix}: {fields[0]}" if prefix and prefix != "non_field_errors" else fields[0]
        for i, value in enumerate(fields):
            if value:
                return _first_message(value, f"{prefix}[{i}]")
    return str(fields)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", "Request body is too large."), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("validation_error", "Bad request."), status=400)
    if isinstance(exc, RecursionError):
        # Safety net: the JSON guard bounds body nesting, but a value can still nest in its own syntax
        # (a JMESPath expression of 500 parentheses) and a recursive parser then runs out of stack.
        request = context.get("request")
        logger.warning("RecursionError on %s", request.path if request is not None else "?")
        message = "A value in the request is nested too deeply to be processed (e.g. an expression's parentheses)."
        return Response(error_body("validation_error", message), status=400)
    if is_database_unavailable(exc):
        request = context.get("request")
        path = request.path if request is not None else "?"
        logger.warning("database unavailable on %s: %s: %s", path, type(exc).__name__, str(exc).strip()[:200])
        body = error_body("service_unavailable", DATABASE_MESSAGE)
        return Response(body, status=503, headers={"Retry-After": DATABASE_RETRY_AFTER})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, exc.message, **exc.extra)
        return Response(body, status=exc.status_code, headers=exc.headers)

    from rest_framework.views import exception_handler as drf_exception_handler  # avoids an import cycle

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler (JSON under /api/) takes it
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields if isinstance(fields, list) else [fields]}
        response.data = error_body(code, _first_message(fields), fields=fields)
    elif isinstance(exc, exceptions.ParseError):
        response.data = error_body(code, f"Malformed JSON body: {exc.detail}")
    else:
        response.data = error_body(code, str(getattr(exc, "detail", exc)))
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="aos"'
    return response


def handler400(request, exception=None):
    """Django-level 400s (e.g. a disallowed Host header) before any view ran."""
    if request.path.startswith("/api/"):
        return error_response("validation_error", "Bad request.", 400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request, exception=None):
    if request.path.startswith("/api/"):
        return error_response("permission_denied", "Forbidden.", 403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return error_response("not_found", f"No API endpoint at {request.path}.", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """The catch-all under /api/: JSON 404 for every method, with no CSRF check (nothing is changed here)."""
    return error_response("not_found", f"No API endpoint at {request.path}.", 404)


def handler500(request):
    exc = sys.exc_info()[1]  # Django calls this inside its `except` block
    if request.path.startswith("/api/") and is_database_unavailable(exc):
        assert exc is not None
        return database_unavailable_response(exc, request.path)
    if request.path.startswith("/api/"):
        return error_response("server_error", "Internal server error; it has been logged.", 500)
    from django.views.defaults import server_error

    return server_error(request)
