from django.apps import AppConfig


class AosProjectConfig(AppConfig):
    """The shared API layer's own model (idempotency records); no app above accounts is imported."""

    name = "aosproject"
    verbose_name = "AOS Control Plane"
    default_auto_field = "django.db.models.BigAutoField"
