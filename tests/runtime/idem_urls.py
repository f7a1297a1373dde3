"""A test-only creating endpoint that counts its executions, to exercise `@idempotent` alone."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from aosproject.errors import ApiError
from aosproject.idempotency import idempotent

EXECUTIONS: list[dict] = []


class CountingView(APIView):
    @idempotent
    def post(self, request):
        EXECUTIONS.append(dict(request.data))
        if request.data.get("fail") == "400":
            raise ApiError("validation_error", "bad", 400)
        if request.data.get("fail") == "boom":
            raise RuntimeError("boom")
        return Response({"n": len(EXECUTIONS), "echo": request.data}, status=201)


urlpatterns = [path("idem", CountingView.as_view())]
