"""Bank reads, scoped to what the user may see."""

from typing import Any

from django.db.models import QuerySet

from banks.models import Allocation, Bank
from config.roles import Role, bank_id_of, reads_all, roles_of


def bank_visible(*, user: Any) -> QuerySet[Bank]:
    """The banks ``user`` may see: every bank for the city office, auditors and the
    manager; only their own for bank staff; none for borrowers and users without a
    role."""
    if reads_all(user):
        return Bank.objects.all()
    if Role.BANK_STAFF in roles_of(user):
        bank_id = bank_id_of(user)
        return Bank.objects.filter(pk=bank_id) if bank_id is not None else Bank.objects.none()
    return Bank.objects.none()


def allocation_list(*, bank: Bank, year: int | None = None) -> QuerySet[Allocation]:
    """``bank``'s allocations, oldest year first (only ``year``'s when given)."""
    allocations = Allocation.objects.filter(bank=bank).order_by("year", "id")
    if year is not None:
        allocations = allocations.filter(year=year)
    return allocations
