"""Login credential writes: API tokens issued and revoked, each audited."""

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from audit.services import audit_record


@transaction.atomic
def token_issue(*, user: Any) -> str:
    """The user's API token: the one they have, or a new one (audited: the user got a
    credential). The key itself is never recorded."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
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
