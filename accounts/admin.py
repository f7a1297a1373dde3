from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts import principal_cache
from accounts.admin_scoping import PLATFORM, PlatformAdminMixin, TenantScopedAdminMixin
from accounts.models import ApiKey, Membership, Tenant
from aosproject.plurals import counted


def _platform_only(model, admin_class=None) -> None:
    """Re-registers `model` (with its current admin, or `admin_class`) behind PlatformAdminMixin."""
    try:
        current = type(admin.site.get_model_admin(model))
    except NotRegistered:
        return
    admin.site.unregister(model)
    base = admin_class or current
    admin.site.register(model, base if issubclass(base, PlatformAdminMixin) else _platform(base))


def _platform(base):
    return type(f"Platform{base.__name__}", (PlatformAdminMixin, base), {"__module__": __name__})


class PlatformAccessAttemptAdmin(PlatformAdminMixin, AccessAttemptAdmin):
    # django-axes' action declares no permission; every action here must (the registry test).
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        return AccessAttemptAdmin.cleanup_expired_attempts(self, request, queryset)


# Users, groups and login attempts are platform data: superusers only, whatever model permissions
# staff hold (a staff user with auth.change_user could otherwise make itself a superuser).
_platform_only(get_user_model())
_platform_only(Group)
_platform_only(AccessAttempt, PlatformAccessAttemptAdmin)
_platform_only(AccessLog)
_platform_only(AccessFailureLog)

# Platform fields: they set the tenant's rate limit, spend ceiling, retention and identity (the
# slug is the tenant claim of JWTs). A tenant's admin sees them but only superusers change them.
TENANT_PLATFORM_FIELDS = ["slug", "tier", "budget_cents", "retention_days"]


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_field = "id"
    change_role = "admin"
    delete_role = PLATFORM
    add_role = PLATFORM
    list_display = ["slug", "name", "tier", "retention_days", "budget_cents", "github_repo", "created_at"]
    list_filter = ["tier"]
    search_fields = ["slug", "name"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else [*readonly, *TENANT_PLATFORM_FIELDS]


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
            obj._raw_key = obj.set_new_secret()  # lives only on this object, for response_add
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        # The key is shown once, on this response; never put in the messages cookie or the session.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New API key",
            "key": obj,
            "raw_key": obj._raw_key,
        }
        return TemplateResponse(request, "admin/accounts/apikey/created.html", context)  # admin: never_cache

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        principal_cache.invalidate()  # update() sends no post_save
        self.message_user(request, f"Revoked {counted(count, 'API key')}.")
