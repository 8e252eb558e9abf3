"""Repayments: booking (safely retried), reversal, and the allocation behind both.

Every posting and reversal runs in one transaction under the loan's row lock
(``SELECT ... FOR UPDATE``), so postings to one loan serialise and none is lost. The
split of each repayment follows :mod:`loans.waterfall` under the loan's product terms;
its allocations are stored row by row and always sum to its amount.

**Order.** Repayments are applied in the order of ``(paid_on, id)``. A repayment dated
before others already booked (backdated), and the reversal of one that later ones
followed, undo the allocations of those later repayments (the rows stay, marked
``undone_at``) and apply them again in order, so the books read as if everything had
arrived in date order. That cannot cross a deferral (a new schedule version): such a
posting or reversal is refused with 409.

**Idempotency.** A request is identified by its ``Idempotency-Key`` (unique per bank)
or else its bank ``reference`` (unique per bank). A retry with the same body gets the
first answer back (the stored ``response``), a different body 422, and nothing is
booked twice: the loan lock serialises retries to one loan and the unique constraints
catch retries racing on two loans.

**Dates.** ``paid_on`` is never in the future (Asia/Jakarta) nor before the
disbursement. One dated on or before the last closed business date is backdated: it is
allowed up to the bank's ``backdate_limit_days`` before that date, and the nightly
close's figures are recomputed for the loan from ``paid_on`` on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, field_values
from banks.services import bank_fund_repaid
from config.clock import business_today
from config.errors import ApplicationError, IdempotencyMismatch, SecondPersonRequired, StateConflict
from config.prepared import Prepared, prepared_insert, prepared_update
from config.roles import bank_id_of
from loans import arrears, waterfall
from loans.models import Installment, Loan, Repayment, RepaymentAllocation
from loans.presenters import rupiah_digits
from loans.selectors.servicing import business_date_last_closed
from loans.services.common import current_installments, loan_lock, require_schedule_ready

PRINCIPAL: str = RepaymentAllocation.Component.PRINCIPAL.value
INTEREST: str = RepaymentAllocation.Component.INTEREST.value
PENALTY: str = RepaymentAllocation.Component.PENALTY.value
_PAID_FIELD: dict[str, str] = {PRINCIPAL: "principal_paid", INTEREST: "interest_paid", PENALTY: "penalty_paid"}


@dataclass(frozen=True)
class RepaymentRequest:
    """A bank's repayment: ``amount`` rupiah paid on ``paid_on`` through ``channel``,
    with the bank's own ``reference`` and an optional ``idempotency_key``."""

    amount: int
    paid_on: date
    channel: str
    reference: str
    idempotency_key: str = ""

    def digest(self, loan_id: int) -> str:
        """What tells a retry from a different request (the key itself is not part of it)."""
        body = {
            "loan": loan_id,
            "amount": self.amount,
            "paid_on": self.paid_on.isoformat(),
            "channel": self.channel,
            "reference": self.reference,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


# --- reading a loan's installments ---------------------------------------------------


def owed_of(row: Installment) -> waterfall.Owed:
    """What is still owed on ``row``."""
    return waterfall.Owed(
        due_date=row.due_date,
        penalty=row.penalty - row.penalty_paid,
        interest=row.interest - row.interest_paid - row.interest_waived,
        principal=row.principal - row.principal_paid,
    )


#: The installment columns the ledger writes.
_WRITTEN_FIELDS = ("principal_paid", "interest_paid", "penalty_paid", "interest_waived", "paid_on")


def _written(row: Installment) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in _WRITTEN_FIELDS)


def _settled(row: Installment) -> bool:
    return row.principal_paid == row.principal and row.interest_paid + row.interest_waived == row.interest


# --- the ledger engine ---------------------------------------------------------------


