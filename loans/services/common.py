"""What the servicing services (repayments, deferrals, write-off) share: the loan's row
lock, the checks that it is open and that its schedule is stored, and its current
installments."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from config.errors import StateConflict, choice_name
from loans.models import Installment, Loan


def loan_lock(loan_id: int, *, among: QuerySet[Loan] | None = None) -> Loan:
    """The loan under its row lock (``SELECT ... FOR UPDATE`` of the loan row only), with
    its terms and bank. Everything that moves a loan's money or schedule takes it first,
    so those changes to one loan serialise. ``among`` (the loans a user may see,
    :func:`loans.selectors.applications.loan_visible`) narrows the look-up to them in the
    same query: a loan outside it raises Loan.DoesNotExist, as a missing one does, and is
    not locked."""
    loans = Loan.objects.all() if among is None else among.select_related(None)
    return loans.select_for_update(of=("self",)).select_related("terms", "bank").get(pk=loan_id)


def require_open(loan: Loan) -> None:
    """Raise StateConflict (409, naming the loan's state) unless the loan is active or
    overdue."""
    if loan.status not in Loan.OPEN_STATUSES:
        raise StateConflict(
            _("This needs an open loan (active or overdue); it is %(state)s.")
            % {"state": choice_name(Loan.Status, loan.status)},
            state=loan.status,
        )


def require_schedule_ready(loan: Loan) -> None:
    """Raise StateConflict (409, naming the schedule's state) while the loan's schedule
    is not stored yet."""
    if loan.schedule_status != Loan.ScheduleStatus.READY:
        raise StateConflict(
            _("The loan's schedule is still being stored (%(state)s); try again in a moment.")
            % {"state": choice_name(Loan.ScheduleStatus, loan.schedule_status)},
            state=loan.schedule_status,
        )


def current_installments(loan: Loan) -> list[Installment]:
    """The rows of the loan's current schedule version, in order."""
    return list(Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number"))
