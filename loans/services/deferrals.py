"""Deferrals (penundaan, the 2020 relief precedent); write-off is in :mod:`loans.services.write_off`.

A deferral moves a loan's unpaid installments ``months`` later. One side asks (the city
office or the loan's bank), the other decides; an approval writes the loan's schedule
as a new version (``schedule_version`` + 1) and leaves the old version's rows as they
were, readable. The loan's first approved deferral may be extended once (a deferral
with ``extension_of``); after that no further deferral is taken.

Due dates follow the schedule engine's calendar (:mod:`loans.dates`): a loan's
installments fall on the disbursement date plus a whole number of months (the day
clamped to the month's end, then moved to the next business day when the loan counts
business days), each computed from the disbursement date, never chained from another
due date. Moving an installment ``k`` months puts it on the calendar slot ``k`` months
after its own: on a loan disbursed 31 January, the installment due 28 February moved
three months falls due on 31 May, not 28 May. (A due date that is on no slot of the
calendar, which only a hand-made change can give, is moved from itself.)

Every service locks the loan row (``select_for_update``) before it reads the loan's
deferrals or schedule, checks the actor's role (403), the states (409, naming the
state) and the rules (400, naming the field), and writes its audit row
(:func:`audit.services.audit_record`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, field_values
from config.clock import business_today
from config.errors import ApplicationError, SecondPersonRequired, StateConflict, choice_name
from config.roles import Role, bank_id_of, has_role
from loans.dates import add_months, next_business_day
from loans.models import Deferral, DeferralCollectibility, Installment, Loan, RepaymentAllocation
from loans.services.common import current_installments, loan_lock, require_open, require_schedule_ready

MIN_MONTHS = 1
MAX_MONTHS = 12

Mode = Deferral.Mode
Side = Deferral.Side


# --- the new schedule version (pure) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One installment of a schedule version as a deferral rebuilds it: its due date,
    amounts (rupiah) and what has been paid of them. ``source`` is the id of the row of
    the old version it was copied from (the one whose interest it holds, when a
    principal-only deferral splits rows); it is not stored."""

    due_date: date
    principal: int
    interest: int
    principal_paid: int = 0
    interest_paid: int = 0
    interest_waived: int = 0
    penalty: int = 0
    penalty_paid: int = 0
    penalty_through: date | None = None
    paid_on: date | None = None
    source: int | None = None
    #: The old row whose principal this row holds (principal-only deferrals).
    principal_source: int | None = None

    @property
    def settled(self) -> bool:
        """Nothing of its principal and interest is owed any more."""
        return self.principal_paid == self.principal and self.interest_paid + self.interest_waived == self.interest

    @property
    def principal_owed(self) -> int:
        return self.principal - self.principal_paid

    @property
    def interest_owed(self) -> int:
        return self.interest - self.interest_paid - self.interest_waived


#: ``move(due_date, months)``: the due date ``months`` later on the loan's calendar.
Move = Callable[[date, int], date]


def deferred_rows(rows: Sequence[Row], *, months: int, mode: str, move: Move) -> list[Row]:
    """The rows of the new schedule version, in due-date order (numbers and balances
    are the caller's), from the old version's ``rows`` in number order.

    * A row with ``paid_on`` set is copied unchanged, paid columns too.
    * ``principal_and_interest``: every unpaid row moves ``months`` later, with its
      amounts, paid columns and penalties (a partly paid row keeps what was paid).
    * ``principal_only``: the unpaid rows u_1..u_m (due d_1..d_m) become rows
      t = 1..m + months due on d_1 moved t - 1 months, each holding the interest of u_t
      (t <= m, else none) and the principal of u_(t - months) (t > months, else none),
      with the paid columns of those components; penalties (amount, paid, charged
      through) stay with the interest they were charged with. A row that would hold
      neither principal, interest nor penalty is left out; one whose principal and
      interest are both already paid is settled (``paid_on`` is left for the caller
      to fill).

    No extra interest is charged for a deferral, in either mode: the principal and
    interest of the new version sum to those of the old one. No amount is rounded.
    """
    paid = [row for row in rows if row.paid_on is not None]
    unpaid = [row for row in rows if row.paid_on is None]
    if mode == Mode.PRINCIPAL_AND_INTEREST:
        moved = [replace(row, due_date=move(row.due_date, months)) for row in unpaid]
    elif mode == Mode.PRINCIPAL_ONLY:
        moved = _principal_moved(unpaid, months, move) if unpaid else []
    else:
        raise ValueError(f"unknown deferral mode {mode!r}")
    # Paid rows first on a shared date; otherwise the order of the old version.
    ordered = sorted(
        [(row.due_date, 0, index, row) for index, row in enumerate(paid)]
        + [(row.due_date, 1, index, row) for index, row in enumerate(moved)]
    )
    return [row for *_, row in ordered]