@dataclass
class _Ledger:
    """The loan's current installments in memory while repayments are undone and
    applied, and what changed (written at the end in a few statements)."""

    loan: Loan
    rows: list[Installment]
    at: datetime
    new_allocations: list[RepaymentAllocation]
    principal_delta: int = 0
    interest_delta: int = 0
    #: Each row's written columns as loaded, so :meth:`save` writes only the rows that changed.
    loaded: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loaded = {row.pk: _written(row) for row in self.rows}

    def undo(self, repayments: Sequence[Repayment]) -> None:
        """Take back the active allocations (and any pay-off waiver) of ``repayments``."""
        if not repayments:
            return
        by_pk = {row.pk: row for row in self.rows}
        allocations = RepaymentAllocation.objects.filter(repayment__in=repayments, undone_at__isnull=True)
        for allocation in allocations:
            row = by_pk[allocation.installment_id]
            field = _PAID_FIELD[allocation.component]
            setattr(row, field, getattr(row, field) - allocation.amount)
            self._count(allocation.component, -allocation.amount)
        allocations.update(undone_at=self.at)
        if any(repayment.payoff for repayment in repayments):
            for row in self.rows:
                row.interest_waived = 0
        for row in self.rows:
            if row.paid_on is not None and not _settled(row):
                row.paid_on = None

    def apply(self, repayment: Repayment) -> None:
        """Split ``repayment`` over what is owed now and book the shares. Raises
        ApplicationError when it is more than the pay-off amount on its date."""
        terms = self.loan.terms
        owed = [owed_of(row) for row in self.rows]
        quote = waterfall.payoff_quote(owed, repayment.paid_on, rule=terms.payoff_interest)
        if repayment.amount > quote.amount:
            raise _above_payoff(repayment, quote.amount)
        repayment.payoff = repayment.amount == quote.amount
        if repayment.payoff:
            shares = waterfall.payoff_shares(owed, quote)
            for index, row in enumerate(self.rows):
                row.interest_waived = owed[index].interest - quote.interest_by_index.get(index, 0)
            repayment.interest_waived = quote.interest_waived
        else:
            shares = waterfall.allocate(
                owed, repayment.amount, repayment.paid_on, waterfall=terms.waterfall, overpayment=terms.overpayment
            )
            repayment.interest_waived = 0
        for share in shares:
            row = self.rows[share.index]
            field = _PAID_FIELD[share.component]
            setattr(row, field, getattr(row, field) + share.amount)
            self._count(share.component, share.amount)
            self.new_allocations.append(
                RepaymentAllocation(
                    repayment=repayment, installment=row, component=share.component, amount=share.amount
                )
            )
        for row in self.rows:
            if row.paid_on is None and _settled(row):
                row.paid_on = repayment.paid_on

    def _count(self, component: str, amount: int) -> None:
        if component == PRINCIPAL:
            self.principal_delta += amount
        elif component == INTEREST:
            self.interest_delta += amount

    def save(self) -> None:
        """Write the installments, the new allocations and the loan's derived columns
        (the bank's fund counters: :meth:`save_fund`)."""
        changed = [row for row in self.rows if self.loaded.get(row.pk) != _written(row)]
        if len(changed) == 1:
            # Most repayments change one installment: a plain UPDATE of it costs a fifth
            # of the CPU of bulk_update's CASE expressions.
            prepared_update(changed[0], _WRITTEN_FIELDS)
        elif changed:
            Installment.objects.bulk_update(changed, list(_WRITTEN_FIELDS))
        prepared_insert(self.new_allocations)
        loan = self.loan
        loan.outstanding_principal = loan.principal - sum(row.principal_paid for row in self.rows)
        open_rows = [row for row in self.rows if row.paid_on is None]
        loan.oldest_unpaid_due = min((row.due_date for row in open_rows), default=None)
        lateness = [(row.paid_on - row.due_date).days for row in self.rows if row.paid_on is not None]
        loan.max_days_past_due = max([loan.max_days_past_due, *lateness])
        if loan.status != Loan.Status.WRITTEN_OFF:
            status = arrears.loan_status(
                settled=not open_rows and loan.outstanding_principal == 0,
                days_past_due=arrears.days_past_due(business_today(), loan.oldest_unpaid_due),
            )
            if status == Loan.Status.PAID_OFF:
                loan.closed_on = max(row.paid_on for row in self.rows if row.paid_on)
            else:
                self._reopen_if_closed()
            loan.status = status
        prepared_update(
            loan, ("outstanding_principal", "oldest_unpaid_due", "max_days_past_due", "status", "closed_on")
        )

    def save_fund(self) -> None:
        """Move the bank's fund counters by what was undone and applied. Raises
        StateConflict when taking principal back would overdraw the fund. Every booking
        and reversal of the bank writes this one row and holds its lock until the
        commit, so the services write it as late as they can: last but the close's
        recompute, which reads the counters."""
        loan = self.loan
        if not bank_fund_repaid(bank_id=loan.bank_id, principal=self.principal_delta, interest=self.interest_delta):
            raise StateConflict(
                _("The bank has lent this money again already; taking it back would overdraw its fund."),
                state=loan.status,
            )

    def _reopen_if_closed(self) -> None:
        loan = self.loan
        if loan.status == Loan.Status.PAID_OFF:
            newer = Loan.objects.filter(borrower_id=loan.borrower_id, status__in=Loan.OPEN_STATUSES).exclude(pk=loan.pk)
            if newer.exists():
                raise StateConflict(
                    _("The borrower has a newer open loan; this would reopen the paid-off one."), state=loan.status
                )
            loan.closed_on = None


