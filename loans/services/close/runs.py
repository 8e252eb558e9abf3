"""The close's runs: start (the run lock and the chunks), a chunk, finish (the fund
days), failure, catch-up, the recomputation after a backdated repayment, and the
close's state for the API.

**Runs.** :func:`close_start` inserts a ``running`` ``CloseRun`` (a partial unique index
allows one: another running close is refused with :class:`CloseRunning`, never waited
for; one older than ``CLOSE_STALE_SECONDS`` is marked failed and taken over) and cuts the
loans in scope into id ranges of ``CLOSE_CHUNK_LOANS``; :func:`close_chunk` closes one
range in its own transaction (under the loans' row locks, in id order, so it serialises
with repayments of the same loans); :func:`close_finish` writes the fund days and marks
the run done. The last closed business date is the latest done run's date.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Subject, audit_record
from banks.models import Bank
from config.clock import business_today
from config.errors import ApplicationError, StateConflict
from loans.models import CloseRun, FundDay, Loan, LoanSnapshot
from loans.selectors.servicing import business_date_last_closed
from loans.services.close.fund_days import fund_days
from loans.services.close.rules import CloseRules, close_rules
from loans.services.close.sql import LAST_ID, ChunkResult, CloseSql, close_loans

logger = logging.getLogger(__name__)


class CloseRunning(StateConflict):
    """Another close is running (409): it is reported, never waited for."""

    def __init__(self, run: CloseRun) -> None:
        super().__init__(
            _("A close of %(date)s is running since %(started)s.")
            % {"date": run.business_date.isoformat(), "started": run.started_at.isoformat(timespec="seconds")},
            state=CloseRun.Status.RUNNING,
        )
        self.run = run


def close_dates_due(*, until: date) -> list[date]:
    """The dates a catch-up to ``until`` closes, in order: every date after the last
    closed one up to ``until``, or ``until`` alone when nothing was ever closed."""
    last = business_date_last_closed()
    if last is None:
        return [until]
    return [last + timedelta(days=offset) for offset in range(1, (until - last).days + 1)]


# --- runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosePlan:
    """A started run: its id, date and the loan id ranges of its chunks (inclusive)."""

    run_id: int
    business_date: date
    chunks: tuple[tuple[int, int], ...]


def _chunk_ranges(business_date: date, chunk_loans: int) -> tuple[tuple[int, int], ...]:
    """Id ranges of ``chunk_loans`` loans in scope each, covering every id."""
    sql = CloseSql(business_date=business_date, low=0, high=LAST_ID)
    sql.params["chunk"] = chunk_loans
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM (SELECT l.id, ROW_NUMBER() OVER (ORDER BY l.id) AS position FROM loans_loan l "  # noqa: S608
            f"WHERE {sql.scope_condition()}) ranked WHERE (position - 1) %% %(chunk)s = 0 ORDER BY id",
            sql.params,
        )
        starts = [row[0] for row in cursor.fetchall()]
    if not starts:
        return ()
    lows = [0, *starts[1:]]
    highs = [start - 1 for start in starts[1:]] + [LAST_ID]
    return tuple(zip(lows, highs, strict=True))


def close_start(*, business_date: date) -> ClosePlan:
    """Start the close of ``business_date``: take over a running close older than
    ``CLOSE_STALE_SECONDS`` (it is marked failed), insert the ``running`` run and cut the
    loans in scope into chunks of ``CLOSE_CHUNK_LOANS``. Each step commits on its own, so
    call it outside any transaction.

    Raises :class:`CloseRunning` (409) when another close runs, and ApplicationError
    (400) for a date that is not over yet (today or later in Asia/Jakarta)."""
    if business_date >= business_today():
        message = _("Only a business date that is over can be closed (before %(today)s).") % {
            "today": business_today().isoformat()
        }
        raise ApplicationError(message, {"business_date": [message]})
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.CLOSE_STALE_SECONDS)
    for stale in CloseRun.objects.filter(status=CloseRun.Status.RUNNING, started_at__lt=stale_before):
        taken = CloseRun.objects.filter(pk=stale.pk, status=CloseRun.Status.RUNNING).update(
            status=CloseRun.Status.FAILED,
            finished_at=now,
            error=f"Stale: running since {stale.started_at.isoformat()}; taken over by the close of {business_date}.",
        )
        if taken:
            logger.warning("close of %s running since %s was stale; taken over", stale.business_date, stale.started_at)
    try:
        with transaction.atomic():
            run = CloseRun.objects.create(business_date=business_date, started_at=now)
    except IntegrityError:
        running = CloseRun.objects.filter(status=CloseRun.Status.RUNNING).first()
        if running is None:  # it finished in the meantime: the caller may try again
            raise
        raise CloseRunning(running) from None
    try:
        chunks = _chunk_ranges(business_date, settings.CLOSE_CHUNK_LOANS)
        CloseRun.objects.filter(pk=run.pk).update(chunks=len(chunks))
    except Exception as exc:
        close_fail(run_id=run.pk, error=repr(exc))
        raise
    return ClosePlan(run_id=run.pk, business_date=business_date, chunks=chunks)


class CloseAborted(Exception):
    """The run stopped being ``running`` while a chunk worked (taken over as stale or
    marked failed): the chunk's work is rolled back."""


