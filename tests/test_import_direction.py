"""Which app may import which (statically, any import anywhere in a module, lazy ones included).

Layers, bottom up: accounts → (aosproject's shared API layer) → traces → triage / runtime /
vault / alerts → demo. The SDK is a client: it imports nothing from the server.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_APPS = {"accounts", "aosproject", "runtime", "traces", "triage", "alerts", "vault", "demo"}

# app -> server apps it must never import
FORBIDDEN = {
    "accounts": SERVER_APPS - {"accounts", "aosproject"},
    "traces": {"runtime", "triage", "alerts", "vault", "demo"},
    "triage": {"runtime", "alerts", "vault", "demo"},
    "runtime": {"alerts", "demo"},
    "vault": {"alerts", "demo", "triage"},
    "alerts": {"demo"},
}
# Admin modules are an edge that composes apps: the trace page replays through runtime's service.
EDGE_EXCEPTIONS = {("traces", "runtime"): {"admin.py"}}
# aosproject is the project package: urls/settings wire the apps together and a few aggregators
# (metrics, checks, the OpenAPI hook, the Celery log context) read them lazily. Everything else in
# it is the shared API layer and imports no app above accounts.
AOSPROJECT_WIRING = {
    "urls.py",
    "settings.py",
    "checks.py",
    "openapi.py",
    "metrics.py",
    "metrics_gauges.py",
    "log_celery.py",
}


def _imported_apps(path: Path, universe: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & universe
    return found


def _modules(package: str):
    return [p for p in (ROOT / package).rglob("*.py") if "node_modules" not in p.parts]


def _forbidden(app: str, path: Path) -> set[str]:
    return {other for other in FORBIDDEN[app] if path.name not in EDGE_EXCEPTIONS.get((app, other), set())}


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_it_keeps_each_app_above_what_it_imports(app):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path, _forbidden(app, path)))
        for path in _modules(app)
        if _imported_apps(path, _forbidden(app, path))
    }
    assert offenders == {}


def test_it_keeps_the_shared_api_layer_free_of_apps():
    above = SERVER_APPS - {"accounts", "aosproject"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path, above))
        for path in _modules("aosproject")
        if path.name not in AOSPROJECT_WIRING and _imported_apps(path, above)
    }
    assert offenders == {}


def test_it_keeps_the_sdk_free_of_server_code():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path, SERVER_APPS | {"django", "rest_framework"}))
        for path in _modules("sdk/python")
        if _imported_apps(path, SERVER_APPS | {"django", "rest_framework"})
    }
    assert offenders == {}
