"""Reads for a borrower's own page: one loan as its borrower sees it (the schedule with
what is left on each installment, what is late, the next installment, the pay-off
amount, the repayments) and where each application stands, in a bounded number of
queries whatever the number of installments, repayments or applications.

Everything here composes the selectors and rules the API uses (``loan_installments``,
``loan_next_installment``, ``loan_arrears``, ``loan_repayments``, ``loan_payoff_quote``,
``owed_of``, ``stage_times``); the caller fetches the loan and the applications through
the scoped ``loan_visible`` and ``application_visible``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from audit.models import AuditEntry
from config.errors import ApplicationError, StateConflict
from loans.models import Application, Installment, Loan, Repayment
from loans.presenters import stage_times
from loans.selectors.applications import loan_installments, loan_next_installment
from loans.selectors.servicing import Arrears, loan_arrears, loan_repayments
from loans.services.repayments import loan_payoff_quote, owed_of
from loans.waterfall import PayoffQuote

SECONDS_PER_DAY = 86_400
STATE_LABELS = dict(Application.State.choices)


@dataclass(frozen=True)
class ScheduleRow:
    """One installment of the current schedule and what is still owed on it today."""

    installment: Installment
    left: int
    late: bool

    @property
    def paid(self) -> bool:
        return self.installment.paid_on is not None


@dataclass(frozen=True)
class LoanPage:
    """One loan as its borrower sees it on ``on``. ``next_installment`` and ``payoff``
    are None when the schedule is still being computed or the loan is closed."""

    loan: Loan
    on: date
    open: bool
    schedule_ready: bool
    rows: list[ScheduleRow]
    next_installment: Installment | None
    next_left: int
    arrears: Arrears
    late_count: int
    payoff: PayoffQuote | None
    repayments: list[Repayment]
    paid_count: int = field(default=0)


def loan_page(*, loan: Loan, on: date) -> LoanPage:
    """``loan`` (fetched through ``loan_visible``) as its borrower sees it on ``on``:
    at most five queries (the schedule, the next installment, the arrears, the pay-off
    quote's installments, the repayments), none for a schedule not yet computed."""
    is_open = loan.status in Loan.OPEN_STATUSES
    ready = loan.schedule_status == Loan.ScheduleStatus.READY
    installments = list(loan_installments(loan=loan)) if ready else []
    rows = [
        ScheduleRow(
            installment=row,
            left=owed_of(row).total,
            late=is_open and row.paid_on is None and row.due_date <= on,
        )
        for row in installments
    ]
    next_row = loan_next_installment(loan=loan) if ready and is_open else None
    payoff = None
    if ready and is_open:
        try:
            payoff = loan_payoff_quote(loan=loan, on=on)
        except (ApplicationError, StateConflict):
            payoff = None  # a date before the disbursement: nothing to quote yet
    return LoanPage(
        loan=loan,
        on=on,
        open=is_open,
        schedule_ready=ready,
        rows=rows,
        next_installment=next_row,
        next_left=owed_of(next_row).total if next_row is not None else 0,
        arrears=loan_arrears(loan=loan, on=on),
        late_count=sum(1 for row in rows if row.late),
        payoff=payoff,
        repayments=list(loan_repayments(loan=loan)),
        paid_count=sum(1 for row in rows if row.paid),
    )


@dataclass(frozen=True)
class ApplicationStanding:
    """Where an application stands: its state since ``since`` (``days`` whole days),
    and each state it went through with the days it spent there."""

    application: Application
    since: datetime
    days: int
    stages: list[dict[str, Any]]


def application_standings(*, applications: Sequence[Application], now: datetime) -> list[ApplicationStanding]:
    """The standing of each of ``applications`` (fetched through ``application_visible``),
    in the order given, from their workflow events (one query for all)."""
    events: dict[int, list[AuditEntry]] = defaultdict(list)
    if applications:
        trail = (
            AuditEntry.objects.filter(application__in=[application.pk for application in applications])
            .exclude(to_state="")
            .only("id", "application_id", "at", "from_state", "to_state")
            .order_by("application_id", "at", "id")
        )
        for event in trail:
            events[event.application_id].append(event)  # type: ignore[index]
    standings = []
    for application in applications:
        stages = stage_times(application, events[application.pk], now)
        for stage in stages:
            stage["days"] = (stage["seconds"] or 0) // SECONDS_PER_DAY
            stage["label"] = STATE_LABELS.get(stage["state"], stage["state"])
        since = application.state_changed_at
        standings.append(
            ApplicationStanding(
                application=application,
                since=since,
                days=max(0, int((now - since).total_seconds()) // SECONDS_PER_DAY),
                stages=stages,
            )
        )
    return standings
