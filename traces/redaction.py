"""Secret redaction before traces are stored (PRODUCT.md §5). Pure: no database, no settings.

Two nets: values under sensitive *keys* are replaced whole, and secret-looking *values*
(tokens, keys, emails, card numbers) are replaced inside any string, wherever they appear.
Hashes are computed on the original content before this runs, so a redacted trace still
carries the hashes of what actually happened.

Every pattern runs in linear time (issue 21): no repetition is unbounded where a match can still
fail after it (each is capped, `MAX_*` below), and patterns whose runs could restart at every
word boundary inside a run (emails, JWTs) only start where a run starts, so one input position
is scanned a bounded number of times whatever the input. `bench/bench_redaction.py` measures it;
docs/decisions/0019 says why this is plain `re` and not google-re2.
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
# Too short to match as a suffix ("compass", "bypass"): these count only as the key's last word,
# so "pw", "db_pass", "userPwd" are sensitive while "password_hint" or "pass_count" are not.
_SENSITIVE_LAST_WORDS = frozenset({"pw", "pwd", "pass", "passwd", "passphrase"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_sensitive_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    norm = _KEY_SEPARATORS.sub("", key.lower())
    if norm in _SENSITIVE_KEYS or norm.endswith(_SENSITIVE_SUFFIXES):
        return True
    words = _WORD.findall(key[:256])
    return bool(words) and words[-1].lower() in _SENSITIVE_LAST_WORDS


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


# Caps on one match attempt, far above any real secret of the kind.
MAX_TOKEN = 4096  # a bearer/basic/API token or one JWT segment
MAX_LABEL = 63  # one DNS label (RFC 1035)
MAX_EMAIL_LOCAL = 64  # RFC 5321
MAX_PEM_LABEL = 40  # "ENCRYPTED", "RSA", "OPENSSH"...
_JWT_CHARS = "A-Za-z0-9_-"
_EMAIL_LOCAL = "A-Za-z0-9._%+-"

# (name, pattern, replacement). Order matters: specific token shapes before the generic ones.
_VALUE_PATTERNS: list[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (
        "private_key",
        re.compile(
            rf"-----BEGIN [A-Z ]{{0,{MAX_PEM_LABEL}}}PRIVATE KEY-----.*?"
            rf"(?:-----END [A-Z ]{{0,{MAX_PEM_LABEL}}}PRIVATE KEY-----|\Z)",
            re.S,
        ),
        "[REDACTED:private_key]",
    ),
    ("bearer", re.compile(rf"(?i)\b(bearer)\s{{1,16}}[A-Za-z0-9\-._~+/]{{1,{MAX_TOKEN}}}=*"), r"\1 [REDACTED]"),
    ("basic", re.compile(rf"(?i)\b(basic)\s{{1,16}}[A-Za-z0-9+/]{{8,{MAX_TOKEN}}}=*"), r"\1 [REDACTED]"),
    ("github_token", re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,255}\b"), "[REDACTED:github_token]"),
    ("github_pat", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,255}\b"), "[REDACTED:github_token]"),
    ("slack_token", re.compile(rf"\bxox[abprs]-[A-Za-z0-9-]{{10,{MAX_TOKEN}}}"), "[REDACTED:slack_token]"),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[REDACTED:aws_key]"),
    ("aos_api_key", re.compile(rf"\baos_[A-Za-z0-9_-]{{20,{MAX_TOKEN}}}"), "[REDACTED:aos_api_key]"),
    (
        "jwt",
        re.compile(
            rf"(?<![{_JWT_CHARS}])eyJ[{_JWT_CHARS}]{{5,{MAX_TOKEN}}}\.eyJ[{_JWT_CHARS}]{{5,{MAX_TOKEN}}}"
            rf"\.[{_JWT_CHARS}]{{1,{MAX_TOKEN}}}"
        ),
        "[REDACTED:jwt]",
    ),
    ("url_credentials", re.compile(r"(://[^/\s:@]{1,256}:)[^@\s/]{1,1024}@"), r"\1[REDACTED]@"),
    (
        "url_query_secret",
        re.compile(
            r"(?i)([?&](?:access_token|token|api_key|apikey|key|secret|password|sig|signature)=)"
            rf"[^&\s#]{{1,{MAX_TOKEN}}}"
        ),
        r"\1[REDACTED]",
    ),
    (
        "email",
        re.compile(
            rf"(?<![{_EMAIL_LOCAL}])[{_EMAIL_LOCAL}]{{1,{MAX_EMAIL_LOCAL}}}@[A-Za-z0-9-]{{1,{MAX_LABEL}}}"
            rf"(?:\.[A-Za-z0-9-]{{1,{MAX_LABEL}}}){{0,8}}\.[A-Za-z]{{2,{MAX_LABEL}}}\b"
        ),
        "[REDACTED:email]",
    ),
    ("card", re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])"), _card),
]


def redact_string(text: str) -> tuple[str, int]:
    """`text` with every secret-looking value replaced, and how many replacements were made.

    One scan per pattern: measured faster than one combined alternation (which defeats the
    regex engine's literal-prefix search) on clean and adversarial text alike.
    """
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
