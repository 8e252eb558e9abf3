"""Login credential writes: API tokens issued and revoked, and accounts locked out of
logging in, each audited."""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from audit.services import audit_record
from config.authentication import token_expired


@transaction.atomic
def token_issue(*, user: Any) -> str:
    """The user's API token: the one they have, or a new one when they have none or
    theirs expired (audited: the user got a credential). The key itself is never recorded."""
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
        audit_record(
            actor=user, action="token_issue", subject=user, after={"api_token": "issued"}, note="the last one expired"
        )
    elif created:
        audit_record(actor=user, action="token_issue", subject=user, after={"api_token": "issued"})
    return str(token.key)


@transaction.atomic
def token_revoke(*, user: Any) -> bool:
    """Delete the user's API token (audited when there was one); the next
    :func:`token_issue` makes a new one. Returns whether there was one."""
    deleted, _by_model = Token.objects.filter(user=user).delete()
    if deleted:
        audit_record(
            actor=user,
            action="token_revoke",
            subject=user,
            before={"api_token": "issued"},
            after={"api_token": "revoked"},
        )
    return bool(deleted)


@transaction.atomic
def login_lockout_record(*, username: str, failures: int, locked_until: datetime) -> bool:
    """Record that ``username`` was locked out of logging in until ``locked_until`` after
    ``failures`` wrong passwords (audited, the user the subject, no actor: the system
    locked it, whoever guessed). A username that names no user is locked all the same
    (so a lock-out says nothing about who exists) but has no row. No password is ever
    recorded. Returns whether a row was written."""
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if user is None:
        return False
    audit_record(
        actor=None,
        action="login_locked",
        subject=user,
        after={"login": "locked", "locked_until": locked_until.isoformat(timespec="seconds")},
        note=f"{failures} failed logins",
    )
    return True
