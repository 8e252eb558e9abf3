"""Report tasks (see :mod:`reports.services.reports`).

:func:`report_make_task` makes one document; it is late-acknowledged (a worker killed
mid-document leaves its message to the broker) and idempotent (a finished report, or
one a live worker holds, is left alone). Beat runs :func:`reports_sweep_task` every
minute (a report whose worker died goes to the next worker) and
:func:`reports_monthly_task` on the 1st at 02:00 Asia/Jakarta (after the close): every
bank's monthly report and the city's books of the month before, one task each.
"""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from config.celery import app
from reports.services.reports import report_make, reports_monthly, reports_sweep
from tasks.base import WibawaTask


@app.task(
    base=WibawaTask,
    name="tasks.reports.report_make",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.REPORT_TIME_LIMIT,
    time_limit=settings.REPORT_TIME_LIMIT + 30,
    throws=(SoftTimeLimitExceeded,),
)
def report_make_task(report_id: int) -> str | None:
    """Make report ``report_id``. Returns its status afterwards (None when it was
    finished already or another worker holds it). Past the soft time limit the
    report is failed (it can be asked for again)."""
    report = report_make(report_id=report_id)
    return report.status if report is not None else None


@app.task(base=WibawaTask, name="tasks.reports.reports_sweep")
def reports_sweep_task() -> dict[str, int]:
    """Beat: requeue reports whose worker died; fail those past their limits."""
    return reports_sweep()


@app.task(base=WibawaTask, name="tasks.reports.reports_monthly")
def reports_monthly_task(month: str | None = None) -> list[int]:
    """Beat: queue the month before's bank monthly reports and city books (PDF and
    XLSX). Returns the reports' ids."""
    return [report.pk for report in reports_monthly(month=month)]
