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

**Figures.** Days past due = D minus the oldest due date among installments open at D
and due before D (0 when none). Arrears are the unpaid principal, interest and penalty
of open installments due on or before D; unpaid penalties of installments already paid
count in the penalty arrears too (they never drive days past due). Collectibility is the
highest grade of the bank kind's table (``CollectibilityClass``, loaded once per chunk)
whose ``min_days`` the days past due reach, as :func:`loans.collectibility.grade_for`;
a loan whose ``collectibility_hold`` is set keeps that class while D <= ``hold_until``.
(When an earlier date is closed again, penalties charged by later closes are in its
penalty arrears: when a penalty was charged is not kept, only ``penalty_through``.)

**Penalties** (only products whose ``penalty_percent_per_day`` is above 0, and only on a
date after the loan's last close, ``as_of < D``): every installment still open (``paid_on
IS NULL``) with ``due_date + penalty_grace_days < D`` and ``penalty_through`` empty or
before D is charged for the days from ``greatest(penalty_through, due_date + grace)`` to
D: ``charge = rate / 100 x (installment - principal_paid - interest_paid -
interest_waived) x days``, **rounded half up to whole rupiah once per charge** (one
charge per installment per close run, so a missed night caught up date by date rounds
once per date); the new penalty is ``least(penalty + charge, cap)`` with ``cap =
floor(penalty_cap_percent / 100 x installment)`` when the product sets a cap (and never
below the penalty already charged). ``penalty_through = D`` makes it idempotent. The
arithmetic is exact integer arithmetic in 1/10,000 percent units (numeric on PostgreSQL).

**Writes.** A loan's columns move only forwards (``as_of`` empty or <= D) and only when a
value changes; a loan with no installment left open and no principal outstanding becomes
``paid_off`` (a safety net: repayments normally do it). One ``LoanSnapshot`` per loan in
scope per date is upserted, so re-running D gives the same rows. The finish upserts one
``FundDay`` per bank. Running a date twice changes nothing.

**Runs.** :func:`close_start` inserts a ``running`` ``CloseRun`` (a partial unique index
allows one: another running close is refused with :class:`CloseRunning`, never waited
for; one older than ``CLOSE_STALE_SECONDS`` is marked failed and taken over) and cuts the
loans in scope into id ranges of ``CLOSE_CHUNK_LOANS``; :func:`close_chunk` closes one
range in its own transaction (under the loans' row locks, in id order, so it serialises
with repayments of the same loans); :func:`close_finish` writes the fund days and marks
the run done. The last closed business date is the latest done run's date.

