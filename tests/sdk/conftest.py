"""SDK tests: a real server (pytest-django's `live_server`), real HTTP, the cast of tests/conftest.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from accounts.models import Role
from accounts.services import api_key_create
from aos_sdk import AOSClient, RetryPolicy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STANDIN_HOST = "127.0.0.2"


def key(tenant, role) -> str:
    return api_key_create(tenant=tenant, role=role)[1]


class FakeTime:
    """An injectable clock and sleep: sleeping advances the clock and is recorded, never waits."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def sdk_client(url: str, api_key: str, fake: FakeTime | None = None, **kwargs) -> AOSClient:
    fake = fake or FakeTime()
    policy = RetryPolicy(max_retries=kwargs.pop("max_retries", 3), sleep=fake.sleep, clock=fake.clock)
    return AOSClient(url, api_key=api_key, retry=policy, timeout=kwargs.pop("timeout", 15), **kwargs)


@pytest.fixture
def aos_dev(live_server, tenant_a, fake_time):
    with sdk_client(live_server.url, key(tenant_a, Role.DEVELOPER), fake_time) as client:
        yield client


@pytest.fixture
def aos_op(live_server, tenant_a, fake_time):
    with sdk_client(live_server.url, key(tenant_a, Role.OPERATOR), fake_time) as client:
        yield client


@pytest.fixture
def aos_viewer(live_server, tenant_a):
    with sdk_client(live_server.url, key(tenant_a, Role.VIEWER)) as client:
        yield client


@pytest.fixture
def aos_b(live_server, tenant_b):
    with sdk_client(live_server.url, key(tenant_b, Role.OPERATOR)) as client:
        yield client


def _load_standins():
    spec = importlib.util.spec_from_file_location("aos_examples_standins", ROOT / "examples/_local/standins.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def standins(settings):
    """The demos' stand-ins on 127.0.0.2, the only address http_call may reach besides public ones."""
    settings.HTTP_CALL_ALLOWED_HOSTS = [STANDIN_HOST]
    with _load_standins().StandIns(STANDIN_HOST) as servers:
        yield servers


PURE_PLAN = [{"skill": "json_transform", "params": {"payload": {"x": 1}, "mapping": {"y": "x"}}}]
