"""Alert admin: superusers only, read-only, filters, search, pretty detail, bounded queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from alerts.models import Alert, AlertStatus

LIST = "/admin/alerts/alert/"
START = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root")


def make_alert(n: int, **fields) -> Alert:
    labels = fields.pop("labels", None) or {
        "alertname": fields.get("alertname", "AOSCostOverrun"),
        "severity": fields.get("severity", "warning"),
    }
    defaults = {
        "fingerprint": f"{n:016x}",
        "status": AlertStatus.FIRING,
        "alertname": "AOSCostOverrun",
        "severity": "warning",
        "labels": labels,
        "annotations": {"summary": f"alert {n}"},
        "starts_at": START + timedelta(minutes=n),
    }
    return Alert.objects.create(**{**defaults, **fields})


def rows(response) -> list[Alert]:
    return list(response.context["cl"].result_list)


def test_it_lists_alerts_with_their_columns_for_a_superuser(client, root):
    make_alert(1, tenant_label="tenant-a", injected=True, notifications=3, labels={"alertname": "AOSCostOverrun"})
    client.force_login(root)
    response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("AOSCostOverrun", "warning", "firing", "tenant-a", "2026-11-30 05:01:00 UTC"):
        assert text in page, text
    assert [a.notifications for a in rows(response)] == [3]
    headers = {h["text"].lower() for h in response.context["result_headers"]}
    assert {"alertname", "severity", "status", "tenant label", "injected", "notifications"} <= headers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"alertname": "AOSWatchdog"}, {2}),
        ({"severity": "critical"}, {3}),
        ({"status__exact": "resolved"}, {4}),
        ({"injected__exact": "1"}, {1}),
        ({"injected__exact": "0"}, {2, 3, 4}),
        ({"q": "0000000000000003"}, {3}),
        ({"q": "00000000000000"}, {1, 2, 3, 4}),  # a fingerprint's beginning
        ({"q": "watchdog"}, {2}),
    ],
)
def test_it_filters_and_searches(client, root, query, expected):
    make_alert(1, injected=True)
    make_alert(2, alertname="AOSWatchdog", severity="none")
    make_alert(3, severity="critical")
    make_alert(4, status=AlertStatus.RESOLVED, ends_at=START + timedelta(hours=1))
    client.force_login(root)
    response = client.get(LIST, query)
    assert response.status_code == 200
    assert {int(a.fingerprint, 16) for a in rows(response)} == expected


def test_it_shows_labels_and_annotations_pretty_on_the_detail_page(client, root):
    alert = make_alert(
        1,
        labels={"alertname": "AOSCostOverrun", "tier": "<pro>"},
        annotations={"summary": "Spend", "runbook_url": "https://example.test/rb/AOSCostOverrun.md"},
        generator_url="javascript:alert(1)",
    )
    client.force_login(root)
    response = client.get(reverse("admin:alerts_alert_change", args=[alert.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<pre" in page and "&quot;tier&quot;: &quot;&lt;pro&gt;&quot;" in page  # escaped, indented JSON
    assert '<a href="https://example.test/rb/AOSCostOverrun.md"' in page
    assert 'href="javascript:' not in page
    assert 'name="_save"' not in page  # read-only


def test_it_is_read_only_even_for_superusers(client, root):
    alert = make_alert(1)
    client.force_login(root)
    assert client.get(reverse("admin:alerts_alert_add")).status_code == 403
    response = client.post(reverse("admin:alerts_alert_change", args=[alert.pk]), {"alertname": "Changed"})
    assert response.status_code == 403
    assert client.post(reverse("admin:alerts_alert_delete", args=[alert.pk]), {"post": "yes"}).status_code == 403
    assert Alert.objects.get().alertname == "AOSCostOverrun"


def test_it_hides_alerts_from_tenant_staff_even_with_django_permissions(client, alice, carol):
    alert = make_alert(1, tenant_label="tenant-a")
    alice.user_permissions.add(*Permission.objects.filter(content_type__app_label="alerts"))
    for user in (alice, carol):
        client.force_login(user)
        assert client.get(LIST).status_code == 403
        assert client.get(reverse("admin:alerts_alert_change", args=[alert.pk])).status_code in (302, 403)
        index = client.get("/admin/")
        assert index.status_code == 200
        assert "/admin/alerts/" not in index.content.decode()
        assert client.get("/admin/alerts/").status_code in (403, 404)


def test_it_lists_in_bounded_queries(client, root, django_assert_max_num_queries):
    for n in range(60):
        make_alert(n, alertname=f"AOSAlert{n % 5}", severity=("warning", "critical")[n % 2], injected=n % 3 == 0)
    client.force_login(root)
    client.get(LIST)  # warm the session and content types
    # session, user, COUNT, page rows, distinct alertnames, distinct severities
    with django_assert_max_num_queries(6):
        response = client.get(LIST, {"severity": "critical"})
    assert len(rows(response)) == 30


def test_it_links_the_runbook_of_a_rule_alert_that_names_no_url(client, root, settings):
    """The rules carry no runbook URL (issue 16): the admin links this deployment's runbook for the alert."""
    settings.ALERT_RUNBOOK_BASE_URL = "https://runbooks.example.test/aos"
    alert = make_alert(
        1, alertname="AOSTargetDown", labels={"alertname": "AOSTargetDown"}, annotations={"summary": "x"}
    )
    client.force_login(root)
    page = client.get(reverse("admin:alerts_alert_change", args=[alert.pk])).content.decode()
    assert '<a href="https://runbooks.example.test/aos/AOSTargetDown.md"' in page
