"""Who may open a page. A stranger is sent to sign in (302, the page to come back to in
``next``); a signed-in user without one of the page's roles gets 403; an object outside
the user's scope is not found (404), because pages read through the same scoped
selectors as the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from config.roles import Role, has_role, roles_of

View = Callable[..., HttpResponse]


class PageRequest(HttpRequest):
    """A page's request: ``htmx`` (django-htmx) says whether htmx asked for a fragment."""

    htmx: HtmxDetails


def page_for(*roles: str) -> Callable[[View], View]:
    """Decorate a page view: signed-in users with one of ``roles`` (any signed-in user
    when none are named) may open it."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if roles and not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


#: Where each role starts after signing in, first match wins (a user may hold several).
LANDING = (
    (Role.BORROWER, "web:borrower-home"),
    (Role.OFFICER, "web:office-queue"),
    (Role.BANK_STAFF, "web:bank-queue"),
    (Role.MANAGER, "web:dashboard"),
    (Role.AUDITOR, "web:dashboard"),
)


def landing_of(user: Any) -> str:
    """The URL name of the page ``user`` starts on (the password page for a user with
    no role of the programme)."""
    roles = roles_of(user)
    for role, name in LANDING:
        if role in roles:
            return name
    return "web:password-change"
