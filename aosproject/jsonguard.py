"""One guard for every JSON request body (issue 12): what the database and the hashing can hold.

Refused with a 400 naming the path (`plan[0].params.payload.a`), before any view sees the data:

- nesting deeper than `API_MAX_JSON_DEPTH` (checked on the raw text *before* `json.loads`, whose C
  scanner recurses once per level and raises `RecursionError` near a thousand; everything after the
  parser — validation, hashing, storage — recurses too);
- U+0000 and lone surrogates (`"\\ud800"`) in strings or keys: PostgreSQL `text`/`jsonb` refuse them,
  and a lone surrogate cannot even be encoded as UTF-8 in our answers;
- numbers the canonical JSON (RFC 8785, `aos_sdk.hashing`) cannot represent: JCS numbers are IEEE
  doubles, so integers must stay within ±(2^53 − 1); a float beyond that (`1e17`) would be stored,
  come back from `jsonb` as an integer and then fail the hashing on replay, so it is refused too;
  `NaN`, `Infinity` and overflowing literals (`1e400`) are not JSON numbers at all. An integral
  number written as a float (`9.0`, `1e3`) is the integer it is, as in canonical JSON.

The checks are cheap on clean bodies: the depth scan is one regex pass, strings are only walked
when the raw text holds a `\\u0000` or `\\udXXX` escape (the only way such characters get into
valid JSON), and numbers are checked by `json.loads` hooks as they are parsed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings

MAX_SAFE_INTEGER = 2**53 - 1  # rfc8785's integer domain
MAX_REPORTED = 20  # problems listed in `fields`; one is enough to fix, a few show the pattern

# A JSON string (escapes included) or a bracket: strings are skipped whole, so brackets inside them do not count.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class JsonRefused(ValueError):
    """The body is JSON but cannot be accepted; `fields` maps paths to messages."""

    def __init__(self, message: str, fields: dict[str, list[str]]):
        super().__init__(message)
        self.message = message
        self.fields = fields


class _BadNumber:
    """What the parse hooks put where a number cannot be accepted; reported with its path afterwards."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def max_depth() -> int:
    return settings.API_MAX_JSON_DEPTH


def _depth_exceeded(raw: bytes, limit: int) -> bool:
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _parse_int(text: str) -> int | _BadNumber:
    value = int(text)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    return _BadNumber(f"Integers must be within ±{MAX_SAFE_INTEGER} (2^53 − 1, canonical JSON numbers are doubles).")


def _parse_float(text: str) -> float | int | _BadNumber:
    value = float(text)
    if not math.isfinite(value):
        return _BadNumber("Numbers must be finite.")
    if abs(value) > MAX_SAFE_INTEGER:
        return _BadNumber(
            f"Numbers must be within ±{MAX_SAFE_INTEGER} (2^53 − 1): larger ones are not exact in canonical JSON."
        )
    # Canonical JSON has one number type: 9.0 and 9 are the same value (both serialise as `9`, and JSON
    # Schema calls 9.0 an integer), so an integral float is taken as the integer it is.
    return int(value) if value.is_integer() else value


def _parse_constant(text: str) -> _BadNumber:
    return _BadNumber(f"{text} is not a JSON number; numbers must be finite.")


def _shown(part: str) -> str:
    """A key as it can be shown in a path (NUL and surrogates escaped, so the answer itself encodes)."""
    return _BAD_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", part)


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{_shown(key)}" if path else _shown(key)


def _string_problem(value: str) -> str | None:
    bad = _BAD_CHARS.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "U+0000 (NUL) is not allowed in strings."
    return "Lone surrogates (\\ud800-\\udfff without their pair) are not allowed in strings."


def _problems(data: Any, *, check_strings: bool) -> dict[str, list[str]]:
    """Walks the parsed value iteratively (no recursion, whatever the depth) and collects problems."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [("", data)]
    while stack and len(problems) < MAX_REPORTED:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if check_strings and (problem := _string_problem(key)):
                    problems.setdefault(path or "body", []).append(f"Key {_shown(key)!r}: {problem}")
                stack.append((_join(path, key), item))
        elif isinstance(value, list):
            stack.extend((_join(path, i), item) for i, item in enumerate(value))
        elif isinstance(value, _BadNumber):
            problems.setdefault(path or "body", []).append(value.reason)
        elif check_strings and isinstance(value, str) and (problem := _string_problem(value)):
            problems.setdefault(path or "body", []).append(problem)
    return dict(sorted(problems.items()))


def guarded_loads(raw: bytes | str) -> Any:
    """`json.loads` for request bodies; raises `JsonRefused` (→ 400) or `ValueError` (→ malformed JSON)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    limit = max_depth()
    if _depth_exceeded(raw, limit):
        raise JsonRefused(
            f"The JSON body is nested deeper than {limit} levels (API_MAX_JSON_DEPTH).",
            {"body": [f"At most {limit} levels of nesting."]},
        )
    text = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError: malformed
    flagged = False

    def flag(result):
        nonlocal flagged
        if isinstance(result, _BadNumber):
            flagged = True
        return result

    data = json.loads(
        text,
        parse_int=lambda s: flag(_parse_int(s)),
        parse_float=lambda s: flag(_parse_float(s)),
        parse_constant=lambda s: flag(_parse_constant(s)),
    )
    check_strings = _SUSPECT_ESCAPE.search(text) is not None
    if flagged or check_strings:
        problems = _problems(data, check_strings=check_strings)
        if problems:
            first, messages = next(iter(problems.items()))
            raise JsonRefused(f"{first}: {messages[0]}", problems)
    return data
