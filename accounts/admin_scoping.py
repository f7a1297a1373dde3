"""Tenant boundary for every admin page: the user's role IN THE OBJECT'S TENANT decides.

Every ModelAdmin registered on the site uses one of the two mixins below (a test walks the
registry), so a new admin page cannot forget the boundary:

- `TenantScopedAdminMixin` for tenant-owned models: lists show only the user's tenants; viewing,
  changing, deleting, adding and every action need the configured role in the object's own tenant
  (a role in another tenant never counts); tenant choices in forms and list filters offer only the
  tenants where the user holds the role the page needs.
- `PlatformAdminMixin` for platform models (users, alerts, login attempts): superusers only.

Django's model permissions are not consulted for members: memberships decide.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms import ModelChoiceField
from django.http import Http404

from accounts.models import ROLE_RANK, Membership, Role, Tenant
from aosproject.plurals import counted

# A role name for "superusers only" (platform staff), e.g. adding or deleting tenants.
PLATFORM = "platform"


def user_roles(user) -> dict[int, str]:
    """{tenant_id: role} of the user's memberships, cached on the user object for the request."""
    cached = getattr(user, "_aos_tenant_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
        user._aos_tenant_roles = cached
    return cached


def user_tenant_ids(user) -> list[int]:
    return list(user_roles(user))


def _staff(user) -> bool:
    return bool(user.is_active and user.is_staff)


def tenant_ids_with_role(user, minimum: str) -> list[int] | None:
    """The tenants where the user holds at least `minimum`; None means every tenant (superusers)."""
    if not _staff(user):
        return []
    if user.is_superuser:
        return None
    if minimum == PLATFORM:
        return []
    wanted = ROLE_RANK[Role(minimum)]
    return [tenant_id for tenant_id, role in user_roles(user).items() if ROLE_RANK[Role(role)] >= wanted]


def user_has_role(user, minimum: str, tenant_id: int | None = None) -> bool:
    """Superusers always; others when the given tenant's (or, without one, some) membership is at least `minimum`."""
    allowed = tenant_ids_with_role(user, minimum)
    if allowed is None:
        return True
    return tenant_id in allowed if tenant_id is not None else bool(allowed)


def scope_to_tenants(queryset, *, tenant_field: str, tenant_ids: list[int] | None):
    return queryset if tenant_ids is None else queryset.filter(**{f"{tenant_field}__in": tenant_ids})


class TenantListFilter(admin.SimpleListFilter):
    """Tenant filter listing only the user's tenants (Django's would list every tenant's slug)."""

    title = "tenant"
    parameter_name = "tenant"
    tenant_field = "tenant"

    def lookups(self, request, model_admin):
        return [(str(t.pk), t.slug) for t in Tenant.objects.for_user(request.user).only("id", "slug")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{f"{self.tenant_field}_id": value})


def _is_tenant_filter(entry: Any, tenant_field: str) -> bool:
    name = entry[0] if isinstance(entry, (tuple, list)) else entry
    return name == tenant_field or (isinstance(entry, type) and issubclass(entry, TenantListFilter))


class PlatformAdminMixin:
    """Platform data: superusers only, whatever Django permissions a staff user was given."""

    def _platform(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_module_permission(self, request):
        return self._platform(request)

    def has_view_permission(self, request, obj=None):
        return self._platform(request)

    def has_add_permission(self, request, *args):
        return self._platform(request) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request, obj=None):
        return self._platform(request) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request, obj=None):
        return self._platform(request) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class TenantScopedAdminMixin:
    """For ModelAdmins of tenant-owned models. `tenant_field` is the lookup path to the tenant.

    `view_role` may view; `change_role` may change; `delete_role` may delete; `add_role` may add
    (None: no adding here). `action_roles` names the role behind a custom permission used by
    `@admin.action(permissions=[...])`, e.g. {"pin": "operator"}; define `has_<name>_permission`
    as `self.role_permission(request, "<name>", obj)`. Each action runs only on the selected
    objects of tenants where the user holds the action's role; the others are skipped and named.
    """

    tenant_field = "tenant"
    view_role = "viewer"
    change_role = "operator"
    delete_role = "operator"
    add_role: str | None = None
    action_roles: dict[str, str] = {}

    # --- roles ----------------------------------------------------------------------------------
    def _role_for(self, permission: str) -> str | None:
        builtin = {
            "view": self.view_role,
            "change": self.change_role,
            "delete": self.delete_role,
            "add": self.add_role,
        }
        return builtin[permission] if permission in builtin else self.action_roles[permission]

    def object_tenant_id(self, obj) -> int:
        if self.tenant_field == "id":
            return obj.pk
        value = obj
        for part in self.tenant_field.split("__"):
            value = getattr(value, part)
        return value.pk if isinstance(value, Tenant) else value

    def role_permission(self, request, permission: str, obj=None) -> bool:
        role = self._role_for(permission)
        if role is None:
            return False
        tenant_id = None if obj is None else self.object_tenant_id(obj)
        return user_has_role(request.user, role, tenant_id)

    def tenants_for(self, request, permission: str) -> list[int] | None:
        role = self._role_for(permission)
        return [] if role is None else tenant_ids_with_role(request.user, role)

    def has_module_permission(self, request):
        return self.role_permission(request, "view")

    def has_view_permission(self, request, obj=None):
        return self.role_permission(request, "view", obj)

    def has_change_permission(self, request, obj=None):
        return self.role_permission(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self.role_permission(request, "delete", obj)

    def has_add_permission(self, request, *args):
        return self.role_permission(request, "add")

    # --- objects --------------------------------------------------------------------------------
    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django's admin answers an object outside the queryset (another tenant's, or none) with a
        # redirect to the index and "doesn't exist"; the contract says 404, on the change, delete
        # and history views alike, and it must not tell another tenant's object from a missing one.
        raise Http404(f"No such {opts.verbose_name}.")

    # --- lists ----------------------------------------------------------------------------------
    def get_queryset(self, request):
        qs = super().get_queryset(request)  # type: ignore[misc]
        return scope_to_tenants(qs, tenant_field=self.tenant_field, tenant_ids=self.tenants_for(request, "view"))

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))  # type: ignore[misc]
        scoped = type("ScopedTenantListFilter", (TenantListFilter,), {"tenant_field": self.tenant_field})
        return [scoped if _is_tenant_filter(entry, self.tenant_field) else entry for entry in filters]

    # --- forms ----------------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        allowed = self.tenants_for(request, "add" if obj is None else "change")
        if allowed is None:
            return form

        class TenantChoicesForm(form):  # type: ignore[misc, valid-type]
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                for field in self.fields.values():
                    if isinstance(field, ModelChoiceField) and field.queryset.model is Tenant:
                        field.queryset = field.queryset.filter(id__in=allowed)

        TenantChoicesForm.__name__ = form.__name__
        return TenantChoicesForm

    def save_model(self, request, obj, form, change):
        # Defence in depth behind the form's choices: the (new) tenant must allow this user.
        if not self.role_permission(request, "change" if change else "add", obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    # --- actions --------------------------------------------------------------------------------
    def get_actions(self, request):
        actions = super().get_actions(request)  # type: ignore[misc]
        return {name: (self._scoped_action(func), name, desc) for name, (func, _, desc) in actions.items()}

    def _scoped_action(self, func):
        # An action that declares nothing is treated as a change (the registry test forbids it anyway).
        permissions = getattr(func, "allowed_permissions", None) or ("change",)

        @functools.wraps(func)
        def scoped(modeladmin, request, queryset):
            allowed = queryset
            for permission in permissions:
                tenant_ids = modeladmin.tenants_for(request, permission)
                allowed = scope_to_tenants(allowed, tenant_field=modeladmin.tenant_field, tenant_ids=tenant_ids)
            skipped = queryset.count() - allowed.count()
            if skipped:
                modeladmin.message_user(
                    request,
                    f"Skipped {counted(skipped, 'selected object')}: your role in their tenant does not allow this.",
                    messages.WARNING,
                )
            if skipped and not allowed.exists():
                return None
            return func(modeladmin, request, allowed)

        return scoped
