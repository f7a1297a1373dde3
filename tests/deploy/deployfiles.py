"""Loaders for the deployment artefacts in deploy/ (no Docker daemon, no cluster: parsers only).

`compose_config()` is what `docker compose config` does before it validates: YAML with merge
keys and anchors resolved (PyYAML), then `${VAR}` interpolation from an env file, following the
Compose Specification's interpolation rules (`$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?error}`, `${VAR?error}`). The result is validated by compose-spec (the Rust
compose_spec parser's bindings): unknown keys, bad durations, image references, conditions.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_ENV_EXAMPLE = DEPLOY / "compose.env.example"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S = DEPLOY / "k8s"

_VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


class InterpolationError(ValueError):
    """A `${VAR:?message}` whose variable is missing, as compose refuses to start."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        escaped, braced, operator, argument, bare = match.groups()
        if escaped:
            return "$"
        name = braced or bare
        current = env.get(name)
        missing = current is None or (operator is not None and operator.startswith(":") and current == "")
        if operator in {":-", "-"}:
            return argument if missing else current
        if operator in {":?", "?"}:
            if missing:
                raise InterpolationError(f"{name}: {argument}")
            return current
        return current or ""

    return _VARIABLE.sub(replace, value)


def required_variables(text: str) -> set[str]:
    """Names used as `${VAR:?...}` / `${VAR?...}`: compose refuses to start without them."""
    return {m.group(2) for m in _VARIABLE.finditer(text) if m.group(3) in {":?", "?"}}


def compose_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def example_env(**overrides: str) -> dict[str, str]:
    """deploy/compose.env.example with every empty (required) value filled in, as a user would."""
    values = {key: value or "" for key, value in dotenv_values(COMPOSE_ENV_EXAMPLE).items()}
    filled = {key: value or _example_value(key) for key, value in values.items()}
    return {**filled, **overrides}


def _example_value(key: str) -> str:
    return f"https://example.invalid/{key.lower()}" if key.endswith("_URL") else f"example-{key.lower()}"


def compose_config(env: dict[str, str] | None = None) -> dict[str, Any]:
    config = interpolate(compose_raw(), example_env() if env is None else env)
    # Extension fields (x-*) are only there to be merged; compose drops them from `config` too.
    return {key: value for key, value in config.items() if not key.startswith("x-")}


def dockerfile() -> DockerfileParser:
    parser = DockerfileParser(fileobj=DOCKERFILE.open("rb"))
    return parser


def final_stage(parser: DockerfileParser) -> list[dict]:
    """The instructions after the last FROM."""
    instructions = parser.structure
    last_from = max(i for i, item in enumerate(instructions) if item["instruction"] == "FROM")
    return instructions[last_from:]


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        documents.extend((path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def k8s_objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc["kind"] == kind}


def pod_specs() -> dict[str, dict[str, Any]]:
    """Every workload's pod spec by `Kind/name` (Deployments, Jobs, CronJobs)."""
    specs = {}
    for _, doc in k8s_documents():
        spec = doc.get("spec", {})
        if doc["kind"] in {"Deployment", "Job"}:
            specs[f"{doc['kind']}/{doc['metadata']['name']}"] = spec["template"]["spec"]
        elif doc["kind"] == "CronJob":
            specs[f"CronJob/{doc['metadata']['name']}"] = spec["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def settings_variables() -> set[str]:
    """Every environment variable the project reads: .env.example, settings.py and gunicorn.conf.py."""
    names = set(dotenv_values(ROOT / ".env.example"))
    for path in (ROOT / "aosproject" / "settings.py", DEPLOY / "gunicorn.conf.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = node.args[0]
            if (called.startswith("env") or called == "get") and isinstance(first, ast.Constant):
                if isinstance(first.value, str) and first.value.isupper():
                    names.add(first.value)
    return names