def _above_payoff(repayment: Repayment, payoff_amount: int) -> ApplicationError:
    message = _("Rp%(amount)s is more than the pay-off amount of Rp%(payoff)s on %(on)s.") % {
        "amount": rupiah_digits(repayment.amount),
        "payoff": rupiah_digits(payoff_amount),
        "on": repayment.paid_on.isoformat(),
    }
    return ApplicationError(message, {"amount": [message]}, payoff_amount=payoff_amount)


#: Every booking asks it: compiled once per process (config/prepared.py).
_LATER = Prepared(
    lambda loan_id, paid_on, after_id: (
        Repayment.objects.filter(loan_id=loan_id, status=Repayment.Status.BOOKED)
        .filter(Q(paid_on__gt=paid_on) | Q(paid_on=paid_on, pk__gt=after_id))
        .order_by("paid_on", "id")
    )
)


def _later(loan: Loan, *, after: tuple[date, int]) -> list[Repayment]:
    """Booked repayments of ``loan`` that come after ``(paid_on, id)``, in order."""
    paid_on, pk = after
    later: list[Repayment] = _LATER.objects(loan_id=loan.pk, paid_on=paid_on, after_id=pk)
    if any(r.schedule_version != loan.schedule_version for r in later):
        raise StateConflict(
            _("Later repayments were booked before the loan's deferral; their order cannot change now."),
            state=loan.status,
        )
    return later


def _recompute_close(loan: Loan, from_date: date, *, last_closed: date | None) -> None:
    """Redo the nightly close's figures of ``loan`` (held locked) from ``from_date`` when
    that date was closed already (``last_closed``, read in this transaction), or is being
    closed now (a backdated posting or a reversal); nothing happens otherwise."""
    from loans.services.close import loan_close_recompute

    loan_close_recompute(loan=loan, from_date=from_date, last_closed=last_closed)


def repayment_fields(repayment: Repayment) -> dict[str, Any]:
    """The repayment's own fields as the API shows them (JSON-ready)."""
    return {
        "id": repayment.pk,
        "loan": repayment.loan_id,
        "amount": repayment.amount,
        "paid_on": repayment.paid_on.isoformat(),
        "channel": repayment.channel,
        "reference": repayment.reference,
        "status": repayment.status,
        "payoff": repayment.payoff,
        "interest_waived": repayment.interest_waived,
        "created_at": timezone.localtime(repayment.created_at).isoformat(),
    }


