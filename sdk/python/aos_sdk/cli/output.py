"""How the CLI prints: rich tables for people, `--json` for machines, errors on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aos_sdk.errors import AOSError

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_ERROR = 2


def console() -> Console:
    # Piped output (tests, `| less`) is not squeezed into 80 columns: ids and hashes stay whole.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
    return Console(highlight=False, soft_wrap=False, width=width)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def short(value: Any, n: int = 12) -> str:
    text = "" if value is None else str(value)
    return text[:n] if len(text) > n else text


def counted(n: int, one: str, many: str) -> str:
    """`1 mismatch`, `2 mismatches`: never `1 mismatch(es)`."""
    return f"{n} {one if n == 1 else many}"


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    t = Table(title=title, show_lines=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        # Text, not str: a value is shown as it is, never read as rich markup ("[skip ci]" stays).
        t.add_row(*(Text("" if v is None else str(v)) for v in row))
    return t


def kv_table(title: str | None, pairs: Iterable[tuple[str, Any]]) -> Table:
    t = Table(title=title, show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    for key, value in pairs:
        shown = json.dumps(value) if isinstance(value, dict | list) else ("" if value is None else str(value))
        t.add_row(Text(key), Text(shown))
    return t


def fail(message: str, *, as_json: bool, code: int = EXIT_ERROR, envelope: dict[str, Any] | None = None) -> None:
    """Prints an error (stderr; the envelope on stdout too with --json) and exits."""
    if as_json:
        emit_json(envelope or {"error": "cli_error", "message": message})
    err_console().print(f"[red]error:[/red] {message}", markup=True)
    sys.exit(code)


def api_error(exc: AOSError, *, as_json: bool) -> None:
    envelope = exc.envelope or {"error": exc.code, "message": exc.message}
    envelope.setdefault("error", exc.code)
    envelope.setdefault("message", exc.message)
    if exc.status_code is not None:
        envelope.setdefault("status", exc.status_code)
    extra = ""
    fields = envelope.get("fields")
    if isinstance(fields, dict) and fields:
        extra = "; " + "; ".join(
            f"{k}: {', '.join(map(str, v if isinstance(v, list) else [v]))}" for k, v in fields.items()
        )
    available = envelope.get("available")
    if isinstance(available, list) and available:
        extra += f" (available: {', '.join(map(str, available))})"
    fail(f"{exc}{extra}", as_json=as_json, envelope=envelope)
