"""Schedule tasks."""

from typing import Any

from config.celery import app
from loans.schedule import LoanTerms, build_schedule
from loans.services.schedules import (
    loan_schedule_pending_exists,
    loan_schedules_store,
    loan_schedules_store_pending,
)
from tasks.base import WibawaTask


@app.task(base=WibawaTask, name="tasks.schedules.schedule_totals")
def schedule_totals(terms: dict[str, Any]) -> dict[str, Any]:
    """The totals of the schedule for ``terms`` (LoanTerms' fields as JSON: dates as
    ISO strings, the rate as a decimal string). Raises ScheduleError for bad terms,
    which is final, not retried."""
    schedule = build_schedule(LoanTerms.from_json(terms))
    return {
        "installments": len(schedule.principal),
        "total_principal": schedule.total_principal,
        "total_interest": schedule.total_interest,
        "total_payment": schedule.total_payment,
        "last_due_date": schedule.due_dates[-1].isoformat(),
    }


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
