"""Admin for tenant secrets: names and timestamps only; the value is a write-only password input."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from accounts.admin_scoping import TenantScopedAdminMixin
from aosproject.errors import ApiError
from vault import crypto
from vault.models import Secret
from vault.services import secret_value_check


class SecretForm(forms.ModelForm):
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        strip=False,
        required=False,
        help_text="Write-only: it is never shown again. Leave empty to keep the current value.",
    )

    class Meta:
        model = Secret
        fields = ["tenant", "name"]

    def clean_value(self) -> str:
        value = self.cleaned_data.get("value") or ""
        if not value and self.instance.pk is None:
            raise forms.ValidationError("A new secret needs a value.")
        if value:
            try:
                secret_value_check(value)
            except ApiError as exc:
                raise forms.ValidationError(exc.extra["fields"]["value"][0])
        return value


@admin.register(Secret)
class SecretAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    form = SecretForm
    list_display = ("name", "tenant", "created_at", "updated_at", "last_used_at")
    list_filter = ("tenant",)
    search_fields = ("name",)
    list_select_related = ("tenant",)
    add_role = "admin"
    change_role = "admin"
    delete_role = "admin"

    def get_readonly_fields(self, request, obj=None):
        return ("tenant", "name", "created_at", "updated_at", "last_used_at") if obj else ()

    def get_fields(self, request, obj=None):
        shown = ["tenant", "name", "value"]
        return [*shown, "created_at", "updated_at", "last_used_at"] if obj else shown

    def save_model(self, request, obj, form, change):
        value = form.cleaned_data.get("value")
        if value:
            obj.value_encrypted = crypto.encrypt(value)
        super().save_model(request, obj, form, change)