def repayment_body(
    repayment: Repayment, loan: Loan, allocations: Iterable[RepaymentAllocation] | None = None
) -> dict[str, Any]:
    """The API's answer for ``repayment`` (stored as the first answer to replay).
    ``allocations`` are its active allocations in order, with their installments, when
    the caller holds them (booking it); otherwise they are read."""
    if allocations is None:
        allocations = (
            RepaymentAllocation.objects.filter(repayment=repayment, undone_at__isnull=True)
            .select_related("installment")
            .order_by("id")
        )
    return {
        **repayment_fields(repayment),
        "allocations": [
            {
                "installment": a.installment.number,
                "schedule_version": a.installment.schedule_version,
                "due_date": a.installment.due_date.isoformat(),
                "component": a.component,
                "amount": a.amount,
            }
            for a in allocations
        ],
        "loan_status": loan.status,
        "outstanding_principal": loan.outstanding_principal,
    }


# --- services ------------------------------------------------------------------------


def _retries(bank_id: int, reference: str, key: str | None) -> QuerySet[Repayment]:
    same = Q(reference=reference) if key is None else Q(reference=reference) | Q(idempotency_key=key)
    return Repayment.objects.filter(same, bank_id=bank_id)


#: Every booking asks it: compiled once per process (config/prepared.py).
_RETRIES = Prepared(_retries)


def _existing(bank_id: int, request: RepaymentRequest) -> Repayment | None:
    """The bank's earlier repayment ``request`` is a retry of: the one with its
    Idempotency-Key, else the one with its reference (each unique per bank; one query
    reads both); None for a new request."""
    found: list[Repayment] = _RETRIES.objects(
        bank_id=bank_id, reference=request.reference, key=request.idempotency_key or None
    )
    if request.idempotency_key:
        by_key = next((r for r in found if r.idempotency_key == request.idempotency_key), None)
        if by_key is not None:
            return by_key
    return next((r for r in found if r.reference == request.reference), None)


def _replay(existing: Repayment, digest: str) -> tuple[Repayment, bool]:
    if existing.request_hash != digest:
        raise IdempotencyMismatch(
            _("This Idempotency-Key or reference was used for a different repayment (%(reference)s).")
            % {"reference": existing.reference}
        )
    return existing, True


def _check_dates(loan: Loan, paid_on: date, *, last_closed: date | None) -> None:
    """Refuse (ApplicationError) a date in the future, before the disbursement, or
    backdated more than the bank allows before ``last_closed`` (the last closed
    business date)."""
    if paid_on > business_today():
        raise ApplicationError(_("A repayment cannot be dated in the future."), {"paid_on": [_("In the future.")]})
    if paid_on < loan.disbursed_on:
        message = _("The loan was disbursed on %(on)s; a repayment cannot be dated before.") % {
            "on": loan.disbursed_on.isoformat()
        }
        raise ApplicationError(message, {"paid_on": [message]})
    limit = loan.bank.backdate_limit_days
    if last_closed is not None and paid_on <= last_closed and (last_closed - paid_on).days > limit:
        message = _("Backdated more than %(days)s days before the last closed business date (%(closed)s).") % {
            "days": limit,
            "closed": last_closed.isoformat(),
        }
        raise ApplicationError(message, {"paid_on": [message]})


def _require_postable(loan: Loan) -> None:
    require_schedule_ready(loan)
    if loan.status == Loan.Status.PAID_OFF:
        raise StateConflict(_("The loan is paid off."), state=loan.status)


