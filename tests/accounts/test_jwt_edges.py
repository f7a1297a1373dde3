"""Bearer-token edges (issue 11, findings 7 and 8): every bad token is a 401, never a 500; a slow or
failing identity provider costs one JWKS fetch per cooldown and never delays API-key requests."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from accounts.models import Role
from accounts.services import api_key_create
from tests.accounts.test_jwt import me
from tests.jwks import AUDIENCE, ISSUER, TestIdP
from tests.runtime.pooled_server import PooledLiveServer
from tests.servers import LocalServer

CLAIMS = {"iss": ISSUER, "aud": AUDIENCE, "exp": 2_000_000_000, "tenant_id": "tenant-a", "roles": ["admin"]}


def segment(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return jwt.utils.base64url_encode(raw).decode()


def forged(header, payload=CLAIMS, signature: bytes = b"") -> str:
    return ".".join([segment(header), segment(payload), segment(signature)])


ATTACKER_EC_KEY = ec.generate_private_key(ec.SECP256R1())

# name -> token made from (idp, rsa kid, ec kid)
BAD_TOKENS = {
    "ES256 header, an RSA key's kid, unsigned": lambda idp, rsa, ec_: forged({"alg": "ES256", "kid": rsa}),
    "RS256 header, an EC key's kid, unsigned": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": ec_}),
    "ES256 header, an RSA key's kid, signed with an EC key": lambda idp, rsa, ec_: jwt.encode(
        CLAIMS, ATTACKER_EC_KEY, algorithm="ES256", headers={"kid": rsa}
    ),
    "RS256 token signed by the RSA key under the EC key's kid": lambda idp, rsa, ec_: idp.token(
        kid=ec_, key=idp.keys[rsa], **CLAIMS
    ),
    "alg none": lambda idp, rsa, ec_: forged({"alg": "none", "kid": rsa}),
    "alg None (capitalised)": lambda idp, rsa, ec_: forged({"alg": "None", "kid": rsa}),
    "PS256, not an accepted algorithm": lambda idp, rsa, ec_: forged({"alg": "PS256", "kid": rsa}, signature=b"x"),
    "alg missing": lambda idp, rsa, ec_: forged({"kid": rsa}),
    "alg is a list": lambda idp, rsa, ec_: forged({"alg": ["RS256"], "kid": rsa}),
    "kid is a number": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": 7}),
    "kid is an object": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": {"$ne": ""}}),
    "header is a JSON array": lambda idp, rsa, ec_: forged(["RS256", rsa]),
    "header is a JSON string": lambda idp, rsa, ec_: forged("RS256"),
    "header is not JSON": lambda idp, rsa, ec_: forged(b"{not json"),
    "header is not UTF-8": lambda idp, rsa, ec_: forged(b"\xff\xfe\xfd"),
    "payload is not JSON": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": rsa}, payload=b"\x00garbage"),
    "payload is a JSON array": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": rsa}, payload=[1, 2]),
    "signature is not base64": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": rsa})[:-1] + "!!!",
    "garbage": lambda idp, rsa, ec_: "not-a-jwt",
    "two segments": lambda idp, rsa, ec_: "eyJhbGciOiJSUzI1NiJ9.e30",
    "four segments": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": rsa}) + ".abc",
    "empty segments": lambda idp, rsa, ec_: "..",
    "non-ASCII": lambda idp, rsa, ec_: "ünïcødé.ünïcødé.ünïcødé",
    "huge (200 KB)": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": rsa}, payload={"pad": "x" * 200_000}),
    "huge header": lambda idp, rsa, ec_: forged({"alg": "RS256", "kid": "k" * 100_000}),
}


@pytest.fixture
def idp_with_ec(idp):
    ec_kid = idp.add_ec_key()
    rsa_kid = next(kid for kid in idp.keys if kid != ec_kid)
    return idp, rsa_kid, ec_kid


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_it_answers_401_never_500_for_a_bad_token(idp_with_ec, tenant_a, name):
    token = BAD_TOKENS[name](*idp_with_ec)
    response = me(token)
    assert response.status_code == 401, response.content[:300]
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.django_db
def test_it_still_accepts_good_rsa_and_ec_tokens(idp_with_ec, tenant_a):
    idp, rsa_kid, ec_kid = idp_with_ec
    for kid in (rsa_kid, ec_kid):
        assert me(idp.token(kid=kid, tenant_id="tenant-a", roles=["viewer"])).status_code == 200


def _oidc(settings, url: str) -> None:
    settings.OIDC_OP_JWKS_ENDPOINT = url
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_AUDIENCE = AUDIENCE


def test_it_fetches_a_hanging_jwks_once_and_keeps_api_key_requests_fast(transactional_db, settings, tenant_a):
    """32 bearer requests against a provider that hangs, on 4 workers; API-key requests in between."""
    settings.OIDC_TIMEOUT = 1
    settings.OIDC_JWKS_FAILURE_COOLDOWN_SECONDS = 60
    settings.RATELIMIT_ENABLE = False
    _, raw_key = api_key_create(tenant=tenant_a, role=Role.VIEWER)
    provider = TestIdP(hang_seconds=10)
    token = provider.token(tenant_id="tenant-a", roles=["viewer"])
    with provider.server, PooledLiveServer(workers=4) as server:
        _oidc(settings, provider.jwks_url)

        def bearer() -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return requests.get(f"{server.url}/api/v1/me", headers=headers, timeout=60).status_code

        def with_api_key() -> tuple[int, float]:
            started = time.monotonic()
            status = requests.get(f"{server.url}/api/v1/me", headers={"X-API-Key": raw_key}, timeout=60).status_code
            return status, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=40) as pool:
            bearers = [pool.submit(bearer) for _ in range(32)]
            keyed = [pool.submit(with_api_key) for _ in range(8)]
            bearer_statuses = [f.result() for f in bearers]
            keyed_results = [f.result() for f in keyed]
        provider.release()
        fetches = provider.jwks_fetches

    assert set(bearer_statuses) == {503}
    assert fetches == 1  # not one per request (35 for 32 before)
    assert {status for status, _ in keyed_results} == {200}
    # Generous: the only slow thing is one worker waiting OIDC_TIMEOUT (1 s) for the one fetch.
    assert max(elapsed for _, elapsed in keyed_results) < 2.5


class FlakyJwks:
    """A JWKS endpoint whose health the test switches; serves `idp`'s keys when healthy."""

    def __init__(self, idp: TestIdP) -> None:
        self.idp = idp
        self.healthy = False
        self.server = LocalServer(self.handle)

    def handle(self, *request):
        return self.idp._handle(*request) if self.healthy else (500, {}, b"down")


