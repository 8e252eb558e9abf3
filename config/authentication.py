"""API tokens that expire: a token is refused once it is older than ``API_TOKEN_TTL_DAYS``
(401); its owner asks ``POST auth/token/`` for a new one. The owner (``DELETE
auth/token/revoke/``) and the manager can revoke one at any time.

Every API request starts here, so the token is looked up with everything the request's
scope needs in one query: the user, their roles (groups), the bank they work for and the
borrower they log in as (config/roles.py then reads nothing more)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from config.prepared import Prepared
from config.roles import remember_principal


def token_expires_at(token: Token) -> datetime:
    """When ``token`` stops being accepted: ``API_TOKEN_TTL_DAYS`` after it was issued."""
    return token.created + timedelta(days=settings.API_TOKEN_TTL_DAYS)


def token_expired(token: Token, now: datetime | None = None) -> bool:
    return (now or timezone.now()) >= token_expires_at(token)


def _principal_query(key: str) -> QuerySet[Any]:
    """The token look-up: the user's fields (in their order), then the token's ``created``,
    a group name, the bank's id and the borrower's id, a row per group of the user (at
    least one)."""
    from banks.models import BankStaff
    from borrowers.models import Borrower

    return (
        Token.objects.filter(key=key)
        .annotate(
            staff_bank_id=Subquery(BankStaff.objects.filter(user=OuterRef("user_id")).values("bank_id")[:1]),
            own_borrower_id=Subquery(Borrower.objects.filter(user=OuterRef("user_id")).values("pk")[:1]),
        )
        .values_list(
            *(f"user__{name}" for name in _user_attnames()),
            "created",
            "user__groups__name",
            "staff_bank_id",
            "own_borrower_id",
        )
        .order_by()
    )


@cache
def _user_attnames() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


#: It runs on every API request: the ORM compiles it once per process.
_PRINCIPAL = Prepared(_principal_query)


def token_principal(key: str) -> tuple[Any, Token] | None:
    """The user and token of ``key`` (None if there is no such token), with the user's
    roles, bank and borrower remembered on it (config/roles.py)."""
    rows = _PRINCIPAL.rows(key=key)
    if not rows:
        return None
    user_attnames = _user_attnames()
    width = len(user_attnames)
    first = rows[0]
    user = get_user_model().from_db(connection.alias, user_attnames, first[:width])
    created, _group, bank_id, borrower_id = first[width:]
    remember_principal(
        user, groups=[row[width + 1] for row in rows if row[width + 1]], bank_id=bank_id, borrower_id=borrower_id
    )
    token = Token.from_db(connection.alias, ["key", "user_id", "created"], [key, user.pk, created])
    token.user = user
    return user, token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (``Authorization: Token <key>``): the same answers (401
    for an unknown token or an inactive user), and 401 with a message saying how to get a
    new one for an expired token."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        found = token_principal(key)
        if found is None:
            raise AuthenticationFailed(_("Invalid token."))
        user, token = found
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        if token_expired(token):
            raise AuthenticationFailed(_("The token has expired: ask for a new one at POST /api/v1/auth/token/."))
        return user, token
