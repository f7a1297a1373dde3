from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI security schemes)
        from accounts.principal_cache import connect_signals
        from aosproject import checks  # noqa: F401  (registers the configuration checks)

        connect_signals()  # key and tenant changes invalidate cached principals
