"""Storing disbursed loans' schedules: computed for many loans at once by the vectorised
engine and written in one bulk operation (COPY on PostgreSQL), never one INSERT per
installment.

A loan is disbursed with ``schedule_status = pending``; these services store its
schedule (version ``schedule_version``) and mark it ``ready`` in the same transaction.
They are idempotent: only loans still pending are taken, each under a row lock taken
with SKIP LOCKED (a loan locked by another worker is being stored by it), so a loan's
schedule is stored once however many tasks ask for it. The unique constraint on
(loan, schedule_version, number) is the backstop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from loans import money
from loans.models import Installment, Loan
from loans.schedule import LoanTerms, ScheduleError
from loans.schedule_batch import ScheduleBatch, build_schedules

logger = logging.getLogger(__name__)

#: Loans taken per transaction by the sweep.
SWEEP_BATCH_SIZE = 2000
#: Transactions one sweep runs at most, so one task never runs unbounded.
SWEEP_MAX_BATCHES = 20
#: Rows formatted and written to COPY at a time (bounds the memory of the text buffer).
COPY_CHUNK_ROWS = 20_000
#: Rows per INSERT where COPY is not available (SQLite caps it lower by itself).
BULK_CREATE_BATCH_SIZE = 5000

_COPY_SQL = (
    "COPY loans_installment (loan_id, schedule_version, number, due_date, principal, interest, installment, "
    "balance, principal_paid, interest_paid, penalty, penalty_paid) FROM STDIN"
)
_TERMS_FIELDS = (
    "pk",
    "principal",
    "annual_rate",
    "method",
    "tenor_months",
    "grace_months",
    "rounding",
    "interest_rounding",
    "installment_rounding",
    "business_days",
    "disbursed_on",
    "schedule_version",
    "already_stored",
)


@dataclass(frozen=True)
class _PendingLoans:
    """The copied terms of locked pending loans, one array (or list) entry per loan."""

    ids: npt.NDArray[np.int64]
    principal: list[int]
    rate_units: list[int]
    method: list[str]
    tenor_months: list[int]
    grace_months: list[int]
    rounding: list[int]
    interest_rounding: list[str]
    installment_rounding: list[str]
    business_days: list[bool]
    disbursed_on: list[date]
    schedule_version: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ids.size)

    def terms(self, index: int) -> LoanTerms:
        """Loan ``index``'s terms for the per-loan engine (raises ScheduleError)."""
        return LoanTerms(
            principal=self.principal[index],
            annual_rate=money.format_rate_units(self.rate_units[index]),
            tenor_months=self.tenor_months[index],
            disbursement_date=self.disbursed_on[index],
            method=self.method[index],  # type: ignore[arg-type]  # checked by LoanTerms
            grace_months=self.grace_months[index],
            rounding=self.rounding[index],
            interest_rounding=self.interest_rounding[index],  # type: ignore[arg-type]
            installment_rounding=self.installment_rounding[index],  # type: ignore[arg-type]
            business_days=self.business_days[index],
        )

    def subset(self, indexes: Sequence[int]) -> _PendingLoans:
        return _PendingLoans(
            ids=self.ids[list(indexes)],
            principal=[self.principal[i] for i in indexes],
            rate_units=[self.rate_units[i] for i in indexes],
            method=[self.method[i] for i in indexes],
            tenor_months=[self.tenor_months[i] for i in indexes],
            grace_months=[self.grace_months[i] for i in indexes],
            rounding=[self.rounding[i] for i in indexes],
            interest_rounding=[self.interest_rounding[i] for i in indexes],
            installment_rounding=[self.installment_rounding[i] for i in indexes],
            business_days=[self.business_days[i] for i in indexes],
            disbursed_on=[self.disbursed_on[i] for i in indexes],
            schedule_version=self.schedule_version[list(indexes)],
        )


