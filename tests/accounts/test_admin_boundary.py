"""The admin's tenant boundary (issue 11, findings 1-4): the role in the object's own tenant decides.

dana is admin of A and viewer of B, otto operator of A and viewer of B, vic viewer of A. Every
add, change, delete, action and custom POST is tried on every admin model: in B they may only look
(the database is unchanged afterwards); in A each may do what its role allows.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.admin_scoping import PlatformAdminMixin, TenantScopedAdminMixin
from accounts.models import ApiKey, Membership, Role, Tenant
from accounts.services import api_key_create
from aosproject.models import IdempotencyRecord
from tests.traces.tracebuild import store
from traces.models import Trace, TraceStep
from triage.models import Mismatch
from triage.services import mismatch_record
from vault.models import Secret
from vault.services import secret_put

pytestmark = pytest.mark.django_db

SNAPSHOT_MODELS = [Tenant, Membership, ApiKey, IdempotencyRecord, Trace, TraceStep, Mismatch, Secret, get_user_model()]


def snapshot() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in SNAPSHOT_MODELS}


def _objects(tenant, label: str, member) -> SimpleNamespace:
    key, _ = api_key_create(tenant=tenant, role=Role.ADMIN, name=f"key-{label}")
    trace = store(tenant, trace_id=f"tr-{label}", steps=2)
    other = store(tenant, trace_id=f"tr2-{label}", steps=2, seed=7)
    mismatch = mismatch_record(trace=trace, step_index=1, reason="output_mismatch", reported_by="replay")
    Mismatch.objects.filter(pk=mismatch.pk).update(notification_state="failed", notification_attempts=8)
    idem = IdempotencyRecord.objects.create(
        tenant=tenant,
        key=f"k-{label}",
        request_hash="h" * 64,
        method="POST",
        path="/api/v1/runtime/runs",
        expires_at=timezone.now() + timedelta(days=1),
    )
    membership = Membership.objects.get(user=member, tenant=tenant)
    secret, _ = secret_put(tenant=tenant, name="DEPLOY_TOKEN", value=f"secret-of-{label}")
    return SimpleNamespace(
        tenant=tenant,
        key=key,
        trace=trace,
        other=other,
        mismatch=mismatch,
        idem=idem,
        membership=membership,
        secret=secret,
    )


@pytest.fixture
def world(tenant_a, tenant_b, dana, otto, vic, carol, bob):
    """Objects of every admin model in A and B; tenant C exists but none of the cast belongs to it."""
    Tenant.objects.create(slug="tenant-c", name="Tenant C")
    return SimpleNamespace(a=_objects(tenant_a, "a", vic), b=_objects(tenant_b, "b", carol))


def url(obj, view: str) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{view}", args=[obj.pk])


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def action(name: str, *objs, **extra):
    return changelist(type(objs[0])), {"action": name, ACTION_CHECKBOX_NAME: [o.pk for o in objs], "index": 0, **extra}


def tenant_form(tenant, **changes):
    data = {
        "slug": tenant.slug,
        "name": tenant.name,
        "tier": tenant.tier,
        "retention_days": tenant.retention_days,
        "budget_cents": tenant.budget_cents,
        "allowed_skills": "[]",
        "github_repo": tenant.github_repo,
    }
    return {**data, **changes}


DELETE = {"post": "yes"}

# name -> (user, side) -> (url, data). Each one must leave the database exactly as it was.
ATTEMPTS = {
    "add an admin API key": lambda u, t: ("/admin/accounts/apikey/add/", {"tenant": t.tenant.pk, "role": "admin"}),
    "change an API key": lambda u, t: (url(t.key, "change"), {"name": "renamed", "role": "viewer"}),
    "delete an API key": lambda u, t: (url(t.key, "delete"), DELETE),
    "revoke an API key": lambda u, t: action("revoke_selected", t.key),
    "delete API keys (action)": lambda u, t: action("delete_selected", t.key, post="yes"),
    "change the tenant": lambda u, t: (url(t.tenant, "change"), tenant_form(t.tenant, name="Owned", tier="unlimited")),
    "delete the tenant": lambda u, t: (url(t.tenant, "delete"), DELETE),
    "promote its own membership": lambda u, t: (
        url(Membership.objects.get(user=u, tenant=t.tenant), "change"),
        {"username": u.username, "tenant": t.tenant.pk, "role": "admin", "user": u.pk},
    ),
    "add a member as admin": lambda u, t: (
        "/admin/accounts/membership/add/",
        {"username": "bob", "user": 0, "tenant": t.tenant.pk, "role": "admin"},
    ),
    "change a membership": lambda u, t: (
        url(t.membership, "change"),
        {"username": t.membership.user.username, "tenant": t.tenant.pk, "role": "admin"},
    ),
    "delete a membership": lambda u, t: (url(t.membership, "delete"), DELETE),
    "delete memberships (action)": lambda u, t: action("delete_selected", t.membership, post="yes"),
    "delete an idempotency record": lambda u, t: (url(t.idem, "delete"), DELETE),
    "delete idempotency records (action)": lambda u, t: action("delete_selected", t.idem, post="yes"),
    "delete a trace": lambda u, t: (url(t.trace, "delete"), DELETE),
    "delete traces (action)": lambda u, t: action("delete_selected", t.trace, post="yes"),
    "pin a trace": lambda u, t: action("pin_selected", t.trace),
    "delete a mismatch": lambda u, t: (url(t.mismatch, "delete"), DELETE),
    "delete mismatches (action)": lambda u, t: action("delete_selected", t.mismatch, post="yes"),
    "resolve a mismatch": lambda u, t: action(
        "resolve_with_note", t.mismatch, apply="1", kind="fixed", note="mine now"
    ),
    "file a GitHub issue": lambda u, t: action("file_github_issue", t.mismatch),
    "file one GitHub issue": lambda u, t: action("file_one_issue_for_selected", t.mismatch),
    "retry a notification": lambda u, t: action("retry_notification", t.mismatch),
    "add a secret": lambda u, t: (
        "/admin/vault/secret/add/",
        {"tenant": t.tenant.pk, "name": "MINE", "value": "long-enough"},
    ),
    "change a secret": lambda u, t: (url(t.secret, "change"), {"value": "overwritten"}),
    "delete a secret": lambda u, t: (url(t.secret, "delete"), DELETE),
    "delete secrets (action)": lambda u, t: action("delete_selected", t.secret, post="yes"),
}

# In A, what each role may not do either (vic: finding 3, a viewer revoked the admin key).
REFUSED_IN_A = {
    "otto": [
        "add an admin API key",
        "change an API key",
        "revoke an API key",
        "delete an API key",
        "change the tenant",
        "change a membership",
        "add a member as admin",
        "delete the tenant",
        "add a secret",
        "change a secret",
        "delete a secret",
    ],
    "vic": [
        "revoke an API key",
        "delete API keys (action)",
        "pin a trace",
        "delete a trace",
        "delete an idempotency record",
        "resolve a mismatch",
        "retry a notification",
    ],
    "dana": ["delete the tenant"],
}

CASES = [pytest.param(user, "b", name, id=f"{user}-in-B-{name}") for user in ("dana", "otto") for name in ATTEMPTS]
CASES += [
    pytest.param(user, "a", name, id=f"{user}-in-A-{name}") for user, names in REFUSED_IN_A.items() for name in names
]


@pytest.mark.parametrize(("username", "side", "attempt"), CASES)
def test_it_changes_nothing_where_the_role_does_not_allow_it(client, world, username, side, attempt):
    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    path, data = ATTEMPTS[attempt](user, getattr(world, side))
    before = snapshot()

    response = client.post(path, data)

    assert response.status_code in (200, 302, 403), response.status_code
    assert snapshot() == before


def _tenant_a_renamed(w):
    return Tenant.objects.get(pk=w.a.tenant.pk).name == "Renamed"


def _gone(model, attr):
    return lambda w: not model.objects.filter(pk=getattr(w.a, attr).pk).exists()


def _mismatch_a(w):
    return Mismatch.objects.get(pk=w.a.mismatch.pk)


# (user, attempt in A, data override, the effect that must show).
ALLOWED_IN_A = [
    ("dana", "change the tenant", {"name": "Renamed"}, _tenant_a_renamed),
    ("dana", "add an admin API key", {"name": "new"}, lambda w: w.a.tenant.api_keys.filter(name="new").exists()),
    ("dana", "revoke an API key", {}, lambda w: ApiKey.objects.get(pk=w.a.key.pk).revoked),
    ("dana", "change a membership", {}, lambda w: Membership.objects.get(pk=w.a.membership.pk).role == "admin"),
    ("dana", "delete a membership", {}, _gone(Membership, "membership")),
    ("dana", "delete a trace", {}, _gone(Trace, "trace")),
    ("dana", "add a secret", {}, lambda w: w.a.tenant.secrets.filter(name="MINE").exists()),
    ("dana", "delete a secret", {}, _gone(Secret, "secret")),
    ("otto", "delete a trace", {}, _gone(Trace, "trace")),
    ("otto", "delete traces (action)", {}, _gone(Trace, "trace")),
    ("otto", "pin a trace", {}, lambda w: Trace.objects.get(pk=w.a.trace.pk).pinned),
    ("otto", "delete an idempotency record", {}, _gone(IdempotencyRecord, "idem")),
    ("otto", "delete a mismatch", {}, _gone(Mismatch, "mismatch")),
    ("otto", "resolve a mismatch", {}, lambda w: _mismatch_a(w).resolved),
    ("otto", "retry a notification", {}, lambda w: _mismatch_a(w).notification_state == "pending"),
]


@pytest.mark.parametrize(
    ("username", "attempt", "override", "effect"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}") for case in ALLOWED_IN_A],
)
def test_it_lets_the_role_in_the_objects_tenant_act(client, world, username, attempt, override, effect):
    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    path, data = ATTEMPTS[attempt](user, world.a)

    response = client.post(path, {**data, **override})

    assert response.status_code in (200, 302)
    assert effect(world)


def test_it_acts_only_on_the_selected_objects_of_tenants_where_the_role_holds(client, world, otto):
    client.force_login(otto)
    path, data = action("pin_selected", world.a.trace, world.b.trace)

    response = client.post(path, data, follow=True)

    assert Trace.objects.get(pk=world.a.trace.pk).pinned
    assert not Trace.objects.get(pk=world.b.trace.pk).pinned
    assert "Skipped 1 selected object:" in response.content.decode()


LOOK = {
    "the tenant": lambda t: url(t.tenant, "change"),
    "a membership": lambda t: url(t.membership, "change"),
    "an API key": lambda t: url(t.key, "change"),
    "an idempotency record": lambda t: url(t.idem, "change"),
    "a trace": lambda t: url(t.trace, "change"),
    "a mismatch": lambda t: url(t.mismatch, "change"),
    "a secret": lambda t: url(t.secret, "change"),
    "the trace compare page": lambda t: url(t.trace, "compare") + f"?with={t.other.trace_id}",
    "the mismatch dashboard": lambda t: reverse("admin:triage_mismatch_dashboard"),
}


@pytest.mark.parametrize("username", ["dana", "otto"])
@pytest.mark.parametrize("page", list(LOOK))
def test_it_lets_a_viewer_of_b_look_without_save_or_delete_buttons(client, world, username, page):
    client.force_login(get_user_model().objects.get(username=username))
    response = client.get(LOOK[page](world.b))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html
    assert "deletelink" not in html


@pytest.mark.parametrize("model", [ApiKey, Membership, IdempotencyRecord, Trace, Mismatch, Secret])
def test_it_lists_only_the_users_tenants_in_the_tenant_filter(client, world, dana, model):
    client.force_login(dana)
    html = client.get(changelist(model)).content.decode()
    assert "tenant-b" in html
    assert "tenant-c" not in html  # finding 4: every tenant's slug was in the sidebar filter


def test_it_offers_only_tenants_where_the_user_may_add(client, world, dana):
    client.force_login(dana)
    html = client.get("/admin/accounts/apikey/add/").content.decode()
    assert f'<option value="{world.a.tenant.pk}"' in html
    assert f'<option value="{world.b.tenant.pk}"' not in html


def test_it_keeps_platform_fields_for_superusers(client, admin_client, world, dana, settings):
    settings.GITHUB_REPO_ALLOWLIST = ["tenant-a-org"]
    client.force_login(dana)
    platform = {"tier": "unlimited", "budget_cents": 2147483647, "retention_days": 0, "slug": "renamed"}
    response = client.post(url(world.a.tenant, "change"), tenant_form(world.a.tenant, name="Renamed", **platform))
    assert response.status_code == 302
    tenant = Tenant.objects.get(pk=world.a.tenant.pk)
    assert (tenant.name, tenant.slug, tenant.tier, tenant.budget_cents, tenant.retention_days) == (
        "Renamed",
        "tenant-a",
        "pro",
        1000,
        30,
    )

    foreign = client.post(url(tenant, "change"), tenant_form(tenant, github_repo="someone-else/private-repo"))
    assert "GITHUB_REPO_ALLOWLIST" in foreign.content.decode()
    allowed = client.post(url(tenant, "change"), tenant_form(tenant, github_repo="tenant-a-org/ops"))
    assert allowed.status_code == 302

    tenant.refresh_from_db()
    admin_client.post(url(tenant, "change"), tenant_form(tenant, tier="enterprise", retention_days=0))
    tenant.refresh_from_db()
    assert (tenant.tier, tenant.retention_days, tenant.github_repo) == ("enterprise", 0, "tenant-a-org/ops")


def test_it_puts_every_admin_page_behind_the_scoping_helper():
    """A new admin page cannot forget the boundary: each one uses a mixin, each action a permission."""
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, (TenantScopedAdminMixin, PlatformAdminMixin)), model
        for func, name, _ in model_admin._get_base_actions():
            assert getattr(func, "allowed_permissions", None), f"{model.__name__}.{name} declares no permissions"


def _objects_of_a(w) -> list:
    a = w.a
    objects = [a.tenant, a.key, a.membership, a.trace, a.mismatch, a.idem, a.secret]
    mismatch = Mismatch.objects.select_related("group").get(pk=a.mismatch.pk)
    return [*objects, mismatch.group] if mismatch.group is not None else objects


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_it_answers_404_for_another_tenants_object_on_every_object_view(client, world, carol, view):
    # carol is operator of B only: A's objects do not exist for her, exactly like a missing one.
    client.force_login(carol)
    before = snapshot()
    objects = _objects_of_a(world)
    assert len(objects) >= 7
    for obj in objects:
        path = url(obj, view)
        missing = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{view}", args=[987654])
        # Refused before the lookup when no role of hers allows the view anywhere (403), else a 404;
        # never different from the answer for an object that does not exist.
        data = DELETE if view == "delete" else {"name": "Owned"}
        for method in (client.get, client.post):
            answer, answer_missing = method(path, data), method(missing, data)
            assert answer.status_code in (403, 404), (method, path)
            assert answer.status_code == answer_missing.status_code, (method, path)
            assert f"{obj.pk}" not in answer.headers.get("Location", ""), (method, path)
        if view != "delete":  # she may view (some tenant's) objects of every model: the lookup decides
            assert client.get(path).status_code == 404, path
    assert snapshot() == before
