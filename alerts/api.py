"""Alertmanager webhook receiver (PRODUCT.md §11): bearer token, parse, store, count."""

from __future__ import annotations

import hmac

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.serializers import WebhookPayload, WebhookResult
from alerts.services import alert_batch_store
from aosproject.api import MethodCheckedFirst
from aosproject.errors import ApiError

WWW_AUTHENTICATE = 'Bearer realm="alertmanager"'


class AlertmanagerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <ALERTS_WEBHOOK_TOKEN>` (Alertmanager's `http_config.authorization`).

    No tenant principal: alerts are platform-wide. An empty setting turns the receiver off (503,
    which Alertmanager retries, so nothing is lost while the token is being configured); a wrong
    or missing token is a 401.
    """

    def authenticate(self, request):
        expected = settings.ALERTS_WEBHOOK_TOKEN
        if not expected:
            raise ApiError("webhook_not_configured", "The alert receiver is off: ALERTS_WEBHOOK_TOKEN is not set.", 503)
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise exceptions.AuthenticationFailed("Missing or invalid Alertmanager bearer token.")
        return (None, "alertmanager")

    def authenticate_header(self, request) -> str:
        return WWW_AUTHENTICATE


class AlertmanagerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "alerts.api.AlertmanagerTokenAuthentication"
    name = "AlertmanagerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The shared secret `ALERTS_WEBHOOK_TOKEN`, configured in Alertmanager's webhook receiver.",
        }


class AlertWebhookView(MethodCheckedFirst, APIView):
    """POST alerts/webhook: Alertmanager's webhook (version 4); not tenant-scoped, not rate limited."""

    authentication_classes = [AlertmanagerTokenAuthentication]
    permission_classes = [AllowAny]  # the authentication class refuses everything without the token
    throttle_classes: list = []

    @extend_schema(
        request=WebhookPayload,
        responses={
            200: WebhookResult,
            400: OpenApiResponse(description="Invalid payload; `fields` names the field."),
            401: OpenApiResponse(description="Missing or wrong bearer token."),
            503: OpenApiResponse(description="ALERTS_WEBHOOK_TOKEN is not set: the receiver is off."),
        },
        summary="Receive Alertmanager notifications",
    )
    def post(self, request):
        payload = WebhookPayload(data=request.data)
        payload.is_valid(raise_exception=True)
        result = alert_batch_store(payload=payload.validated_data)
        return Response(WebhookResult(result).data)
