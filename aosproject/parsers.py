"""The API's JSON parser: DRF's, with the request guard of `aosproject.jsonguard` (issue 12)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from aosproject.errors import ApiError
from aosproject.jsonguard import JsonRefused, guarded_loads


class GuardedJSONParser(JSONParser):
    """Malformed JSON → 400 `malformed_json`; JSON we cannot store or hash → 400 `validation_error` with paths."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return guarded_loads(raw)
        except JsonRefused as exc:
            raise ApiError("validation_error", exc.message, 400, fields=exc.fields) from exc
        except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
