"""The secrets of one execution: looked up on first use, every value remembered for masking."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from accounts.models import Tenant
from vault.masking import Masker, masking
from vault.services import secret_reveal


class RunSecrets:
    """Passed to `runtime.engine.execute(secrets=...)`: `value(name)` for the skill, `mask(x)` for the rest."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.masker = Masker()
        self._values: dict[str, str] = {}

    def value(self, name: str) -> str:
        if name not in self._values:
            self._values[name] = secret_reveal(tenant=self.tenant, name=name)
            self.masker.add(self._values[name])
        return self._values[name]

    def mask(self, value: Any) -> Any:
        return self.masker.mask(value)

    @contextlib.contextmanager
    def active(self) -> Iterator[RunSecrets]:
        """Log lines written inside are masked too."""
        with masking(self.masker):
            yield self


def run_secrets(*, tenant: Tenant) -> RunSecrets:
    return RunSecrets(tenant)
