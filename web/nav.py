"""The menu each role sees, as URL names and labels (the context processor
:func:`navigation` resolves them for the page)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from config.roles import Role, roles_of

MENUS: dict[str, tuple[tuple[str, Any], ...]] = {
    Role.BORROWER: (("web:borrower-home", _("My loan")),),
    Role.OFFICER: (
        ("web:office-queue", _("Applications")),
        ("web:office-borrowers", _("Borrowers")),
        ("web:office-borrower-new", _("Register a borrower")),
    ),
    Role.BANK_STAFF: (
        ("web:bank-queue", _("Applications")),
        ("web:bank-loans", _("Loans")),
        ("web:bank-deferrals", _("Deferrals")),
        ("web:bank-reports", _("Reports")),
    ),
    Role.MANAGER: (
        ("web:dashboard", _("Dashboard")),
        ("web:manage-products", _("Products")),
        ("web:manage-banks", _("Banks")),
        ("web:manage-collectibility", _("Collectibility")),
        ("web:manage-staff", _("Staff")),
        ("web:audit-trail", _("Audit trail")),
    ),
    Role.AUDITOR: (
        ("web:dashboard", _("Dashboard")),
        ("web:audit-trail", _("Audit trail")),
    ),
}


def navigation(request: HttpRequest) -> dict[str, Any]:
    """``nav``: the signed-in user's menu, each item ``{"url", "label", "current"}``, in
    role order without repeats."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    roles = roles_of(user)
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for role, menu in MENUS.items():
        if role not in roles:
            continue
        for name, label in menu:
            if name in seen:
                continue
            seen.add(name)
            try:
                url = reverse(name)
            except NoReverseMatch:  # an area not yet mounted
                continue
            items.append({"url": url, "label": label, "current": False})
    # The current item is the one whose address is the longest start of the path
    # (/manage/products/ is Products, not the dashboard at /manage/).
    matching = [item for item in items if request.path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["current"] = True
    return {"nav": items}
