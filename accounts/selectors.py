"""Reads of people's accounts: the programme's staff as the manager manages them."""

from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Prefetch, QuerySet

from accounts.models import StaffRole

#: The order a user's roles are named in (the first is the one shown as "the" role).
ROLE_ORDER = tuple(StaffRole.values)


def staff_list() -> QuerySet[User]:
    """Every user with a staff role (officer, bank staff, auditor, manager), by username,
    with their roles (``groups``) and bank (``bank_staff__bank``) fetched alongside: two
    queries whatever the number of users."""
    return (
        User.objects.filter(groups__name__in=ROLE_ORDER)
        .distinct()
        .select_related("bank_staff__bank")
        .prefetch_related(Prefetch("groups", queryset=Group.objects.filter(name__in=ROLE_ORDER)))
        .order_by("username")
    )


def staff_roles(user: Any) -> list[str]:
    """The staff roles of a user read through :func:`staff_list` (no query), in
    :data:`ROLE_ORDER`."""
    names = {group.name for group in user.groups.all()}
    return [role for role in ROLE_ORDER if role in names]


def staff_bank_code(user: Any) -> str | None:
    """The code of the bank a user of :func:`staff_list` works for, else None (no query)."""
    staff = getattr(user, "bank_staff", None)
    return staff.bank.code if staff is not None else None
