"""locust `--csv` stats → `Measurements`. Pure: no database, no Django."""

from __future__ import annotations

import csv

from alerts.slo import PARITY_CHECK, Measurements, NoSamplesError, SloInputError, fallback_note, is_simulate

LOCUST_COLUMNS = ("Type", "Name", "Request Count", "Failure Count")
LOCUST_CHECK_TYPE = "CHECK"


def _locust_int(row: dict[str, str], column: str) -> int:
    try:
        return int(float(row[column]))
    except (KeyError, TypeError, ValueError):
        raise SloInputError(f"locust row {row.get('Name')!r}: {column!r} is not a number") from None


def _locust_ms(row: dict[str, str], *columns: str) -> float | None:
    for column in columns:
        value = (row.get(column) or "").strip()
        if value and value != "N/A":
            try:
                return float(value)
            except ValueError:
                raise SloInputError(f"locust row {row.get('Name')!r}: {column!r} is not a number") from None
    return None


def parse_locust_stats(stats_csv: str, failures_csv: str | None = None) -> Measurements:
    """locust `--csv PREFIX` → `PREFIX_stats.csv` (one row per request name, then `Aggregated`)."""
    rows = list(csv.DictReader(stats_csv.splitlines()))
    if not stats_csv.strip():
        raise NoSamplesError("the file is empty")
    header = rows[0].keys() if rows else next(csv.reader(stats_csv.splitlines()), [])
    missing = [column for column in LOCUST_COLUMNS if column not in header]
    if missing:
        raise SloInputError(f"not a locust stats CSV: missing columns {', '.join(missing)}")
    aggregated = [r for r in rows if r["Name"] == "Aggregated" and not r["Type"]]
    checks = [r for r in rows if r["Type"] == LOCUST_CHECK_TYPE]
    http = [r for r in rows if r not in aggregated and r not in checks]
    total = sum(_locust_int(r, "Request Count") for r in http)
    if total == 0:
        raise NoSamplesError("the locust stats count zero requests")
    failed_all = sum(_locust_int(r, "Failure Count") for r in http)

    notes = ["locust percentiles are approximated by locust (response times rounded when recorded)."]
    subject = [r for r in http if is_simulate(r["Name"]) and _locust_int(r, "Request Count") > 0]
    fell_back = not subject
    if fell_back:
        notes.append(fallback_note("no locust request is named with 'simulate'"))
        subject = [r for r in http if _locust_int(r, "Request Count") > 0]
        if len(subject) > 1 and aggregated and not checks:
            subject = aggregated  # the Aggregated row's percentiles are over exactly these requests
    if len(subject) > 1:
        # Locust writes no merged percentiles for a subset of rows: report the worst row's (an upper bound).
        notes.append(f"percentiles are the highest of {len(subject)} locust rows (an upper bound).")

    simulate_total = sum(_locust_int(r, "Request Count") for r in subject)
    simulate_failed = sum(_locust_int(r, "Failure Count") for r in subject)
    # Locust times failed requests too (a refused connection in ~0 ms) and its CSV has no percentiles
    # of successes alone: a row whose requests all failed says nothing about latency, and a mixed
    # row's percentiles include its failures (noted).
    timed = [r for r in subject if _locust_int(r, "Failure Count") < _locust_int(r, "Request Count")]
    if not timed:
        notes.append("no successful request: latency has no data (locust timed only failures).")
    elif simulate_failed:
        notes.append(
            f"locust percentiles include the {simulate_failed} failed request(s): its CSV has none of "
            "successful responses alone."
        )

    def worst(*columns: str) -> float | None:
        found = [v for v in (_locust_ms(r, *columns) for r in timed) if v is not None]
        return max(found) if found else None

    parity_checks = sum(_locust_int(r, "Request Count") for r in checks if r["Name"] == PARITY_CHECK)
    parity_failures = sum(_locust_int(r, "Failure Count") for r in checks if r["Name"] == PARITY_CHECK)
    if not parity_checks:
        notes.append(f"no locust '{PARITY_CHECK}' check rows: the parity SLO cannot be checked.")
    notes.extend(_locust_failure_notes(failures_csv))
    return Measurements(
        source_format="locust",
        requests=total,
        failed_requests=failed_all,
        simulate_requests=simulate_total,
        simulate_failed=simulate_failed,
        p50_ms=worst("50%", "Median Response Time"),
        p95_ms=worst("95%"),
        p99_ms=worst("99%"),
        error_rate=simulate_failed / simulate_total,
        parity_checks=parity_checks or None,
        parity_failures=parity_failures if parity_checks else None,
        fell_back=fell_back,
        notes=notes,
    )


def _locust_failure_notes(failures_csv: str | None, limit: int = 3) -> list[str]:
    if not failures_csv:
        return []
    rows = [r for r in csv.DictReader(failures_csv.splitlines()) if r.get("Name")]

    def occurrences(row: dict[str, str]) -> float:
        try:
            return float(row.get("Occurrences") or 0)
        except ValueError:
            return 0.0  # only orders the notes: a garbled count must not hide the report

    rows.sort(key=occurrences, reverse=True)
    return [
        f"locust failure: {r.get('Method', '')} {r['Name']}: {r.get('Error', '')} ×{r.get('Occurrences', '?')}"
        for r in rows[:limit]
    ]
