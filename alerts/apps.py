from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from aosproject.metrics import known_label_values_export

        # The label values the alert rules use start at 0 from process start, so increase() counts
        # their first event even before the first scrape.
        known_label_values_export()
