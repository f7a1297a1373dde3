"""Role checks as DRF permission classes: viewer < developer < operator < admin."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from accounts.principal import Principal


class _RoleAtLeast(BasePermission):
    minimum = "viewer"
    message = "This action needs the {role} role."

    def has_permission(self, request, view) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return False
        if principal.has_role(self.minimum):
            return True
        self.message = f"This action needs the {self.minimum} role or higher."
        return False


class IsViewer(_RoleAtLeast):
    minimum = "viewer"


class IsDeveloper(_RoleAtLeast):
    minimum = "developer"


class IsOperator(_RoleAtLeast):
    minimum = "operator"


class IsTenantAdmin(_RoleAtLeast):
    minimum = "admin"
