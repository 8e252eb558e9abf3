"""The close's SQL: the figures of a set of loans at a business date, the penalty
charge and the writes, in PostgreSQL's or SQLite's dialect.

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

Each rule here is the twin of one pure function, proven equal by hypothesis in
``tests/loans/test_rule_twins.py``: days past due and status
(:func:`loans.arrears.days_past_due`, :func:`loans.arrears.loan_status`),
collectibility with the held class (:func:`loans.collectibility.collectibility_on`)
and the penalty (:func:`loans.penalty.penalty_days`, :func:`loans.penalty.penalty_after`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection

from loans.models import Loan, Repayment
from loans.penalty import UNITS_PER_WHOLE
from loans.services.close.rules import CloseRules, PenaltyRule

#: The upper end of the last chunk's id range (loans created later still fall in it).
LAST_ID = 2**62
_OPEN = (Loan.Status.ACTIVE.value, Loan.Status.OVERDUE.value)


class CloseSql:
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
                f"FLOOR((r.rate_units::numeric * {base} * {days} + {UNITS_PER_WHOLE // 2}) / {UNITS_PER_WHOLE})::bigint"
            )
            cap = f"FLOOR(r.cap_units::numeric * i.installment / {UNITS_PER_WHOLE})::bigint"
        else:
            charge = f"((r.rate_units * {base} * {days} + {UNITS_PER_WHOLE // 2}) / {UNITS_PER_WHOLE})"
            cap = f"((r.cap_units * i.installment) / {UNITS_PER_WHOLE})"
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


def close_loans(sql: CloseSql, rules: CloseRules, *, penalties: bool, lock: bool) -> ChunkResult:
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
