"""REST endpoints: the mission directory at HQ, a mission's profile on its own host."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .models import Mission


class MissionOutputSerializer(serializers.ModelSerializer[Mission]):
    """Names and the address are in the request's language (Accept-Language), English where
    there is none; `postal_address` is the address ending with the host country, named in it."""

    host = serializers.CharField(read_only=True)
    currency_minor_units = serializers.IntegerField(read_only=True)
    postal_address = serializers.CharField(read_only=True)

    class Meta:
        model = Mission
        fields = [
            "code", "name", "kind", "host_country", "city", "timezone", "currency",
            "currency_minor_units", "languages", "address", "postal_address", "phone", "email",
            "website", "jurisdiction", "office_hours", "status", "host",
        ]  # fmt: skip


class MissionDirectoryApi(APIView):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer[dict[str, str]]):
        q = serializers.CharField(required=False, allow_blank=True, max_length=100)
        country = serializers.CharField(required=False, allow_blank=True, max_length=2)

    @extend_schema(parameters=[FilterSerializer], responses=MissionOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        missions = selectors.mission_list_directory(
            query=filters.validated_data.get("q", ""),
            country=filters.validated_data.get("country", ""),
        )
        return Response(MissionOutputSerializer(missions, many=True).data)


class MissionProfileApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=MissionOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(MissionOutputSerializer(request.tenant).data)  # type: ignore[attr-defined]


hq_urls = [path("missions/", MissionDirectoryApi.as_view(), name="api_mission_directory")]
mission_urls = [path("mission/", MissionProfileApi.as_view(), name="api_mission_profile")]