def _pending_loans(rows: list[tuple[Any, ...]]) -> _PendingLoans:
    """The loans' terms from rows of ``_TERMS_FIELDS``."""
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in _TERMS_FIELDS]
    by_name = dict(zip(_TERMS_FIELDS, columns, strict=True))
    rate_cache: dict[Decimal, int] = {}
    rate_units = []
    for rate in by_name["annual_rate"]:
        units = rate_cache.get(rate)
        if units is None:
            units = rate_cache[rate] = money.parse_annual_rate(rate)
        rate_units.append(units)
    return _PendingLoans(
        ids=np.array(by_name["pk"], dtype=np.int64),
        principal=list(by_name["principal"]),
        rate_units=rate_units,
        method=list(by_name["method"]),
        tenor_months=list(by_name["tenor_months"]),
        grace_months=list(by_name["grace_months"]),
        rounding=list(by_name["rounding"]),
        interest_rounding=list(by_name["interest_rounding"]),
        installment_rounding=list(by_name["installment_rounding"]),
        business_days=list(by_name["business_days"]),
        disbursed_on=list(by_name["disbursed_on"]),
        schedule_version=np.array(by_name["schedule_version"], dtype=np.int64),
    )


def _build(loans: _PendingLoans) -> ScheduleBatch:
    """All the loans' schedules at once (raises ValueError/TypeError for terms outside
    the engine's ranges)."""
    return build_schedules(
        loans.principal,
        loans.rate_units,
        loans.tenor_months,
        np.array(loans.disbursed_on, dtype="datetime64[D]"),
        method=loans.method,
        grace_months=loans.grace_months,
        rounding=loans.rounding,
        interest_rounding=loans.interest_rounding,
        installment_rounding=loans.installment_rounding,
        business_days=np.array(loans.business_days, dtype=np.bool_),
    )


def _build_accepting(loans: _PendingLoans) -> tuple[_PendingLoans, ScheduleBatch]:
    """The loans' schedules, any loan the engine refuses logged (it stays pending, its
    rows are not stored: ``batch.refused``); one bad loan never blocks the others.
    Returns the loans computed (those with terms in the engine's ranges) and their batch."""
    try:
        batch = _build(loans)
    except (TypeError, ValueError):
        # Terms outside the engine's ranges stop the whole vectorised call: find the
        # culprits one by one (rare: terms were checked at approval), then go on without them.
        kept = []
        for index in range(len(loans)):
            try:
                loans.terms(index)
            except ScheduleError as exc:
                logger.error(
                    "loan %s: schedule refused (%s: %s); left pending", int(loans.ids[index]), exc.field, exc.message
                )
            else:
                kept.append(index)
        loans = loans.subset(kept)
        batch = _build(loans)
    for index in np.flatnonzero(batch.refused).tolist():
        logger.error("loan %s: schedule refused (%s); left pending", int(loans.ids[index]), batch.reasons[index])
    return loans, batch


def _copy_chunks(loans: _PendingLoans, batch: ScheduleBatch) -> Iterator[str]:
    """The installment rows as COPY text (tab-separated, one line per row), in chunks
    of at most COPY_CHUNK_ROWS rows, formatted column-wise from the batch matrices."""
    mask = (np.arange(batch.principal.shape[1])[None, :] < batch.tenor_months[:, None]) & ~batch.refused[:, None]
    loan_index, column = np.nonzero(mask)
    # Column prefixes that repeat per loan are formatted once per loan.
    loan_prefix = np.array(
        [
            f"{loan_id}\t{version}\t"
            for loan_id, version in zip(loans.ids.tolist(), loans.schedule_version.tolist(), strict=True)
        ],
        dtype=object,
    )
    prefixes = loan_prefix[loan_index]
    numbers = column + 1
    due_dates = batch.due_date[mask]
    principal = batch.principal[mask]
    interest = batch.interest[mask]
    installment = batch.installment[mask]
    balance = batch.balance[mask]
    for start in range(0, int(loan_index.size), COPY_CHUNK_ROWS):
        part = slice(start, start + COPY_CHUNK_ROWS)
        yield "".join(
            f"{prefix}{number}\t{due}\t{p}\t{i}\t{a}\t{b}\t0\t0\t0\t0\n"
            for prefix, number, due, p, i, a, b in zip(
                prefixes[part].tolist(),
                numbers[part].tolist(),
                due_dates[part].astype(str).tolist(),
                principal[part].tolist(),
                interest[part].tolist(),
                installment[part].tolist(),
                balance[part].tolist(),
                strict=True,
            )
        )


