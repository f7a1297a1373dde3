"""Alerts received from Alertmanager's webhook (PRODUCT.md §11)."""

from __future__ import annotations

from django.db import models
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Subquery, Sum, Value, When


class AlertStatus(models.TextChoices):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertQuerySet(models.QuerySet):
    def firing(self) -> AlertQuerySet:
        return self.filter(status=AlertStatus.FIRING)

    def injected(self) -> AlertQuerySet:
        return self.filter(injected=True)

    def with_episode_end(self) -> AlertQuerySet:
        """Annotates `episode_resolved_at`: when the row's episode (fingerprint, start) was resolved, or None.

        A firing row stays in the table after its resolve arrives (a second row); this is what
        tells the list that the firing row is history, not a page to answer.
        """
        resolved = Alert.objects.filter(
            fingerprint=OuterRef("fingerprint"), starts_at=OuterRef("starts_at"), status=AlertStatus.RESOLVED
        )
        return self.annotate(
            episode_resolved=Exists(resolved),
            episode_resolved_at=Subquery(resolved.order_by("-id").values("ends_at")[:1]),
        )

    def current(self) -> AlertQuerySet:
        """One row per fingerprint, its current state: the newest episode, its resolve over its firing.

        Annotated with `episodes` (how often the fingerprint fired) and `notifications_total`.
        """
        same = Alert.objects.filter(fingerprint=OuterRef("fingerprint"))
        resolved_first = Case(
            When(status=AlertStatus.RESOLVED, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
        latest = same.annotate(resolved_first=resolved_first).order_by("-starts_at", "-resolved_first", "-id")
        totals = same.order_by().values("fingerprint")
        return self.filter(pk=Subquery(latest.values("pk")[:1])).annotate(
            episodes=Subquery(totals.annotate(n=Count("starts_at", distinct=True)).values("n")),
            notifications_total=Subquery(totals.annotate(n=Sum("notifications")).values("n")),
        )


class Alert(models.Model):
    """One alert state as Alertmanager notified it.

    Platform-wide (alerts are about the service, not one tenant's data); a `tenant_id` label is kept as text.
    Alertmanager repeats notifications, so a row is unique per fingerprint, status and start:
    a repeat updates the row, a resolve adds a second row, and the same labels firing again later
    (a new `startsAt`) is a new episode.
    """

    fingerprint = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=AlertStatus.choices)
    alertname = models.CharField(max_length=200, db_index=True)
    severity = models.CharField(max_length=32, blank=True, db_index=True)
    tenant_label = models.CharField(max_length=200, blank=True)
    injected = models.BooleanField(default=False, db_index=True)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    generator_url = models.URLField(max_length=1000, blank=True)
    receiver = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    notifications = models.PositiveIntegerField(default=1)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "status", "starts_at"], name="alert_unique_state"),
        ]

    def __str__(self) -> str:
        return f"{self.alertname} [{self.status}] {self.fingerprint}"
