"""One error envelope for every API error (PRODUCT.md §9); never HTML under /api/.

The module doubles as a test-only URLconf (small DRF views in front of the project's URLs).
"""

from __future__ import annotations

import json

import pytest
import requests
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.permissions import IsOperator
from aosproject.api import StrictSerializer
from aosproject.errors import ApiError, Conflict
from aosproject.urls import handler400, handler403, handler404, handler500  # noqa: F401  (this module is a URLconf)
from aosproject.urls import urlpatterns as project_urlpatterns


class ThingSerializer(StrictSerializer):
    name = serializers.CharField(max_length=10)
    count = serializers.IntegerField(min_value=0)
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)


class PartSerializer(serializers.Serializer):
    sku = serializers.CharField()


class OrderSerializer(StrictSerializer):
    parts = PartSerializer(many=True)


class OrderView(APIView):
    def post(self, request):
        OrderSerializer(data=request.data).is_valid(raise_exception=True)
        return Response(status=204)


class ThingView(APIView):
    def post(self, request):
        serializer = ThingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class OperatorOnlyView(APIView):
    permission_classes = [IsOperator]

    def get(self, request):
        return Response({"ok": True})


class FailingView(APIView):
    def get(self, request, kind: str):
        if kind == "http404":
            raise Http404("No such widget.")
        if kind == "conflict":
            raise Conflict("Already there.", existing="w-1")
        if kind == "teapot":
            raise ApiError("teapot", "I am a teapot.", 418)
        if kind == "django403":
            raise DjangoPermissionDenied("nope")
        if kind == "suspicious":
            raise SuspiciousOperation("odd header")
        if kind == "toobig":
            raise RequestDataTooBig("too big")
        if kind == "dbdown":
            raise OperationalError("terminating connection due to administrator command")
        if kind == "dbclosed":
            raise InterfaceError("connection already closed")
        raise RuntimeError("a real bug")


def boom(request):
    raise RuntimeError("a bug outside the API")


def plain_db_down(request):
    raise OperationalError("connection refused")


def plain_forbidden(request):
    raise DjangoPermissionDenied("not a DRF view")


