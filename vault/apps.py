from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = "Secrets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vault.masking import install_log_masking

        install_log_masking()  # log lines written while a run holds secret values are masked
