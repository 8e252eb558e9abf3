"""The bank's fund: what it may still lend. Pure Python, no Django.

``available = allocated + principal_repaid - disbursed``: the city's allocations to the
bank, plus the principal borrowers have repaid (it revolves), less the principal lent.
The database holds the same rule twice (``banks.services.bank_fund_draw``'s conditional
UPDATE and the ``bank_fund_not_overdrawn`` CHECK constraint), proven equal in
``tests/banks/test_fund_rule.py``.
"""

from __future__ import annotations


def fund_available(*, allocated: int, principal_repaid: int, disbursed: int) -> int:
    """Rupiah a bank may still disburse: ``allocated + principal_repaid - disbursed``."""
    return allocated + principal_repaid - disbursed
