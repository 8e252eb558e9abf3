"""API tokens that expire: a token is refused once it is older than ``API_TOKEN_TTL_DAYS``
(401); its owner asks ``POST auth/token/`` for a new one. The owner (``DELETE
auth/token/revoke/``) and the manager can revoke one at any time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_expires_at(token: Token) -> datetime:
    """When ``token`` stops being accepted: ``API_TOKEN_TTL_DAYS`` after it was issued."""
    return token.created + timedelta(days=settings.API_TOKEN_TTL_DAYS)


def token_expired(token: Token, now: datetime | None = None) -> bool:
    return (now or timezone.now()) >= token_expires_at(token)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (``Authorization: Token <key>``), refusing an expired
    token with 401 and a message saying how to get a new one."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed(_("The token has expired: ask for a new one at POST /api/v1/auth/token/."))
        return user, token
