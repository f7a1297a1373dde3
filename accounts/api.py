"""Who-am-I endpoint: the resolved principal, handy for SDK/CLI login checks."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Principal",
            {
                "subject": serializers.CharField(),
                "tenant": serializers.CharField(),
                "role": serializers.CharField(allow_null=True),
                "roles": serializers.ListField(child=serializers.CharField()),
                "tier": serializers.CharField(),
                "method": serializers.CharField(),
            },
        )
    )
    def get(self, request):
        p = request.auth
        return Response(
            {
                "subject": p.subject,
                "tenant": p.tenant.slug,
                "role": p.role,
                "roles": sorted(p.roles),
                "tier": p.tier,
                "method": p.method,
            }
        )
