"""Admin for tenant secrets: names and timestamps only; the value is a write-only password input."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from accounts.admin_scoping import TenantScopedAdminMixin, user_has_role, user_tenant_ids
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

    def _admin_of(self, request, obj) -> bool:
        return user_has_role(request.user, "admin", obj.tenant_id if obj is not None else None)

    def has_change_permission(self, request, obj=None):
        return self._admin_of(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._admin_of(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "tenant" and not request.user.is_superuser:
            admin_of = [t for t in user_tenant_ids(request.user) if user_has_role(request.user, "admin", t)]
            field.queryset = field.queryset.filter(id__in=admin_of)
        return field

    def save_model(self, request, obj, form, change):
        value = form.cleaned_data.get("value")
        if value:
            obj.value_encrypted = crypto.encrypt(value)
        super().save_model(request, obj, form, change)
