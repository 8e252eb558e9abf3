"""Write-off (hapus buku): a programme manager writes off a loan in collectibility
class 5 (macet), with a reason. The loan leaves the open statuses; the bank's fund
counters do not move (the principal did not come back). Repayments after write-off
(recoveries) are still booked by the repayment service.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, field_values
from config.clock import business_today
from config.errors import ApplicationError
from config.roles import Role, has_role
from loans.models import Loan
from loans.services.common import loan_lock, require_open

#: The collectibility class a loan must be in to be written off (macet).
WRITE_OFF_CLASS = 5


@transaction.atomic
def loan_write_off(*, actor: Any, loan_id: int, reason: str, on: date) -> Loan:
    """Write off (hapus buku) an open loan in collectibility class 5, by a programme
    manager, with a reason, on a date not in the future nor before disbursement. The
    loan becomes ``written_off`` with its outstanding principal recorded as written
    off; nothing moves on the bank's fund counters (the principal did not come back).
    The schedule stays, and later repayments (recoveries) are booked as usual.

    Raises PermissionDenied (not a manager), StateConflict (the loan not open) and
    ApplicationError (no reason, a bad date, a class other than 5: ``collectibility``)."""
    loan = loan_lock(loan_id)
    if not has_role(actor, Role.MANAGER):
        raise PermissionDenied(_("Only a programme manager may write a loan off."))
    require_open(loan)
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("This field is required.")]
    today = business_today()
    if on > today:
        errors["on"] = [_("Must not be in the future.")]
    elif on < loan.disbursed_on:
        errors["on"] = [_("Must not be before the disbursement.")]
    if loan.collectibility != WRITE_OFF_CLASS:
        errors["collectibility"] = [
            _("Only a loan in class %(needed)d (macet) can be written off; this one is in class %(grade)d.")
            % {"needed": WRITE_OFF_CLASS, "grade": loan.collectibility}
        ]
    if errors:
        raise ApplicationError(_("This loan cannot be written off."), errors)
    from_state = loan.status
    loan.status = Loan.Status.WRITTEN_OFF
    loan.written_off_on = on
    loan.written_off_principal = loan.outstanding_principal
    loan.write_off_reason = reason
    loan.save(update_fields=["status", "written_off_on", "written_off_principal", "write_off_reason"])
    audit_record(
        actor=actor,
        action="loan_written_off",
        subject=loan,
        at=timezone.now(),
        from_state=from_state,
        to_state=loan.status,
        before={"status": from_state},
        after=field_values(loan, ("status", "written_off_on", "written_off_principal")),
        note=reason,
        amounts={"principal": loan.written_off_principal},
    )
    return loan
