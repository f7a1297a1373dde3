"""The operator console's frame (issue 19, items 1 and 8): its name, `/`, dates to the second in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from aosproject.plurals import counted
from tests.traces.tracebuild import store


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")


@pytest.mark.django_db
def test_it_redirects_the_root_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/", follow=True).redirect_chain[-1] == ("/admin/login/?next=/admin/", 302)


@pytest.mark.django_db
def test_it_points_view_site_at_a_page_that_exists(client, root):
    client.force_login(root)
    page = client.get("/admin/").content.decode()
    assert f'href="{admin.site.site_url}"' in page and "View site" in page
    assert client.get(admin.site.site_url, follow=True).status_code == 200


@pytest.mark.django_db
def test_it_names_the_console_on_the_login_page(client):
    page = client.get("/admin/login/").content.decode()
    assert "<title>Log in | AOS Control Plane</title>" in page
    assert "AOS Control Plane" in page and "Django" not in page


@pytest.mark.django_db
def test_it_never_says_django_administration_on_any_list(client, root):
    client.force_login(root)
    urls = ["/admin/", "/admin/password_change/"]
    urls += [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "Django administration" not in page and "Django site admin" not in page, url
        assert "| AOS Control Plane</title>" in page, url


@pytest.mark.django_db
def test_it_shows_list_times_to_the_second_in_utc(client, alice, tenant_a):
    with time_machine.travel(datetime(2026, 12, 1, 13, 22, 4, tzinfo=UTC), tick=False):
        store(tenant_a, trace_id="timed")
    client.force_login(alice)
    page = client.get("/admin/traces/trace/").content.decode()
    assert "2026-12-01 13:22:04 UTC" in page


def test_it_counts_nouns_in_the_right_number():
    assert [counted(n, "mismatch", "mismatches") for n in (0, 1, 2)] == ["0 mismatches", "1 mismatch", "2 mismatches"]
    assert [counted(n, "step") for n in (1, 3)] == ["1 step", "3 steps"]


@pytest.mark.django_db
def test_it_lists_the_diverged_replays_under_the_admin_link_the_readme_gives(client, root, tenant_a):
    from pathlib import Path

    from traces.models import Trace, TraceSource

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    link = "/admin/traces/trace/?parity=false"
    assert f"(`{link}`)" in readme
    original = Trace.objects.create(tenant=tenant_a, trace_id="tr_original", source=TraceSource.INGEST)
    for trace_id, parity in (("tr_diverged", False), ("tr_matched", True)):
        Trace.objects.create(
            tenant=tenant_a, trace_id=trace_id, source=TraceSource.REPLAY, replay_of=original, parity=parity
        )
    client.force_login(root)
    page = client.get(link).content.decode()
    assert "tr_diverged" in page and "tr_matched" not in page and "tr_original" not in page
    assert "aos-parity-diverged" in page
