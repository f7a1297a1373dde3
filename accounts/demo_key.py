"""The demo API key of `make run`, kept across re-runs.

Keys are stored hashed, so the raw demo key is kept in a local file (`DEMO_KEY_FILE`, default
`.demo-key` in the project, gitignored, mode 0600): a re-run prints the same key and the clients of
a server still running keep working. Only an explicit rotation (`make run NEW_KEY=1`) revokes it.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from accounts import principal_cache
from accounts.models import ApiKey, Role, Tenant, hash_api_key
from accounts.services import api_key_create

DEMO_KEY_NAME = "demo (make run)"


def _read_kept_key(*, path: Path) -> str:
    try:
        return path.read_text().strip()
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        return ""


def _write_kept_key(*, path: Path, raw: str) -> None:
    # Created with 0600 from the start (never briefly world-readable), then replaced atomically.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(raw + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def demo_key_keep_or_create(*, tenant: Tenant, path: Path, rotate: bool = False) -> tuple[str, bool]:
    """Returns (raw key, created). Reuses the kept key while it is still an active demo key."""
    with transaction.atomic():
        demo_keys = ApiKey.objects.active().filter(tenant=tenant, name=DEMO_KEY_NAME)
        kept = _read_kept_key(path=path)
        if kept and not rotate and demo_keys.filter(key_hash=hash_api_key(kept)).exists():
            return kept, False
        if rotate:
            demo_keys.update(revoked_at=timezone.now())
            principal_cache.invalidate()  # update() sends no post_save
        # Without a kept key (first run, file deleted, or a key revoked in the admin) a new key is
        # added; older ones stay valid, since clients of a running server may still use them.
        _, raw = api_key_create(tenant=tenant, role=Role.OPERATOR, name=DEMO_KEY_NAME)
    _write_kept_key(path=path, raw=raw)
    return raw, True