def close_chunk(*, run_id: int, low: int, high: int, rules: CloseRules | None = None) -> ChunkResult:
    """Close the loans with ids ``low`` to ``high`` for the run's date, in one
    transaction: lock them, charge penalties, compute their figures, update the loans
    and upsert their snapshots, and count the chunk on the run. A run that is no longer
    running does nothing (returns an empty result); one that stops running meanwhile
    rolls the chunk back (raises :class:`CloseAborted`)."""
    with transaction.atomic():
        run = CloseRun.objects.filter(pk=run_id).first()
        if run is None or run.status != CloseRun.Status.RUNNING:
            return ChunkResult()
        rules = rules or close_rules()
        bank_ids = list(Bank.objects.order_by("pk").values_list("pk", flat=True))
        sql = CloseSql(business_date=run.business_date, low=low, high=high, bank_ids=bank_ids)
        result = close_loans(sql, rules, penalties=True, lock=True)
        counted = CloseRun.objects.filter(pk=run_id, status=CloseRun.Status.RUNNING).update(
            chunks_done=Least(F("chunks_done") + 1, F("chunks")), loans=F("loans") + result.loans
        )
        if not counted:
            raise CloseAborted(f"close run {run_id} stopped running during its chunk {low}-{high}")
    return result


def _fund_days_store(days: list[FundDay]) -> None:
    """Write ``days`` over the banks' fund days of their dates (inserting what is new)."""
    FundDay.objects.bulk_create(
        days,
        update_conflicts=True,
        unique_fields=["bank", "business_date"],
        update_fields=[
            "disbursed",
            "principal_repaid",
            "interest_collected",
            "penalty_collected",
            "outstanding_principal",
            "outstanding_by_class",
            "available",
        ],
    )


def close_finish(*, run_id: int) -> CloseRun:
    """Finish a run whose chunks are all done: upsert every bank's ``FundDay`` for its
    date and mark it ``done``. A run already done is returned as it is. Raises
    StateConflict (409) for a run that failed."""
    with transaction.atomic():
        run = CloseRun.objects.select_for_update().get(pk=run_id)
        if run.status == CloseRun.Status.DONE:
            return run
        if run.status != CloseRun.Status.RUNNING:
            raise StateConflict(_("This close did not finish: it failed."), state=run.status)
        _fund_days_store(fund_days(run.business_date))
        run.status = CloseRun.Status.DONE
        run.chunks_done = run.chunks
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "chunks_done", "finished_at"])
        audit_record(actor=None, action="close_finish", subject=run, after={"status": run.status, "loans": run.loans})
    logger.info("closed %s: %s loans in %s chunks", run.business_date, run.loans, run.chunks)
    return run


def close_fail(*, run_id: int, error: str) -> None:
    """Mark a running run failed (the next catch-up closes its date again)."""
    if CloseRun.objects.filter(pk=run_id, status=CloseRun.Status.RUNNING).update(
        status=CloseRun.Status.FAILED, finished_at=timezone.now(), error=error[:2000]
    ):
        audit_record(
            actor=None,
            action="close_fail",
            subject=Subject("closerun", str(run_id), f"close run {run_id}"),
            after={"status": "failed"},
            note=error,
        )
    logger.error("close run %s failed: %s", run_id, error)


#: Told after each chunk of a close run in this process: the chunks done, the run's
#: chunks, and the loans closed so far.
ChunkProgress = Callable[[int, int, int], None]


def close_business_date(*, business_date: date, progress: ChunkProgress | None = None) -> CloseRun:
    """Close ``business_date`` in this process: start, every chunk one after the other
    (``progress`` told after each), finish. A failure marks the run failed and is raised
    again. Raises what :func:`close_start` raises."""
    plan = close_start(business_date=business_date)
    try:
        rules = close_rules()
        loans = 0
        for done, (low, high) in enumerate(plan.chunks, start=1):
            loans += close_chunk(run_id=plan.run_id, low=low, high=high, rules=rules).loans
            if progress is not None:
                progress(done, len(plan.chunks), loans)
        return close_finish(run_id=plan.run_id)
    except Exception as exc:
        close_fail(run_id=plan.run_id, error=repr(exc))
        raise