@pytest.mark.django_db
def test_it_retries_a_failed_fetch_only_after_the_failure_cooldown(settings, tenant_a):
    settings.OIDC_JWKS_FAILURE_COOLDOWN_SECONDS = 0.3
    jwks = FlakyJwks(TestIdP())
    token = jwks.idp.token(tenant_id="tenant-a", roles=["viewer"])
    with jwks.server:
        _oidc(settings, f"{jwks.server.url}/jwks")
        assert [me(token).status_code for _ in range(4)] == [503] * 4
        assert len(jwks.server.requests) == 1
        jwks.healthy = True
        assert me(token).status_code == 503  # still cooling down: no fetch
        time.sleep(0.35)
        assert me(token).status_code == 200
        assert len(jwks.server.requests) == 2


@pytest.mark.django_db
def test_it_keeps_verifying_with_the_last_known_keys_while_the_provider_is_down(settings, tenant_a):
    settings.OIDC_JWKS_CACHE_SECONDS = 0.2
    settings.OIDC_JWKS_FAILURE_COOLDOWN_SECONDS = 60
    jwks = FlakyJwks(TestIdP())
    jwks.healthy = True
    token = jwks.idp.token(tenant_id="tenant-a", roles=["viewer"])
    with jwks.server:
        _oidc(settings, f"{jwks.server.url}/jwks")
        assert me(token).status_code == 200
        jwks.healthy = False
        time.sleep(0.25)  # the cached keys expire
        assert [me(token).status_code for _ in range(3)] == [200] * 3
        assert len(jwks.server.requests) == 2  # one failed refresh, then the circuit is open
