"""Tenant scoping for admin pages: non-superusers see only the tenants they are members of."""

from __future__ import annotations

from accounts.models import ROLE_RANK, Membership, Role


def user_tenant_ids(user) -> list[int]:
    cached = getattr(user, "_aos_tenant_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
        user._aos_tenant_roles = cached
    return list(cached)


def user_has_role(user, minimum: str, tenant_id: int | None = None) -> bool:
    """Superusers always; others when some (or the given) membership is at least `minimum`."""
    if not user.is_active or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    user_tenant_ids(user)
    roles = user._aos_tenant_roles
    wanted = ROLE_RANK[Role(minimum)]
    if tenant_id is not None:
        role = roles.get(tenant_id)
        return role is not None and ROLE_RANK[Role(role)] >= wanted
    return any(ROLE_RANK[Role(r)] >= wanted for r in roles.values())


class TenantScopedAdminMixin:
    """For ModelAdmins of tenant-owned models. `tenant_field` is the lookup path to the tenant.

    Viewers+ may view; `change_role` (default operator) may change; `delete_role` may delete.
    Django's model permissions are not needed for members: memberships decide.
    """

    tenant_field = "tenant"
    change_role = "operator"
    delete_role = "operator"
    add_role: str | None = None  # None: no adding through the admin

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.tenant_field}__in": user_tenant_ids(request.user)})

    def has_module_permission(self, request):
        return user_has_role(request.user, "viewer")

    def has_view_permission(self, request, obj=None):
        return user_has_role(request.user, "viewer")

    def has_change_permission(self, request, obj=None):
        return user_has_role(request.user, self.change_role)

    def has_delete_permission(self, request, obj=None):
        return user_has_role(request.user, self.delete_role)

    def has_add_permission(self, request):
        return self.add_role is not None and user_has_role(request.user, self.add_role)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        from accounts.models import Tenant

        if db_field.related_model is Tenant and not request.user.is_superuser:
            kwargs["queryset"] = Tenant.objects.filter(id__in=user_tenant_ids(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