def _insert_rows(loans: _PendingLoans, batch: ScheduleBatch) -> None:
    if connection.vendor == "postgresql":
        from psycopg.copy import QueuedLibpqWriter  # psycopg is there only with PostgreSQL

        with connection.cursor() as cursor:
            # For more than one chunk, a queued writer sends from a thread of its own so
            # the server takes in one chunk while the next is formatted; for one chunk
            # the thread would cost more than it saves.
            rows = int(batch.tenor_months[~batch.refused].sum())
            writer = QueuedLibpqWriter(cursor.cursor) if rows > COPY_CHUNK_ROWS else None
            with cursor.cursor.copy(_COPY_SQL, writer=writer) as copy:
                for chunk in _copy_chunks(loans, batch):
                    copy.write(chunk)
        return
    ids = loans.ids.tolist()
    versions = loans.schedule_version.tolist()
    Installment.objects.bulk_create(
        (
            Installment(
                loan_id=ids[index],
                schedule_version=versions[index],
                number=number,
                due_date=due_date,
                principal=principal,
                interest=interest,
                installment=installment,
                balance=balance,
            )
            for index, number, due_date, principal, interest, installment, balance in batch.rows()
        ),
        batch_size=BULK_CREATE_BATCH_SIZE,
    )


#: The due date of a loan's oldest open installment of its current version.
_oldest_unpaid_due = (
    Installment.objects.filter(loan=OuterRef("pk"), schedule_version=OuterRef("schedule_version"), paid_on__isnull=True)
    .order_by("due_date")
    .values("due_date")[:1]
)


def _store_locked(loans: QuerySet[Loan], *, limit: int | None = None) -> tuple[int, int, int | None]:
    """Lock the pending loans among ``loans`` (lowest ids first, at most ``limit``,
    skipping those another transaction holds), store their schedules and mark them
    ready, inside the caller's transaction. Returns how many loans were stored, how
    many were taken (stored or refused) and the highest loan id taken (None when none was)."""
    already_stored = Installment.objects.filter(loan=OuterRef("pk"), schedule_version=OuterRef("schedule_version"))
    locked = (
        loans.filter(schedule_status=Loan.ScheduleStatus.PENDING)
        .select_for_update(skip_locked=True)
        .annotate(already_stored=Exists(already_stored))
        .order_by("pk")
        .values_list(*_TERMS_FIELDS)
    )
    rows = list(locked if limit is None else locked[:limit])
    if not rows:
        return 0, 0, None
    # Rows of the loan's current version exist though it is still pending: only a
    # hand-made change can do that. Storing again would break the unique constraint;
    # the schedule is there, so the loan is ready.
    stored_before = [row[0] for row in rows if row[-1]]
    if stored_before:
        logger.warning("loans %s were pending with their schedule already stored; marked ready", stored_before)
    pending, batch = _build_accepting(_pending_loans([row for row in rows if not row[-1]]))
    accepted = pending.ids[~batch.refused].tolist()
    if accepted:
        _insert_rows(pending, batch)
    if accepted or stored_before:
        Loan.objects.filter(pk__in=[*accepted, *stored_before]).update(
            schedule_status=Loan.ScheduleStatus.READY, oldest_unpaid_due=Subquery(_oldest_unpaid_due)
        )
    return len(accepted), len(rows), rows[-1][0]


def loan_schedules_store(*, loan_ids: Sequence[int]) -> int:
    """Store the schedules of the loans ``loan_ids`` that are still pending, all in one
    transaction: computed at once by the vectorised engine, inserted in one bulk
    operation, then marked ready. Loans already ready, or locked by another worker
    storing them, are skipped; a loan the engine refuses is logged and left pending
    without blocking the others. Returns the number of loans stored."""
    if not loan_ids:
        return 0
    with transaction.atomic():
        stored, _, _ = _store_locked(Loan.objects.filter(pk__in=list(loan_ids)))
    return stored


def loan_schedules_store_pending(*, limit: int = SWEEP_BATCH_SIZE, max_batches: int = SWEEP_MAX_BATCHES) -> int:
    """Sweep: store pending loans, oldest first, ``limit`` loans per transaction, until
    none is left or ``max_batches`` transactions have run, so one call drains a backlog
    and no loan stays pending when a message was lost. Loans locked by another worker
    are skipped; a refused loan is left behind, never taken again by the same sweep.
    Returns the number of loans stored."""
    stored = 0
    after = 0
    for _ in range(max_batches):
        with transaction.atomic():
            batch_stored, taken, last_id = _store_locked(Loan.objects.filter(pk__gt=after), limit=limit)
        stored += batch_stored
        if last_id is None or taken < limit:
            break
        after = last_id
    return stored


def loan_schedule_pending_exists() -> bool:
    """Whether any loan still waits for its schedule (one indexed query)."""
    return Loan.objects.filter(schedule_status=Loan.ScheduleStatus.PENDING).exists()
