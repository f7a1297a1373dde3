from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from mozilla_django_oidc import urls as oidc_urls
from mozilla_django_oidc.views import OIDCLogoutView

from accounts.oidc import sso_only
from aosproject import errors, views
from traces.api import TraceListCreateView

# The console's name on every admin page, the login page and the browser tab (not "Django administration").
admin.site.site_header = admin.site.site_title = "AOS Control Plane"

handler400 = "aosproject.errors.handler400"
handler403 = "aosproject.errors.handler403"
handler404 = "aosproject.errors.handler404"
handler500 = "aosproject.errors.handler500"

api_v1 = [
    path("runtime/", include("runtime.urls")),
    # No trailing slash on any API path (aosproject.middleware.ApiTrailingSlashMiddleware drops a sent one).
    path("traces", TraceListCreateView.as_view(), name="trace-list"),
    path("traces/", include("triage.urls")),  # mismatch routes under traces/ first (more specific)
    path("traces/", include("traces.urls")),
    path("", include("triage.urls_tenant")),
    path("", include("alerts.urls")),
    path("", include("accounts.urls")),
    path("", include("vault.urls")),
]

urlpatterns = [
    # The operator console is the only HTML here: `/` (and the admin's "View site") lead to it.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
    path("", include("aosproject.metrics_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    # Unknown API paths get the JSON envelope even with DEBUG on (Django's debug 404 is HTML).
    re_path(r"^api/", errors.api_not_found),
    # mozilla-django-oidc's views (authenticate/, callback/, logout/), 404 while SSO is not configured.
    path("oidc/", include([path(str(p.pattern), sso_only(p.callback), name=p.name) for p in oidc_urls.urlpatterns])),
    # Admin logout through mozilla-django-oidc: ends the provider session too for SSO users.
    path("admin/logout/", OIDCLogoutView.as_view(), name="admin-logout"),
    path("admin/", admin.site.urls),
]