def close_catch_up(*, until: date) -> list[CloseRun]:
    """Close every date after the last closed one up to ``until`` (``until`` alone when
    nothing was ever closed), one after the other, in this process. Returns the runs.
    Stops at the first failure (raised; its run is marked failed)."""
    return [close_business_date(business_date=day) for day in close_dates_due(until=until)]


def loans_close_recompute(*, loan_ids: Sequence[int], from_date: date) -> None:
    """Redo the close's figures (days past due, arrears, collectibility, status) and
    snapshots of ``loan_ids`` for every closed date from ``from_date`` on, inside the
    caller's transaction (a backdated repayment or a reversal; the caller holds the
    loans' row locks). No penalty is charged. The dates run to the last closed date, or
    to a later date a running close already closed these loans for. The loans'
    snapshots of those dates are rewritten (a loan no longer in scope on a date loses
    its row, as a fresh close would not write it), and so are their banks' fund days of
    the dates already finished (what was collected that day, the outstanding by class,
    the fund available): as the close would have written them, had the repayment been
    booked before it. Nothing happens when no date was closed from ``from_date`` on.

    The fund days are made again whole, for the loans' banks only: one aggregate of the
    day's snapshots per date, so a repayment backdated by a day or two (a bank's
    overnight feed) costs a few of them and one of the same day none."""
    ids = sorted(set(loan_ids))
    if not ids:
        return
    last_closed = business_date_last_closed()
    latest_as_of = Loan.objects.filter(pk__in=ids).aggregate(latest=Max("as_of"))["latest"]
    _close_recompute(ids, from_date, last_closed=last_closed, latest_as_of=latest_as_of)


def loan_close_recompute(*, loan: Loan, from_date: date, last_closed: date | None) -> None:
    """:func:`loans_close_recompute` of one ``loan`` the caller read under its row lock
    (so its ``as_of`` is the stored one), with the last closed business date
    (``last_closed``) the caller read in the same transaction: nothing to read again."""
    _close_recompute([loan.pk], from_date, last_closed=last_closed, latest_as_of=loan.as_of)


def _close_recompute(ids: list[int], from_date: date, *, last_closed: date | None, latest_as_of: date | None) -> None:
    upper = max((day for day in (last_closed, latest_as_of) if day is not None), default=None)
    if upper is None or from_date > upper:
        return
    dates = sorted(
        set(
            CloseRun.objects.filter(
                status__in=[CloseRun.Status.DONE, CloseRun.Status.RUNNING], business_date__range=(from_date, upper)
            ).values_list("business_date", flat=True)
        )
    )
    if not dates:
        return
    rules = close_rules()
    with transaction.atomic():
        LoanSnapshot.objects.filter(loan_id__in=ids, business_date__in=dates).delete()
        for day in dates:
            sql = CloseSql(
                business_date=day,
                loan_ids=ids,
                only_closed_since=last_closed is None or day > last_closed,
            )
            close_loans(sql, rules, penalties=False, lock=False)
        banks = sorted(set(Loan.objects.filter(pk__in=ids).values_list("bank_id", flat=True)))
        finished = CloseRun.objects.filter(status=CloseRun.Status.DONE, business_date__in=dates)
        for day in sorted(set(finished.values_list("business_date", flat=True))):
            _fund_days_store(fund_days(day, bank_ids=banks))


# --- reads -----------------------------------------------------------------------------------


def close_status() -> dict[str, Any]:
    """The close's state for the API: the last closed date, the running run (if any)
    and the last 10 runs, newest first."""
    running = CloseRun.objects.filter(status=CloseRun.Status.RUNNING).first()
    recent = list(CloseRun.objects.order_by("-started_at", "-id")[:10])
    return {
        "last_closed": business_date_last_closed(),
        "running": running
        and {
            "business_date": running.business_date,
            "started_at": running.started_at,
            "chunks": running.chunks,
            "chunks_done": running.chunks_done,
        },
        "recent": [
            {
                "business_date": run.business_date,
                "status": run.status,
                "loans": run.loans,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "seconds": round((run.finished_at - run.started_at).total_seconds(), 3) if run.finished_at else None,
            }
            for run in recent
        ],
    }


def close_running_now() -> CloseRun | None:
    """The running close that is not stale (a stale one would be taken over)."""
    stale_before = timezone.now() - timedelta(seconds=settings.CLOSE_STALE_SECONDS)
    return CloseRun.objects.filter(status=CloseRun.Status.RUNNING, started_at__gte=stale_before).first()
