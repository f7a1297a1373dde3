from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI security schemes)
        from accounts import principal_cache
        from aosproject import checks  # noqa: F401  (registers the configuration checks)

        principal_cache.connect_signals()  # key and tenant changes invalidate cached principals
