from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Mismatch triage"
    default_auto_field = "django.db.models.BigAutoField"
