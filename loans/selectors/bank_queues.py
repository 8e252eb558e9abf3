"""What a bank's staff work through, read through the scoped selectors (so another
bank's objects are never in it): the applications waiting for the bank, the loans by
collectibility class and days late, the deferral requests, and an application's or a
loan's history."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, QuerySet, Value, When

from audit.models import AuditEntry
from loans.models import Application, Deferral, Loan
from loans.selectors.applications import application_visible, loan_visible

State = Application.State

#: The states in which an application waits for its bank: forwarded (credit check to
#: record), credit checked (approval to give), approved (waiting for disbursement).
BANK_QUEUE_STATES = (State.FORWARDED, State.CREDIT_CHECKED, State.APPROVED)


def bank_application_queue(*, user: Any) -> QuerySet[Application]:
    """The applications waiting for the user's bank, the longest waiting in its current
    state first."""
    return application_visible(user=user).filter(state__in=BANK_QUEUE_STATES).order_by("state_changed_at", "id")


def application_events(*, application: Application) -> list[AuditEntry]:
    """The application's audit rows (its history), oldest first, with their actors."""
    return list(AuditEntry.objects.filter(application=application).select_related("actor").order_by("at", "id"))


def bank_loan_book(
    *, user: Any, collectibility: int | None = None, min_days_late: int | None = None, status: str | None = None
) -> QuerySet[Loan]:
    """The user's loans, filtered by collectibility class, at least ``min_days_late``
    days past due and status (class and days as of the last nightly close); the latest
    first within the most days late."""
    return _loan_filter(loan_visible(user=user), collectibility, min_days_late, status).order_by(
        "-days_past_due", "-id"
    )


def bank_loan_class_counts(*, user: Any, min_days_late: int | None = None, status: str | None = None) -> dict[int, int]:
    """How many of the user's loans (under the same filters but the class) are in each
    collectibility class, 1 to 5 (one query)."""
    rows = (
        _loan_filter(loan_visible(user=user), None, min_days_late, status)
        .order_by()
        .values("collectibility")
        .annotate(loans=Count("id"))
    )
    counts = dict.fromkeys(range(1, 6), 0)
    for row in rows:
        counts[row["collectibility"]] = row["loans"]
    return counts


def _loan_filter(
    loans: QuerySet[Loan], collectibility: int | None, min_days_late: int | None, status: str | None
) -> QuerySet[Loan]:
    if collectibility is not None:
        loans = loans.filter(collectibility=collectibility)
    if min_days_late:
        loans = loans.filter(days_past_due__gte=min_days_late)
    if status:
        loans = loans.filter(status=status)
    return loans


def loan_deferrals(*, loan: Loan) -> QuerySet[Deferral]:
    """The loan's deferrals, oldest first, with who asked and who decided."""
    return (
        Deferral.objects.filter(loan=loan).select_related("requested_by", "decided_by").order_by("requested_at", "id")
    )


def bank_deferral_requests(*, user: Any, state: str | None = None) -> QuerySet[Deferral]:
    """The deferrals of the user's loans (of ``state`` when given), those waiting for a
    decision first, then the newest."""
    deferrals = Deferral.objects.filter(loan__in=loan_visible(user=user).values("pk"))
    if state:
        deferrals = deferrals.filter(state=state)
    waiting_first = Case(When(state=Deferral.State.REQUESTED, then=Value(0)), default=Value(1))
    return deferrals.select_related("loan", "loan__borrower", "loan__bank", "requested_by", "decided_by").order_by(
        waiting_first, "-requested_at", "-id"
    )
