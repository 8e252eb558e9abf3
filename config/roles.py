"""Who a user is to the programme: the five roles (Django groups) and the bank or
borrower a user belongs to.

* ``officer``: the city office (Dinas Koperasi dan Usaha Mikro): every borrower and
  application; creates, submits, field-verifies, forwards, rejects or withdraws them.
* ``bank_staff``: staff (or a system account) of one partner bank (a ``BankStaff`` row):
  that bank's forwarded applications and its loans only; credit check, approve, disburse.
* ``borrower``: a UMKM owner with a login (``Borrower.user``): their own applications and
  loans, read-only.
* ``auditor``: reads everything, changes nothing.
* ``manager``: the programme: reads everything; manages products, banks and allocations.

Objects outside a user's scope answer 404 (they are not found for that user); an action
the role may not take answers 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from rest_framework.exceptions import PermissionDenied


class Role(models.TextChoices):
    OFFICER = "officer", "officer"
    BANK_STAFF = "bank_staff", "bank_staff"
    BORROWER = "borrower", "borrower"
    AUDITOR = "auditor", "auditor"
    MANAGER = "manager", "manager"


#: Roles that read every borrower, application and loan.
READ_ALL = frozenset({Role.OFFICER, Role.AUDITOR, Role.MANAGER})

#: Request users are typed loosely: the role caches are set as plain attributes.
UserLike = Any


def _programme_roles(group_names: Iterable[str]) -> frozenset[str]:
    """The programme's roles among a user's group names (other groups are not roles)."""
    return frozenset(group_names) & frozenset(Role.values)


def roles_of(user: UserLike) -> frozenset[str]:
    """The user's roles (group names), read once per user object."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_wibawa_roles", None)
    if cached is None:
        cached = _programme_roles(user.groups.values_list("name", flat=True))
        user._wibawa_roles = cached
    return cached


def remember_principal(user: UserLike, *, groups: list[str], bank_id: int | None, borrower_id: int | None) -> None:
    """Store what :func:`roles_of`, :func:`bank_id_of` and :func:`borrower_id_of` would
    read, when the caller has read it already (the API's token look-up reads the user, their
    groups, bank and borrower in one query: config/authentication.py)."""
    user._wibawa_roles = _programme_roles(groups)
    user._wibawa_bank_id = bank_id
    user._wibawa_borrower_id = borrower_id


def has_role(user: UserLike, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def require_role(user: UserLike, *roles: str) -> None:
    """Raise PermissionDenied (403) unless the user has one of ``roles``."""
    if not has_role(user, *roles):
        raise PermissionDenied()


def reads_all(user: UserLike) -> bool:
    return bool(roles_of(user) & READ_ALL)


def reader_scope(user: UserLike) -> tuple[str, int | None]:
    """What ``user`` reads of applications and loans: ``("all", None)`` (officers,
    auditors, managers), ``("bank", bank id)`` (bank staff), ``("borrower", borrower id)``
    or ``("none", None)``."""
    if reads_all(user):
        return "all", None
    bank_id = bank_id_of(user)
    if bank_id is not None:
        return "bank", bank_id
    borrower_id = borrower_id_of(user)
    if borrower_id is not None:
        return "borrower", borrower_id
    return "none", None


def bank_id_of(user: UserLike) -> int | None:
    """The id of the bank the user works for (bank staff only), else None."""
    if Role.BANK_STAFF not in roles_of(user):
        return None
    if not hasattr(user, "_wibawa_bank_id"):
        from banks.models import BankStaff

        user._wibawa_bank_id = BankStaff.objects.filter(user=user).values_list("bank_id", flat=True).first()
    bank_id: int | None = user._wibawa_bank_id
    return bank_id


def borrower_id_of(user: UserLike) -> int | None:
    """The id of the borrower record the user logs in as (borrowers only), else None."""
    if Role.BORROWER not in roles_of(user):
        return None
    if not hasattr(user, "_wibawa_borrower_id"):
        from borrowers.models import Borrower

        user._wibawa_borrower_id = Borrower.objects.filter(user=user).values_list("id", flat=True).first()
    borrower_id: int | None = user._wibawa_borrower_id
    return borrower_id
