"""The idempotency-record admin is tenant-scoped and read-only."""

from django.urls import reverse

from aosproject.models import IdempotencyRecord


def test_it_lists_only_the_members_tenant_records(client, alice, tenant_a, tenant_b):
    from django.utils import timezone

    for tenant, key in ((tenant_a, "mine"), (tenant_b, "theirs")):
        IdempotencyRecord.objects.create(
            tenant=tenant, key=key, request_hash="0" * 64, method="POST", path="/x", expires_at=timezone.now()
        )
    client.force_login(alice)
    page = client.get(reverse("admin:aosproject_idempotencyrecord_changelist"))
    assert page.status_code == 200
    assert b"mine" in page.content and b"theirs" not in page.content
    record = IdempotencyRecord.objects.get(key="mine")
    change = client.post(reverse("admin:aosproject_idempotencyrecord_change", args=[record.pk]), {"key": "x"})
    assert change.status_code == 403
