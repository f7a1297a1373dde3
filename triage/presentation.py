"""What the triage admin shows: expected vs actual output with changed lines, dashboard numbers, chart."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from traces.diff import MISSING, structural_diff
from traces.models import Trace, TraceStep
from triage.issue_text import reported_via_api
from triage.models import Mismatch, NotificationState
from triage.notify import NO_CHANNEL

CHART_DAYS = 30


# --- expected vs actual ----------------------------------------------------------------------


def _join(path: str, key: Any) -> str:  # the path syntax of traces.diff
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def json_lines(value: Any, changed: set[str]) -> list[dict[str, Any]]:
    """Pretty JSON as lines; a line is `changed` when its value (or an enclosing one) differs."""
    out: list[dict[str, Any]] = []

    def line(indent: int, text: str, hot: bool) -> None:
        out.append({"text": "  " * indent + text, "changed": hot})

    def walk(node: Any, path: str, indent: int, prefix: str, comma: str, hot: bool) -> None:
        hot = hot or (path or "$") in changed
        if isinstance(node, dict) and node:
            line(indent, prefix + "{", hot)
            items = sorted(node.items(), key=lambda kv: str(kv[0]))
            for i, (key, child) in enumerate(items):
                tail = "," if i < len(items) - 1 else ""
                walk(child, _join(path, key), indent + 1, json.dumps(str(key)) + ": ", tail, hot)
            line(indent, "}" + comma, hot)
        elif isinstance(node, list) and node:
            line(indent, prefix + "[", hot)
            for i, child in enumerate(node):
                walk(child, _join(path, i), indent + 1, "", "," if i < len(node) - 1 else "", hot)
            line(indent, "]" + comma, hot)
        else:
            line(indent, prefix + json.dumps(node, ensure_ascii=False, default=str) + comma, hot)

    walk(value, "", 0, "", "", False)
    return out


def _step_output(trace: Trace | None, index: int) -> Any:
    if trace is None:
        return MISSING
    step = TraceStep.objects.filter(trace=trace, index=index).only("output").first()
    return step.output if step else MISSING


def mismatch_sides(mismatch: Mismatch) -> dict[str, Any]:
    """Expected (recorded) vs actual (replayed) value of the diverging step, with their diff.

    Replay stores both in `details` (`expected`, `actual`); for mismatches reported without them
    the recorded step's output and the replay run's step output are used. A mismatch reported via
    the API without an `actual` has no actual side (`source` "api", `actual_lines` None): there is
    no replay to show, which is not the same as a replay that produced nothing.
    """
    details = mismatch.details if isinstance(mismatch.details, dict) else {}
    expected = details["expected"] if "expected" in details else _step_output(mismatch.trace, mismatch.step_index)
    via_api = reported_via_api(mismatch)
    if via_api and "actual" not in details:
        return {
            "source": "api",
            "expected_lines": json_lines(expected, set()),
            "actual_lines": None,
            "differences": [],
            "identical": False,
        }
    if "actual" in details:
        actual = details["actual"]
    else:
        replay = None
        replay_run_id = details.get("replay_run_id")
        if replay_run_id:
            replay = Trace.objects.for_tenant(mismatch.tenant_id).lookup(str(replay_run_id)).first()
        actual = _step_output(replay, mismatch.step_index)
    differences = structural_diff(expected, actual)
    changed = {d["path"] for d in differences}
    return {
        "source": "api" if via_api else "replay",
        "expected_lines": json_lines(expected, changed),
        "actual_lines": json_lines(actual, changed),
        "differences": [
            {"path": d["path"], "a": json.dumps(d["a"], default=str), "b": json.dumps(d["b"], default=str)}
            for d in differences
        ],
        "identical": not differences,
    }


# --- dashboard --------------------------------------------------------------------------------


def _counts(now: datetime) -> dict[str, Any]:
    return {
        "last_hour": Count("pk", filter=Q(created_at__gte=now - timedelta(hours=1))),
        "last_day": Count("pk", filter=Q(created_at__gte=now - timedelta(hours=24))),
        "unresolved": Count("pk", filter=Q(resolved=False)),
        "pending": Count("pk", filter=Q(notification_state=NotificationState.PENDING, resolved=False)),
        "no_channel": Count(
            "pk",
            filter=Q(notification_state=NotificationState.PENDING, resolved=False, notification_last_error=NO_CHANNEL),
        ),
        "failed": Count("pk", filter=Q(notification_state=NotificationState.FAILED)),
        "total": Count("pk"),
    }


def mismatch_totals(mismatches: QuerySet, *, now: datetime) -> dict[str, int]:
    """The headline counts (one query): what the change list shows above the table."""
    return mismatches.aggregate(**_counts(now))


def dashboard_numbers(mismatches: QuerySet, *, now: datetime) -> dict[str, Any]:
    """Totals, per tenant and per day (3 queries whatever the data size)."""
    totals = mismatch_totals(mismatches, now=now)
    per_tenant = list(
        mismatches.values("tenant__slug", "tenant__name").annotate(**_counts(now)).order_by("tenant__slug")
    )
    first_day = (now - timedelta(days=CHART_DAYS - 1)).date()
    rows = (
        mismatches.filter(created_at__date__gte=first_day)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    by_day = {row["day"]: row["n"] for row in rows}
    days = [(first_day + timedelta(days=i), by_day.get(first_day + timedelta(days=i), 0)) for i in range(CHART_DAYS)]
    return {"totals": totals, "per_tenant": per_tenant, "chart": bar_chart(days)}


def bar_chart(days: list[tuple[Any, int]], *, width: int = 760, height: int = 220) -> dict[str, Any]:
    """Geometry of an inline SVG bar chart (the template draws it; no JavaScript, no CDN)."""
    left, bottom, top = 36, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max((n for _, n in days), default=0)
    scale_max = max(peak, 1)
    slot = plot_w / max(len(days), 1)
    bars = []
    for i, (day, n) in enumerate(days):
        h = round(plot_h * n / scale_max, 1)
        bars.append(
            {
                "x": round(left + i * slot + slot * 0.15, 1),
                "y": round(top + plot_h - h, 1),
                "w": round(slot * 0.7, 1),
                "h": h,
                "n": n,
                "day": day,
                "label": day.strftime("%d %b") if i % 5 == 0 or i == len(days) - 1 else "",
                "label_x": round(left + i * slot + slot / 2, 1),
            }
        )
    ticks = sorted({0, scale_max // 2, scale_max}) if scale_max > 1 else [0, 1]
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "axis_y": top + plot_h,
        "left": left,
        "right": width - 8,
        "label_y": height - 8,
        "ticks": [{"value": t, "y": round(top + plot_h - plot_h * t / scale_max, 1)} for t in ticks],
        "total": sum(n for _, n in days),
        "peak": peak,
    }
