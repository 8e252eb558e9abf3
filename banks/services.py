"""Bank writes: banks, their staff, allocations and the fund counters."""

import re
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record, changed, field_values
from banks.models import Allocation, Bank, BankStaff
from config.errors import ApplicationError
from config.prepared import PreparedUpdate
from config.roles import Role


def bank_fund_draw(*, bank_id: int, amount: int) -> bool:
    """Take ``amount`` rupiah from the bank's fund for a disbursement, if it is there.

    One conditional UPDATE: it row-locks the bank until the caller's transaction ends,
    so two disbursements at once cannot both pass the check. Returns False (and changes
    nothing) when ``allocated + principal_repaid - disbursed`` is below ``amount``.
    Must run inside the disbursement's transaction.
    """
    if amount <= 0:
        raise ValueError("amount must be positive")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bank_fund_draw must run inside the disbursement's transaction")
    updated = Bank.objects.filter(pk=bank_id, disbursed__lte=F("allocated") + F("principal_repaid") - amount).update(
        disbursed=F("disbursed") + amount
    )
    return updated == 1


def bank_fund_repaid(*, bank_id: int, principal: int, interest: int) -> bool:
    """Move the bank's ``principal_repaid`` and ``interest_collected`` counters by
    ``principal`` and ``interest`` rupiah (negative when a reversal takes a repayment
    back). One conditional UPDATE under the bank's row lock, inside the caller's
    transaction. Returns False (and changes nothing) when taking principal back would
    overdraw the fund: the bank has lent that money again already."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bank_fund_repaid must run inside the repayment's transaction")
    if principal == 0 and interest == 0:
        return True
    return _FUND_REPAID(bank_id=bank_id, principal=principal, interest=interest) == 1


#: Every booking and reversal runs it: the ORM writes it once per process (config/prepared.py).
_FUND_REPAID = PreparedUpdate(
    lambda bank_id, principal, interest: (
        Bank.objects.filter(pk=bank_id, disbursed__lte=F("allocated") + F("principal_repaid") + principal),
        {
            "principal_repaid": F("principal_repaid") + principal,
            "interest_collected": F("interest_collected") + interest,
        },
    )
)


#: Bank codes appear in URLs: capital letters, digits, "-" and "_".
BANK_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
#: Allocations are city budget tranches (about Rp8.5 billion a year); far above any real
#: one, far below what could overflow the fund counters.
MAX_ALLOCATION = 10**15
FIRST_PROGRAMME_YEAR = 2017
LAST_PROGRAMME_YEAR = 2200
#: Bank fields a manager may change after creation (the code is its identity; the fund
#: counters move only with allocations, disbursements and repayments).
BANK_UPDATABLE_FIELDS = ("name", "kind", "servicing_fee_percent", "active", "backdate_limit_days")
#: What the audit row of a new bank records.
BANK_AUDITED_FIELDS = ("code", *BANK_UPDATABLE_FIELDS)
#: The most days a bank may date a repayment before the last closed business date.
MAX_BACKDATE_LIMIT_DAYS = 366


def bank_code_errors(code: str) -> dict[str, list[str]]:
    """The message under ``code`` for a (normalised) bank code that is malformed or
    already taken; none for a good one."""
    if not BANK_CODE_PATTERN.match(code):
        return {"code": [str(_("1 to 16 capital letters, digits, '-' or '_', such as JATENG."))]}
    if Bank.objects.filter(code=code).exists():
        return {"code": [_code_taken(code)]}
    return {}


def _code_taken(code: str) -> str:
    return str(_("A bank with the code {code} already exists.")).format(code=code)


@transaction.atomic
def bank_create(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    servicing_fee_percent: Decimal | str | int = 0,
    active: bool = True,
) -> Bank:
    """Register a partner bank with an empty fund (money arrives by ``allocation_create``).

    ``code`` is upper-cased (it is how the API and the demo name a bank: ``JATENG``,
    ``PASAR``). The caller checks that ``actor`` may manage banks (the manager) and that
    the values have their types and ranges (the API's serializer, the admin's form):
    a name, a ``Bank.Kind``, a fee of 0 to 100 percent with at most 2 decimals.
    Raises ApplicationError on ``code``: malformed or already taken.
    """
    code = code.strip().upper()
    if errors := bank_code_errors(code):
        raise ApplicationError(str(_("The bank was not created.")), errors)
    try:
        with transaction.atomic():
            bank = Bank.objects.create(
                code=code,
                name=name.strip(),
                kind=kind,
                servicing_fee_percent=Decimal(servicing_fee_percent),
                active=active,
            )
            audit_record(actor=actor, action="bank_create", subject=bank, after=field_values(bank, BANK_AUDITED_FIELDS))
            return bank
    except IntegrityError as exc:  # the same code created at the same moment
        raise ApplicationError(str(_("The bank was not created.")), {"code": [_code_taken(code)]}) from exc


@transaction.atomic
def bank_update(*, actor: Any, bank: Bank, **fields: Any) -> Bank:
    """Change a bank's name, kind, servicing fee, active flag or backdating limit (days a
    repayment may be dated before the last closed business date); returns the bank as now
    stored. Writes only those columns, under the bank's row lock, so a stale ``bank``
    object can never overwrite the fund counters that disbursements move.

    The caller checks that ``actor`` may manage banks (the manager) and that the values
    have their types and ranges (as for ``bank_create``; a backdating limit of 0 to
    ``MAX_BACKDATE_LIMIT_DAYS``). Raises TypeError for any other field: the code and the
    counters cannot be changed here.
    """
    unchangeable = sorted(set(fields) - set(BANK_UPDATABLE_FIELDS))
    if unchangeable:
        raise TypeError(f"bank_update cannot change {unchangeable}")
    locked = Bank.objects.select_for_update().get(pk=bank.pk)
    was = field_values(locked, fields)
    for name, value in fields.items():
        if name == "name":
            value = value.strip()
        elif name == "servicing_fee_percent":
            value = Decimal(value)
        setattr(locked, name, value)
    if fields:
        locked.save(update_fields=list(fields))
        before, after = changed(was, field_values(locked, fields))
        if after:
            audit_record(actor=actor, action="bank_update", subject=locked, before=before, after=after)
    return locked


@transaction.atomic
def allocation_create(*, actor: Any, bank: Bank, year: int, amount: int, note: str = "") -> Allocation:
    """Place ``amount`` rupiah of the city fund with ``bank`` for programme ``year``.

    Adds the amount to ``Bank.allocated`` in the same transaction, under the bank's row
    lock, so concurrent allocations (and disbursements) all count. The returned
    allocation's ``bank`` holds the fund figures as they now stand. The caller checks
    that ``actor`` may manage allocations (the manager) and that the values have their
    types and ranges: ``amount`` 1 to ``MAX_ALLOCATION`` rupiah, ``year``
    ``FIRST_PROGRAMME_YEAR`` to ``LAST_PROGRAMME_YEAR``, a note of at most 300
    characters (the database's constraints hold the amount and the year too).
    """
    locked = Bank.objects.select_for_update().get(pk=bank.pk)
    allocation = Allocation.objects.create(bank=locked, year=year, amount=amount, note=note.strip(), created_by=actor)
    audit_record(
        actor=actor,
        action="allocation_create",
        subject=allocation,
        after={"bank": locked.code, "year": year, "amount": amount},
        note=allocation.note,
        amounts={"amount": amount},
    )
    Bank.objects.filter(pk=locked.pk).update(allocated=F("allocated") + amount)
    locked.refresh_from_db(fields=["allocated", "disbursed", "principal_repaid"])
    return allocation


@transaction.atomic
def bank_staff_add(*, bank: Bank, user: Any, actor: Any = None) -> BankStaff:
    """Make ``user`` staff of ``bank``: the ``bank_staff`` group and a BankStaff row,
    audited as done by ``actor`` (None: a system job such as the demo seeding).

    Adding a user already at this bank changes nothing. Raises ApplicationError on
    ``user`` when the user already works for another bank (one bank per user).
    """
    existing = BankStaff.objects.filter(user=user).select_related("bank").first()
    if existing is not None and existing.bank_id != bank.pk:
        raise ApplicationError(
            str(_("The user was not added to the bank.")),
            {"user": [str(_("Already staff of bank {code}.")).format(code=existing.bank.code)]},
        )
    user.groups.add(Group.objects.get(name=Role.BANK_STAFF))
    staff = existing or BankStaff.objects.create(user=user, bank=bank)
    if existing is None:
        audit_record(
            actor=actor, action="bank_staff_add", subject=user, after={"bank": bank.code, "role": Role.BANK_STAFF}
        )
    # Role and bank are cached on the user object (config.roles); they just changed.
    for cached in ("_wibawa_roles", "_wibawa_bank_id"):
        user.__dict__.pop(cached, None)
    return staff
