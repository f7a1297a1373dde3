from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`make run`'s demo: seed_demo and its sample data. The one app allowed to depend on every other."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
