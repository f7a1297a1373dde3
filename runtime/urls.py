"""/api/v1/runtime/ routes (owned by the runtime issue)."""

urlpatterns: list = []