def _principal_moved(unpaid: Sequence[Row], months: int, move: Move) -> list[Row]:
    """The principal-only rows t = 1..m + months built from the unpaid rows u_1..u_m
    (see :func:`deferred_rows`)."""
    rows = []
    for t in range(1, len(unpaid) + months + 1):
        holds_interest = unpaid[t - 1] if t <= len(unpaid) else None
        holds_principal = unpaid[t - 1 - months] if t > months else None
        row = Row(
            due_date=move(unpaid[0].due_date, t - 1),
            principal=holds_principal.principal if holds_principal else 0,
            interest=holds_interest.interest if holds_interest else 0,
            principal_paid=holds_principal.principal_paid if holds_principal else 0,
            interest_paid=holds_interest.interest_paid if holds_interest else 0,
            interest_waived=holds_interest.interest_waived if holds_interest else 0,
            penalty=holds_interest.penalty if holds_interest else 0,
            penalty_paid=holds_interest.penalty_paid if holds_interest else 0,
            penalty_through=holds_interest.penalty_through if holds_interest else None,
            source=holds_interest.source if holds_interest else None,
            principal_source=holds_principal.source if holds_principal else None,
        )
        if row.principal or row.interest or row.penalty:
            rows.append(row)
    return rows


def month_offset(base: date, day: date, business_days: bool) -> int | None:
    """The whole number of months k >= 1 for which ``day`` is the calendar's date
    ``base`` + k months (moved to the next business day with ``business_days``), or
    None when ``day`` is on no slot of that calendar."""
    months = (day.year - base.year) * 12 + day.month - base.month
    # A business-day shift can carry a month-end date into the next month.
    for k in (months, months - 1):
        if k < 1:
            continue
        slot = add_months(base, k)
        if (next_business_day(slot) if business_days else slot) == day:
            return k
    return None


def calendar_mover(base: date, business_days: bool) -> Move:
    """``move`` for :func:`deferred_rows` on the calendar of a loan disbursed on
    ``base`` (see the module docstring)."""

    def move(day: date, months: int) -> date:
        k = month_offset(base, day, business_days)
        moved = add_months(day, months) if k is None else add_months(base, k + months)
        return next_business_day(moved) if business_days else moved

    return move


# --- helpers -----------------------------------------------------------------------------


def _side_of(actor: Any, loan: Loan) -> str | None:
    """The side the actor acts for on this loan: an officer is the city office, staff
    of the loan's bank the bank; anyone else neither."""
    if has_role(actor, Role.OFFICER):
        return Side.CITY
    if bank_id_of(actor) == loan.bank_id:
        return Side.BANK
    return None


# --- request -----------------------------------------------------------------------------


def _check_request_input(months: Any, mode: str, reason: str) -> str:
    """The reason, stripped (ApplicationError naming each field at fault)."""
    errors: dict[str, list[str]] = {}
    if isinstance(months, bool) or not isinstance(months, int) or not MIN_MONTHS <= months <= MAX_MONTHS:
        errors["months"] = [
            _("Must be a whole number of months from %(min)d to %(max)d.") % {"min": MIN_MONTHS, "max": MAX_MONTHS}
        ]
    if mode not in Mode.values:
        errors["mode"] = [_("Must be one of: %s.") % ", ".join(Mode.values)]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("This field is required.")]
    if errors:
        raise ApplicationError(_("Invalid deferral request."), errors)
    return reason


