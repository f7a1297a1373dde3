"""Browser: an injected alert travels through a real Alertmanager to our webhook and shows in the admin."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from alerts.models import Alert
from tests.alerts.alertmanager_proc import alertmanager_missing, running_alertmanager, webhook_config
from tests.browser import admin_page, needs_chromium, screenshots_publish

TOKEN = "browser-webhook-token"

pytestmark = [
    *needs_chromium,
    pytest.mark.skipif(alertmanager_missing(), reason="prometheus-alertmanager is not installed"),
]


def wait_for(predicate, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "Alertmanager did not deliver in time"
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_it_shows_an_injected_alert_arriving_and_resolving(
    live_server, django_user_model, settings, tmp_path, monkeypatch, capsys
):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.ALERTS_WEBHOOK_TOKEN = TOKEN
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    config = webhook_config(webhook_url=f"{live_server.url}/api/v1/alerts/webhook", token_file=token_file)

    with running_alertmanager(config_text=config, workdir=tmp_path / "am") as am:
        settings.ALERTMANAGER_URL = am.url
        call_command("inject_synthetic_alert", "--type=replay_mismatch", "--tenant=acme", "--severity=critical")
        fingerprint = capsys.readouterr().out.rsplit("fingerprint ", 1)[1].strip()
        wait_for(lambda: Alert.objects.filter(fingerprint=fingerprint, status="firing").exists())
        call_command("inject_synthetic_alert", "--resolve", "--fingerprint", fingerprint)
        wait_for(lambda: Alert.objects.filter(fingerprint=fingerprint, status="resolved").exists())

    signed_in = admin_page(
        live_server.url, username="root", password="pw-root", next_path="/admin/alerts/alert/", width=1800, height=700
    )
    with signed_in as page:
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(2)  # the firing notification and the resolved one
        expect(page.locator("#result_list")).to_contain_text("AOSReplayMismatch")
        shot = tmp_path / "alerts-list.png"
        page.screenshot(path=shot, full_page=True)
        page.get_by_role("link", name="resolved").first.click()  # status filter in the sidebar
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("acme")

        rows.first.locator("th a").click()  # the detail page shows the labels Alertmanager sent
        expect(page.locator("#content")).to_contain_text('"injected": "true"')
        expect(page.locator("#content")).to_contain_text(fingerprint)

    screenshots_publish({"alerts-list.png": shot})
