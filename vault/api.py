"""/api/v1/secrets: write-only tenant secrets (admin role). Another tenant's secret is a 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsTenantAdmin
from aosproject.errors import ApiError
from vault import services
from vault.serializers import SecretInputSerializer, SecretSerializer


class SecretListView(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(responses={200: SecretSerializer(many=True)}, summary="List secret names and timestamps.")
    def get(self, request):
        secrets = services.secret_list(tenant=request.auth.tenant)
        return Response(SecretSerializer(secrets, many=True).data)


class SecretDetailView(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(responses={200: SecretSerializer}, summary="A secret's name and timestamps (never its value).")
    def get(self, request, name: str):
        return Response(SecretSerializer(services.secret_get(tenant=request.auth.tenant, name=name)).data)

    @extend_schema(
        request=SecretInputSerializer,
        responses={201: SecretSerializer, 200: SecretSerializer},
        summary="Create (201) or replace (200) a secret; plans refer to it as {{ secrets.NAME }}.",
        description="PUT is idempotent by nature (the same body leaves the same state), so no Idempotency-Key.",
    )
    def put(self, request, name: str):
        services.secret_name_check(name)
        if not isinstance(request.data, dict):
            raise ApiError("validation_error", "The request body must be a JSON object.", 400)
        serializer = SecretInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        secret, created = services.secret_put(
            tenant=request.auth.tenant, name=name, value=serializer.validated_data["value"]
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(SecretSerializer(secret).data, status=code)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted.")}, summary="Delete a secret.")
    def delete(self, request, name: str):
        services.secret_delete(tenant=request.auth.tenant, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)