def _check_history(loan: Loan, extension_of_id: int | None) -> Deferral | None:
    """The deferral to extend (None for a first deferral), under the rules: one open
    request per loan; a loan with an approved deferral may only ask for the extension
    of its first one, once (StateConflict); ``extension_of_id`` must name an approved
    deferral of this loan (ApplicationError when it names none)."""
    deferrals = list(Deferral.objects.filter(loan=loan).order_by("requested_at", "id"))
    waiting = next((d for d in deferrals if d.state == Deferral.State.REQUESTED), None)
    if waiting is not None:
        raise StateConflict(
            _("This loan already has a deferral request (%(id)s) waiting for a decision.") % {"id": waiting.pk},
            state=waiting.state,
        )
    first = next((d for d in deferrals if d.state == Deferral.State.APPROVED and d.extension_of_id is None), None)
    # A rejected extension request does not use the extension up.
    extension = next(
        (d for d in deferrals if first and d.extension_of_id == first.pk and d.state == Deferral.State.APPROVED),
        None,
    )
    if first is not None and extension is not None:
        message = _("This loan's deferral was already extended once; no further deferral is possible.")
        raise StateConflict(message, state=extension.state)
    if extension_of_id is None:
        if first is not None:
            raise StateConflict(
                _(
                    "This loan already has an approved deferral (%(id)s); ask for its extension "
                    "(extension_of) instead of a new deferral."
                )
                % {"id": first.pk},
                state=first.state,
            )
        return None
    target = next((d for d in deferrals if d.pk == extension_of_id), None)
    if target is None:
        raise ApplicationError(
            _("No such deferral of this loan."), {"extension_of": [_("No such deferral of this loan.")]}
        )
    if target.state != Deferral.State.APPROVED:
        raise StateConflict(
            _("Only an approved deferral can be extended; deferral %(id)s is %(state)s.")
            % {"id": target.pk, "state": choice_name(Deferral.State, target.state)},
            state=target.state,
        )
    return target


@transaction.atomic
def deferral_request(
    *, actor: Any, loan_id: int, months: int, mode: str, reason: str, extension_of_id: int | None = None
) -> Deferral:
    """Ask for a deferral of the loan's unpaid installments by ``months`` (1 to 12),
    moving principal and interest or the principal only (``mode``), with a reason. By
    the city office (an officer) or staff of the loan's bank; the other side decides.

    ``extension_of_id`` names the loan's first approved deferral to extend it (once);
    a loan with an approved deferral can only be extended. Raises PermissionDenied
    (another role), StateConflict (a loan not open or its schedule not ready, a request
    already waiting, an approved deferral without ``extension_of``, a deferral already
    extended) and ApplicationError (months, mode, reason or extension_of at fault)."""
    loan = loan_lock(loan_id)
    side = _side_of(actor, loan)
    if side is None:
        raise PermissionDenied(_("Only the city office or the loan's bank may ask for a deferral."))
    require_open(loan)
    require_schedule_ready(loan)
    reason = _check_request_input(months, mode, reason)
    extension_of = _check_history(loan, extension_of_id)
    if not Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version, paid_on__isnull=True).exists():
        raise StateConflict(_("Nothing is left to defer: every installment is paid."), state=loan.status)
    now = timezone.now()
    deferral = Deferral.objects.create(
        loan=loan,
        months=months,
        mode=mode,
        reason=reason,
        extension_of=extension_of,
        requested_side=side,
        requested_by=actor,
        requested_at=now,
    )
    extends = f" (extension of {extension_of.pk})" if extension_of else ""
    audit_record(
        actor=actor,
        action="deferral_requested",
        subject=deferral,
        loan=loan,
        at=now,
        from_state=loan.status,
        to_state=loan.status,
        after=field_values(deferral, ("state", "months", "mode", "extension_of", "requested_side")),
        note=f"deferral {deferral.pk}{extends}: {months} months, {mode}. {reason}",
    )
    return deferral


# --- decision ----------------------------------------------------------------------------


def deferral_decide_refusal(*, deferral: Deferral, loan: Loan, actor: Any) -> str | None:
    """Maker-checker of a decision: why ``actor`` may not decide ``deferral`` of ``loan``
    (not the other side than the one that asked, or the person who asked), or None.
    The decisions refuse with this message; pages ask it to say so instead of offering
    the buttons."""
    if deferral.requested_side == Side.CITY:
        if bank_id_of(actor) != loan.bank_id:
            return _("A deferral the city office asked for is decided by the loan's bank.")
    elif not has_role(actor, Role.OFFICER):
        return _("A deferral the bank asked for is decided by the city office.")
    if deferral.requested_by_id == getattr(actor, "pk", None):
        return _("A second person must decide this deferral: who asked for it may not also decide it.")
    return None


