"""Schedule tasks."""

from config.celery import app
from loans.services.schedules import (
    loan_schedule_pending_exists,
    loan_schedules_store,
    loan_schedules_store_pending,
)
from tasks.base import WibawaTask


@app.task(base=WibawaTask, name="tasks.schedules.store_loan_schedules")
def loan_schedules_store_task(loan_ids: list[int]) -> int:
    """Store the schedules of the disbursed loans ``loan_ids`` (enqueued after the
    disbursement commits), then of any other loan still pending, so one task drains a
    backlog and a lost message leaves nothing pending for long. Returns how many loans
    it stored. When no loan is pending (its loans were stored already) it does nothing
    beyond one query."""
    if not loan_schedule_pending_exists():
        return 0
    return loan_schedules_store(loan_ids=loan_ids) + loan_schedules_store_pending()


@app.task(base=WibawaTask, name="tasks.schedules.store_pending_schedules")
def store_pending_schedules() -> int:
    """Beat: store the schedules of every loan still pending (see
    :func:`loans.services.schedules.loan_schedules_store_pending`). Returns how many."""
    if not loan_schedule_pending_exists():
        return 0
    return loan_schedules_store_pending()
