"""`make run` as a new user meets it: the port checked first, links that follow the port, the key kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.management.commands.check_port import PORT_TAKEN_EXIT_CODE

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # The test's own virtualenv, never reinstalled by the test (-o: install-run counts as done).
    return subprocess.run(
        ["make", "-C", str(ROOT), "-o", "install-run", f"BIN={BIN}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "AOS_BASE_URL", "MAKEFLAGS"}}
    env.update(SQLITE_PATH=str(tmp_path / "db.sqlite3"), DEMO_KEY_FILE=str(tmp_path / ".demo-key"), **extra)
    return env


@pytest.fixture
def taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_it_refuses_a_taken_port_with_a_clear_message(taken_port):
    with pytest.raises(CommandError, match=rf"Cannot serve on 127.0.0.1:{taken_port}: already in use") as caught:
        call_command("check_port", f"127.0.0.1:{taken_port}")
    assert caught.value.returncode == PORT_TAKEN_EXIT_CODE


def test_it_accepts_a_free_port_and_refuses_a_bad_address():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    call_command("check_port", f"127.0.0.1:{free}")  # no error
    for bad in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:http", "127.0.0.1:70000"):
        with pytest.raises(CommandError, match="is not HOST:PORT"):
            call_command("check_port", bad)
    with pytest.raises(CommandError, match="cannot resolve"):
        call_command("check_port", "no-such-host.invalid:8000")


def test_it_stops_make_run_before_touching_data_when_the_port_is_taken(tmp_path, taken_port):
    result = make("run", f"PORT={taken_port}", env=clean_env(tmp_path))
    assert result.returncode != 0
    assert f"Cannot serve on 127.0.0.1:{taken_port}: already in use" in result.stderr
    assert "Demo ready" not in result.stdout
    # Neither migrated nor seeded: no database file, no key written.
    assert not (tmp_path / "db.sqlite3").exists() and not (tmp_path / ".demo-key").exists()


def test_it_points_links_at_the_port_being_served_unless_aos_base_url_is_set(tmp_path):
    dry = make("-n", "run", "PORT=8765", env=clean_env(tmp_path)).stdout
    seed, serve = (line for line in dry.splitlines() if "seed_demo" in line or "serve_demo" in line)
    assert "AOS_BASE_URL=http://127.0.0.1:8765 " in seed and "--base-url http://127.0.0.1:8765" in seed
    assert serve.startswith("AOS_BASE_URL=http://127.0.0.1:8765 ") and serve.endswith(" 127.0.0.1:8765")
    assert "--new-key" not in seed
    public = make("-n", "run", "PORT=8765", "NEW_KEY=1", env=clean_env(tmp_path, AOS_BASE_URL="https://aos.example"))
    seed = next(line for line in public.stdout.splitlines() if "seed_demo" in line)
    assert "AOS_BASE_URL=https://aos.example " in seed and "--new-key" in seed


def test_it_prints_the_banner_last_once_the_server_listens(tmp_path):
    banner = tmp_path / "banner.txt"
    banner.write_text("+--+\n| Demo ready: |\n+--+\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [sys.executable, "manage.py", "serve_demo", "--noreload", "--skip-checks", "--banner-file", str(banner)]
    env = clean_env(tmp_path, DJANGO_RUNSERVER_HIDE_WARNING="true", PYTHONUNBUFFERED="1")
    server = subprocess.Popen([*argv, f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while "| Demo ready: |" not in lines[-1:]:
            line = server.stdout.readline()
            assert line, "".join(lines)  # the server ended before printing the banner
            lines.append(line.rstrip("\n"))
        starting = next(i for i, line in enumerate(lines) if line.startswith("Starting development server at"))
        assert starting < len(lines) - 1  # after the bind, so no server line buries it
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # listening
    finally:
        server.terminate()
        server.wait(timeout=10)