def _lock_for_decision(actor: Any, deferral_id: int) -> tuple[Loan, Deferral]:
    """The deferral and its loan, locked (loan first, the order every service here
    takes), after checking the actor is the other side (PermissionDenied) and the
    request still waits (StateConflict)."""
    loan_id = Deferral.objects.values_list("loan_id", flat=True).get(pk=deferral_id)
    loan = loan_lock(loan_id)
    deferral = Deferral.objects.select_for_update().get(pk=deferral_id)
    refusal = deferral_decide_refusal(deferral=deferral, loan=loan, actor=actor)
    if refusal:
        raise SecondPersonRequired(refusal)
    if deferral.state != Deferral.State.REQUESTED:
        raise StateConflict(
            _("This deferral was already decided; it is %(state)s.")
            % {"state": choice_name(Deferral.State, deferral.state)},
            state=deferral.state,
        )
    return loan, deferral


def _settled_on(rows: Sequence[Row], fallback: date) -> dict[int, date]:
    """For each new row settled by the rebuild (by index), the date of the last
    repayment that paid what it holds (its interest from its interest source row, its
    principal from its principal source row); ``fallback`` when no booked allocation
    says (payments recorded outside the repayment service)."""
    settled = {index: row for index, row in enumerate(rows) if row.paid_on is None and row.settled}
    if not settled:
        return {}
    sources = {row.source for row in settled.values()} | {row.principal_source for row in settled.values()}
    last_paid: dict[tuple[int | None, str], date] = {
        (item["installment_id"], item["component"]): item["last"]
        for item in RepaymentAllocation.objects.filter(
            installment_id__in=[source for source in sources if source is not None],
            undone_at__isnull=True,
            component__in=[RepaymentAllocation.Component.INTEREST, RepaymentAllocation.Component.PRINCIPAL],
        )
        .values("installment_id", "component")
        .annotate(last=Max("repayment__paid_on"))
    }
    result = {}
    for index, row in settled.items():
        dates = [
            last_paid.get((row.source, RepaymentAllocation.Component.INTEREST)),
            last_paid.get((row.principal_source, RepaymentAllocation.Component.PRINCIPAL)),
        ]
        known = [day for day in dates if day is not None]
        result[index] = max(known) if known else fallback
    return result


def _row(installment: Installment) -> Row:
    return Row(
        due_date=installment.due_date,
        principal=installment.principal,
        interest=installment.interest,
        principal_paid=installment.principal_paid,
        interest_paid=installment.interest_paid,
        interest_waived=installment.interest_waived,
        penalty=installment.penalty,
        penalty_paid=installment.penalty_paid,
        penalty_through=installment.penalty_through,
        paid_on=installment.paid_on,
        source=installment.pk,
        principal_source=installment.pk,
    )


@dataclass(frozen=True, slots=True)
class _Version:
    installments: list[Installment]
    moved_principal: int
    moved_interest: int
    #: The new due date of the first unpaid installment's principal (payments resume).
    resumes_on: date


def _build_version(loan: Loan, deferral: Deferral, today: date) -> _Version:
    old = [_row(installment) for installment in current_installments(loan)]
    unpaid = [row for row in old if row.paid_on is None]
    if not unpaid:
        raise StateConflict(_("Nothing is left to defer: every installment is paid."), state=loan.status)
    move = calendar_mover(loan.disbursed_on, loan.business_days)
    rows = deferred_rows(old, months=deferral.months, mode=deferral.mode, move=move)
    settled_on = _settled_on(rows, today)
    version = loan.schedule_version + 1
    total = sum(row.principal for row in rows)
    balance = total
    installments = []
    for index, row in enumerate(rows):
        balance -= row.principal
        installments.append(
            Installment(
                loan=loan,
                schedule_version=version,
                number=index + 1,
                due_date=row.due_date,
                principal=row.principal,
                interest=row.interest,
                installment=row.principal + row.interest,
                balance=balance,
                principal_paid=row.principal_paid,
                interest_paid=row.interest_paid,
                interest_waived=row.interest_waived,
                penalty=row.penalty,
                penalty_paid=row.penalty_paid,
                penalty_through=row.penalty_through,
                paid_on=row.paid_on or settled_on.get(index),
            )
        )
    moves_interest = deferral.mode == Mode.PRINCIPAL_AND_INTEREST
    return _Version(
        installments=installments,
        moved_principal=sum(row.principal_owed for row in unpaid),
        moved_interest=sum(row.interest_owed for row in unpaid) if moves_interest else 0,
        resumes_on=move(unpaid[0].due_date, deferral.months),
    )