def repayment_post(
    *, actor: Any, loan_id: int, request: RepaymentRequest, at: datetime | None = None
) -> tuple[Repayment, bool]:
    """Book ``request`` on the loan ``loan_id`` for its bank's staff (or the bank's
    token). Returns the repayment and whether it is a replay of an earlier identical
    request (then nothing was booked). Raises Loan.DoesNotExist (no such loan among
    those ``actor`` may see: the API's 404), PermissionDenied (visible, but not the
    loan's bank), StateConflict (schedule pending, loan paid off, order across a
    deferral, fund), ApplicationError (dates, amount above the pay-off amount, with
    ``payoff_amount``) and IdempotencyMismatch (same key or reference, different body)."""
    if request.amount <= 0:
        raise ApplicationError(_("The amount must be positive."), {"amount": [_("Must be positive.")]})
    digest = request.digest(loan_id)
    try:
        with transaction.atomic():
            return _post(actor=actor, loan_id=loan_id, request=request, digest=digest, at=at or timezone.now())
    except IntegrityError:
        # A request with the same key or reference raced this one on another loan and
        # won the unique constraint: answer as its retry.
        bank_id = bank_id_of(actor)
        existing = _existing(bank_id, request) if bank_id is not None else None
        if existing is None:
            raise
        return _replay(existing, digest)


def _post(*, actor: Any, loan_id: int, request: RepaymentRequest, digest: str, at: datetime) -> tuple[Repayment, bool]:
    loan = loan_lock(loan_id, user=actor)
    if bank_id_of(actor) != loan.bank_id:
        raise PermissionDenied(_("Only staff of the loan's bank may book its repayments."))
    existing = _existing(loan.bank_id, request)
    if existing is not None:
        return _replay(existing, digest)
    _require_postable(loan)
    last_closed = business_date_last_closed()
    _check_dates(loan, request.paid_on, last_closed=last_closed)
    from_status = loan.status
    repayment = Repayment(
        loan=loan,
        bank_id=loan.bank_id,
        amount=request.amount,
        paid_on=request.paid_on,
        channel=request.channel,
        reference=request.reference,
        idempotency_key=request.idempotency_key,
        request_hash=digest,
        schedule_version=loan.schedule_version,
        created_by=actor,
        created_at=at,
    )
    prepared_insert([repayment])
    later = _later(loan, after=(repayment.paid_on, repayment.pk))
    ledger = _Ledger(loan=loan, rows=current_installments(loan), at=at, new_allocations=[])
    ledger.undo(later)
    for item in (repayment, *later):
        ledger.apply(item)
    ledger.save()
    shares = [a for a in ledger.new_allocations if a.repayment is repayment]
    repayment.response = repayment_body(repayment, loan, shares)
    prepared_update(repayment, ("payoff", "interest_waived", "response"))
    for item in later:
        prepared_update(item, ("payoff", "interest_waived"))
    audit_record(
        actor=actor,
        action="repayment_posted",
        subject=repayment,
        loan=loan,
        at=at,
        from_state=from_status,
        to_state=loan.status,
        after=field_values(repayment, ("amount", "paid_on", "channel", "reference", "status", "payoff")),
        note=_("Repayment %(reference)s of %(on)s") % {"reference": request.reference, "on": request.paid_on}
        + (_("; repayments %(ids)s applied again after it") % {"ids": [r.pk for r in later]} if later else ""),
        amounts={
            "amount": repayment.amount,
            "principal": sum(a.amount for a in shares if a.component == PRINCIPAL),
            "interest": sum(a.amount for a in shares if a.component == INTEREST),
            "penalty": sum(a.amount for a in shares if a.component == PENALTY),
            "interest_waived": repayment.interest_waived,
            "outstanding_principal": loan.outstanding_principal,
        },
    )
    _papers(repayment, loan, paid_off=from_status != Loan.Status.PAID_OFF and loan.status == Loan.Status.PAID_OFF)
    ledger.save_fund()
    _recompute_close(loan, repayment.paid_on, last_closed=last_closed)
    return repayment, False


def _papers(repayment: Repayment, loan: Loan, *, paid_off: bool) -> None:
    """Queue the borrower's receipt (and the settlement letter of a pay-off) with the
    booking or reversal: made by a worker after the commit (see
    :func:`reports.services.reports.papers_after_repayment`)."""
    from reports.services.reports import papers_after_repayment

    papers_after_repayment(repayment=repayment, loan=loan, paid_off=paid_off)


