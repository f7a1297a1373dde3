"""Alerts in their current state (issue 19, item 11): a resolved episode's firing row is history, not "firing";
"Firing now" groups the alerts by fingerprint."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from alerts.models import Alert, AlertStatus
from tests.alerts.test_alert_admin import LIST, START, make_alert, rows

NOW = reverse("admin:alerts_alert_now")

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")


def _episode(fingerprint: int, *, start_minutes: int, resolved: bool, **fields) -> None:
    starts_at = START + timedelta(minutes=start_minutes)
    make_alert(fingerprint, starts_at=starts_at, notifications=2, **fields)
    if resolved:
        make_alert(
            fingerprint,
            starts_at=starts_at,
            status=AlertStatus.RESOLVED,
            ends_at=starts_at + timedelta(minutes=7),
            **fields,
        )


@pytest.fixture
def alerts():
    _episode(1, start_minutes=0, resolved=True, alertname="AOSCostOverrun")  # fired and resolved
    _episode(2, start_minutes=5, resolved=False, alertname="AOSHighErrorRate", severity="critical")  # firing now
    _episode(3, start_minutes=0, resolved=True, alertname="AOSReplayMismatch")  # resolved, then fired again
    _episode(3, start_minutes=60, resolved=False, alertname="AOSReplayMismatch")
    _episode(4, start_minutes=0, resolved=False, alertname="AOSTargetDown")  # fired, resolved again later
    _episode(4, start_minutes=30, resolved=True, alertname="AOSTargetDown")


def _states(page: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in re.findall(r"<tr>.*?</tr>", page, flags=re.S):
        name = re.search(r'<th class="field-alertname"><a [^>]*>([^<]+)</a>', row)
        state = re.search(r'<td class="field-state">(.*?)</td>', row, flags=re.S)
        if name and state:
            found.setdefault(name.group(1), []).append(re.sub(r"<[^>]+>", "", state.group(1)).strip())
    return found


def test_it_never_shows_a_resolved_episodes_firing_row_as_firing(client, root, alerts):
    client.force_login(root)
    states = _states(client.get(LIST).content.decode())
    assert states["AOSCostOverrun"] == ["resolved", "fired, resolved 2026-11-30 05:07:00 UTC"]
    assert states["AOSHighErrorRate"] == ["firing"]
    assert sorted(states["AOSReplayMismatch"]) == ["fired, resolved 2026-11-30 05:07:00 UTC", "firing", "resolved"]


def test_it_lists_what_is_firing_now_one_row_per_fingerprint(client, root, alerts):
    client.force_login(root)
    response = client.get(NOW)
    assert response.status_code == 200
    current = {a.alertname: (a.status, a.episodes, a.notifications_total) for a in response.context["page"]}
    assert current == {"AOSHighErrorRate": ("firing", 1, 2), "AOSReplayMismatch": ("firing", 2, 5)}
    page = response.content.decode()
    assert "<title>Alerts firing now | AOS Control Plane</title>" in page
    assert page.count('class="aos-state aos-state-firing"') == 2


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("resolved", {"AOSCostOverrun", "AOSTargetDown"}),
        ("all", {"AOSCostOverrun", "AOSTargetDown", "AOSHighErrorRate", "AOSReplayMismatch"}),
        ("firing", {"AOSHighErrorRate", "AOSReplayMismatch"}),
        ("bogus", {"AOSHighErrorRate", "AOSReplayMismatch"}),  # an unknown state falls back to firing now
    ],
)
def test_it_filters_the_current_states(client, root, alerts, state, expected):
    client.force_login(root)
    response = client.get(NOW, {"state": state})
    assert response.status_code == 200
    assert {a.alertname for a in response.context["page"]} == expected


def test_it_says_so_when_nothing_is_firing(client, root):
    _episode(1, start_minutes=0, resolved=True)
    client.force_login(root)
    assert "Nothing is firing now." in client.get(NOW).content.decode()


def test_it_links_firing_now_from_the_alert_list_and_the_index(client, root, alerts):
    client.force_login(root)
    assert f'href="{NOW}"' in client.get(LIST).content.decode()
    assert f'href="{NOW}"' in client.get("/admin/").content.decode()


def test_it_hides_the_current_states_from_tenant_staff(client, alice, carol, alerts):
    for user in (alice, carol):
        client.force_login(user)
        assert client.get(NOW).status_code == 403
        assert f'href="{NOW}"' not in client.get("/admin/").content.decode()


def test_it_shows_the_current_states_in_bounded_queries(client, root, django_assert_max_num_queries):
    for n in range(5):
        _episode(n, start_minutes=n, resolved=n % 2 == 0)
    client.force_login(root)
    client.get(NOW)
    with django_assert_max_num_queries(5) as few:
        client.get(NOW, {"state": "all"})
    for n in range(5, 45):
        _episode(n, start_minutes=n, resolved=n % 2 == 0)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(NOW, {"state": "all"})
    assert len(response.context["page"].object_list) == 45
    # session, user, COUNT, page rows, distinct alertnames, distinct severities: the state column is an annotation
    with django_assert_max_num_queries(6):
        assert len(rows(client.get(LIST))) == 50
    assert Alert.objects.count() == 45 + 23
