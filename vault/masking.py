"""Masking secret values (`***`) in anything that leaves an execution. Pure: no database.

A `Masker` knows the values a run used and replaces them, and their obvious encodings (URL
encoding, JSON escaping, base64 — also inside base64 of `user:value` as in HTTP basic auth), in
any JSON value. While a run executes its masker is also *active* (a context variable), and a log
record factory masks every log line written in that context, whichever logger or handler.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import re
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what HTTP clients (requests' requote_uri) leave unescaped in a URL
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _variants(value: str) -> set[str]:
    raw = value.encode()
    out = {
        value,
        quote(value, safe=""),
        quote(value),
        quote(value, safe=_URI_SAFE),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for encoder in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encoder(raw).decode()
        out.update({encoded, encoded.rstrip("=")})
    return {v for v in out if v}


def _base64_cores(raw: bytes) -> set[str]:
    """Substrings every base64 text that decodes to something containing `raw` must contain.

    Whatever precedes the value, one of three alignments puts `raw[s:]` (s = 0, 1, 2) on a 3-byte
    group boundary, where its whole groups encode to fixed characters. Empty for values too short
    to have a whole group at every alignment (then every base64 token is decoded and checked).
    """
    cores = set()
    for start in range(3):
        whole = (len(raw) - start) // 3 * 3
        if whole <= 0:
            return set()
        chunk = raw[start : start + whole]
        cores |= {base64.b64encode(chunk).decode(), base64.urlsafe_b64encode(chunk).decode()}
    return cores


def _decoded(token: str) -> bytes | None:
    padded = token + "=" * (-len(token) % 4)
    try:
        if "-" in token or "_" in token:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


class Masker:
    def __init__(self, values: list[str] | None = None) -> None:
        self._raw: set[bytes] = set()
        self._variants: set[str] = set()
        self._cores: set[str] | None = set()  # None: some value is too short for the base64 pre-check
        self._ordered: list[str] = []  # the variants, longest first
        for value in values or []:
            self.add(value)

    def __bool__(self) -> bool:
        return bool(self._raw)

    def add(self, value: str) -> None:
        if not value or value.encode() in self._raw:
            return
        self._raw.add(value.encode())
        self._variants |= _variants(value)
        cores = _base64_cores(value.encode())
        self._cores = None if self._cores is None or not cores else self._cores | cores
        # Longest first, so an encoding that contains the value is replaced whole.
        self._ordered = sorted(self._variants, key=len, reverse=True)

    def _base64_hides_value(self, match: re.Match[str]) -> str:
        decoded = _decoded(match.group(0))
        if decoded and any(raw in decoded for raw in self._raw):
            return MASK
        return match.group(0)

    def mask_text(self, text: str) -> str:
        if not self._ordered or not text:
            return text
        # Plain substring pre-checks: most strings hold no secret, and `in` is far cheaper than the regexes.
        # Whole base64 tokens first, so `Basic <base64 of user:value>` becomes `Basic ***`, not a fragment.
        if self._cores is None or any(core in text for core in self._cores):
            text = _BASE64_TOKEN.sub(self._base64_hides_value, text)
        # str.replace, not one regex alternation: its substring search stays linear where the regex
        # engine retried every alternative at every position (1.5 s for a 16 KiB value in 80 KiB of text).
        for variant in self._ordered:
            if variant in text:
                text = text.replace(variant, MASK)
        return text

    def mask(self, value: Any) -> Any:
        """A copy of a JSON value with every secret value (and encoding) replaced by `***`."""
        if not self._ordered:
            return value
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, dict):
            return {self.mask(k): self.mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(v) for v in value]
        return value


# --- log lines --------------------------------------------------------------------------

_ACTIVE: ContextVar[Masker | None] = ContextVar("aos_secret_masker", default=None)


@contextlib.contextmanager
def masking(masker: Masker) -> Iterator[Masker]:
    """Log records created inside this block are masked with `masker`."""
    token = _ACTIVE.set(masker)
    try:
        yield masker
    finally:
        _ACTIVE.reset(token)


def _mask_record(record: logging.LogRecord, masker: Masker) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: keep the raw parts, masked
        message = f"{record.msg} {record.args}"
    record.msg, record.args = masker.mask_text(message), None
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters reuse exc_text when set, so the masked traceback is the one written.
        record.exc_text = masker.mask_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))


def install_log_masking() -> None:
    """Wraps the log record factory once per process (AppConfig.ready)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "aos_masking", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        masker = _ACTIVE.get()
        if masker:
            _mask_record(record, masker)
        return record

    factory.aos_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
