from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from aosproject import errors, views

handler404 = "aosproject.errors.handler404"
handler500 = "aosproject.errors.handler500"

api_v1 = [
    path("runtime/", include("runtime.urls")),
    path("traces/", include("traces.urls")),
    path("", include("traces.urls_tenant")),
    path("", include("alerts.urls")),
    path("", include("accounts.urls")),
]

urlpatterns = [
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
    path("", include("aosproject.metrics_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    # Unknown API paths get the JSON envelope even with DEBUG on (Django's debug 404 is HTML).
    re_path(r"^api/", errors.handler404),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("admin/", admin.site.urls),
]
