"""Activating with a code under the sign-in's limits, for the API and the page alike:
guesses per client address (``config.auth_apis.LoginThrottle``, taken by the caller)
and per account (a wrong code counts as a wrong password for the username given, and a
locked account is refused even with the right code)."""

from typing import Any

from accounts.services import account_activate
from config.auth_apis import _failed_login, _refuse_if_locked
from config.errors import ApplicationError


def activation_attempt(*, username: str, code: str, password: str) -> Any:
    """:func:`account_activate`, counted like a sign-in: raises ``AccountLocked`` (429)
    while ``username`` is locked out, and counts a refused code against it."""
    account = username.strip()
    if account:
        _refuse_if_locked(account)
    try:
        return account_activate(username=account, code=code, password=password)
    except ApplicationError as exc:
        if account and "code" in exc.errors:
            _failed_login(account)
        raise
