"""Bearer JWTs verified locally against the IdP's JWKS (PRODUCT.md §2), through GET /api/v1/me."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import ssl
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from tests import jwks
from tests.jwks import AUDIENCE, ISSUER
from tests.servers import LocalServer

pytestmark = pytest.mark.django_db


def me(token: str):
    return APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_unauthenticated(response, fragment: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] == "not_authenticated"
    assert fragment in body["message"]


def test_it_accepts_a_valid_token(idp, tenant_a):
    response = me(idp.token(sub="u-42", tenant_id="tenant-a", roles=["developer"]))
    assert response.status_code == 200
    assert response.json() == {
        "subject": "u-42",
        "tenant": "tenant-a",
        "role": "developer",
        "roles": ["developer"],
        "tier": "pro",
        "method": "jwt",
    }


def test_it_refuses_an_expired_token(idp, tenant_a, settings):
    settings.OIDC_LEEWAY_SECONDS = 0
    now = int(time.time())
    assert_unauthenticated(me(idp.token(tenant_id="tenant-a", iat=now - 600, exp=now - 60)), "expired")


def test_it_allows_clock_skew_within_the_leeway(idp, tenant_a, settings):
    settings.OIDC_LEEWAY_SECONDS = 30
    now = int(time.time())
    assert me(idp.token(tenant_id="tenant-a", iat=now - 600, exp=now - 5, roles=["viewer"])).status_code == 200


def test_it_refuses_the_wrong_audience(idp, tenant_a):
    assert_unauthenticated(me(idp.token(tenant_id="tenant-a", aud="someone-else")), "audience")


def test_it_refuses_the_wrong_issuer(idp, tenant_a):
    assert_unauthenticated(me(idp.token(tenant_id="tenant-a", iss="http://evil.example/realms/aos")), "issuer")


def test_it_refuses_a_token_without_exp(idp, tenant_a):
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "tenant_id": "tenant-a", "roles": ["viewer"]},
        idp.keys[idp.current_kid],
        algorithm="RS256",
        headers={"kid": idp.current_kid},
    )
    assert_unauthenticated(me(token), "exp")


def test_it_refuses_a_tampered_signature(idp, tenant_a):
    header, payload, signature = idp.token(tenant_id="tenant-a", roles=["viewer"]).split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"viewer"', b'"admin"')
    ).decode()
    assert_unauthenticated(me(f"{header}.{forged_payload}.{signature}"), "signature")


def test_it_refuses_a_token_signed_by_another_key_with_a_known_kid(idp, tenant_a):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_unauthenticated(me(idp.token(tenant_id="tenant-a", key=stranger)), "signature")


def test_it_refuses_an_unsigned_token(idp, tenant_a):
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "tenant_id": "tenant-a"},
        None,
        algorithm="none",
        headers={"kid": idp.current_kid},
    )
    assert me(token).status_code == 401


def test_it_refuses_garbage_bearer_tokens(idp, tenant_a):
    assert_unauthenticated(me("not-a-jwt"), "Malformed")


def test_it_caches_the_jwks(idp, tenant_a):
    token = idp.token(tenant_id="tenant-a", roles=["viewer"])
    assert me(token).status_code == 200
    assert me(token).status_code == 200
    assert me(idp.token(tenant_id="tenant-a", sub="another", roles=["viewer"])).status_code == 200
    assert idp.jwks_fetches == 1


def test_it_refetches_the_jwks_once_for_a_rotated_key(idp, tenant_a, settings):
    settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    assert me(idp.token(tenant_id="tenant-a", roles=["viewer"])).status_code == 200
    assert idp.jwks_fetches == 1
    rotated = idp.add_key()
    assert me(idp.token(kid=rotated, tenant_id="tenant-a", roles=["viewer"])).status_code == 200
    assert idp.jwks_fetches == 2
    assert me(idp.token(kid=rotated, tenant_id="tenant-a", roles=["viewer"])).status_code == 200
    assert idp.jwks_fetches == 2


def test_it_refuses_an_unknown_kid_after_exactly_one_refetch(idp, tenant_a, settings):
    settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    assert me(idp.token(tenant_id="tenant-a", roles=["viewer"])).status_code == 200
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_unauthenticated(me(idp.token(kid="nobody-knows", key=stranger, tenant_id="tenant-a")), "unknown key")
    assert idp.jwks_fetches == 2


def test_it_limits_refetches_for_unknown_kids_during_the_cooldown(idp, tenant_a, settings):
    settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = 60
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert me(idp.token(tenant_id="tenant-a", roles=["viewer"])).status_code == 200
    for i in range(5):
        assert me(idp.token(kid=f"random-{i}", key=stranger, tenant_id="tenant-a")).status_code == 401
    assert idp.jwks_fetches == 1


def test_it_refuses_a_token_without_the_tenant_claim(idp, tenant_a):
    response = me(idp.token(roles=["admin"]))
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert "tenant_id" in response.json()["message"]


def test_it_reads_the_tenant_from_the_configured_claim(idp, tenant_a, settings):
    settings.OIDC_TENANT_CLAIM = "org"
    assert me(idp.token(org="tenant-a", roles=["viewer"])).json()["tenant"] == "tenant-a"
    assert me(idp.token(tenant_id="tenant-a", roles=["viewer"])).status_code == 403


def test_it_refuses_a_token_naming_an_unknown_tenant(idp, tenant_a):
    response = me(idp.token(tenant_id="no-such-tenant", roles=["admin"]))
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


@pytest.mark.parametrize(
    ("claims", "role", "roles"),
    [
        ({"realm_access": {"roles": ["offline_access", "operator"]}}, "operator", ["offline_access", "operator"]),
        ({"resource_access": {AUDIENCE: {"roles": ["admin"]}}}, "admin", ["admin"]),
        ({"resource_access": {"another-client": {"roles": ["admin"]}}, "roles": ["viewer"]}, "viewer", ["viewer"]),
        ({"roles": ["viewer"]}, "viewer", ["viewer"]),
        (
            {
                "realm_access": {"roles": ["viewer"]},
                "resource_access": {AUDIENCE: {"roles": ["developer"]}, "account": {"roles": ["manage-account"]}},
                "roles": ["uma_authorization"],
            },
            "developer",
            ["developer", "uma_authorization", "viewer"],
        ),
        (
            {"realm_access": "not-a-dict", "resource_access": {AUDIENCE: {"roles": "admin"}}, "roles": ["viewer"]},
            "viewer",
            ["viewer"],
        ),
    ],
)
def test_it_maps_keycloak_shaped_roles(idp, tenant_a, claims, role, roles):
    body = me(idp.token(tenant_id="tenant-a", **claims)).json()
    assert body["role"] == role
    assert body["roles"] == roles


def test_it_forbids_a_token_without_a_known_role(idp, tenant_a):
    token = idp.token(tenant_id="tenant-a", realm_access={"roles": ["offline_access"]})
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    # Authenticated (200 on the viewer-level endpoint needs a role): no known role → 403.
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("claimed", "tier"), [("enterprise", "enterprise"), ("unlimited", "unlimited"), ("gold", "pro"), (7, "pro")]
)
def test_it_takes_the_tier_from_the_rate_limit_tier_claim_when_valid(idp, tenant_a, claimed, tier):
    assert me(idp.token(tenant_id="tenant-a", roles=["viewer"], rate_limit_tier=claimed)).json()["tier"] == tier


def test_it_answers_503_not_500_when_the_jwks_endpoint_is_down(settings, tenant_a):
    idp = jwks.TestIdP()  # its server is never started: the port is closed
    settings.OIDC_OP_JWKS_ENDPOINT = "http://127.0.0.1:9/jwks"
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_AUDIENCE = AUDIENCE
    response = me(idp.token(tenant_id="tenant-a", roles=["viewer"]))
    assert response.status_code == 503
    assert response.json()["error"] == "identity_provider_unavailable"


def test_it_answers_503_when_the_jwks_endpoint_fails(settings, tenant_a):
    idp = jwks.TestIdP()
    with LocalServer(lambda *a: (500, {}, b"oops")) as broken:
        settings.OIDC_OP_JWKS_ENDPOINT = f"{broken.url}/jwks"
        settings.OIDC_ISSUER = ISSUER
        settings.OIDC_AUDIENCE = AUDIENCE
        response = me(idp.token(tenant_id="tenant-a", roles=["viewer"]))
    assert response.status_code == 503
    assert response.json()["error"] == "identity_provider_unavailable"


def test_it_refuses_bearer_jwts_when_no_provider_is_configured(settings, tenant_a):
    settings.OIDC_OP_JWKS_ENDPOINT = ""
    assert_unauthenticated(me(jwks.TestIdP().token(tenant_id="tenant-a")), "no OIDC provider")


def test_it_asks_for_credentials_with_www_authenticate(db):
    response = APIClient().get("/api/v1/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="aos"'
    assert response.json()["error"] == "not_authenticated"


def test_it_accepts_es256_tokens(settings, tenant_a):
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "ec-1", "use": "sig", "alg": "ES256"}
    with LocalServer(lambda *a: (200, {}, {"keys": [jwk]})) as server:
        settings.OIDC_OP_JWKS_ENDPOINT = f"{server.url}/jwks"
        settings.OIDC_ISSUER = ISSUER
        settings.OIDC_AUDIENCE = AUDIENCE
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "tenant_id": "tenant-a", "roles": ["viewer"]}
        token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "ec-1"})
        assert me(token).status_code == 200


def test_it_refuses_an_hs256_token_keyed_with_the_public_key(idp, tenant_a):
    """The classic algorithm-confusion attack: HMAC with the RSA public key as the secret."""
    from cryptography.hazmat.primitives import serialization

    public_pem = (
        idp.keys[idp.current_kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "tenant_id": "tenant-a", "roles": ["admin"]}
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": idp.current_kid}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode())
    signature = jwt.utils.base64url_encode(hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest())
    assert me(b".".join([header, payload, signature]).decode()).status_code == 401


def test_it_costs_one_query_per_jwt_request(idp, tenant_a, django_assert_max_num_queries):
    token = idp.token(tenant_id="tenant-a", roles=["viewer"])
    assert me(token).status_code == 200  # warms the JWKS cache
    with django_assert_max_num_queries(1):  # the tenant lookup
        assert me(token).status_code == 200


def _self_signed_context(tmp_path) -> ssl.SSLContext:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def test_it_trusts_a_self_signed_idp_only_when_told_to(settings, tenant_a, tmp_path):
    idp = jwks.TestIdP()
    idp.server.httpd.socket = _self_signed_context(tmp_path).wrap_socket(idp.server.httpd.socket, server_side=True)
    with idp.server:
        settings.OIDC_OP_JWKS_ENDPOINT = idp.jwks_url.replace("http://", "https://")
        settings.OIDC_ISSUER = ISSUER
        settings.OIDC_AUDIENCE = AUDIENCE
        token = idp.token(tenant_id="tenant-a", roles=["viewer"])

        settings.OIDC_VERIFY_SSL = True
        assert me(token).status_code == 503  # certificate refused: the IdP's keys are unavailable

        settings.OIDC_VERIFY_SSL = False
        from accounts.auth import reset_jwks_cache

        reset_jwks_cache()
        assert me(token).status_code == 200
