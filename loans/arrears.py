"""A loan's lateness and status: days past due and the status they give. Pure Python,
no Django. The repayment service, the loan API (through
:func:`loans.selectors.servicing.loan_arrears`) and the nightly close use these rules;
the close computes them set-based in SQL (``loans/services/close/sql.py``,
``CloseSql.figures``), proven equal in ``tests/loans/test_rule_twins.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Final

#: The statuses these rules give (the values of ``Loan.Status``).
ACTIVE: Final = "active"
OVERDUE: Final = "overdue"
PAID_OFF: Final = "paid_off"


def days_past_due(on: date, oldest_unpaid_due: date | None) -> int:
    """Days from the oldest due date of an installment not paid (principal and interest)
    to ``on``; 0 when nothing is unpaid or it is not due before ``on``."""
    if oldest_unpaid_due is None or oldest_unpaid_due >= on:
        return 0
    return (on - oldest_unpaid_due).days


def loan_status(*, settled: bool, days_past_due: int) -> str:
    """An open loan's status: ``paid_off`` when every installment is paid and no
    principal is outstanding (``settled``), else ``overdue`` when it is days past due,
    else ``active``. (A written-off loan keeps its status: the callers leave it.)"""
    if settled:
        return PAID_OFF
    return OVERDUE if days_past_due > 0 else ACTIVE
