"""What the servicing services (repayments, deferrals, write-off) share: the loan's row
lock, the checks that it is open and that its schedule is stored, and its current
installments."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError
from django.utils.translation import gettext as _

from config.errors import StateConflict, choice_name
from config.prepared import Prepared
from config.roles import reader_scope
from loans.models import Installment, Loan
from loans.selectors.applications import in_scope, schedule_rows


def _locked(scope: str, loan_id: int, scope_id: int | None) -> QuerySet[Loan]:
    return (
        in_scope(Loan.objects.all(), scope, scope_id)
        .select_for_update(of=("self",))
        .select_related("terms", "bank")
        .filter(pk=loan_id)
    )


#: Every booking takes it: the ORM compiles it once per process (config/prepared.py).
_LOCK = Prepared(_locked)


def loan_lock(loan_id: int, *, user: Any = None) -> Loan:
    """The loan under its row lock (``SELECT ... FOR UPDATE`` of the loan row only), with
    its terms and bank. Everything that moves a loan's money or schedule takes it first,
    so those changes to one loan serialise. With ``user``, only among the loans the user
    may see (:func:`config.roles.reader_scope`), in the same query: a loan
    outside them raises Loan.DoesNotExist, as a missing one does, and is not locked."""
    if connection.get_autocommit():
        raise TransactionManagementError("loan_lock() holds a row lock: call it inside a transaction")
    scope, scope_id = ("all", None) if user is None else reader_scope(user)
    loan: Loan | None = None if scope == "none" else _LOCK.first(scope, loan_id=loan_id, scope_id=scope_id)
    if loan is None:
        raise Loan.DoesNotExist(f"no loan {loan_id} for this user")
    return loan


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


_INSTALLMENTS = Prepared(schedule_rows)


def current_installments(loan: Loan) -> list[Installment]:
    """The rows of the loan's current schedule version, in order (compiled once per
    process: every booking reads them)."""
    rows: list[Installment] = _INSTALLMENTS.objects(loan_id=loan.pk, version=loan.schedule_version)
    return rows
