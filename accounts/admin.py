from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.admin_scoping import TenantScopedAdminMixin, user_tenant_ids
from accounts.models import ApiKey, Membership, Tenant


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_field = "id"
    change_role = "admin"
    delete_role = "admin"
    list_display = ["slug", "name", "tier", "retention_days", "budget_cents", "github_repo", "created_at"]
    list_filter = ["tier"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if request.user.is_superuser else qs.filter(id__in=user_tenant_ids(request.user))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class MembershipByUsernameForm(forms.ModelForm):
    """For tenant admins, who may not browse the user list: the member is named by username."""

    username = forms.CharField(help_text="The user's login name; SSO users are oidc:<subject>.")

    class Meta:
        model = Membership
        fields = ["tenant", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["username"].initial = self.instance.user.get_username()

    def clean_username(self):
        user = get_user_model().objects.filter(username=self.cleaned_data["username"].strip()).first()
        if user is None:
            raise forms.ValidationError("No user with this username.")
        return user

    def clean(self):
        cleaned = super().clean()
        user, tenant = cleaned.get("username"), cleaned.get("tenant")
        if user and tenant:
            others = Membership.objects.filter(user=user, tenant=tenant).exclude(pk=self.instance.pk)
            if others.exists():
                raise forms.ValidationError(f"{user} is already a member of {tenant}.")
        return cleaned

    def save(self, commit=True):
        self.instance.user = self.cleaned_data["username"]
        return super().save(commit)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    change_role = "admin"
    delete_role = "admin"
    add_role = "admin"
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    list_select_related = ["user", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    autocomplete_fields = ["user"]

    def get_form(self, request, obj=None, **kwargs):
        # The user autocomplete needs view access to all users, which only superusers have.
        if not request.user.is_superuser:
            kwargs["form"] = MembershipByUsernameForm
        return super().get_form(request, obj, **kwargs)


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    change_role = "admin"
    delete_role = "admin"
    add_role = "admin"
    list_display = ["prefix", "name", "tenant", "role", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["prefix", "name", "tenant__slug"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["tenant", "name", "role", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_selected"]

    def get_readonly_fields(self, request, obj=None):
        # Revocation is final (the action sets it); a key never moves to another tenant.
        return [*self.readonly_fields, "tenant"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            raw = obj.set_new_secret()
            super().save_model(request, obj, form, change)
            messages.warning(request, f"New API key (shown once, copy it now): {raw}")
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} API key(s).")
