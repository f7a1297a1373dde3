"""`.env` is read when present; `.env.example` means the same to python-dotenv and to a POSIX shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
SHELL_OWN = {"PWD", "OLDPWD", "SHLVL", "_"}


def shell_values(path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["env", "-i", "sh", "-c", f"set -a; . {path}; env -0"], capture_output=True, timeout=10, check=True
    ).stdout.decode()
    pairs = (item.split("=", 1) for item in out.split("\0") if item)
    return {name: value for name, value in pairs if name not in SHELL_OWN}


def test_it_means_the_same_to_python_dotenv_and_a_posix_shell():
    example = ROOT / ".env.example"
    from_dotenv = dotenv_values(example)
    assert len(from_dotenv) > 50  # the file is really parsed, not skipped
    assert from_dotenv["OIDC_RP_SCOPES"] == "openid email profile"
    assert from_dotenv["SECRET_KEY"] == "" and from_dotenv["DEBUG"] == "1"  # inline comments are not values
    assert shell_values(example) == from_dotenv


def test_it_catches_a_file_the_shell_reads_differently(tmp_path):
    """The comparison can fail: an unquoted value with a space is a command to the shell."""
    bad = tmp_path / "bad.env"
    bad.write_text("OIDC_RP_SCOPES=openid email profile\n")
    assert dotenv_values(bad) == {"OIDC_RP_SCOPES": "openid email profile"}
    result = subprocess.run(["env", "-i", "sh", "-c", f"set -a; . {bad}; env"], capture_output=True, timeout=10)
    assert "openid email profile" not in result.stdout.decode()


def settings_seen(tmp_path: Path, dotenv_text: str, **environ: str) -> list[str]:
    env_file = tmp_path / ".env"
    env_file.write_text(dotenv_text)
    env = {k: v for k, v in os.environ.items() if k not in {"AOS_BASE_URL", "DEMO_KEY_FILE"}}
    env.update(AOS_ENV_FILE=str(env_file), DJANGO_SETTINGS_MODULE="aosproject.settings", **environ)
    code = "from django.conf import settings; print(settings.AOS_BASE_URL); print(settings.DEMO_KEY_FILE)"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_it_reads_dotenv_and_lets_the_environment_win(tmp_path):
    text = 'AOS_BASE_URL="http://from-dotenv:1"   # quoted\nDEMO_KEY_FILE=/tmp/from-dotenv-key\n'
    assert settings_seen(tmp_path, text) == ["http://from-dotenv:1", "/tmp/from-dotenv-key"]
    assert settings_seen(tmp_path, text, AOS_BASE_URL="http://from-env:2") == [
        "http://from-env:2",
        "/tmp/from-dotenv-key",
    ]
