"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

from urllib.parse import urlparse


def ensure_database(url: str) -> None:
    """Creates the PostgreSQL database named in `url` when missing (benchmarks use their own)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg.connect(
        host=parsed.hostname, port=parsed.port or 5432, user=parsed.username, dbname="postgres", autocommit=True
    )
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
