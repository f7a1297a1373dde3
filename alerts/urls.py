"""/api/v1/alerts/ routes (Alertmanager webhook; a later issue)."""

urlpatterns: list = []
