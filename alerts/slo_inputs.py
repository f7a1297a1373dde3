"""Load-test output files → `Measurements` (PRODUCT.md §11): format detection and reading.

k6 `--out json` NDJSON (plain or gzipped, streamed line by line: a huge run is never held as lines),
k6 `--summary-export` and `handleSummary` JSON (`alerts.slo_k6`), locust `--csv` stats
(`alerts.slo_locust`). An input without samples raises `NoSamplesError`: it is never a pass.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from alerts.slo import Measurements, NoSamplesError, SloInputError
from alerts.slo_k6 import parse_k6_handle_summary, parse_k6_ndjson, parse_k6_summary_export
from alerts.slo_locust import parse_locust_stats

FORMATS = ("k6-json", "k6-summary", "k6-handle-summary", "locust")
GZIP_MAGIC = b"\x1f\x8b"


def locust_paths(path: Path) -> tuple[Path, Path] | None:
    """A locust stats CSV, or the `--csv` prefix, → (stats, failures) paths; None if neither."""
    if path.name.endswith("_stats.csv") and path.is_file():
        return path, path.with_name(path.name[: -len("_stats.csv")] + "_failures.csv")
    prefixed = path.with_name(path.name + "_stats.csv")
    if not path.exists() and prefixed.is_file():
        return prefixed, path.with_name(path.name + "_failures.csv")
    return None


@contextmanager
def _open_text(path: Path) -> Iterator[TextIO]:
    """The file as UTF-8 text, gunzipped when it is gzip (k6 `--out json=run.ndjson.gz`).

    Read errors, including ones met while iterating, become `SloInputError`."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.peek(2)[:2] == GZIP_MAGIC
            with io.TextIOWrapper(gzip.GzipFile(fileobj=raw) if gzipped else raw, encoding="utf-8") as text:
                yield text
    except FileNotFoundError:
        raise SloInputError(f"{path}: no such file") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # gzip.BadGzipFile is an OSError
        raise SloInputError(f"{path}: cannot be read ({exc})") from None


def _read_text(path: Path) -> str:
    with _open_text(path) as text:
        return text.read()


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    if not text.strip():
        raise NoSamplesError(f"{path}: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SloInputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def detect_format(path: Path) -> str:
    """Guess the format from the file name and its first line (a summary JSON is then read whole)."""
    if locust_paths(path) is not None:
        return "locust"
    with _open_text(path) as text:
        first_line = next((line.strip() for line in text if line.strip()), "")
    if not first_line:
        raise NoSamplesError(f"{path}: the file is empty")
    if first_line.startswith("Type,Name,") or path.suffix == ".csv":
        return "locust"
    if not first_line.startswith("{"):
        raise SloInputError(f"{path}: not a k6 JSON output or a locust stats CSV")
    try:
        first = json.loads(first_line)
    except json.JSONDecodeError:
        first = None
    if isinstance(first, dict) and first.get("type") in ("Metric", "Point"):
        return "k6-json"
    data = _read_json(path)
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise SloInputError(f"{path}: JSON without a 'metrics' object is not a k6 summary")
    if any(isinstance(m, dict) and isinstance(m.get("values"), dict) for m in metrics.values()):
        return "k6-handle-summary"
    return "k6-summary"


def load(path: Path, fmt: str | None = None) -> Measurements:
    """Read one load-test output file (format auto-detected unless given)."""
    fmt = fmt or detect_format(path)
    if fmt == "locust":
        paths = locust_paths(path)
        stats_path, failures_path = paths if paths else (path, None)
        failures = _read_text(failures_path) if failures_path and failures_path.is_file() else None
        stats = _read_text(stats_path)
        try:
            return parse_locust_stats(stats, failures)
        except csv.Error as exc:
            raise SloInputError(f"{stats_path}: malformed CSV ({exc})") from None
        except SloInputError as exc:  # name the file, as for k6 below
            raise type(exc)(f"{stats_path}: {exc}") from None
    if fmt == "k6-json":
        with _open_text(path) as lines:
            try:
                return parse_k6_ndjson(lines)
            except SloInputError as exc:  # "line 7: ..." → "run.ndjson: line 7: ..."
                raise type(exc)(f"{path}: {exc}") from None
    if fmt not in FORMATS:
        raise SloInputError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    data = _read_json(path)
    return parse_k6_summary_export(data) if fmt == "k6-summary" else parse_k6_handle_summary(data)
