"""Project-wide endpoints: the health check."""

import logging

from django.conf import settings
from django.db import DatabaseError, connections
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from kombu import Connection
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

#: Seconds the health check waits for the database or the broker.
HEALTH_TIMEOUT = 2


def database_status() -> str:
    """ "ok" when the default database answers a query, else "unreachable"."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health: database unreachable")
        return "unreachable"
    return "ok"


def broker_status() -> str:
    """ "eager" when no broker is configured (tasks run in-process), "ok" when the
    configured broker accepts a connection, else "unreachable"."""
    if not settings.CELERY_BROKER_URL:
        return "eager"
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=HEALTH_TIMEOUT) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=HEALTH_TIMEOUT)
    except Exception:  # kombu raises transport-specific errors; any of them means down
        logger.exception("health: broker unreachable")
        return "unreachable"
    return "ok"


class HealthApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Health check",
        description=(
            "200 when the database and the configured Celery broker answer; 503 naming the failing "
            'part otherwise. `broker` is "eager" when no broker is configured and tasks run in-process.'
        ),
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                fields={
                    "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
                    "database": serializers.ChoiceField(choices=["ok", "unreachable"]),
                    "broker": serializers.ChoiceField(choices=["ok", "eager", "unreachable"]),
                },
            ),
        },
        examples=[
            OpenApiExample("healthy", value={"status": "ok", "database": "ok", "broker": "ok"}, response_only=True),
            OpenApiExample(
                "broker down",
                value={"status": "unavailable", "database": "ok", "broker": "unreachable", "failing": ["broker"]},
                response_only=True,
                status_codes=["503"],
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        parts = {"database": database_status(), "broker": broker_status()}
        failing = [name for name, state in parts.items() if state == "unreachable"]
        if failing:
            return Response({"status": "unavailable", **parts, "failing": failing}, status=503)
        return Response({"status": "ok", **parts})
