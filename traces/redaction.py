"""Secret redaction before traces are stored (PRODUCT.md §5). Pure: no database, no settings.

Two nets: values under sensitive *keys* are replaced whole, and secret-looking *values*
(tokens, keys, emails, card numbers) are replaced inside any string, wherever they appear.
Hashes are computed on the original content before this runs, so a redacted trace still
carries the hashes of what actually happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

REDACTED = "[REDACTED]"

# Compared after lower-casing and dropping "-", "_", "." and spaces: "X-Api-Key" == "x_api_key" == "apikey".
_SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "apikey",
        "apisecret",
        "authorization",
        "proxyauthorization",
        "privatekey",
        "credentials",
        "credential",
        "clientsecret",
        "cookie",
        "setcookie",
        "sessionid",
        "accesskey",
        "secretkey",
        "awssecretaccesskey",
        "signature",
    }
)
# Compound names such as "github_token" or "db_password" end with one of these.
_SENSITIVE_SUFFIXES = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "credentials",
    "authorization",
    "cookie",
)
_KEY_SEPARATORS = re.compile(r"[-_.\s]")


def is_sensitive_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    norm = _KEY_SEPARATORS.sub("", key.lower())
    return norm in _SENSITIVE_KEYS or norm.endswith(_SENSITIVE_SUFFIXES)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return "[REDACTED:card]"
    return match.group(0)


# (name, pattern, replacement). Order matters: specific token shapes before the generic ones.
_VALUE_PATTERNS: list[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (
        "private_key",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S),
        "[REDACTED:private_key]",
    ),
    ("bearer", re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 [REDACTED]"),
    ("basic", re.compile(r"(?i)\b(basic)\s+[A-Za-z0-9+/]{8,}=*"), r"\1 [REDACTED]"),
    ("github_token", re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}\b"), "[REDACTED:github_token]"),
    ("github_pat", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), "[REDACTED:github_token]"),
    ("slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "[REDACTED:slack_token]"),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[REDACTED:aws_key]"),
    ("aos_api_key", re.compile(r"\baos_[A-Za-z0-9_-]{20,}"), "[REDACTED:aos_api_key]"),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"), "[REDACTED:jwt]"),
    ("url_credentials", re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1[REDACTED]@"),
    (
        "url_query_secret",
        re.compile(r"(?i)([?&](?:access_token|token|api_key|apikey|key|secret|password|sig|signature)=)[^&\s#]+"),
        r"\1[REDACTED]",
    ),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), "[REDACTED:email]"),
    ("card", re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])"), _card),
]


# One pass over clean strings (the common case) instead of one per pattern. Case-insensitive
# for all, so it may let through a string no pattern then changes, never the reverse.
_ANY_SECRET = re.compile(
    "|".join(f"(?:{p.pattern.removeprefix('(?i)')})" for _n, p, _r in _VALUE_PATTERNS), re.S | re.I
)


def redact_string(text: str) -> tuple[str, int]:
    """`text` with every secret-looking value replaced, and how many replacements were made."""
    if not _ANY_SECRET.search(text):
        return text, 0
    count = 0
    for _name, pattern, replacement in _VALUE_PATTERNS:
        text, n = _subn(pattern, replacement, text)
        count += n
    return text, count


def _subn(pattern: re.Pattern[str], replacement: Any, text: str) -> tuple[str, int]:
    if not callable(replacement):
        return pattern.subn(replacement, text)
    changed = 0

    def counting(match: re.Match[str]) -> str:
        nonlocal changed
        out = replacement(match)
        changed += out != match.group(0)
        return out

    return pattern.sub(counting, text), changed


def redact(value: Any) -> tuple[Any, int]:
    """A redacted copy of a JSON value and the number of secrets replaced (0 = unchanged)."""
    if isinstance(value, str):
        return redact_string(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        total = 0
        for key, item in value.items():
            if is_sensitive_key(key) and item not in (None, "", [], {}):
                out[key] = REDACTED
                total += 1
            else:
                out[key], n = redact(item)
                total += n
        return out, total
    if isinstance(value, list):
        items = []
        total = 0
        for item in value:
            red, n = redact(item)
            items.append(red)
            total += n
        return items, total
    return value, 0
