"""Logging in: a token for a bank's system, a session for a person.

Password guessing is limited twice, and both limits hold when the shared cache (Redis)
is down, by counting in the process instead (``config.api.guard_*``): per client address
(:class:`LoginThrottle`, ``LOGIN_THROTTLE``) and per account (:func:`_authenticate`:
``LOGIN_FAILURE_LIMIT`` wrong passwords for one username within a window of
``LOGIN_LOCKOUT_SECONDS`` lock it for ``LOGIN_LOCKOUT_SECONDS``, from every address)."""

import math
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import api
from config.api import FixedWindowThrottle, guard_count_hit, guard_delete, guard_get, guard_set
from config.auth_services import login_lockout_record, token_issue, token_revoke
from config.authentication import token_expires_at
from config.errors import ApplicationError, ErrorSerializer
from config.roles import bank_id_of, borrower_id_of, roles_of


class LoginThrottle(FixedWindowThrottle):
    """Password guesses allowed per client address (the LOGIN_THROTTLE setting), also
    while the shared cache is down (counted in the process then: never fail open)."""

    scope = "login"
    fail_open = False

    def get_rate(self) -> str:
        return str(settings.LOGIN_THROTTLE)


class CredentialsSerializer(serializers.Serializer):
    username = api.CharField(max_length=150)
    password = api.CharField(max_length=128, trim_whitespace=False)


class AccountLocked(exceptions.Throttled):
    """429: too many wrong passwords for this account; ``Retry-After`` says when it unlocks."""

    def __init__(self, wait: float) -> None:
        seconds = max(1, math.ceil(wait))
        message = _("Too many failed logins for this account. Try again in %(seconds)s seconds.")
        exceptions.APIException.__init__(self, str(message) % {"seconds": seconds}, "account_locked")
        self.wait = seconds


def _account_keys(username: str) -> tuple[str, str]:
    """The cache keys of an account's failure count (in the current window) and lock:
    the username only as a keyed hash, so the cache names no account (and holds no password)."""
    account = salted_hmac("wibawa.login-lockout", username).hexdigest()
    window = int(time.time() // settings.LOGIN_LOCKOUT_SECONDS)
    return f"login-failures:{account}:{window}", f"login-locked:{account}"


def _refuse_if_locked(username: str) -> None:
    """Raise :class:`AccountLocked` while ``username`` is locked out (the lock holds the
    time it ends, so the answer says how long is left)."""
    _failures_key, locked_key = _account_keys(username)
    locked_until = guard_get(locked_key)
    if locked_until is not None and float(locked_until) > time.time():
        raise AccountLocked(float(locked_until) - time.time())


def _failed_login(username: str) -> None:
    """Count a wrong password for ``username``; at ``LOGIN_FAILURE_LIMIT`` in one window,
    lock the account for ``LOGIN_LOCKOUT_SECONDS`` (audited) and start the count again."""
    failures_key, locked_key = _account_keys(username)
    period = settings.LOGIN_LOCKOUT_SECONDS
    failures = guard_count_hit(failures_key, ttl=period + 1)
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        locked_until = time.time() + period
        guard_set(locked_key, locked_until, ttl=period + 1)
        guard_delete(failures_key)
        login_lockout_record(
            username=username, failures=failures, locked_until=datetime.fromtimestamp(locked_until, tz=UTC)
        )


def _authenticate(request: Request, data: Any) -> Any:
    """The user the credentials name, or 400 for a wrong username or password (counted
    against the account), or 429 while the account is locked out, even for the right
    password. A success resets the account's count."""
    serializer = CredentialsSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return credentials_authenticate(request._request, **serializer.validated_data)


def credentials_authenticate(request: HttpRequest, username: str, password: str) -> Any:
    """The user ``username`` and ``password`` name, for the API and the sign-in page
    alike: :class:`ApplicationError` (the message on ``password``) for a wrong username
    or password, counted against the account; :class:`AccountLocked` while the account
    is locked out, even for the right password. A success resets the account's count."""
    _refuse_if_locked(username)
    user = authenticate(request, username=username, password=password)
    if user is None:
        _failed_login(username)
        raise ApplicationError(
            str(_("Wrong username or password.")), {"password": [str(_("Wrong username or password."))]}
        )
    guard_delete(_account_keys(username)[0])
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
    """``POST auth/token/`` with ``{"username", "password"}`` answers ``{"token": ...,
    "expires_at": ...}``: send it as ``Authorization: Token <token>``. The same user gets
    the same token until it expires (``API_TOKEN_TTL_DAYS``) or is revoked (``DELETE
    auth/token/revoke/``); then a new one."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField(help_text="When the token stops being accepted (API_TOKEN_TTL_DAYS).")

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
        key = token_issue(user=user)
        return Response({"token": key, "expires_at": token_expires_at(Token.objects.get(key=key))})


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
        responses={200: OutputSerializer, 400: OpenApiResponse(ErrorSerializer), 429: OpenApiResponse(ErrorSerializer)},
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