def repayment_reverse_refusal(*, repayment: Repayment, actor: Any) -> str | None:
    """Maker-checker of a reversal: why ``actor`` may not reverse ``repayment`` (they
    booked it), or None. :func:`repayment_reverse` refuses with this message; pages ask
    it to say so instead of offering the button."""
    if repayment.created_by_id is not None and repayment.created_by_id == getattr(actor, "pk", None):
        return _("A second person must reverse a repayment, not the one who booked it.")
    return None


def repayment_reverse(*, actor: Any, repayment_id: int, reason: str, at: datetime | None = None) -> Repayment:
    """Reverse a wrong repayment: a second person (not who booked it) of the loan's
    bank, with a reason. Its allocations are undone (kept, marked undone) and later
    repayments are applied again in order. Raises PermissionDenied (other bank, same
    person), StateConflict (already reversed, across a deferral, fund already re-lent,
    a newer loan open) and ApplicationError (no reason). The caller has checked the
    repayment's loan is visible to ``actor``."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError(_("A reversal needs a reason."), {"reason": [_("This field is required.")]})
    at = at or timezone.now()
    with transaction.atomic():
        loan_id = Repayment.objects.values_list("loan_id", flat=True).get(pk=repayment_id)
        loan = loan_lock(loan_id)
        repayment = Repayment.objects.select_for_update().get(pk=repayment_id)
        if bank_id_of(actor) != loan.bank_id:
            raise PermissionDenied(_("Only staff of the loan's bank may reverse its repayments."))
        refusal = repayment_reverse_refusal(repayment=repayment, actor=actor)
        if refusal:
            raise SecondPersonRequired(refusal)
        if repayment.status == Repayment.Status.REVERSED:
            raise StateConflict(_("This repayment is reversed already."), state=repayment.status)
        if repayment.schedule_version != loan.schedule_version:
            raise StateConflict(
                _("This repayment was booked before the loan's deferral and can no longer be reversed."),
                state=repayment.status,
            )
        from_status = loan.status
        later = _later(loan, after=(repayment.paid_on, repayment.pk))
        ledger = _Ledger(loan=loan, rows=current_installments(loan), at=at, new_allocations=[])
        ledger.undo([repayment, *later])
        for item in later:
            ledger.apply(item)
        repayment.status = Repayment.Status.REVERSED
        repayment.payoff = False
        repayment.interest_waived = 0
        repayment.reversed_by = actor
        repayment.reversed_at = at
        repayment.reversal_reason = reason
        ledger.save()
        repayment.save(
            update_fields=["status", "payoff", "interest_waived", "reversed_by", "reversed_at", "reversal_reason"]
        )
        for item in later:
            item.save(update_fields=["payoff", "interest_waived"])
        audit_record(
            actor=actor,
            action="repayment_reversed",
            subject=repayment,
            loan=loan,
            at=at,
            from_state=from_status,
            to_state=loan.status,
            before={"status": Repayment.Status.BOOKED},
            after={"status": repayment.status},
            note=reason + (_("; repayments %(ids)s applied again") % {"ids": [r.pk for r in later]} if later else ""),
            amounts={"amount": repayment.amount, "outstanding_principal": loan.outstanding_principal},
        )
        _papers(repayment, loan, paid_off=False)
        ledger.save_fund()
        _recompute_close(loan, repayment.paid_on, last_closed=business_date_last_closed())
    return repayment


def loan_payoff_quote(*, loan: Loan, on: date) -> waterfall.PayoffQuote:
    """What paying ``loan`` off on ``on`` costs, by its product's rule. Raises
    StateConflict for a loan paid off or still pending and ApplicationError for a date
    before the disbursement."""
    _require_postable(loan)
    if on < loan.disbursed_on:
        message = _("The loan was disbursed on %(on)s.") % {"on": loan.disbursed_on.isoformat()}
        raise ApplicationError(message, {"on": [message]})
    owed = [owed_of(row) for row in current_installments(loan)]
    return waterfall.payoff_quote(owed, on, rule=loan.terms.payoff_interest)
