"""RFC 3339 date-times as the API takes them (issue 12): exactly the schema's `format: date-time`.

Django's `parse_datetime` is lenient in form (no offset, no seconds, a space) and raises `ValueError`
on well-formed impossible values (`2025-02-30`, `T25:00:00`): a 500 when it escaped. Here every
string is either a valid RFC 3339 date-time or a `ValueError` the caller turns into a 400, and
`to_utc` normalises offsets, since PostgreSQL refuses offsets beyond ±15:59 that RFC 3339 allows.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)
MESSAGE = "Use an RFC 3339 date-time with an offset, e.g. 2025-01-01T00:00:00Z."


def parse_rfc3339(value: str) -> datetime:
    """An aware datetime; `ValueError` naming the problem for anything else (leap seconds included)."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(MESSAGE)
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if int(off_h or 0) > 23 or int(off_m or 0) > 59:
        raise ValueError("The UTC offset must be between -23:59 and +23:59.")
    offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
    tz = UTC if zulu else timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    except ValueError as exc:  # 2025-02-30, 25:00, second 60
        raise ValueError(f"Not a real date-time: {exc}.") from exc


def to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise ValueError("The date-time is out of range once converted to UTC.") from exc
