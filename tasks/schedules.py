"""Schedule tasks."""

from typing import Any

from config.celery import app
from loans.schedule import LoanTerms, build_schedule
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