@transaction.atomic
def deferral_approve(*, actor: Any, deferral_id: int, note: str = "") -> Deferral:
    """Approve a deferral request, by the other side than the one that asked (the
    loan's bank for the city office's request, an officer for the bank's), and write
    the loan's schedule version v + 1 from version v (see :func:`deferred_rows`; the
    old rows stay). No extra interest is charged for the deferral: the new version's
    principal and interest sum to the old one's.

    The loan's ``oldest_unpaid_due`` becomes the earliest unpaid due date of the new
    version. With the product setting ``deferral_collectibility = hold`` the loan's
    class (from the last nightly close) is held until the day before payments resume
    (the new due date of the first moved installment); an extension keeps the class
    its deferral held and sets a new end. With ``recompute`` nothing is held.

    Raises PermissionDenied (not the other side, or who asked), StateConflict (the
    request already decided, the loan no longer open or its schedule not ready)."""
    loan, deferral = _lock_for_decision(actor, deferral_id)
    require_open(loan)
    require_schedule_ready(loan)
    now = timezone.now()
    version = _build_version(loan, deferral, business_today())
    Installment.objects.bulk_create(version.installments)

    from_version = loan.schedule_version
    loan.schedule_version = from_version + 1
    loan.oldest_unpaid_due = min((row.due_date for row in version.installments if row.paid_on is None), default=None)
    fields = ["schedule_version", "oldest_unpaid_due"]
    deferral.state = Deferral.State.APPROVED
    deferral.decided_by = actor
    deferral.decided_at = now
    deferral.decision_note = (note or "").strip()
    deferral.from_version = from_version
    deferral.to_version = loan.schedule_version
    if loan.terms.deferral_collectibility == DeferralCollectibility.HOLD:
        held = Deferral.objects.get(pk=deferral.extension_of_id).hold_class if deferral.extension_of_id else None
        deferral.hold_class = held if held is not None else loan.collectibility
        deferral.hold_until = version.resumes_on - timedelta(days=1)
        loan.collectibility_hold = deferral.hold_class
        loan.hold_until = deferral.hold_until
        fields += ["collectibility_hold", "hold_until"]
    deferral.save(
        update_fields=[
            "state",
            "decided_by",
            "decided_at",
            "decision_note",
            "from_version",
            "to_version",
            "hold_class",
            "hold_until",
        ]
    )
    loan.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="deferral_approved",
        subject=deferral,
        loan=loan,
        at=now,
        from_state=loan.status,
        to_state=loan.status,
        before={"state": Deferral.State.REQUESTED, "schedule_version": from_version},
        after={
            "state": deferral.state,
            "schedule_version": loan.schedule_version,
            **field_values(deferral, ("hold_class", "hold_until")),
        },
        note=f"deferral {deferral.pk}: {deferral.months} months, {deferral.mode}; "
        f"schedule v{from_version} -> v{loan.schedule_version}. {deferral.decision_note}".strip(),
        amounts={"principal": version.moved_principal, "interest": version.moved_interest},
    )
    return deferral


@transaction.atomic
def deferral_reject(*, actor: Any, deferral_id: int, note: str) -> Deferral:
    """Reject a deferral request with a note, by the other side than the one that
    asked. The schedule does not change. Raises PermissionDenied, StateConflict (the
    request already decided) and ApplicationError (no note)."""
    loan, deferral = _lock_for_decision(actor, deferral_id)
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("A note is needed."), {"note": [_("This field is required.")]})
    now = timezone.now()
    deferral.state = Deferral.State.REJECTED
    deferral.decided_by = actor
    deferral.decided_at = now
    deferral.decision_note = note
    deferral.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="deferral_rejected",
        subject=deferral,
        loan=loan,
        at=now,
        from_state=loan.status,
        to_state=loan.status,
        before={"state": Deferral.State.REQUESTED},
        after={"state": deferral.state},
        note=f"deferral {deferral.pk}: {note}",
    )
    return deferral
