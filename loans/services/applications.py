"""The application workflow, one service per transition.

draft -> submitted -> field_verified -> forwarded -> credit_checked -> approved -> disbursed;
rejected (before disbursement, by the side holding the file) and withdrawn (before
approval, by the city office) end it.

Every transition locks the application row, checks the actor's role (403), the current
state (409, naming it) and the rules (400), changes the state and writes its
audit row (:func:`audit.services.audit_record`) in the same transaction. Disbursement also draws on the bank's fund
under the bank's row lock and, after commit, enqueues the task that stores the schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_entry, audit_record, audit_record_many, field_values
from banks.models import Bank
from banks.services import bank_fund_draw
from borrowers.models import Borrower, Business
from config.clock import business_date_of, business_today
from config.errors import ApplicationError, SecondPersonRequired, StateConflict, batch_item_error, choice_name
from config.roles import Role, bank_id_of, borrower_id_of, has_role
from loans import eligibility
from loans.models import Application, Loan, Product, ProductTerms
from loans.presenters import render_check, rupiah_digits
from loans.schedule import LoanTerms, ScheduleError, build_schedule
from loans.selectors.products import product_terms_on

State = Application.State

#: States an application can still be rejected from, and who holds the file there.
OFFICE_STATES = (State.DRAFT, State.SUBMITTED, State.FIELD_VERIFIED)
BANK_STATES = (State.FORWARDED, State.CREDIT_CHECKED, State.APPROVED)
WITHDRAWABLE_STATES = (State.DRAFT, State.SUBMITTED, State.FIELD_VERIFIED, State.FORWARDED, State.CREDIT_CHECKED)
PROGRAMME_PRODUCT = "WIBAWA"
#: What the audit row of a new application records.
CREATED_FIELDS = ("borrower", "business", "bank", "terms", "principal", "tenor_months", "collateral", "purpose")
#: The fields each workflow step sets, recorded in its audit row besides the state.
STEP_FIELDS = {
    "field_verify": ("visited_on", "visit_latitude", "visit_longitude"),
    "credit_check": ("credit_result",),
    "approve": ("contract_number", "terms", "principal", "tenor_months", "collateral"),
    "reject": ("end_reason",),
    "withdraw": ("end_reason",),
}


# --- helpers ------------------------------------------------------------------------


def _require_officer(actor: Any) -> None:
    if not has_role(actor, Role.OFFICER):
        raise PermissionDenied(_("Only the city office may do this."))


def _require_bank_staff_of(actor: Any, application: Application) -> None:
    if bank_id_of(actor) != application.bank_id:
        raise PermissionDenied(_("Only staff of the application's bank may do this."))


def _require_state(application: Application, *states: str) -> None:
    if application.state not in states:
        raise StateConflict(
            _("This action needs the application in state %(needed)s; it is %(state)s.")
            % {
                "needed": ", ".join(choice_name(State, s) for s in states),
                "state": choice_name(State, application.state),
            },
            state=application.state,
        )


def _lock(application_id: int) -> Application:
    return Application.objects.select_for_update(of=("self",)).select_related("terms").get(pk=application_id)


def _moved(
    application: Application,
    *,
    action: str,
    actor: Any,
    at: datetime,
    from_state: str,
    note: str = "",
    amounts: dict[str, int] | None = None,
) -> None:
    """The audit row of a workflow step: the state moved and the fields the step set."""
    audit_record(
        actor=actor,
        action=action,
        subject=application,
        at=at,
        from_state=from_state,
        to_state=application.state,
        before={"state": from_state},
        after={"state": application.state, **field_values(application, STEP_FIELDS.get(action, ()))},
        note=note,
        amounts=amounts,
    )


def _move(application: Application, to_state: str, *, at: datetime, fields: Iterable[str] = ()) -> str:
    """Set the new state (saving it with ``fields``) and return the old one."""
    from_state = application.state
    application.state = to_state
    application.state_changed_at = at
    application.save(update_fields=["state", "state_changed_at", *fields])
    return from_state


# --- checks ------------------------------------------------------------------------


def _rules(terms: ProductTerms) -> eligibility.Rules:
    return eligibility.Rules(
        region_code=terms.region_code,
        min_age_years=terms.min_age_years,
        min_business_age_months=terms.min_business_age_months,
        ceiling_without_collateral=terms.ceiling_without_collateral,
        ceiling_with_collateral=terms.ceiling_with_collateral,
        allowed_tenors=tuple(int(t) for t in terms.allowed_tenors),
        repeat_multiplier=terms.repeat_multiplier,
    )


def _facts(application: Application, on: date) -> eligibility.Facts:
    borrower = Borrower.objects.select_related("kelurahan").get(pk=application.borrower_id)
    business = Business.objects.get(pk=application.business_id)
    # A written-off loan is still owed (recoveries go on): it blocks a new loan too.
    open_loan = (
        Loan.objects.filter(borrower_id=borrower.pk, status__in=[*Loan.OPEN_STATUSES, Loan.Status.WRITTEN_OFF])
        .exclude(application_id=application.pk)
        .values_list("contract_number", "bank__code")
        .first()
    )
    last_loan = (
        Loan.objects.filter(borrower_id=borrower.pk, status=Loan.Status.PAID_OFF)
        .order_by("-disbursed_on", "-id")
        .values_list("principal", "max_days_past_due")
        .first()
    )
    bank = Bank.objects.get(pk=application.bank_id)
    return eligibility.Facts(
        on=on,
        kelurahan_code=borrower.kelurahan_id,
        kelurahan_name=borrower.kelurahan.name,
        birth_date=borrower.birth_date,
        business_started_on=business.started_on,
        is_cooperative=business.kind == Business.Kind.COOPERATIVE,
        cooperative_rating=business.health_rating,
        principal=application.principal,
        collateral=application.collateral,
        tenor_months=application.tenor_months,
        open_loan_contract=f"{open_loan[1]}/{open_loan[0]}" if open_loan else None,
        last_loan_principal=last_loan[0] if last_loan else None,
        last_loan_max_days_past_due=last_loan[1] if last_loan else 0,
        fund_available=bank.available,
    )


def application_run_checks(*, application: Application, terms: ProductTerms, at: datetime) -> list[eligibility.Check]:
    """Run the eligibility checks against ``terms`` and store their results on the
    application (saved by the caller's transaction)."""
    checks = eligibility.run_checks(_rules(terms), _facts(application, business_date_of(at)))
    application.checks = [check.as_json() for check in checks]
    application.checks_run_at = at
    return checks


def _checks_error(checks: list[eligibility.Check]) -> ApplicationError:
    failed = {check.name: [render_check(check.as_json())["message"]] for check in checks if not check.passed}
    return ApplicationError(_("The application fails the programme's checks: %s.") % ", ".join(failed), failed)


# --- creating ------------------------------------------------------------------------


def _check_request_limits(
    terms: ProductTerms, *, principal: int, tenor_months: int, collateral: bool, on: date
) -> None:
    """Refuse (400) a principal above the product's ceiling for the collateral chosen, a
    tenor the product does not offer, or a loan whose schedule the engine would refuse
    (a principal too small for the product's rounding unit), whoever the applicant: a
    loan is never approved that could not get its schedule at disbursement."""
    errors: dict[str, list[str]] = {}
    ceiling = terms.ceiling_with_collateral if collateral else terms.ceiling_without_collateral
    if principal > ceiling:
        errors["principal"] = [
            _("Above the ceiling of Rp%(ceiling)s %(basis)s.")
            % {
                "ceiling": rupiah_digits(ceiling),
                "basis": _("with collateral") if collateral else _("without collateral"),
            }
        ]
    if tenor_months not in terms.allowed_tenors:
        errors["tenor_months"] = [
            _("Not an allowed tenor; allowed: %s months.") % ", ".join(map(str, terms.allowed_tenors))
        ]
    if not errors:
        try:
            build_schedule(
                LoanTerms(
                    principal=principal,
                    annual_rate=terms.annual_rate,
                    tenor_months=tenor_months,
                    disbursement_date=on,
                    method=terms.method,  # type: ignore[arg-type]  # a Method choice
                    grace_months=terms.grace_months,
                    rounding=terms.rounding,
                    interest_rounding=terms.interest_rounding,  # type: ignore[arg-type]
                    installment_rounding=terms.installment_rounding,  # type: ignore[arg-type]
                )
            )
        except ScheduleError as exc:
            errors["principal" if exc.field in {"principal", "rounding"} else exc.field] = [
                _(exc.template).format(**exc.params)
            ]
    if errors:
        raise ApplicationError(_("The loan asked for is outside the product's terms."), errors)


@transaction.atomic
def application_create(
    *,
    actor: Any,
    borrower: Borrower,
    bank: Bank,
    principal: int,
    tenor_months: int,
    collateral: bool,
    purpose: str = "",
    business: Business | None = None,
    product: Product | None = None,
) -> Application:
    """A new application in ``draft``, by the city office, under the product version
    valid today. Runs the checks as a preview (stored; they are run again at submission).
    Raises ApplicationError for an inactive bank, a business of another borrower, no
    valid product version, a principal above the ceiling or a tenor not offered."""
    _require_officer(actor)
    if not bank.active:
        raise ApplicationError(_("This bank takes no new applications."), {"bank": [_("The bank is not active.")]})
    if business is None:
        business = borrower.businesses.order_by("-id").first()
        if business is None:
            raise ApplicationError(_("The borrower has no business."), {"business": [_("Add a business first.")]})
    elif business.borrower_id != borrower.pk:
        raise ApplicationError(_("Not this borrower's business."), {"business": [_("Not this borrower's business.")]})
    if product is None:
        product = Product.objects.filter(code=PROGRAMME_PRODUCT).first()
    now = timezone.now()
    terms = product_terms_on(product=product, on=business_today()) if product and product.active else None
    if product is None or terms is None:
        raise ApplicationError(
            _("No product terms are valid today."), {"product": [_("No product terms are valid today.")]}
        )
    _check_request_limits(
        terms, principal=principal, tenor_months=tenor_months, collateral=collateral, on=business_today()
    )
    application = Application(
        borrower=borrower,
        business=business,
        bank=bank,
        product=product,
        terms=terms,
        principal=principal,
        tenor_months=tenor_months,
        collateral=collateral,
        purpose=purpose,
        state=State.DRAFT,
        state_changed_at=now,
        created_by=actor,
    )
    application_run_checks(application=application, terms=terms, at=now)
    application.save()
    audit_record(
        actor=actor,
        action="create",
        subject=application,
        at=now,
        to_state=application.state,
        after=field_values(application, CREATED_FIELDS),
        amounts={"principal": principal},
    )
    return application


# --- the city office's steps --------------------------------------------------------


def application_submit(*, actor: Any, application_id: int) -> Application:
    """draft -> submitted, by the city office, if every check passes. When a check fails
    the results are stored all the same (so the office sees them) and ApplicationError
    names the failed checks."""
    application, failed = _submit(actor=actor, application_id=application_id)
    if failed:
        raise _checks_error(failed)
    return application


@transaction.atomic
def _submit(*, actor: Any, application_id: int) -> tuple[Application, list[eligibility.Check]]:
    application = _lock(application_id)
    _require_officer(actor)
    _require_state(application, State.DRAFT)
    now = timezone.now()
    checks = application_run_checks(application=application, terms=application.terms, at=now)
    failed = [check for check in checks if not check.passed]
    if failed:
        application.save(update_fields=["checks", "checks_run_at"])
        return application, failed
    application.submitted_by = actor
    application.submitted_at = now
    from_state = _move(
        application, State.SUBMITTED, at=now, fields=["checks", "checks_run_at", "submitted_by", "submitted_at"]
    )
    _moved(application, action="submit", actor=actor, at=now, from_state=from_state)
    return application, []


def application_field_verify_second_person(*, application: Application, actor: Any) -> str | None:
    """Maker-checker of the field visit: why ``actor`` may not verify ``application``
    (the officer who submitted it may not also verify it), or None when they may. The
    service refuses with this message; pages ask it to say so instead of a button."""
    if application.submitted_by_id is not None and application.submitted_by_id == actor.pk:
        return _("A second officer must verify this application: the officer who submitted it may not also verify it.")
    return None


@transaction.atomic
def application_field_verify(
    *,
    actor: Any,
    application_id: int,
    visited_on: date,
    notes: str,
    latitude: Any = None,
    longitude: Any = None,
    photo: Any = None,
) -> Application:
    """submitted -> field_verified: the office visited the business. Maker-checker: the
    verifying officer is not the one who submitted. The visit date is not in the future
    nor before the submission."""
    application = _lock(application_id)
    _require_officer(actor)
    _require_state(application, State.SUBMITTED)
    second_person = application_field_verify_second_person(application=application, actor=actor)
    if second_person:
        raise SecondPersonRequired(second_person)
    now = timezone.now()
    submitted_on = business_date_of(application.submitted_at) if application.submitted_at else None
    if visited_on > business_today() or (submitted_on and visited_on < submitted_on):
        raise ApplicationError(
            _("Invalid visit date."),
            {"visited_on": [_("The visit must be between the submission and today.")]},
        )
    if (latitude is None) != (longitude is None):
        raise ApplicationError(_("Invalid coordinates."), {"latitude": [_("Give both latitude and longitude.")]})
    application.visited_on = visited_on
    application.visit_officer = actor
    application.visit_notes = notes
    application.visit_latitude = latitude
    application.visit_longitude = longitude
    fields = ["visited_on", "visit_officer", "visit_notes", "visit_latitude", "visit_longitude"]
    if photo is not None:
        application.visit_photo = photo
        fields.append("visit_photo")
    from_state = _move(application, State.FIELD_VERIFIED, at=now, fields=fields)
    _moved(application, action="field_verify", actor=actor, at=now, from_state=from_state, note=notes)
    return application


@transaction.atomic
def application_forward(*, actor: Any, application_id: int, note: str = "") -> Application:
    """field_verified -> forwarded to the chosen bank, by the city office."""
    application = _lock(application_id)
    _require_officer(actor)
    _require_state(application, State.FIELD_VERIFIED)
    now = timezone.now()
    application.forwarded_at = now
    from_state = _move(application, State.FORWARDED, at=now, fields=["forwarded_at"])
    _moved(application, action="forward", actor=actor, at=now, from_state=from_state, note=note)
    return application


# --- the bank's steps -------------------------------------------------------------------


@transaction.atomic
def application_credit_check(*, actor: Any, application_id: int, result: str, notes: str = "") -> Application:
    """forwarded -> credit_checked: the bank records its credit-bureau (SLIK) result,
    ``clean`` or ``arrears`` (arrears elsewhere; the details go in ``notes``)."""
    application = _lock(application_id)
    _require_bank_staff_of(actor, application)
    _require_state(application, State.FORWARDED)
    if result not in Application.CreditResult.values:
        raise ApplicationError(_("Invalid credit check result."), {"result": [_("Must be clean or arrears.")]})
    if result == Application.CreditResult.ARREARS and not notes.strip():
        raise ApplicationError(_("Arrears need details."), {"notes": [_("Describe the arrears found.")]})
    now = timezone.now()
    application.credit_result = result
    application.credit_notes = notes
    application.credit_checked_by = actor
    from_state = _move(
        application, State.CREDIT_CHECKED, at=now, fields=["credit_result", "credit_notes", "credit_checked_by"]
    )
    _moved(application, action="credit_check", actor=actor, at=now, from_state=from_state, note=f"{result}: {notes}")
    return application


def application_approve_refusal(*, application: Application, actor: Any) -> str | None:
    """Maker-checker of the approval: why ``actor`` may not approve ``application`` (the
    person who recorded its credit check), or None. :func:`application_approve` refuses
    with this message; pages ask it to say so instead of offering the button."""
    if application.credit_checked_by_id is not None and application.credit_checked_by_id == getattr(actor, "pk", None):
        return _(
            "A second person of the bank must approve: the one who recorded the credit check may not also approve."
        )
    return None


def application_approve(
    *,
    actor: Any,
    application_id: int,
    contract_number: str,
    principal: int | None = None,
    tenor_months: int | None = None,
    collateral: bool | None = None,
) -> Application:
    """credit_checked -> approved by the bank, under the product version valid today
    (which the loan keeps). Maker-checker: the approver is not who recorded the credit
    check. The bank may lower the principal or change tenor and collateral; every
    check runs again and must pass (the results are stored either way). The contract
    number is unique per bank."""
    application, failed = _approve(
        actor=actor,
        application_id=application_id,
        contract_number=contract_number,
        principal=principal,
        tenor_months=tenor_months,
        collateral=collateral,
    )
    if failed:
        raise _checks_error(failed)
    return application


@transaction.atomic
def _approve(
    *,
    actor: Any,
    application_id: int,
    contract_number: str,
    principal: int | None,
    tenor_months: int | None,
    collateral: bool | None,
) -> tuple[Application, list[eligibility.Check]]:
    application = _lock(application_id)
    _require_bank_staff_of(actor, application)
    _require_state(application, State.CREDIT_CHECKED)
    refusal = application_approve_refusal(application=application, actor=actor)
    if refusal:
        raise SecondPersonRequired(refusal)
    contract_number = contract_number.strip()
    if not contract_number:
        raise ApplicationError(_("A contract number is needed."), {"contract_number": [_("This field is required.")]})
    if (
        Application.objects.filter(bank_id=application.bank_id, contract_number=contract_number)
        .exclude(pk=application.pk)
        .exists()
    ):
        raise _contract_number_taken()
    now = timezone.now()
    terms = product_terms_on(product=application.product, on=business_today())
    if terms is None:
        raise ApplicationError(
            _("No product terms are valid today."), {"product": [_("No product terms are valid today.")]}
        )
    if principal is not None:
        if principal > application.principal:
            raise ApplicationError(
                _("The bank may approve less, not more."),
                {"principal": [_("More than the Rp%s asked for.") % rupiah_digits(application.principal)]},
            )
        application.principal = principal
    if tenor_months is not None:
        application.tenor_months = tenor_months
    if collateral is not None:
        application.collateral = collateral
    _check_request_limits(
        terms,
        principal=application.principal,
        tenor_months=application.tenor_months,
        collateral=application.collateral,
        on=business_today(),
    )
    application.terms = terms
    checks = application_run_checks(application=application, terms=terms, at=now)
    failed = [check for check in checks if not check.passed]
    if failed:
        Application.objects.filter(pk=application.pk).update(checks=application.checks, checks_run_at=now)
        return application, failed
    application.contract_number = contract_number
    application.approved_by = actor
    application.approved_at = now
    fields = ["principal", "tenor_months", "collateral", "terms", "checks", "checks_run_at"]
    try:
        from_state = _move(
            application, State.APPROVED, at=now, fields=[*fields, "contract_number", "approved_by", "approved_at"]
        )
    except IntegrityError as exc:
        # Another approval took the same contract number at the same moment.
        raise _contract_number_taken() from exc
    _moved(
        application,
        action="approve",
        actor=actor,
        at=now,
        from_state=from_state,
        note=contract_number,
        amounts={"principal": application.principal},
    )
    return application, []


@dataclass(frozen=True, slots=True)
class Disbursement:
    """One approved application to pay out: on ``disbursed_on``, for ``amount`` rupiah
    (None: the approved principal; anything else must equal it)."""

    application_id: int
    disbursed_on: date
    amount: int | None = None


#: Loans per schedule task enqueued after a batch disbursement commits.
SCHEDULE_TASK_CHUNK = 1000
#: The most disbursements one call takes.
MAX_BATCH = 1000


def application_disburse(
    *, actor: Any, application_id: int, disbursed_on: date, amount: int | None = None
) -> Application:
    """approved -> disbursed: the bank pays the approved principal out and the loan is
    created with the approved product version's terms (see :func:`applications_disburse`,
    of which this is a batch of one)."""
    return applications_disburse(
        actor=actor, disbursements=[Disbursement(application_id, disbursed_on, amount)], batch=False
    )[0]


@transaction.atomic
def applications_disburse(
    *, actor: Any, disbursements: Sequence[Disbursement], batch: bool = True
) -> list[Application]:
    """approved -> disbursed, for one application or a bank's batch, all or nothing.

    Each loan is created with the terms of the product version its application was
    approved under and an outstanding principal equal to the approved principal. The
    bank's fund is drawn on for the batch's total with one conditional UPDATE, which
    row-locks the bank until commit: two disbursements at once cannot both overdraw it.
    One open loan per borrower is enforced by a partial unique index. After commit, a
    task per chunk of loans computes and stores their schedules; until then each loan's
    ``schedule_status`` is ``pending``.

    Raises PermissionDenied (not the application's bank's staff), StateConflict (an
    application not ``approved``, named with its state) and ApplicationError (a date in
    the future or before the approval, an amount other than the approved principal, a
    fund that cannot cover the batch, a borrower with an open loan, an application twice
    in the batch, an unknown application or more than MAX_BATCH). In a ``batch`` the error
    of one item is reported under ``errors["disbursements"]`` keyed by the item's index
    (a string): ``{"disbursements": {"3": {"amount": ["..."]}}}``.
    """
    ids = [item.application_id for item in disbursements]
    if not ids or len(ids) > MAX_BATCH:
        raise ApplicationError(
            _("Disburse between 1 and %d applications at a time.") % MAX_BATCH,
            {"disbursements": [_("Between 1 and %d items.") % MAX_BATCH]},
        )
    if len(set(ids)) != len(ids):
        again = next(index for index, pk in enumerate(ids) if pk in ids[:index])
        raise ApplicationError(
            _("An application appears twice."),
            {"disbursements": {str(again): {"application": [_("Each application at most once.")]}}},
        )
    locked = {
        application.pk: application
        for application in Application.objects.select_for_update(of=("self",))
        .select_related("terms")
        .filter(pk__in=ids)
        .order_by("pk")  # one lock order, so two batches cannot deadlock
    }
    missing = [index for index, pk in enumerate(ids) if pk not in locked]
    if missing:
        raise ApplicationError(
            _("No such application."),
            {"disbursements": {str(missing[0]): {"application": [_("No such application: %s.") % ids[missing[0]]]}}},
        )
    applications = [locked[pk] for pk in ids]
    now = timezone.now()
    today = business_today()
    for index, (application, item) in enumerate(zip(applications, disbursements, strict=True)):
        _require_bank_staff_of(actor, application)
        try:
            _require_state(application, State.APPROVED)
            _check_disbursement(application, item, today, single=not batch)
        except (ApplicationError, StateConflict) as exc:
            if not batch:
                raise
            raise batch_item_error(exc, "disbursements", index, subject="application") from exc

    totals: dict[int, int] = {}
    for application in applications:
        totals[application.bank_id] = totals.get(application.bank_id, 0) + application.principal
    for bank_id, total in sorted(totals.items()):
        if not bank_fund_draw(bank_id=bank_id, amount=total):
            available = Bank.objects.get(pk=bank_id).available
            raise ApplicationError(
                _("The bank's fund cannot cover this disbursement."),
                {"principal": [_("Only Rp%s is available in the bank's fund.") % rupiah_digits(available)]},
            )
    borrower_ids = [application.borrower_id for application in applications]
    if len(set(borrower_ids)) != len(borrower_ids):
        again = next(index for index, pk in enumerate(borrower_ids) if pk in borrower_ids[:index])
        raise _open_loan_error(batch_index=again if batch else None)

    loans = [
        _new_loan(application, item.disbursed_on) for application, item in zip(applications, disbursements, strict=True)
    ]
    try:
        with transaction.atomic():  # a savepoint, so the batch's item can be named after a refusal
            Loan.objects.bulk_create(loans)
    except IntegrityError as exc:
        # The partial unique index (one open loan per borrower) refused a second loan,
        # or decided a race between two disbursements; the whole transaction rolls back
        # with this error.
        taken = set(
            Loan.objects.filter(borrower_id__in=borrower_ids, status__in=Loan.OPEN_STATUSES).values_list(
                "borrower_id", flat=True
            )
        )
        refused = next((index for index, pk in enumerate(borrower_ids) if pk in taken), None)
        raise _open_loan_error(batch_index=refused if batch else None) from exc
    by_date: dict[date, list[int]] = {}
    for application, item in zip(applications, disbursements, strict=True):
        by_date.setdefault(item.disbursed_on, []).append(application.pk)
        application.disbursed_on = item.disbursed_on
        application.state = State.DISBURSED
        application.state_changed_at = now
    for disbursed_on, pks in by_date.items():
        Application.objects.filter(pk__in=pks).update(
            state=State.DISBURSED, state_changed_at=now, disbursed_on=disbursed_on
        )
    audit_record_many(
        audit_entry(
            actor=actor,
            action="disburse",
            subject=application,
            loan=loan,
            at=now,
            from_state=State.APPROVED,
            to_state=State.DISBURSED,
            before={"state": State.APPROVED},
            after={"state": State.DISBURSED, "disbursed_on": application.disbursed_on, "loan": loan.pk},
            amounts={"principal": loan.principal},
        )
        for application, loan in zip(applications, loans, strict=True)
    )
    loan_ids = [loan.pk for loan in loans]
    for start in range(0, len(loan_ids), SCHEDULE_TASK_CHUNK):
        chunk = loan_ids[start : start + SCHEDULE_TASK_CHUNK]
        # A broker outage must not fail a committed disbursement: _enqueue_schedules gives
        # up within about a second and logs it, and the beat sweep
        # (tasks.schedules.store_pending_schedules) stores what was not enqueued.
        _enqueue_schedules_on_commit(chunk)
    return applications


def _check_disbursement(application: Application, item: Disbursement, today: date, *, single: bool) -> None:
    """Amount and date rules for one disbursement (ApplicationError on the field; in a
    batch the message names the application)."""
    prefix = "" if single else _("Application %s: ") % application.pk
    if item.amount is not None and item.amount != application.principal:
        raise ApplicationError(
            _("Disburse the approved principal."),
            {"amount": [prefix + _("Must be the approved Rp%s.") % rupiah_digits(application.principal)]},
        )
    approved_on = business_date_of(application.approved_at) if application.approved_at else None
    if item.disbursed_on > today or (approved_on and item.disbursed_on < approved_on):
        raise ApplicationError(
            _("Invalid disbursement date."),
            {"disbursed_on": [prefix + _("Must be between the approval and today.")]},
        )


def _contract_number_taken() -> ApplicationError:
    return ApplicationError(
        _("Contract number already used."), {"contract_number": [_("This bank already has this contract number.")]}
    )


def _open_loan_error(*, batch_index: int | None = None) -> ApplicationError:
    error = ApplicationError(
        _("The borrower already has an active programme loan."),
        {"borrower": [_("The borrower already has an active programme loan.")]},
    )
    return error if batch_index is None else batch_item_error(error, "disbursements", batch_index)


def _new_loan(application: Application, disbursed_on: date) -> Loan:
    terms = application.terms
    return Loan(
        application=application,
        borrower_id=application.borrower_id,
        bank_id=application.bank_id,
        terms=terms,
        contract_number=application.contract_number,
        principal=application.principal,
        annual_rate=terms.annual_rate,
        method=terms.method,
        tenor_months=application.tenor_months,
        grace_months=terms.grace_months,
        rounding=terms.rounding,
        interest_rounding=terms.interest_rounding,
        installment_rounding=terms.installment_rounding,
        business_days=terms.business_days,
        disbursed_on=disbursed_on,
        outstanding_principal=application.principal,
    )


def _enqueue_schedules_on_commit(loan_ids: list[int]) -> None:
    # robust: in eager mode (development) a failing store is logged, not raised into the
    # committed request. A function, not a functools.partial: Django's robust handler
    # logs the callback's __qualname__, which a partial lacks (the handler itself raised).
    transaction.on_commit(lambda: _enqueue_schedules(loan_ids), robust=True)


def _enqueue_schedules(loan_ids: list[int]) -> None:
    from tasks.base import task_send
    from tasks.schedules import loan_schedules_store_task

    task_send(loan_schedules_store_task, loan_ids)


# --- ending without a loan ---------------------------------------------------------------


@transaction.atomic
def application_reject(*, actor: Any, application_id: int, reason: str) -> Application:
    """Reject, with a reason, from any state before disbursement, by the side holding
    the file: the city office up to field verification, the application's bank from
    forwarding to approval."""
    application = _lock(application_id)
    _require_state(application, *OFFICE_STATES, *BANK_STATES)
    if application.state in OFFICE_STATES:
        _require_officer(actor)
    else:
        _require_bank_staff_of(actor, application)
    return _end(application, State.REJECTED, actor=actor, reason=reason, action="reject")


@transaction.atomic
def application_withdraw(*, actor: Any, application_id: int, reason: str) -> Application:
    """Withdraw, with a reason, before approval: by the applicant (a borrower withdrawing
    their own application, the one write a borrower has) or the city office on their
    behalf."""
    application = _lock(application_id)
    if not has_role(actor, Role.OFFICER) and borrower_id_of(actor) != application.borrower_id:
        raise PermissionDenied(_("Only the applicant or the city office may withdraw an application."))
    _require_state(application, *WITHDRAWABLE_STATES)
    return _end(application, State.WITHDRAWN, actor=actor, reason=reason, action="withdraw")


def _end(application: Application, state: str, *, actor: Any, reason: str, action: str) -> Application:
    reason = reason.strip()
    if not reason:
        raise ApplicationError(_("A reason is needed."), {"reason": [_("This field is required.")]})
    now = timezone.now()
    application.end_reason = reason
    from_state = _move(application, state, at=now, fields=["end_reason"])
    _moved(application, action=action, actor=actor, at=now, from_state=from_state, note=reason)
    return application
