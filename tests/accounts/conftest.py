"""Fixtures for the accounts tests: a running test IdP wired into the OIDC settings."""

from __future__ import annotations

import pytest

from tests.jwks import AUDIENCE, ISSUER, TestIdP


@pytest.fixture
def idp(settings):
    """A key pair made here, its JWKS served on 127.0.0.1; bearer-token settings point at it."""
    provider = TestIdP()
    with provider.server:
        settings.OIDC_OP_JWKS_ENDPOINT = provider.jwks_url
        settings.OIDC_ISSUER = ISSUER
        settings.OIDC_AUDIENCE = AUDIENCE
        settings.OIDC_RP_CLIENT_ID = AUDIENCE
        yield provider
