"""`python -m e2e run [PYTEST ARGS]` (make e2e) and `python -m e2e load` (make load)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(pytest_args: list[str]) -> int:
    """The suite against a fresh stack (started by its session fixture), then `e2e_report` of its JUnit XML."""
    junit = Path(os.environ.get("E2E_JUNIT", ROOT / "test-output" / "e2e-junit.xml"))
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    args = [sys.executable, "-m", "pytest", "e2e", "-p", "no:cacheprovider", "-v", f"--junitxml={junit}"]
    pytest = subprocess.Popen([*args, *pytest_args], cwd=ROOT)
    # A SIGTERM to this process alone (a CI job cancelled) reaches pytest, which then stops the stack.
    signal.signal(signal.SIGTERM, lambda signum, frame: pytest.send_signal(signal.SIGTERM))
    while True:
        try:
            tests = pytest.wait()
            break
        except KeyboardInterrupt:  # Ctrl-C reached pytest too (same process group): wait for its teardown
            continue
    if not junit.exists():
        print(f"e2e: pytest exited {tests} without writing {junit}", file=sys.stderr)
        return tests or 2
    report = subprocess.run([sys.executable, "manage.py", "e2e_report", str(junit), "--strict"], cwd=ROOT)
    return tests or report.returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "load"}:
        print("usage: python -m e2e run [PYTEST ARGS] | python -m e2e load", file=sys.stderr)
        return 2
    if argv[0] == "run":
        return run(argv[1:])
    from e2e.load import main as load

    try:
        return load()
    except KeyboardInterrupt:
        print("load: interrupted; everything it started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
