"""Browser SSO into the admin, end to end against a real OIDC provider (oidc-provider-mock).

The provider runs on 127.0.0.1 in a thread; the admin runs under `live_server`; a
`requests.Session` plays the browser through the authorization-code flow.
"""

from __future__ import annotations

import threading
import warnings
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import werkzeug.serving
from django.contrib.auth import get_user_model

from accounts.models import Membership, Role

# authlib (under the mock provider) forces its deprecation warnings to "always"; keep them out of the report.
with warnings.catch_warnings(record=True):
    import oidc_provider_mock

CLIENT_ID = "aos-admin"


@pytest.fixture
def provider(monkeypatch):
    """The provider's base URL; it lives for the test only."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def sso(settings, provider):
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "client-secret"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider}/oauth2/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider}/oauth2/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider}/jwks"
    settings.OIDC_OP_LOGOUT_ENDPOINT = f"{provider}/oauth2/end_session"
    settings.OIDC_SSO_ENABLED = True
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "accounts.oidc.TenantOIDCBackend",
    ]
    return provider


def set_provider_user(provider: str, sub: str, **claims) -> None:
    requests.put(f"{provider}/users/{sub}", json=claims, timeout=5).raise_for_status()


def sso_login(live_server, sub: str) -> tuple[requests.Session, requests.Response]:
    """/oidc/authenticate/ → the provider's authorize form (submitted as `sub`) → /oidc/callback/ → admin."""
    browser = requests.Session()
    form = browser.get(f"{live_server.url}/oidc/authenticate/?next=/admin/", timeout=10)
    assert form.status_code == 200 and "Authorize Client" in form.text, form.text[:500]
    assert parse_qs(urlparse(form.url).query)["client_id"] == [CLIENT_ID]
    landed = browser.post(form.url, data={"sub": sub}, timeout=10)
    return browser, landed


def test_it_logs_a_new_user_into_the_admin_and_creates_the_membership(live_server, sso, tenant_a):
    set_provider_user(
        sso,
        "kc-7",
        email="dana@example.com",
        tenant_id="tenant-a",
        realm_access={"roles": ["offline_access", "developer"]},
        resource_access={CLIENT_ID: {"roles": ["operator"]}},
    )
    browser, landed = sso_login(live_server, "kc-7")

    assert landed.status_code == 200
    assert urlparse(landed.url).path == "/admin/"
    assert "Site administration" in landed.text
    assert [urlparse(r.headers["Location"]).path for r in landed.history][-2:] == ["/oidc/callback/", "/admin/"]
    user = get_user_model().objects.get(username="oidc:kc-7")
    assert user.email == "dana@example.com" and user.is_staff and not user.is_superuser
    membership = Membership.objects.get(user=user)
    assert (membership.tenant, membership.role) == (tenant_a, Role.OPERATOR)
    # The session is a real admin session: the membership's pages are reachable.
    assert browser.get(f"{live_server.url}/admin/accounts/membership/", timeout=10).status_code == 200


def test_it_updates_the_membership_on_the_next_login(live_server, sso, tenant_a, django_user_model):
    user = django_user_model.objects.create_user(username="oidc:kc-8", is_staff=True)
    Membership.objects.create(user=user, tenant=tenant_a, role=Role.ADMIN)
    set_provider_user(sso, "kc-8", tenant_id="tenant-a", roles=["viewer"])

    _, landed = sso_login(live_server, "kc-8")

    assert urlparse(landed.url).path == "/admin/"
    assert Membership.objects.get(user=user).role == Role.VIEWER
    assert django_user_model.objects.filter(username__startswith="oidc:").count() == 1


def test_it_refuses_a_login_naming_an_unknown_tenant(live_server, sso, tenant_a, django_user_model):
    set_provider_user(sso, "kc-9", tenant_id="no-such-tenant", roles=["admin"])
    _, landed = sso_login(live_server, "kc-9")

    assert urlparse(landed.url).path == "/admin/login/"
    assert "SSO sign-in failed" in landed.text
    assert not django_user_model.objects.filter(username="oidc:kc-9").exists()


def test_it_logs_out_of_the_admin_and_the_provider(live_server, sso, tenant_a):
    set_provider_user(sso, "kc-10", tenant_id="tenant-a", roles=["operator"])
    browser, _ = sso_login(live_server, "kc-10")
    csrf = browser.cookies["csrftoken"]

    out = browser.post(
        f"{live_server.url}/admin/logout/",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{live_server.url}/admin/"},
        allow_redirects=False,
        timeout=10,
    )

    assert out.status_code == 302
    location = urlparse(out.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{sso}/oauth2/end_session"
    query = parse_qs(location.query)
    assert query["id_token_hint"][0].count(".") == 2
    assert query["post_logout_redirect_uri"] == [f"{live_server.url}/admin/login/"]
    again = browser.get(f"{live_server.url}/admin/", allow_redirects=False, timeout=10)
    assert again.status_code == 302 and again.headers["Location"].startswith("/admin/login/")


def test_it_offers_sso_on_the_admin_login_page_only_when_configured(client, settings, db):
    settings.OIDC_SSO_ENABLED = False
    assert "Sign in with SSO" not in client.get("/admin/login/").content.decode()
    settings.OIDC_SSO_ENABLED = True
    page = client.get("/admin/login/?next=/admin/accounts/").content.decode()
    assert "Sign in with SSO" in page
    assert 'href="/oidc/authenticate/?next=/admin/accounts/"' in page
    # Local password login stays available next to SSO.
    assert 'name="password"' in page


@pytest.mark.parametrize("path", ["/oidc/authenticate/", "/oidc/callback/?code=x&state=y"])
def test_it_answers_404_on_the_sso_urls_when_sso_is_off(client, settings, db, path):
    settings.OIDC_SSO_ENABLED = False
    assert client.get(path).status_code == 404


def test_it_logs_a_password_user_out_of_the_admin_locally(admin_client):
    response = admin_client.post("/admin/logout/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/"
    assert admin_client.get("/admin/").status_code == 302


def test_it_finds_the_id_token_key_by_kid_or_the_only_key(idp, settings):
    import jwt
    from django.core.exceptions import SuspiciousOperation

    from accounts.oidc import TenantOIDCBackend

    backend = TenantOIDCBackend()
    with_kid = idp.token(sub="u")
    assert backend.retrieve_matching_jwk(with_kid).key_id == idp.current_kid
    without_kid = jwt.encode({"sub": "u"}, idp.keys[idp.current_kid], algorithm="RS256")
    assert backend.retrieve_matching_jwk(without_kid).key_id == idp.current_kid

    settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    idp.add_key()
    from accounts.auth import reset_jwks_cache

    reset_jwks_cache()
    with pytest.raises(SuspiciousOperation, match="several keys"):
        backend.retrieve_matching_jwk(without_kid)
    with pytest.raises(SuspiciousOperation, match="No usable key"):
        backend.retrieve_matching_jwk(jwt.encode({"sub": "u"}, "k" * 32, algorithm="HS256", headers={"kid": "nope"}))