Works on PostgreSQL (one statement per chunk step) and SQLite (the same SQL with the
dialect's date arithmetic, the writes as separate statements).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q, Sum
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Subject, audit_record
from banks.models import Allocation, Bank
from config.errors import ApplicationError, StateConflict
from loans.models import (
    CloseRun,
    CollectibilityClass,
    FundDay,
    Loan,
    LoanSnapshot,
    ProductTerms,
    Repayment,
    RepaymentAllocation,
)
from loans.selectors.servicing import business_date_last_closed

logger = logging.getLogger(__name__)

#: The programme's business days are Jakarta's (no daylight saving: always UTC+7).
BUSINESS_TIME_ZONE = ZoneInfo("Asia/Jakarta")
#: Percent values are handled in units of 1/10,000 percent (4 decimals, as stored).
PERCENT_SCALE = 10_000
#: ``percent units x amount`` divided by this is rupiah (1/10,000 percent of 1/100).
_UNITS_PER_WHOLE = PERCENT_SCALE * 100
#: The upper end of the last chunk's id range (loans created later still fall in it).
_LAST_ID = 2**62
_OPEN = (Loan.Status.ACTIVE.value, Loan.Status.OVERDUE.value)
CLASS_KEYS = ("1", "2", "3", "4", "5")


class CloseRunning(StateConflict):
    """Another close is running (409): it is reported, never waited for."""

    def __init__(self, run: CloseRun) -> None:
        super().__init__(
            _("A close of %(date)s is running since %(started)s.")
            % {"date": run.business_date.isoformat(), "started": run.started_at.isoformat(timespec="seconds")},
            state=CloseRun.Status.RUNNING,
        )
        self.run = run


def business_today() -> date:
    """Today in Asia/Jakarta."""
    return timezone.localdate(timezone=BUSINESS_TIME_ZONE)


def business_yesterday() -> date:
    """Yesterday in Asia/Jakarta: the date the nightly close closes."""
    return business_today() - timedelta(days=1)


def close_dates_due(*, until: date) -> list[date]:
    """The dates a catch-up to ``until`` closes, in order: every date after the last
    closed one up to ``until``, or ``until`` alone when nothing was ever closed."""
    last = business_date_last_closed()
    if last is None:
        return [until]
    return [last + timedelta(days=offset) for offset in range(1, (until - last).days + 1)]


# --- the rules a run applies -----------------------------------------------------------


@dataclass(frozen=True)
class PenaltyRule:
    """A product version's penalty: ``rate_units`` (1/10,000 percent a day), the grace
    in days and the cap in 1/10,000 percent of the installment (None: no cap)."""

    terms_id: int
    rate_units: int
    grace_days: int
    cap_units: int | None


@dataclass(frozen=True)
class CloseRules:
    """What a close applies besides the ledger: the collectibility tables as
    ``(bank_kind, grade, min_days)`` rows and the penalty rules."""

    grades: tuple[tuple[str, int, int], ...]
    penalties: tuple[PenaltyRule, ...]


def _percent_units(value: Decimal) -> int:
    """A stored percent (at most 4 decimals) in 1/10,000 percent, exactly."""
    return int(value * PERCENT_SCALE)


def close_rules() -> CloseRules:
    """Load the collectibility tables and the penalty rules (two small queries)."""
    grades = tuple(
        CollectibilityClass.objects.order_by("bank_kind", "-grade").values_list("bank_kind", "grade", "min_days")
    )
    penalties = tuple(
        PenaltyRule(
            terms_id=terms_id,
            rate_units=_percent_units(rate),
            grace_days=grace,
            cap_units=None if cap is None else _percent_units(cap),
        )
        for terms_id, rate, grace, cap in ProductTerms.objects.filter(penalty_percent_per_day__gt=0)
        .order_by("pk")
        .values_list("pk", "penalty_percent_per_day", "penalty_grace_days", "penalty_cap_percent")
    )
    return CloseRules(grades=grades, penalties=penalties)


# --- SQL ---------------------------------------------------------------------------------


class _Sql:
    """The close's SQL for one business date and one set of loans (an id range or a
    list of ids), in PostgreSQL's or SQLite's dialect. Statements are put together from
    fixed fragments (hence the ``noqa: S608``); every value is a parameter."""

    def __init__(
        self,
        *,
        business_date: date,
        low: int | None = None,
        high: int | None = None,
        loan_ids: Sequence[int] | None = None,
        bank_ids: Sequence[int] = (),
        only_closed_since: bool = False,
    ) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.params: dict[str, Any] = {"d": business_date if self.postgres else business_date.isoformat()}
        self.params.update(active=_OPEN[0], overdue=_OPEN[1], paid_off=Loan.Status.PAID_OFF.value)
        self.params.update(ready=Loan.ScheduleStatus.READY.value, booked=Repayment.Status.BOOKED.value)
        self.by_ids = loan_ids is not None
        if loan_ids is not None:
            names = self._bind("id", loan_ids)
            self.loan_filter = f"l.id IN ({names})"
            self.installment_filter = f"i.loan_id IN ({names})"
            self.repayment_filter = f"r.loan_id IN ({names})"
        else:
            self.params.update(low=low, high=high)
            self.loan_filter = "l.id BETWEEN %(low)s AND %(high)s"
            self.installment_filter = "i.loan_id BETWEEN %(low)s AND %(high)s"
            # Repayments are reached by (bank, paid_on): a few index probes per bank.
            banks = self._bind("bank", bank_ids or [0])
            self.repayment_filter = f"r.bank_id IN ({banks}) AND r.loan_id BETWEEN %(low)s AND %(high)s"
        # Recomputing a date whose run is still going: only loans its chunks closed.
        if only_closed_since:
            self.loan_filter += " AND l.as_of >= %(d)s"

    def _bind(self, prefix: str, values: Sequence[Any]) -> str:
        names = []
        for index, value in enumerate(values):
            name = f"{prefix}_{index}"
            self.params[name] = value
            names.append(f"%({name})s")
        return ", ".join(names)

    # Dialect pieces.
    def days(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later`` (dates)."""
        if self.postgres:
            return f"({later} - {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def plus_days(self, day: str, days: str) -> str:
        if self.postgres:
            return f"({day} + {days})"
        return f"date({day}, '+' || ({days}) || ' days')"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.postgres else f"MAX({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.postgres else f"MIN({a}, {b})"

    def changed(self, pairs: Sequence[tuple[str, str]]) -> str:
        operator = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        return " OR ".join(f"{a} {operator} {b}" for a, b in pairs)

    def materialized(self) -> str:
        return "MATERIALIZED " if self.postgres else ""

    def scope_condition(self) -> str:
        """The loans a close of D reads: stored schedule, disbursed by D, and active or
        overdue now, or paid off after D (they were still open at D)."""
        return (
            f"{self.loan_filter} AND l.schedule_status = %(ready)s AND l.disbursed_on <= %(d)s "
            "AND (l.status IN (%(active)s, %(overdue)s) OR (l.status = %(paid_off)s AND l.closed_on > %(d)s))"
        )

    # Statements.
    def lock_loans(self) -> str:
        """Row locks on the chunk's open loans, in id order (PostgreSQL): the close and a
        repayment of the same loan then serialise, loan row first."""
        return (
            "SELECT COUNT(*) FROM (SELECT l.id FROM loans_loan l "  # noqa: S608
            f"WHERE {self.loan_filter} AND l.status IN (%(active)s, %(overdue)s) "
            "ORDER BY l.id FOR NO KEY UPDATE) locked"
        )

    def charge_penalties(self, rules: Sequence[PenaltyRule]) -> str:
        rows = []
        for index, rule in enumerate(rules):
            self.params.update(
                {
                    f"pt_{index}": rule.terms_id,
                    f"pr_{index}": rule.rate_units,
                    f"pg_{index}": rule.grace_days,
                    f"pc_{index}": rule.cap_units,
                }
            )
            rows.append(f"(%(pt_{index})s, %(pr_{index})s, %(pg_{index})s, CAST(%(pc_{index})s AS BIGINT))")
        grace_end = self.plus_days("i.due_date", "r.grace_days")
        start = self.greatest(f"COALESCE(i.penalty_through, {grace_end})", grace_end)
        days = self.days("%(d)s", start)
        base = "(i.installment - i.principal_paid - i.interest_paid - i.interest_waived)"
        if self.postgres:
            charge = (
                f"FLOOR((r.rate_units::numeric * {base} * {days} + {_UNITS_PER_WHOLE // 2}) / {_UNITS_PER_WHOLE})"
                "::bigint"
            )
            cap = f"FLOOR(r.cap_units::numeric * i.installment / {_UNITS_PER_WHOLE})::bigint"
        else:
            charge = f"((r.rate_units * {base} * {days} + {_UNITS_PER_WHOLE // 2}) / {_UNITS_PER_WHOLE})"
            cap = f"((r.cap_units * i.installment) / {_UNITS_PER_WHOLE})"
        capped = self.greatest(
            "i.penalty",
            f"CASE WHEN r.cap_units IS NULL THEN i.penalty + {charge} "
            f"ELSE {self.least(f'i.penalty + {charge}', cap)} END",
        )
        return f"""
WITH rules (terms_id, rate_units, grace_days, cap_units) AS (VALUES {", ".join(rows)}),
charged AS {self.materialized()}(
  SELECT i.id, {capped} AS penalty
  FROM loans_loan l
  JOIN rules r ON r.terms_id = l.terms_id
  JOIN loans_installment i ON i.loan_id = l.id AND i.schedule_version = l.schedule_version
  WHERE {self.loan_filter} AND l.status IN (%(active)s, %(overdue)s) AND l.schedule_status = %(ready)s
    AND l.disbursed_on <= %(d)s AND (l.as_of IS NULL OR l.as_of < %(d)s)
    AND {self.installment_filter} AND i.paid_on IS NULL AND i.due_date < %(d)s AND {grace_end} < %(d)s
    AND (i.penalty_through IS NULL OR i.penalty_through < %(d)s)
)
UPDATE loans_installment SET penalty = charged.penalty, penalty_through = %(d)s
FROM charged WHERE loans_installment.id = charged.id"""  # noqa: S608

    def figures(self, rules: CloseRules) -> str:
        """The CTEs that end in ``figures``: one row per loan in scope with its figures at D."""
        whens = []
        for index, (kind, grade, min_days) in enumerate(rules.grades):
            self.params.update({f"ck_{index}": kind, f"cm_{index}": min_days, f"cg_{index}": grade})
            whens.append(f"WHEN f.bank_kind = %(ck_{index})s AND f.days_past_due >= %(cm_{index})s THEN %(cg_{index})s")
        grade_case = f"CASE {' '.join(whens)} ELSE 1 END" if whens else "1"
        penalty_terms = self._bind("penalty_terms", [rule.terms_id for rule in rules.penalties])
        unpaid = (
            "i.principal - i.principal_paid AS principal, "
            "i.interest - i.interest_paid - i.interest_waived AS interest, "
            "i.penalty - i.penalty_paid AS penalty"
        )
        columns = "i.id, i.loan_id, i.schedule_version, i.due_date"
        # A penalty left unpaid on an installment whose principal and interest are paid
        # was charged while it was open, so the close that charged it found penalty
        # arrears, and every close since did while it stayed unpaid: only loans whose
        # last close did (or that paid a penalty after D) can have one, which spares
        # reading every installment of the chunk. Recomputing a few loans reads them all.
        penalty_loans = (
            ""
            if self.by_ids
            else "AND (s.arrears_penalty > 0 OR s.id IN "
            "(SELECT loan_id FROM later_allocation WHERE component = 'penalty'))"
        )
        paid_penalties = (
            f"""
  UNION ALL
  SELECT {columns}, 0 AS is_open, 0 AS principal, 0 AS interest, i.penalty - i.penalty_paid AS penalty
  FROM scope s JOIN loans_installment i ON i.loan_id = s.id AND i.schedule_version = s.schedule_version
  WHERE s.terms_id IN ({penalty_terms}) {penalty_loans}
    AND i.paid_on <= %(d)s AND i.due_date <= %(d)s AND i.penalty > 0"""  # noqa: S608
            if rules.penalties
            else ""
        )
        materialized = self.materialized()
        return f"""
WITH scope AS {materialized}(
  SELECT l.id, l.bank_id, b.kind AS bank_kind, l.terms_id, l.schedule_version, l.outstanding_principal,
         l.status, l.collectibility_hold, l.hold_until, l.arrears_penalty
  FROM loans_loan l JOIN banks_bank b ON b.id = l.bank_id
  WHERE {self.scope_condition()}
),
later_allocation AS {materialized}(
  SELECT r.loan_id, a.installment_id, a.component, a.amount
  FROM loans_repayment r JOIN loans_repaymentallocation a ON a.repayment_id = r.id
  WHERE {self.repayment_filter} AND r.paid_on > %(d)s AND r.status = %(booked)s AND a.undone_at IS NULL
),
later AS (
  SELECT a.installment_id,
    SUM(CASE WHEN a.component = 'principal' THEN a.amount ELSE 0 END) AS principal,
    SUM(CASE WHEN a.component = 'interest' THEN a.amount ELSE 0 END) AS interest,
    SUM(CASE WHEN a.component = 'penalty' THEN a.amount ELSE 0 END) AS penalty
  FROM later_allocation a GROUP BY a.installment_id
),
later_principal AS (
  SELECT loan_id, CAST(SUM(amount) AS BIGINT) AS principal
  FROM later_allocation WHERE component = 'principal' GROUP BY loan_id
),
open_at AS {materialized}(
  SELECT {columns}, 1 AS is_open, {unpaid}
  FROM loans_installment i WHERE i.paid_on IS NULL AND i.due_date <= %(d)s AND {self.installment_filter}
  UNION ALL
  SELECT {columns}, 1 AS is_open, {unpaid}
  FROM loans_installment i WHERE i.paid_on > %(d)s AND i.due_date <= %(d)s AND {self.installment_filter}{paid_penalties}
),
per_loan AS (
  SELECT o.loan_id,
    MIN(CASE WHEN o.is_open = 1 AND o.due_date < %(d)s THEN o.due_date END) AS oldest_due,
    CAST(SUM(CASE WHEN o.is_open = 1 THEN o.principal + COALESCE(t.principal, 0) ELSE 0 END) AS BIGINT) AS principal,
    CAST(SUM(CASE WHEN o.is_open = 1 THEN o.interest + COALESCE(t.interest, 0) ELSE 0 END) AS BIGINT) AS interest,
    CAST(SUM(o.penalty + COALESCE(t.penalty, 0)) AS BIGINT) AS penalty
  FROM open_at o
  JOIN scope s ON s.id = o.loan_id AND s.schedule_version = o.schedule_version
  LEFT JOIN later t ON t.installment_id = o.id
  GROUP BY o.loan_id
),
payoff AS (
  SELECT s.id AS loan_id, MAX(i.paid_on) AS closed_on
  FROM scope s JOIN loans_installment i ON i.loan_id = s.id AND i.schedule_version = s.schedule_version
  WHERE s.outstanding_principal = 0 AND s.status IN (%(active)s, %(overdue)s)
  GROUP BY s.id
  HAVING SUM(CASE WHEN i.paid_on IS NULL THEN 1 ELSE 0 END) = 0 AND MAX(i.paid_on) <= %(d)s
),
dpd AS (
  SELECT s.id, s.bank_id, s.bank_kind, s.status AS status_now, s.collectibility_hold, s.hold_until,
    COALESCE({self.days("%(d)s", "p.oldest_due")}, 0) AS days_past_due,
    COALESCE(p.principal, 0) AS arrears_principal,
    COALESCE(p.interest, 0) AS arrears_interest,
    COALESCE(p.penalty, 0) AS arrears_penalty,
    s.outstanding_principal + COALESCE(lp.principal, 0) AS outstanding_principal
  FROM scope s LEFT JOIN per_loan p ON p.loan_id = s.id LEFT JOIN later_principal lp ON lp.loan_id = s.id
),
figures AS {materialized}(
  SELECT f.id, f.bank_id, f.status_now, f.days_past_due, f.arrears_principal, f.arrears_interest,
    f.arrears_penalty, f.outstanding_principal,
    CASE WHEN f.collectibility_hold IS NOT NULL AND f.hold_until IS NOT NULL AND %(d)s <= f.hold_until
      THEN f.collectibility_hold ELSE {grade_case} END AS collectibility,
    CASE WHEN po.loan_id IS NOT NULL THEN %(paid_off)s WHEN f.days_past_due > 0 THEN %(overdue)s
      ELSE %(active)s END AS status,
    po.closed_on
  FROM dpd f LEFT JOIN payoff po ON po.loan_id = f.id
)"""  # noqa: S608

    def update_loans(self) -> str:
        changed = self.changed(
            [
                ("l.as_of", "%(d)s"),
                ("l.days_past_due", "f.days_past_due"),
                ("l.arrears_principal", "f.arrears_principal"),
                ("l.arrears_interest", "f.arrears_interest"),
                ("l.arrears_penalty", "f.arrears_penalty"),
                ("l.collectibility", "f.collectibility"),
                ("l.status", "f.status"),
            ]
        )
        return f"""UPDATE loans_loan AS l SET as_of = %(d)s, days_past_due = f.days_past_due,
  arrears_principal = f.arrears_principal, arrears_interest = f.arrears_interest,
  arrears_penalty = f.arrears_penalty, collectibility = f.collectibility, status = f.status,
  max_days_past_due = {self.greatest("l.max_days_past_due", "f.days_past_due")},
  closed_on = CASE WHEN f.status = %(paid_off)s THEN f.closed_on ELSE l.closed_on END
FROM figures f
WHERE l.id = f.id AND {self.loan_filter} AND l.status IN (%(active)s, %(overdue)s)
  AND (l.as_of IS NULL OR l.as_of <= %(d)s)
  AND ({changed} OR l.max_days_past_due < f.days_past_due)"""  # noqa: S608

    def upsert_snapshots(self) -> str:
        names = (
            "bank_id",
            "status",
            "outstanding_principal",
            "days_past_due",
            "collectibility",
            "arrears_principal",
            "arrears_interest",
            "arrears_penalty",
        )
        changed = self.changed([(f"loans_loansnapshot.{name}", f"excluded.{name}") for name in names])
        return f"""INSERT INTO loans_loansnapshot (business_date, loan_id, {", ".join(names)})
SELECT %(d)s, f.id, {", ".join(f"f.{name}" for name in names)} FROM figures f WHERE 1 = 1
ON CONFLICT (business_date, loan_id) DO UPDATE SET {", ".join(f"{name} = excluded.{name}" for name in names)}
WHERE {changed}"""  # noqa: S608


@dataclass
class ChunkResult:
    """What closing one chunk did, and how long each step took (seconds)."""

    loans: int = 0
    loans_updated: int = 0
    snapshots_written: int = 0
    installments_charged: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _close_loans(sql: _Sql, rules: CloseRules, *, penalties: bool, lock: bool) -> ChunkResult:
    """Steps 3 to 6 for the loans ``sql`` selects, inside the caller's transaction."""
    result = ChunkResult()
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.seconds[step] = result.seconds.get(step, 0.0) + now - clock
        clock = now

    with connection.cursor() as cursor:
        if sql.postgres:
            # The sorts and hashes of one chunk fit in memory instead of spilling to disk;
            # compiling the statements (JIT) costs more than it saves at this size. The
            # planner takes "unpaid" and "due by D" for independent and expects a quarter
            # of the chunk's installments where about 1% match, so at the default random
            # page cost it reads every installment of the chunk through the loan index
            # instead of the few open ones through ``installment_open_due`` (7x slower);
            # 1.1, the usual value for SSD storage, tips it to the partial index.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            if lock:
                cursor.execute(sql.lock_loans(), sql.params)
                lap("lock")
        if penalties and rules.penalties:
            cursor.execute(sql.charge_penalties(rules.penalties), sql.params)
            result.installments_charged = max(cursor.rowcount, 0)
            lap("penalties")
        figures = sql.figures(rules)
        if sql.postgres:
            cursor.execute(
                f"""{figures},
loan_update AS ({sql.update_loans()} RETURNING 1),
snapshot_upsert AS ({sql.upsert_snapshots()} RETURNING 1)
SELECT (SELECT COUNT(*) FROM figures), (SELECT COUNT(*) FROM loan_update), (SELECT COUNT(*) FROM snapshot_upsert)""",  # noqa: S608
                sql.params,
            )
            result.loans, result.loans_updated, result.snapshots_written = cursor.fetchone()
            lap("figures")
        else:
            cursor.execute(f"{figures} SELECT COUNT(*) FROM figures", sql.params)  # noqa: S608
            result.loans = cursor.fetchone()[0]
            # Each statement computes the figures again: snapshots first, since updating
            # the loans can take one out of scope (paid off).
            cursor.execute(f"{figures} {sql.upsert_snapshots()}", sql.params)
            result.snapshots_written = cursor.rowcount
            cursor.execute(f"{figures} {sql.update_loans()}", sql.params)
            result.loans_updated = cursor.rowcount
            lap("figures")
    return result


# --- runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosePlan:
    """A started run: its id, date and the loan id ranges of its chunks (inclusive)."""

    run_id: int
    business_date: date
    chunks: tuple[tuple[int, int], ...]


def _chunk_ranges(business_date: date, chunk_loans: int) -> tuple[tuple[int, int], ...]:
    """Id ranges of ``chunk_loans`` loans in scope each, covering every id."""
    sql = _Sql(business_date=business_date, low=0, high=_LAST_ID)
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
    highs = [start - 1 for start in starts[1:]] + [_LAST_ID]
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
        sql = _Sql(business_date=run.business_date, low=low, high=high, bank_ids=bank_ids)
        result = _close_loans(sql, rules, penalties=True, lock=True)
        counted = CloseRun.objects.filter(pk=run_id, status=CloseRun.Status.RUNNING).update(
            chunks_done=Least(F("chunks_done") + 1, F("chunks")), loans=F("loans") + result.loans
        )
        if not counted:
            raise CloseAborted(f"close run {run_id} stopped running during its chunk {low}-{high}")
    return result


def _fund_days(business_date: date) -> list[FundDay]:
    """Every bank's fund day at ``business_date`` (not saved). ``available`` = the
    allocations created on or before D (Asia/Jakarta) + principal repaid through D (the
    bank's counter less what repayments dated after D brought) - principal disbursed
    through D."""
    banks = list(Bank.objects.order_by("pk").values_list("pk", "principal_repaid"))
    bank_ids = [pk for pk, _ in banks]
    next_day = datetime.combine(business_date + timedelta(days=1), clock_time.min, tzinfo=BUSINESS_TIME_ZONE)
    allocated = dict(
        Allocation.objects.filter(created_at__lt=next_day)
        .values("bank")
        .annotate(total=Sum("amount"))
        .values_list("bank", "total")
    )
    lent = {
        bank: (on_day or 0, through or 0)
        for bank, on_day, through in Loan.objects.values("bank")
        .annotate(
            on_day=Sum("principal", filter=Q(disbursed_on=business_date)),
            through=Sum("principal", filter=Q(disbursed_on__lte=business_date)),
        )
        .values_list("bank", "on_day", "through")
    }
    active_allocations = RepaymentAllocation.objects.filter(
        undone_at__isnull=True, repayment__status=Repayment.Status.BOOKED, repayment__bank_id__in=bank_ids
    )
    flows: dict[int, dict[str, int]] = defaultdict(dict)
    for bank, component, total in (
        active_allocations.filter(repayment__paid_on=business_date)
        .values("repayment__bank_id", "component")
        .annotate(total=Sum("amount"))
        .values_list("repayment__bank_id", "component", "total")
    ):
        flows[bank][component] = total
    repaid_later = dict(
        active_allocations.filter(
            repayment__paid_on__gt=business_date, component=RepaymentAllocation.Component.PRINCIPAL
        )
        .values("repayment__bank_id")
        .annotate(total=Sum("amount"))
        .values_list("repayment__bank_id", "total")
    )
    by_class: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLASS_KEYS, 0))
    for bank, grade, total in (
        LoanSnapshot.objects.filter(business_date=business_date)
        .values("bank_id", "collectibility")
        .annotate(total=Sum("outstanding_principal"))
        .values_list("bank_id", "collectibility", "total")
    ):
        by_class[bank][str(grade)] = total
    days = []
    for bank, principal_repaid in banks:
        repaid_through = principal_repaid - repaid_later.get(bank, 0)
        disbursed_on_day, disbursed_through = lent.get(bank, (0, 0))
        outstanding = by_class[bank]
        days.append(
            FundDay(
                bank_id=bank,
                business_date=business_date,
                disbursed=disbursed_on_day,
                principal_repaid=flows[bank].get(RepaymentAllocation.Component.PRINCIPAL, 0),
                interest_collected=flows[bank].get(RepaymentAllocation.Component.INTEREST, 0),
                penalty_collected=flows[bank].get(RepaymentAllocation.Component.PENALTY, 0),
                outstanding_principal=sum(outstanding.values()),
                outstanding_by_class=dict(outstanding),
                available=allocated.get(bank, 0) + repaid_through - disbursed_through,
            )
        )
    return days


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
        FundDay.objects.bulk_create(
            _fund_days(run.business_date),
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


def close_business_date(*, business_date: date) -> CloseRun:
    """Close ``business_date`` in this process: start, every chunk one after the other,
    finish. A failure marks the run failed and is raised again. Raises what
    :func:`close_start` raises."""
    plan = close_start(business_date=business_date)
    try:
        rules = close_rules()
        for low, high in plan.chunks:
            close_chunk(run_id=plan.run_id, low=low, high=high, rules=rules)
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
    its row, as a fresh close would not write it). Nothing happens when no date was
    closed from ``from_date`` on."""
    ids = sorted(set(loan_ids))
    if not ids:
        return
    last_closed = business_date_last_closed()
    latest_as_of = Loan.objects.filter(pk__in=ids).aggregate(latest=Max("as_of"))["latest"]
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
            sql = _Sql(
                business_date=day,
                loan_ids=ids,
                only_closed_since=last_closed is None or day > last_closed,
            )
            _close_loans(sql, rules, penalties=False, lock=False)


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
