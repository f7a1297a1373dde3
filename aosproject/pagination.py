"""Cursor pagination for every API list (issue 12: a forged cursor or bad `limit` is a 400)."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from aosproject.datetimes import to_utc
from aosproject.errors import ApiError

MAX_LIMIT = 200


class ApiCursorPagination(CursorPagination):
    """Newest first (traces, runs, mismatches); a cursor is a position, so new rows never shift a page."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            message = f"limit must be an integer from 1 to {self.max_page_size}."
            raise ApiError("validation_error", message, 400, fields={"limit": [message]})
        return int(raw)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        if cursor is None or cursor.position is None:
            return cursor
        # The position is a created_at we wrote; anything else would reach the database as a bad value.
        try:
            position = parse_datetime(cursor.position)
            if position is None or position.tzinfo is None:
                raise ValueError(cursor.position)
            return cursor._replace(position=to_utc(position).isoformat())
        except ValueError:
            raise _invalid_cursor() from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size, "default": self.page_size})
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = "An opaque position from a previous page's `next` or `previous` link."
                # An annotation (validators ignore it): only cursors this API issued are valid (else 400).
                parameter["schema"]["format"] = "cursor"
        return parameters


def _invalid_cursor() -> ApiError:
    return ApiError("invalid_cursor", "The cursor is not one this API issued; follow `next` or `previous`.", 400)
