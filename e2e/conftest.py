"""The `make e2e` suite's fixtures: one stack for the session, tenants and keys made as an operator makes them."""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from aos_sdk import AOSClient
from e2e.stack import Stack, missing_tools


@dataclass
class Tenant:
    slug: str
    keys: dict[str, str]  # role -> raw API key
    clients: dict[str, AOSClient] = field(default_factory=dict)

    def client(self, role: str) -> AOSClient:
        return self.clients[role]


def pytest_collection_modifyitems(config, items):
    if missing := missing_tools():
        skip = pytest.mark.skip(reason=f"missing {', '.join(missing)}")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stack():
    with Stack(keep_logs=bool(os.environ.get("E2E_KEEP_LOGS"))) as running:
        yield running


ROLES = ("viewer", "developer", "operator", "admin")


def make_tenant(stack: Stack, prefix: str, *, tier: str = "enterprise", roles: tuple[str, ...] = ROLES) -> Tenant:
    """`manage.py create_tenant` and one `create_api_key` per role, exactly as the README provisions."""
    slug = f"{prefix}-{secrets.token_hex(3)}"
    stack.manage("create_tenant", slug, "--name", f"E2E {prefix}", "--tier", tier)

    def key(role: str) -> str:
        result = stack.manage("create_api_key", "--tenant", slug, "--role", role, "--name", f"e2e-{role}")
        return result.stdout.strip().splitlines()[-1]

    with ThreadPoolExecutor(max_workers=len(roles)) as pool:  # each manage.py start costs seconds
        keys = dict(zip(roles, pool.map(key, roles), strict=True))
    tenant = Tenant(slug=slug, keys=keys)
    tenant.clients = {role: AOSClient(stack.web, api_key=key, timeout=30) for role, key in keys.items()}
    return tenant


@pytest.fixture(scope="session")
def acme(stack) -> Tenant:
    return make_tenant(stack, "acme")


@pytest.fixture(scope="session")
def journey() -> dict:
    """What one step leaves for the next (run ids, mismatch ids)."""
    return {}
