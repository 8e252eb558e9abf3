"""The nightly close of a business date: days past due, arrears, collectibility,
penalties, loan statuses, a snapshot row per loan and the banks' fund day, computed
set-based (a few SQL statements per chunk of loans), never one ORM save per loan.

**The ledger as of D.** The close of business date D reads the loans that are active or
overdue (or paid off after D), whose schedule is stored and that were disbursed on or
before D, and only the installments of each loan's current schedule version. An
installment is *open at D* when ``paid_on IS NULL OR paid_on > D``; its unpaid amounts
at D are the unpaid columns now plus what active allocations of booked repayments dated
after D put on it (the nightly close adds back only what was paid today, so it is
cheap). The outstanding principal at D is the loan's ``outstanding_principal`` plus the
principal those later repayments allocated. The open-at-D set is read as a UNION ALL of
two index-friendly parts (``installment_open_due`` for ``paid_on IS NULL``,
``installment_paid_on`` for ``paid_on > D``), never one OR over the whole table.

The close is split along its seams: :mod:`loans.services.close.rules` (the tables and
penalty rules a run applies), :mod:`loans.services.close.sql` (the figures, the
penalty and the writes, as SQL), :mod:`loans.services.close.runs` (the runs and their
chunks) and :mod:`loans.services.close.fund_days` (the banks' fund day).

Works on PostgreSQL (one statement per chunk step) and SQLite (the same SQL with the
dialect's date arithmetic, the writes as separate statements).
"""

from loans.selectors.servicing import business_date_last_closed
from loans.services.close.fund_days import fund_days
from loans.services.close.rules import CloseRules, PenaltyRule, close_rules
from loans.services.close.runs import (
    CloseAborted,
    ClosePlan,
    CloseRunning,
    close_business_date,
    close_catch_up,
    close_chunk,
    close_dates_due,
    close_fail,
    close_finish,
    close_running_now,
    close_start,
    close_status,
    loan_close_recompute,
    loans_close_recompute,
)
from loans.services.close.sql import ChunkResult, CloseSql, close_loans

__all__ = [
    "ChunkResult",
    "CloseAborted",
    "ClosePlan",
    "CloseRules",
    "CloseRunning",
    "CloseSql",
    "PenaltyRule",
    "business_date_last_closed",
    "close_business_date",
    "close_catch_up",
    "close_chunk",
    "close_dates_due",
    "close_fail",
    "close_finish",
    "close_loans",
    "close_rules",
    "close_running_now",
    "close_start",
    "close_status",
    "fund_days",
    "loan_close_recompute",
    "loans_close_recompute",
]