urlpatterns = [
    path("_test/boom", boom),
    path("_test/forbidden", plain_forbidden),
    path("api/v1/_test/forbidden", plain_forbidden),
    path("api/v1/_test/dbdown", plain_db_down),
    path("api/v1/_test/things", ThingView.as_view()),
    path("api/v1/_test/orders", OrderView.as_view()),
    path("api/v1/_test/operator", OperatorOnlyView.as_view()),
    path("api/v1/_test/fail/<str:kind>", FailingView.as_view()),
    *project_urlpatterns,
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_errors")]


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_it_reports_validation_errors_with_fields(api_a):
    response = api_a.post("/api/v1/_test/things", {"name": "far too long", "count": -1}, format="json")
    body = assert_envelope(response, 400, "validation_error")
    assert set(body["fields"]) == {"name", "count"}
    assert body["fields"]["count"] == ["Ensure this value is greater than or equal to 0."]
    assert body["message"].startswith("name: Ensure this field has no more than 10 characters")


def test_it_reports_nested_validation_errors(api_a):
    response = api_a.post("/api/v1/_test/things", {"name": "ok", "count": 1, "tags": ["a", "long"]}, format="json")
    body = assert_envelope(response, 400, "validation_error")
    assert body["fields"] == {"tags": {"1": ["Ensure this field has no more than 3 characters."]}}


def test_it_refuses_unknown_fields(api_a):
    response = api_a.post("/api/v1/_test/things", {"name": "ok", "count": 1, "colour": "red"}, format="json")
    assert assert_envelope(response, 400, "validation_error")["fields"] == {"colour": ["Unknown field."]}


def test_it_refuses_wrong_types(api_a):
    response = api_a.post("/api/v1/_test/things", {"name": ["x"], "count": "many"}, format="json")
    assert set(assert_envelope(response, 400, "validation_error")["fields"]) == {"name", "count"}


def test_it_refuses_a_body_that_is_not_an_object(api_a):
    response = api_a.post("/api/v1/_test/things", [1, 2], format="json")
    body = assert_envelope(response, 400, "validation_error")
    assert "non_field_errors" in body["fields"]


@pytest.mark.parametrize("raw", [b'{"name": "x",', b"\xff\xfe", b"{'single': 'quotes'}", b"NaN-ish"])
def test_it_answers_malformed_json_with_400(api_a, raw):
    response = api_a.post("/api/v1/_test/things", raw, content_type="application/json")
    body = assert_envelope(response, 400, "malformed_json")
    assert body["message"].startswith("Malformed JSON body")


def test_it_answers_401_with_the_envelope_and_www_authenticate(db):
    response = APIClient().get("/api/v1/_test/operator")
    assert_envelope(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="aos"'


def test_it_answers_403_with_the_envelope(api_a_viewer):
    body = assert_envelope(api_a_viewer.get("/api/v1/_test/operator"), 403, "permission_denied")
    assert "operator" in body["message"]


@pytest.mark.parametrize("debug", [True, False])
def test_it_answers_unknown_api_paths_with_the_envelope(api_a, settings, debug):
    settings.DEBUG = debug
    body = assert_envelope(api_a.get("/api/v1/no/such/thing"), 404, "not_found")
    assert body["message"] == "No API endpoint at /api/v1/no/such/thing."
    assert_envelope(APIClient().post("/api/nothing-here", {}, format="json"), 404, "not_found")


@pytest.mark.parametrize("debug", [True, False])
def test_it_answers_http404_raised_in_a_view_with_the_envelope(api_a, settings, debug):
    settings.DEBUG = debug
    assert assert_envelope(api_a.get("/api/v1/_test/fail/http404"), 404, "not_found")["message"] == "No such widget."


def test_it_keeps_html_404s_outside_the_api(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_it_answers_405_with_the_envelope(api_a):
    body = assert_envelope(api_a.get("/api/v1/_test/things"), 405, "method_not_allowed")
    assert "GET" in body["message"]
    assert_envelope(api_a.put("/api/v1/me", {}, format="json"), 405, "method_not_allowed")


def test_it_refuses_a_declared_oversized_body_before_reading_it(api_a, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = api_a.generic(
        "POST", "/api/v1/_test/things", b'{"name": "x"}', content_type="application/json", CONTENT_LENGTH="5000000"
    )
    body = assert_envelope(response, 413, "payload_too_large")
    assert body["message"] == "Request body is 5000000 bytes; the limit is 1000 bytes."


def test_it_refuses_a_real_oversized_body(api_a, settings):
    settings.API_MAX_BODY_BYTES = 1000
    payload = json.dumps({"name": "x", "count": 1, "tags": ["ab"] * 300}).encode()
    assert len(payload) > 1000
    assert_envelope(
        api_a.post("/api/v1/_test/things", payload, content_type="application/json"), 413, "payload_too_large"
    )
    small = json.dumps({"name": "x", "count": 1}).encode()
    assert api_a.post("/api/v1/_test/things", small, content_type="application/json").status_code == 201


def test_it_refuses_an_oversized_body_over_a_real_socket(live_server, tenant_a, settings):
    from accounts.services import api_key_create

    settings.API_MAX_BODY_BYTES = 4096
    _, raw = api_key_create(tenant=tenant_a, role="operator")
    response = requests.post(
        f"{live_server.url}/api/v1/traces/",
        data=b"{" + b" " * 10_000 + b"}",
        headers={"X-API-Key": raw, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_it_refuses_a_non_numeric_content_length(api_a):
    response = api_a.generic(
        "POST", "/api/v1/_test/things", b"{}", content_type="application/json", CONTENT_LENGTH="lots"
    )
    assert_envelope(response, 400, "validation_error")


def test_it_answers_415_for_other_content_types(api_a):
    response = api_a.post("/api/v1/_test/things", "name=x&count=1", content_type="application/x-www-form-urlencoded")
    body = assert_envelope(response, 415, "unsupported_media_type")
    assert "application/x-www-form-urlencoded" in body["message"]


def test_it_renders_api_errors_with_extra_fields(api_a):
    body = assert_envelope(api_a.get("/api/v1/_test/fail/conflict"), 409, "conflict")
    assert body == {"error": "conflict", "message": "Already there.", "existing": "w-1"}
    assert assert_envelope(api_a.get("/api/v1/_test/fail/teapot"), 418, "teapot")["message"] == "I am a teapot."


@pytest.mark.parametrize("debug", [False, True])
def test_it_answers_unhandled_errors_with_a_json_500(api_a, settings, debug, caplog):
    settings.DEBUG = debug
    api_a.raise_request_exception = False
    body = assert_envelope(api_a.get("/api/v1/_test/fail/bug"), 500, "server_error")
    assert "a real bug" not in body["message"]  # no internals leak
    assert any(r.exc_info and "a real bug" in str(r.exc_info[1]) for r in caplog.records)  # but it is logged


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/_test/fail/dbdown", "/api/v1/_test/fail/dbclosed", "/api/v1/_test/dbdown"])
def test_it_answers_503_when_the_database_went_away(api_a, settings, debug, path):
    """A dropped or refused database connection is the dependency's outage, not a bug (issue 17)."""
    settings.DEBUG = debug
    api_a.raise_request_exception = False
    response = api_a.get(path)
    body = assert_envelope(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert "administrator" not in body["message"] and "refused" not in body["message"]  # no internals leak


def test_it_keeps_the_debug_500_page_outside_the_api(client, settings):
    settings.DEBUG = True
    client.raise_request_exception = False
    response = client.get("/_test/boom", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_it_points_at_the_failing_item_of_a_list(api_a):
    response = api_a.post("/api/v1/_test/orders", {"parts": [{"sku": "a"}, {}]}, format="json")
    body = assert_envelope(response, 400, "validation_error")
    assert body["fields"] == {"parts": {"1": {"sku": ["This field is required."]}}}
    assert body["message"] == "parts.1.sku: This field is required."


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("django403", 403, "permission_denied"),
        ("suspicious", 400, "validation_error"),
        ("toobig", 413, "payload_too_large"),
    ],
)
def test_it_maps_djangos_own_exceptions_into_the_envelope(api_a, kind, status, code):
    assert_envelope(api_a.get(f"/api/v1/_test/fail/{kind}"), status, code)


def test_it_answers_a_disallowed_host_with_the_envelope_under_the_api(api_a, client, settings):
    settings.DEBUG = False
    assert_envelope(api_a.get("/api/v1/me", HTTP_HOST="evil.example"), 400, "validation_error")
    page = client.get("/admin/login/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_it_answers_403_from_plain_django_views_with_the_envelope_under_the_api(client):
    assert_envelope(client.get("/api/v1/_test/forbidden"), 403, "permission_denied")
    assert client.get("/_test/forbidden")["Content-Type"].startswith("text/html")
