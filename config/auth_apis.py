"""Logging in: a token for a bank's system, a session for a person."""

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import api
from config.api import FixedWindowThrottle
from config.auth_services import token_issue, token_revoke
from config.errors import ApplicationError, ErrorSerializer
from config.roles import bank_id_of, borrower_id_of, roles_of


class LoginThrottle(FixedWindowThrottle):
    """Password guesses allowed per client address (the LOGIN_THROTTLE setting)."""

    scope = "login"

    def get_rate(self) -> str:
        return str(settings.LOGIN_THROTTLE)


class CredentialsSerializer(serializers.Serializer):
    username = api.CharField(max_length=150)
    password = api.CharField(max_length=128, trim_whitespace=False)


def _authenticate(request: Request, data: Any) -> Any:
    serializer = CredentialsSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request._request, **serializer.validated_data)
    if user is None:
        raise ApplicationError(
            str(_("Wrong username or password.")), {"password": [str(_("Wrong username or password."))]}
        )
    return user


def whoami(user: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "roles": sorted(roles_of(user)),
        "bank": getattr(getattr(getattr(user, "bank_staff", None), "bank", None), "code", None)
        if bank_id_of(user)
        else None,
        "borrower": borrower_id_of(user),
    }


WHOAMI_EXAMPLES = [
    OpenApiExample(
        "Bank staff",
        value={"username": "pasar", "roles": ["bank_staff"], "bank": "PASAR", "borrower": None},
        response_only=True,
    )
]


class TokenApi(APIView):
    """``POST auth/token/`` with ``{"username", "password"}`` answers ``{"token": ...}``:
    send it as ``Authorization: Token <token>``. The same user always gets the same
    token until it is revoked (``DELETE auth/token/revoke/``)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

        class Meta:
            ref_name = "Token"

    @extend_schema(
        operation_id="auth_token_create",
        request=CredentialsSerializer,
        responses={200: OutputSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        examples=[OpenApiExample("Bank system", value={"username": "jateng", "password": "..."}, request_only=True)],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        user = _authenticate(request, request.data)
        return Response({"token": token_issue(user=user)})


class TokenRevokeApi(APIView):
    @extend_schema(
        operation_id="auth_token_revoke",
        request=None,
        responses={204: None},
        description="Deletes the caller's token; the next `POST auth/token/` issues a new one.",
        tags=["auth"],
    )
    def delete(self, request: Request) -> Response:
        token_revoke(user=request.user)
        return Response(status=204)


class SessionApi(APIView):
    """``POST auth/session/`` logs a person in with a session cookie (the browser's way);
    ``DELETE`` logs out; ``GET`` says who is logged in."""

    throttle_classes = [LoginThrottle]

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        bank = serializers.CharField(allow_null=True)
        borrower = serializers.IntegerField(allow_null=True)

        class Meta:
            ref_name = "Whoami"

    def get_permissions(self) -> Any:
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    def get_throttles(self) -> list[Any]:
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        operation_id="auth_session_whoami", responses={200: OutputSerializer}, examples=WHOAMI_EXAMPLES, tags=["auth"]
    )
    def get(self, request: Request) -> Response:
        return Response(whoami(request.user))

    @extend_schema(
        operation_id="auth_session_login",
        request=CredentialsSerializer,
        examples=[
            OpenApiExample("An officer", value={"username": "officer", "password": "..."}, request_only=True),
            *WHOAMI_EXAMPLES,
        ],
        responses={200: OutputSerializer, 400: OpenApiResponse(ErrorSerializer)},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        user = _authenticate(request, request.data)
        login(request._request, user)
        return Response(whoami(user))

    @extend_schema(
        operation_id="auth_session_logout",
        request=None,
        responses={204: None},
        description="Logs the session out; answers 204 with no body.",
        tags=["auth"],
    )
    def delete(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=204)
