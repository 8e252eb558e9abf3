"""Bank writes: banks, their staff, allocations and the fund counters."""

from django.db import transaction
from django.db.models import F

from banks.models import Bank


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
