"""Test-only URLs: one tiny view per role class, plus the real project URLs."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsDeveloper, IsOperator, IsTenantAdmin, IsViewer
from aosproject.urls import handler404, handler500  # noqa: F401
from aosproject.urls import urlpatterns as project_urlpatterns


def role_view(permission):
    class RoleView(APIView):
        permission_classes = [permission]

        def get(self, request):
            return Response({"ok": True, "tenant": request.auth.tenant.slug})

        def post(self, request):
            return Response({"ok": True, "echo": request.data}, status=201)

    return RoleView.as_view()


urlpatterns = [
    path("api/v1/_test/viewer", role_view(IsViewer)),
    path("api/v1/_test/developer", role_view(IsDeveloper)),
    path("api/v1/_test/operator", role_view(IsOperator)),
    path("api/v1/_test/admin", role_view(IsTenantAdmin)),
    *project_urlpatterns,
]
