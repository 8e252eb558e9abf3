"""The nightly close's tasks (see :mod:`loans.services.close`).

Beat runs :func:`close_catch_up_task` at 00:30 Asia/Jakarta. It starts the close of the
first date not closed yet and sends a chord: one :func:`close_chunk_task` per loan id
range, whose body :func:`close_finish_task` finishes the run and then sends the
catch-up again for the next date, so missed nights are closed date by date. A chunk
that fails for good fails the chord, whose error callback :func:`close_failed_task`
marks the run failed (the next night closes that date again). Without a broker
(``CELERY_TASK_ALWAYS_EAGER``) the same chord runs in-process and the catch-up loops
over the dates itself.
"""

from __future__ import annotations

import logging
from datetime import date

from celery import chord

from config.celery import app
from config.clock import business_yesterday
from loans.models import CloseRun
from loans.services.close import (
    ClosePlan,
    CloseRunning,
    close_chunk,
    close_dates_due,
    close_fail,
    close_finish,
    close_start,
)
from tasks.base import WibawaTask

logger = logging.getLogger(__name__)


def _run_status(run_id: int) -> str | None:
    return CloseRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


@app.task(base=WibawaTask, name="tasks.close.close_chunk")
def close_chunk_task(run_id: int, low: int, high: int) -> int:
    """Close the loans with ids ``low`` to ``high`` for run ``run_id``. Returns how many
    loans it closed (0 when the run is no longer running)."""
    if _run_status(run_id) != CloseRun.Status.RUNNING:
        return 0
    return close_chunk(run_id=run_id, low=low, high=high).loans


@app.task(base=WibawaTask, name="tasks.close.close_finish")
def close_finish_task(run_id: int, until: str | None = None) -> str | None:
    """Finish run ``run_id`` (fund days, done) and, given ``until`` (ISO date), send the
    catch-up for the dates after it. Returns the date closed (None for a failed run)."""
    status = _run_status(run_id)
    if status not in (CloseRun.Status.RUNNING, CloseRun.Status.DONE):
        return None
    run = close_finish(run_id=run_id)
    if until is not None:
        close_catch_up_task.delay(until)
    return run.business_date.isoformat()


@app.task(base=WibawaTask, name="tasks.close.close_failed")
def close_failed_task(run_id: int) -> None:
    """Error callback of a run's chord: mark the run failed."""
    close_fail(run_id=run_id, error="A chunk of the close failed (see the worker's log).")


def _send(plan: ClosePlan, *, until: str | None) -> None:
    """Run ``plan``'s chunks as a chord whose body finishes it (and continues to
    ``until`` when given)."""
    finish = close_finish_task.si(plan.run_id, until)
    if not plan.chunks:
        finish.apply_async()
        return
    header = [close_chunk_task.si(plan.run_id, low, high) for low, high in plan.chunks]
    chord(header)(finish.on_error(close_failed_task.si(plan.run_id)))


@app.task(base=WibawaTask, name="tasks.close.close_catch_up")
def close_catch_up_task(until: str | None = None) -> list[str]:
    """Close the dates after the last closed one up to ``until`` (ISO date; default:
    yesterday in Asia/Jakarta). Through a broker it starts the first date and its chord
    continues with the next; in eager mode it closes every date here. A running close
    is reported and left alone (the catch-up stops). Returns the dates it started."""
    until_date = date.fromisoformat(until) if until else business_yesterday()
    eager = bool(app.conf.task_always_eager)
    started: list[str] = []
    while True:
        dates = close_dates_due(until=until_date)
        if not dates:
            return started
        try:
            plan = close_start(business_date=dates[0])
        except CloseRunning as exc:
            logger.warning("close catch-up to %s not started: %s", until_date, exc.message)
            return started
        started.append(plan.business_date.isoformat())
        if not eager:
            try:
                _send(plan, until=until_date.isoformat())
            except Exception as exc:  # the broker refused the chord: free the lock for the retry
                close_fail(run_id=plan.run_id, error=repr(exc))
                raise
            return started
        try:
            _send(plan, until=None)
        except Exception as exc:
            close_fail(run_id=plan.run_id, error=repr(exc))
            logger.exception("close of %s failed", plan.business_date)
            return started
        if _run_status(plan.run_id) != CloseRun.Status.DONE:
            return started
