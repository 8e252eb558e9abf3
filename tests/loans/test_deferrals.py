"""Deferrals (loans.services.deferrals and their APIs): who asks and who decides, the
states and refusals, the new schedule version in both modes (flat and annuity, with
paid and partly paid installments), extensions and the collectibility hold."""

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.models import Sum
from django.utils import timezone, translation

from audit.models import AuditEntry
from banks.models import Bank
from config.errors import ApplicationError, StateConflict
from loans.models import Deferral, Installment, Loan, ProductTerms
from loans.services.deferrals import calendar_mover, deferral_approve, deferral_reject, deferral_request
from loans.services.repayments import RepaymentRequest, repayment_post
from tests.factories import ProductTermsFactory, UserFactory, bank_user, funded_bank, serviced_loan

pytestmark = pytest.mark.django_db

P_AND_I = "principal_and_interest"
P_ONLY = "principal_only"
ROW_FIELDS = (
    "number",
    "due_date",
    "principal",
    "interest",
    "installment",
    "balance",
    "principal_paid",
    "interest_paid",
    "penalty",
    "penalty_paid",
    "penalty_through",
    "paid_on",
)


@dataclass
class World:
    pasar: Bank
    jateng: Bank
    flat: ProductTerms
    officer: User
    officer2: User
    pasar_staff: User
    pasar_staff2: User
    jateng_staff: User
    auditor: User
    manager: User
    borrower_user: User

    def loan(self, **kwargs: Any) -> Loan:
        return serviced_loan(bank=self.pasar, terms=kwargs.pop("terms", self.flat), **kwargs)


@pytest.fixture
def world(db: Any) -> World:
    pasar = funded_bank("PASAR", 500_000_000)
    jateng = funded_bank("JATENG", 500_000_000, kind=Bank.Kind.COMMERCIAL)
    return World(
        pasar=pasar,
        jateng=jateng,
        flat=ProductTermsFactory.create(version=1),
        officer=UserFactory.create(username="officer", role="officer"),
        officer2=UserFactory.create(username="officer2", role="officer"),
        pasar_staff=bank_user(pasar, username="pasar"),
        pasar_staff2=bank_user(pasar, username="pasar2"),
        jateng_staff=bank_user(jateng, username="jateng"),
        auditor=UserFactory.create(username="auditor", role="auditor"),
        manager=UserFactory.create(username="manager", role="manager"),
        borrower_user=UserFactory.create(username="borrower", role="borrower"),
    )


def terms(version: int, **overrides: Any) -> ProductTerms:
    return ProductTermsFactory.create(version=version, **overrides)


def rows(loan: Loan, version: int | None = None) -> list[tuple[Any, ...]]:
    return list(
        Installment.objects.filter(loan=loan, schedule_version=version or loan.schedule_version)
        .order_by("number")
        .values_list(*ROW_FIELDS)
    )


def pay(loan: Loan, number: int, *, principal: int | None = None, interest: int | None = None, **more: Any) -> None:
    """Record payments on installment ``number`` of the current version by hand (the
    repayment service is tested elsewhere): in full unless amounts are given."""
    row = Installment.objects.get(loan=loan, schedule_version=loan.schedule_version, number=number)
    row.principal_paid = row.principal if principal is None else principal
    row.interest_paid = row.interest if interest is None else interest
    for name, value in more.items():
        setattr(row, name, value)
    row.save()


def ask(world: World, loan: Loan, months: int = 3, mode: str = P_AND_I, **kwargs: Any) -> Deferral:
    actor = kwargs.pop("actor", world.officer)
    return deferral_request(actor=actor, loan_id=loan.pk, months=months, mode=mode, reason="Pasar direnovasi", **kwargs)


def approved(world: World, loan: Loan, months: int = 3, mode: str = P_AND_I, **kwargs: Any) -> Deferral:
    deferral = ask(world, loan, months, mode, **kwargs)
    return deferral_approve(actor=world.pasar_staff, deferral_id=deferral.pk, note="ok")


def flat_loan_with_payments(world: World, **kwargs: Any) -> Loan:
    """Rp5,000,000 flat 3% over 12 months from 31 January 2026 (installments of 416,667
    principal + 12,500 interest, the last 416,663): #1 and #2 paid, #3 partly paid (all
    its interest and 100,000 of principal, with a penalty partly paid), #4 carrying an
    unpaid penalty."""
    loan = world.loan(**kwargs)
    pay(loan, 1, paid_on=date(2026, 2, 27))
    pay(loan, 2, paid_on=date(2026, 3, 30))
    pay(loan, 3, principal=100_000, penalty=2_000, penalty_paid=500, penalty_through=date(2026, 5, 10))
    pay(loan, 4, principal=0, interest=0, penalty=1_000, penalty_through=date(2026, 5, 10))
    Loan.objects.filter(pk=loan.pk).update(collectibility=2, outstanding_principal=5_000_000 - 2 * 416_667 - 100_000)
    loan.refresh_from_db()
    return loan


# --- who asks, who decides ----------------------------------------------------------------


def test_the_city_office_asks_and_the_loans_bank_approves(world: World) -> None:
    loan = world.loan()
    deferral = ask(world, loan)
    assert (deferral.state, deferral.requested_side, deferral.requested_by) == ("requested", "city", world.officer)
    deferral = deferral_approve(actor=world.pasar_staff, deferral_id=deferral.pk, note="Disetujui")
    deferral.refresh_from_db()
    loan.refresh_from_db()
    assert deferral.state == "approved"
    assert (deferral.decided_by, deferral.decision_note) == (world.pasar_staff, "Disetujui")
    assert deferral.decided_at is not None
    assert (deferral.from_version, deferral.to_version, loan.schedule_version) == (1, 2, 2)
    events = list(AuditEntry.objects.filter(loan=loan).order_by("id").values_list("action", "actor", "amounts"))
    disbursed_by = AuditEntry.objects.get(loan=loan, action="disburse").actor_id
    assert events == [
        ("disburse", disbursed_by, {"principal": 5_000_000}),
        ("deferral_requested", world.officer.pk, {}),
        ("deferral_approved", world.pasar_staff.pk, {"principal": 5_000_000, "interest": 150_000}),
    ]


def test_the_bank_asks_and_the_city_office_approves(world: World) -> None:
    loan = world.loan()
    deferral = ask(world, loan, actor=world.pasar_staff)
    assert deferral.requested_side == "bank"
    deferral = deferral_approve(actor=world.officer2, deferral_id=deferral.pk)
    assert (deferral.state, deferral.decided_by) == ("approved", world.officer2)


@pytest.mark.parametrize("asker", ["officer", "pasar_staff"])
def test_the_side_that_asked_may_not_decide(world: World, asker: str) -> None:
    loan = world.loan()
    deferral = ask(world, loan, actor=getattr(world, asker))
    same_side = ["officer", "officer2"] if asker == "officer" else ["pasar_staff", "pasar_staff2"]
    for name in [*same_side, "jateng_staff", "auditor", "manager", "borrower_user"]:
        with pytest.raises(PermissionDenied):
            deferral_approve(actor=getattr(world, name), deferral_id=deferral.pk)
        with pytest.raises(PermissionDenied):
            deferral_reject(actor=getattr(world, name), deferral_id=deferral.pk, note="no")
    deferral.refresh_from_db()
    assert deferral.state == "requested"


@pytest.mark.parametrize("name", ["jateng_staff", "auditor", "manager", "borrower_user"])
def test_only_the_city_office_or_the_loans_bank_asks(world: World, name: str) -> None:
    loan = world.loan()
    with pytest.raises(PermissionDenied):
        ask(world, loan, actor=getattr(world, name))
    assert not Deferral.objects.exists()


def test_a_decided_request_answers_409_naming_its_state(world: World) -> None:
    loan = world.loan()
    deferral = approved(world, loan)
    with pytest.raises(StateConflict) as conflict:
        deferral_approve(actor=world.pasar_staff, deferral_id=deferral.pk)
    assert conflict.value.state == "approved"
    second = world.loan()
    rejected = ask(world, second)
    deferral_reject(actor=world.pasar_staff, deferral_id=rejected.pk, note="Usaha normal")
    with pytest.raises(StateConflict) as conflict:
        deferral_approve(actor=world.pasar_staff, deferral_id=rejected.pk)
    assert conflict.value.state == "rejected"


def test_reject_needs_a_note_and_leaves_the_schedule(world: World) -> None:
    loan = world.loan()
    before = rows(loan)
    deferral = ask(world, loan, actor=world.pasar_staff)
    with pytest.raises(ApplicationError) as error:
        deferral_reject(actor=world.officer, deferral_id=deferral.pk, note="  ")
    assert list(error.value.errors) == ["note"]
    deferral = deferral_reject(actor=world.officer, deferral_id=deferral.pk, note="Usaha masih normal")
    deferral.refresh_from_db()
    loan.refresh_from_db()
    assert (deferral.state, deferral.decision_note, deferral.decided_by) == (
        "rejected",
        "Usaha masih normal",
        world.officer,
    )
    assert (deferral.from_version, deferral.to_version) == (None, None)
    assert loan.schedule_version == 1
    assert rows(loan) == before
    assert Installment.objects.filter(loan=loan).count() == 12
    assert AuditEntry.objects.filter(loan=loan, action="deferral_rejected").count() == 1
    # A rejected request does not block a new one.
    assert ask(world, loan).state == "requested"


# --- what may be asked ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"status": "written_off"}, "written_off"),
        ({"status": "paid_off"}, "paid_off"),
        ({"schedule_status": "pending"}, "pending"),
    ],
)
def test_asking_needs_an_open_loan_with_its_schedule(world: World, changes: dict[str, str], state: str) -> None:
    loan = world.loan()
    Loan.objects.filter(pk=loan.pk).update(**changes)
    with translation.override("id"), pytest.raises(StateConflict) as conflict:
        ask(world, loan)
    assert conflict.value.state == state
    # The message names the state by its Indonesian label; the code stays in `state`.
    assert {"written_off": "hapus buku", "paid_off": "lunas", "pending": "sedang dihitung"}[state] in (
        conflict.value.message
    )


def test_an_overdue_loan_may_be_deferred(world: World) -> None:
    loan = world.loan(status="overdue")
    assert approved(world, loan).state == "approved"


def test_approval_needs_the_loan_still_open(world: World) -> None:
    loan = world.loan()
    deferral = ask(world, loan)
    Loan.objects.filter(pk=loan.pk).update(status="written_off")
    with pytest.raises(StateConflict) as conflict:
        deferral_approve(actor=world.pasar_staff, deferral_id=deferral.pk)
    assert conflict.value.state == "written_off"
    assert Installment.objects.filter(loan=loan, schedule_version=2).count() == 0


@pytest.mark.parametrize(
    ("months", "mode", "reason", "fields"),
    [
        (0, P_AND_I, "x", ["months"]),
        (13, P_AND_I, "x", ["months"]),
        (True, P_AND_I, "x", ["months"]),
        (3, "interest_only", "x", ["mode"]),
        (3, P_AND_I, "   ", ["reason"]),
        (99, "later", "", ["mode", "months", "reason"]),
    ],
)
def test_request_input_is_checked_by_field(
    world: World, months: Any, mode: str, reason: str, fields: list[str]
) -> None:
    loan = world.loan()
    with pytest.raises(ApplicationError) as error:
        deferral_request(actor=world.officer, loan_id=loan.pk, months=months, mode=mode, reason=reason)
    assert sorted(error.value.errors) == fields


def test_one_waiting_request_per_loan(world: World) -> None:
    loan = world.loan()
    first = ask(world, loan)
    with pytest.raises(StateConflict) as conflict:
        ask(world, loan, actor=world.pasar_staff)
    assert conflict.value.state == "requested"
    assert str(first.pk) in conflict.value.message


def test_a_loan_with_nothing_unpaid_has_nothing_to_defer(world: World) -> None:
    loan = world.loan()
    Installment.objects.filter(loan=loan).update(paid_on=date(2026, 3, 1))
    with pytest.raises(StateConflict):
        ask(world, loan)


# --- extension ----------------------------------------------------------------------------


@translation.override("en")  # the messages are matched in English
def test_the_first_deferral_may_be_extended_once(world: World) -> None:
    loan = world.loan()
    first = approved(world, loan, months=3)
    with pytest.raises(StateConflict) as conflict:
        ask(world, loan)
    assert "extension_of" in conflict.value.message
    extension = ask(world, loan, months=3, extension_of_id=first.pk)
    assert extension.extension_of == first
    deferral_approve(actor=world.pasar_staff, deferral_id=extension.pk)
    loan.refresh_from_db()
    assert loan.schedule_version == 3
    # A third deferral is refused, whichever way it is asked for.
    for extension_of_id in (None, first.pk, extension.pk):
        with pytest.raises(StateConflict) as conflict:
            ask(world, loan, months=1, extension_of_id=extension_of_id)
        assert "no further deferral" in conflict.value.message
    assert Deferral.objects.filter(loan=loan).count() == 2


def test_extension_must_name_an_approved_deferral_of_the_loan(world: World) -> None:
    loan = world.loan()
    other = world.loan()
    other_deferral = approved(world, other)
    with pytest.raises(ApplicationError) as error:
        ask(world, loan, extension_of_id=other_deferral.pk)
    assert list(error.value.errors) == ["extension_of"]
    rejected = ask(world, loan)
    deferral_reject(actor=world.pasar_staff, deferral_id=rejected.pk, note="no")
    with pytest.raises(StateConflict) as conflict:
        ask(world, loan, extension_of_id=rejected.pk)
    assert conflict.value.state == "rejected"


@translation.override("en")  # the messages are matched in English
def test_a_rejected_extension_does_not_use_the_extension_up(world: World) -> None:
    loan = world.loan()
    first = approved(world, loan)
    extension = ask(world, loan, extension_of_id=first.pk)
    deferral_reject(actor=world.pasar_staff, deferral_id=extension.pk, note="Belum perlu")
    again = ask(world, loan, extension_of_id=first.pk)
    deferral_approve(actor=world.pasar_staff, deferral_id=again.pk)
    with pytest.raises(StateConflict) as conflict:
        ask(world, loan, extension_of_id=first.pk)
    assert "no further deferral" in conflict.value.message


def test_extension_moves_the_moved_installments_again_keeping_the_held_class(world: World) -> None:
    loan = flat_loan_with_payments(world)
    first = approved(world, loan, months=3)
    assert (first.hold_class, first.hold_until) == (2, date(2026, 7, 30))
    # The nightly close has since graded the loan otherwise; the extension keeps class 2.
    Loan.objects.filter(pk=loan.pk).update(collectibility=3)
    loan.refresh_from_db()
    extension = ask(world, loan, months=2, extension_of_id=first.pk, actor=world.pasar_staff)
    extension = deferral_approve(actor=world.officer, deferral_id=extension.pk)
    loan.refresh_from_db()
    assert (extension.from_version, extension.to_version) == (2, 3)
    assert (extension.hold_class, extension.hold_until) == (2, date(2026, 9, 29))
    assert (loan.collectibility_hold, loan.hold_until) == (2, date(2026, 9, 29))
    v3 = rows(loan)
    assert [row[1] for row in v3] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 9, 30),
        date(2026, 10, 31),
        date(2026, 11, 30),
        date(2026, 12, 31),
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
        date(2027, 6, 30),
    ]
    assert [row[2:] for row in v3] == [row[2:] for row in rows(loan, 2)]
    assert loan.oldest_unpaid_due == date(2026, 9, 30)
    # Every version is still there, unchanged.
    assert [len(rows(loan, version)) for version in (1, 2, 3)] == [12, 12, 12]


# --- the new schedule version ---------------------------------------------------------------


def test_principal_and_interest_moves_every_unpaid_installment_flat(world: World) -> None:
    loan = flat_loan_with_payments(world)
    before = rows(loan)
    deferral = approved(world, loan, months=3, mode=P_AND_I)
    loan.refresh_from_db()
    paid = (416_667, 12_500)
    penalty_day = date(2026, 5, 10)
    # Moved on the loan's calendar (31 January + k months): 30 April + 3 months is 31 July.
    assert rows(loan) == [
        (1, date(2026, 2, 28), 416_667, 12_500, 429_167, 4_583_333, *paid, 0, 0, None, date(2026, 2, 27)),
        (2, date(2026, 3, 31), 416_667, 12_500, 429_167, 4_166_666, *paid, 0, 0, None, date(2026, 3, 30)),
        (3, date(2026, 7, 31), 416_667, 12_500, 429_167, 3_749_999, 100_000, 12_500, 2_000, 500, penalty_day, None),
        (4, date(2026, 8, 31), 416_667, 12_500, 429_167, 3_333_332, 0, 0, 1_000, 0, penalty_day, None),
        (5, date(2026, 9, 30), 416_667, 12_500, 429_167, 2_916_665, 0, 0, 0, 0, None, None),
        (6, date(2026, 10, 31), 416_667, 12_500, 429_167, 2_499_998, 0, 0, 0, 0, None, None),
        (7, date(2026, 11, 30), 416_667, 12_500, 429_167, 2_083_331, 0, 0, 0, 0, None, None),
        (8, date(2026, 12, 31), 416_667, 12_500, 429_167, 1_666_664, 0, 0, 0, 0, None, None),
        (9, date(2027, 1, 31), 416_667, 12_500, 429_167, 1_249_997, 0, 0, 0, 0, None, None),
        (10, date(2027, 2, 28), 416_667, 12_500, 429_167, 833_330, 0, 0, 0, 0, None, None),
        (11, date(2027, 3, 31), 416_667, 12_500, 429_167, 416_663, 0, 0, 0, 0, None, None),
        (12, date(2027, 4, 30), 416_663, 12_500, 429_163, 0, 0, 0, 0, 0, None, None),
    ]
    assert rows(loan, 1) == before
    assert_sums_kept(loan)
    assert loan.oldest_unpaid_due == date(2026, 7, 31)
    assert (deferral.hold_class, deferral.hold_until) == (2, date(2026, 7, 30))
    assert (loan.collectibility_hold, loan.hold_until) == (2, date(2026, 7, 30))
    event = AuditEntry.objects.get(loan=loan, action="deferral_approved")
    assert event.amounts == {"principal": 4_066_666, "interest": 112_500}
    assert event.application_id == loan.application_id


def test_principal_only_keeps_interest_at_its_dates_and_moves_principal_flat(world: World) -> None:
    loan = flat_loan_with_payments(world)
    before = rows(loan)
    approved(world, loan, months=3, mode=P_ONLY)
    loan.refresh_from_db()
    today = timezone.localdate()
    paid = (416_667, 12_500)
    penalty_day = date(2026, 5, 10)
    regular = 416_667
    assert rows(loan) == [
        (1, date(2026, 2, 28), regular, 12_500, 429_167, 4_583_333, *paid, 0, 0, None, date(2026, 2, 27)),
        (2, date(2026, 3, 31), regular, 12_500, 429_167, 4_166_666, *paid, 0, 0, None, date(2026, 3, 30)),
        # #3's interest was paid: its row holds no principal now, so nothing is owed on it.
        (3, date(2026, 4, 30), 0, 12_500, 12_500, 4_166_666, 0, 12_500, 2_000, 500, penalty_day, today),
        (4, date(2026, 5, 31), 0, 12_500, 12_500, 4_166_666, 0, 0, 1_000, 0, penalty_day, None),
        (5, date(2026, 6, 30), 0, 12_500, 12_500, 4_166_666, 0, 0, 0, 0, None, None),
        # #3's principal (100,000 of it paid) with #6's interest.
        (6, date(2026, 7, 31), regular, 12_500, 429_167, 3_749_999, 100_000, 0, 0, 0, None, None),
        (7, date(2026, 8, 31), regular, 12_500, 429_167, 3_333_332, 0, 0, 0, 0, None, None),
        (8, date(2026, 9, 30), regular, 12_500, 429_167, 2_916_665, 0, 0, 0, 0, None, None),
        (9, date(2026, 10, 31), regular, 12_500, 429_167, 2_499_998, 0, 0, 0, 0, None, None),
        (10, date(2026, 11, 30), regular, 12_500, 429_167, 2_083_331, 0, 0, 0, 0, None, None),
        (11, date(2026, 12, 31), regular, 12_500, 429_167, 1_666_664, 0, 0, 0, 0, None, None),
        (12, date(2027, 1, 31), regular, 12_500, 429_167, 1_249_997, 0, 0, 0, 0, None, None),
        (13, date(2027, 2, 28), regular, 0, regular, 833_330, 0, 0, 0, 0, None, None),
        (14, date(2027, 3, 31), regular, 0, regular, 416_663, 0, 0, 0, 0, None, None),
        (15, date(2027, 4, 30), 416_663, 0, 416_663, 0, 0, 0, 0, 0, None, None),
    ]
    assert rows(loan, 1) == before
    assert_sums_kept(loan)
    assert loan.oldest_unpaid_due == date(2026, 5, 31)
    # Payments of principal resume on 31 July, where #3's principal now falls due.
    assert (loan.collectibility_hold, loan.hold_until) == (2, date(2026, 7, 30))
    event = AuditEntry.objects.get(loan=loan, action="deferral_approved")
    assert event.amounts == {"principal": 4_066_666, "interest": 0}


ANNUITY_PRINCIPAL = [410_969, 411_996, 413_026, 414_059, 415_094, 416_132, 417_172, 418_215, 419_261, 420_309]
ANNUITY_PRINCIPAL += [421_360, 422_407]
ANNUITY_INTEREST = [12_500, 11_473, 10_443, 9_410, 8_375, 7_337, 6_297, 5_254, 4_208, 3_160, 2_109, 1_056]


def annuity_loan_with_payments(world: World) -> Loan:
    """Rp5,000,000 annuity 3% over 12 months from 31 January 2026: #1 paid, #2 partly
    paid (its interest and 200,000 of principal)."""
    loan = world.loan(terms=terms(2, method="annuity"))
    assert [row[2] for row in rows(loan)] == ANNUITY_PRINCIPAL
    assert [row[3] for row in rows(loan)] == ANNUITY_INTEREST
    pay(loan, 1, paid_on=date(2026, 3, 2))
    pay(loan, 2, principal=200_000)
    return loan


#: The loan's calendar (31 January 2026 + k months) from k = 2.
MONTH_ENDS = [
    date(2026, 3, 31),
    date(2026, 4, 30),
    date(2026, 5, 31),
    date(2026, 6, 30),
    date(2026, 7, 31),
    date(2026, 8, 31),
    date(2026, 9, 30),
    date(2026, 10, 31),
    date(2026, 11, 30),
    date(2026, 12, 31),
    date(2027, 1, 31),
    date(2027, 2, 28),
    date(2027, 3, 31),
]


def test_principal_and_interest_on_an_annuity_loan(world: World) -> None:
    loan = annuity_loan_with_payments(world)
    before = rows(loan)
    approved(world, loan, months=2, mode=P_AND_I)
    loan.refresh_from_db()
    new = rows(loan)
    assert [row[1] for row in new] == [date(2026, 2, 28), *MONTH_ENDS[2:]]
    assert [row[2] for row in new] == ANNUITY_PRINCIPAL
    assert [row[3] for row in new] == ANNUITY_INTEREST
    assert [row[4] for row in new] == [423_469] * 11 + [423_463]
    assert [row[5] for row in new] == [row[5] for row in before]
    assert [row[6:8] for row in new] == [(410_969, 12_500), (200_000, 11_473)] + [(0, 0)] * 10
    assert [row[11] for row in new] == [date(2026, 3, 2)] + [None] * 11
    assert rows(loan, 1) == before
    assert_sums_kept(loan)
    assert loan.oldest_unpaid_due == date(2026, 5, 31)


def test_principal_only_on_an_annuity_loan(world: World) -> None:
    loan = annuity_loan_with_payments(world)
    before = rows(loan)
    approved(world, loan, months=2, mode=P_ONLY)
    loan.refresh_from_db()
    new = rows(loan)
    # Installment 1 paid, then 13 rows from 31 March: the interest of #2..#12 at their
    # dates, the principal of #2..#12 two months later.
    assert [row[0] for row in new] == list(range(1, 15))
    assert [row[1] for row in new] == [date(2026, 2, 28), *MONTH_ENDS]
    assert [row[2] for row in new] == [410_969, 0, 0, *ANNUITY_PRINCIPAL[1:]]
    assert [row[3] for row in new] == [*ANNUITY_INTEREST, 0, 0]
    assert all(row[4] == row[2] + row[3] for row in new)
    assert [row[5] for row in new] == [
        4_589_031,
        4_589_031,
        4_589_031,
        *[5_000_000 - sum(ANNUITY_PRINCIPAL[: n + 1]) for n in range(1, 12)],
    ]
    assert [row[6] for row in new] == [410_969, 0, 0, 200_000] + [0] * 10
    assert [row[7] for row in new] == [12_500, 11_473] + [0] * 12
    assert [row[11] for row in new] == [date(2026, 3, 2), timezone.localdate()] + [None] * 12
    assert rows(loan, 1) == before
    assert_sums_kept(loan)
    assert loan.oldest_unpaid_due == date(2026, 4, 30)


def assert_sums_kept(loan: Loan) -> None:
    def sums(version: int) -> dict[str, Any]:
        return Installment.objects.filter(loan=loan, schedule_version=version).aggregate(
            principal=Sum("principal"),
            interest=Sum("interest"),
            principal_paid=Sum("principal_paid"),
            interest_paid=Sum("interest_paid"),
            penalty=Sum("penalty"),
            penalty_paid=Sum("penalty_paid"),
        )

    old, new = sums(loan.schedule_version - 1), sums(loan.schedule_version)
    assert new == old
    assert new["principal"] == loan.principal


def test_a_settled_row_takes_the_date_its_interest_was_paid(world: World) -> None:
    loan = world.loan()
    # Before the first due date (02-28): its interest, then 50,000 of its principal.
    repayment, _ = repayment_post(
        actor=world.pasar_staff,
        loan_id=loan.pk,
        request=RepaymentRequest(62_500, date(2026, 2, 20), "teller", "R-1"),
    )
    assert sorted(repayment.allocations.values_list("component", "amount")) == [
        ("interest", 12_500),
        ("principal", 50_000),
    ]
    approved(world, loan, months=1, mode=P_ONLY)
    loan.refresh_from_db()
    row = Installment.objects.get(loan=loan, schedule_version=2, number=1)
    assert (row.principal, row.interest, row.interest_paid, row.paid_on) == (0, 12_500, 12_500, date(2026, 2, 20))
    assert loan.oldest_unpaid_due == date(2026, 3, 31)


def test_due_dates_follow_the_business_day_rule(world: World) -> None:
    loan = world.loan(terms=terms(3, business_days=True), business_days=True)
    assert [row[1] for row in rows(loan)][:4] == [
        date(2026, 3, 2),  # 28 February is a Saturday
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 6, 2),  # 31 May is a Sunday, 1 June Pancasila day
    ]
    approved(world, loan, months=1)
    loan.refresh_from_db()
    assert [row[1] for row in rows(loan)] == [
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 6, 2),
        date(2026, 6, 30),
        date(2026, 7, 31),
        date(2026, 8, 31),
        date(2026, 9, 30),
        date(2026, 11, 2),  # 31 October is a Saturday
        date(2026, 11, 30),
        date(2026, 12, 31),
        date(2027, 2, 1),
        date(2027, 3, 1),
    ]
    assert loan.hold_until == date(2026, 3, 30)


def test_moves_are_counted_from_the_disbursement_date_not_chained() -> None:
    move = calendar_mover(date(2026, 1, 31), business_days=False)
    assert move(date(2026, 2, 28), 3) == date(2026, 5, 31)
    assert move(date(2026, 4, 30), 1) == date(2026, 5, 31)
    # A date off the loan's calendar (a hand-made change) moves from itself.
    assert move(date(2026, 3, 15), 3) == date(2026, 6, 15)


# --- collectibility ----------------------------------------------------------------------


def test_recompute_setting_holds_no_class(world: World) -> None:
    loan = world.loan(terms=terms(4, deferral_collectibility="recompute"))
    Loan.objects.filter(pk=loan.pk).update(collectibility=3)
    deferral = approved(world, loan)
    loan.refresh_from_db()
    assert (deferral.hold_class, deferral.hold_until) == (None, None)
    assert (loan.collectibility_hold, loan.hold_until) == (None, None)
    assert loan.collectibility == 3
    assert loan.schedule_version == 2


def test_hold_setting_holds_the_class_of_the_last_close(world: World) -> None:
    loan = world.loan()
    Loan.objects.filter(pk=loan.pk).update(collectibility=3)
    deferral = approved(world, loan, months=2)
    loan.refresh_from_db()
    # The first unpaid installment (28 February) now falls due on 30 April.
    assert (deferral.hold_class, deferral.hold_until) == (3, date(2026, 4, 29))
    assert (loan.collectibility_hold, loan.hold_until, loan.collectibility) == (3, date(2026, 4, 29), 3)


# --- the APIs ----------------------------------------------------------------------------

DEFERRAL_KEYS = {
    "id",
    "loan",
    "months",
    "mode",
    "reason",
    "state",
    "extension_of",
    "requested_side",
    "requested_by",
    "requested_at",
    "decided_by",
    "decided_at",
    "decision_note",
    "from_version",
    "to_version",
    "hold_class",
    "hold_until",
}


def post(client: Any, user: Any, path: str, body: Any = None) -> Any:
    client.force_authenticate(user)
    return client.post(f"/api/v1/{path}", body if body is not None else {}, format="json")


def get(client: Any, user: Any, path: str) -> Any:
    client.force_authenticate(user)
    return client.get(f"/api/v1/{path}")


def test_request_and_approve_over_the_api(api_client: Any, world: World) -> None:
    loan = flat_loan_with_payments(world)
    body = {"months": 3, "mode": P_ONLY, "reason": "Pasar direnovasi", "extension_of": None}
    created = post(api_client, world.pasar_staff, f"loans/{loan.pk}/deferrals/", body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert set(data) == DEFERRAL_KEYS
    assert data["loan"] == loan.pk
    assert (data["months"], data["mode"], data["state"], data["requested_side"]) == (3, P_ONLY, "requested", "bank")
    assert (data["requested_by"], data["decided_by"], data["extension_of"], data["to_version"]) == (
        "pasar",
        None,
        None,
        None,
    )

    answer = post(api_client, world.officer, f"loans/{loan.pk}/deferrals/{data['id']}/approve/", {"note": "Setuju"})
    assert answer.status_code == 200, answer.content
    decision = answer.json()
    assert set(decision) == {"deferral", "schedule_version"}
    assert decision["schedule_version"] == 2
    deferral = decision["deferral"]
    assert (deferral["state"], deferral["decided_by"], deferral["decision_note"]) == ("approved", "officer", "Setuju")
    assert (deferral["from_version"], deferral["to_version"]) == (1, 2)
    assert (deferral["hold_class"], deferral["hold_until"]) == (2, "2026-07-30")

    schedule = get(api_client, world.pasar_staff, f"loans/{loan.pk}/schedule/").json()
    assert schedule["schedule_version"] == 2
    assert len(schedule["installments"]) == 15

    extension = post(
        api_client,
        world.officer,
        f"loans/{loan.pk}/deferrals/",
        {"months": 1, "mode": P_AND_I, "reason": "Belum pulih", "extension_of": data["id"]},
    )
    assert extension.status_code == 201, extension.content
    assert extension.json()["extension_of"] == data["id"]


def test_reject_over_the_api(api_client: Any, world: World) -> None:
    loan = world.loan()
    deferral = ask(world, loan)
    path = f"loans/{loan.pk}/deferrals/{deferral.pk}/reject/"
    missing = post(api_client, world.pasar_staff, path, {})
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["note"]
    answer = post(api_client, world.pasar_staff, path, {"note": "Usaha normal"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["schedule_version"] == 1
    assert answer.json()["deferral"]["state"] == "rejected"
    again = post(api_client, world.pasar_staff, path, {"note": "Usaha normal"})
    assert again.status_code == 409
    assert again.json()["state"] == "rejected"


def test_list_is_for_whoever_sees_the_loan(api_client: Any, world: World) -> None:
    loan = world.loan()
    borrower = loan.borrower
    borrower.user = world.borrower_user
    borrower.save()
    first = approved(world, loan)
    ask(world, loan, months=1, extension_of_id=first.pk)
    path = f"loans/{loan.pk}/deferrals/"
    for user in (world.officer, world.pasar_staff, world.auditor, world.manager, world.borrower_user):
        answer = get(api_client, user, path)
        assert answer.status_code == 200, (user.username, answer.content)
        page = answer.json()
        assert page["count"] == 2
        assert [row["state"] for row in page["results"]] == ["approved", "requested"]
    assert get(api_client, world.jateng_staff, path).status_code == 404
    other_borrower = UserFactory.create(role="borrower")
    assert get(api_client, other_borrower, path).status_code == 404
    assert get(api_client, world.officer, "loans/999999/deferrals/").status_code == 404
    api_client.force_authenticate(None)
    assert api_client.get(f"/api/v1/{path}").status_code == 401


def test_readers_may_not_write(api_client: Any, world: World) -> None:
    loan = world.loan()
    borrower = loan.borrower
    borrower.user = world.borrower_user
    borrower.save()
    deferral = ask(world, loan)
    body = {"months": 3, "mode": P_AND_I, "reason": "x"}
    for user in (world.auditor, world.borrower_user, world.manager):
        assert post(api_client, user, f"loans/{loan.pk}/deferrals/", body).status_code == 403
        for action in ("approve", "reject"):
            answer = post(api_client, user, f"loans/{loan.pk}/deferrals/{deferral.pk}/{action}/", {"note": "x"})
            assert answer.status_code == 403
    # Another bank's staff do not see the loan at all.
    assert post(api_client, world.jateng_staff, f"loans/{loan.pk}/deferrals/", body).status_code == 404
    answer = post(api_client, world.jateng_staff, f"loans/{loan.pk}/deferrals/{deferral.pk}/approve/", {})
    assert answer.status_code == 404
    # The side that asked: 403.
    assert post(api_client, world.officer2, f"loans/{loan.pk}/deferrals/{deferral.pk}/approve/", {}).status_code == 403
    deferral.refresh_from_db()
    assert deferral.state == "requested"


def test_a_deferral_is_found_only_under_its_own_loan(api_client: Any, world: World) -> None:
    loan, other = world.loan(), world.loan()
    deferral = ask(world, other)
    answer = post(api_client, world.pasar_staff, f"loans/{loan.pk}/deferrals/{deferral.pk}/approve/", {})
    assert answer.status_code == 404
    assert post(api_client, world.pasar_staff, f"loans/{loan.pk}/deferrals/999999/approve/", {}).status_code == 404
    deferral.refresh_from_db()
    assert deferral.state == "requested"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"mode": P_AND_I, "reason": "x"}, ["months"]),
        ({"months": 13, "mode": P_AND_I, "reason": "x"}, ["months"]),
        ({"months": 0, "mode": P_AND_I, "reason": "x"}, ["months"]),
        ({"months": "tiga", "mode": P_AND_I, "reason": "x"}, ["months"]),
        ({"months": 3, "mode": "interest_only", "reason": "x"}, ["mode"]),
        ({"months": 3, "mode": P_AND_I, "reason": ""}, ["reason"]),
        ({"months": 3, "mode": P_AND_I}, ["reason"]),
        ({"months": 3, "mode": P_AND_I, "reason": "x", "extension_of": "first"}, ["extension_of"]),
        ({"months": 3, "mode": P_AND_I, "reason": "x", "extension_of": 999999}, ["extension_of"]),
        ([1, 2], ["non_field_errors"]),
    ],
)
def test_bad_request_input_answers_400_by_field(api_client: Any, world: World, body: Any, fields: list[str]) -> None:
    loan = world.loan()
    answer = post(api_client, world.officer, f"loans/{loan.pk}/deferrals/", body)
    assert answer.status_code == 400, answer.content
    assert sorted(answer.json()["errors"]) == fields
    assert not Deferral.objects.exists()


def test_conflicts_answer_409_naming_the_state(api_client: Any, world: World) -> None:
    loan = world.loan()
    body = {"months": 3, "mode": P_AND_I, "reason": "x"}
    assert post(api_client, world.officer, f"loans/{loan.pk}/deferrals/", body).status_code == 201
    second = post(api_client, world.pasar_staff, f"loans/{loan.pk}/deferrals/", body)
    assert second.status_code == 409
    assert second.json()["state"] == "requested"
    closed = world.loan(status="paid_off")
    answer = post(api_client, world.officer, f"loans/{closed.pk}/deferrals/", body)
    assert answer.status_code == 409
    assert answer.json()["state"] == "paid_off"


# --- two decisions at once -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_write_one_version() -> None:
    bank = funded_bank("DUO", 50_000_000)
    loan = serviced_loan(bank=bank, terms=ProductTermsFactory.create())
    officer = UserFactory.create(role="officer")
    deciders = [bank_user(bank), bank_user(bank)]
    deferral = deferral_request(actor=officer, loan_id=loan.pk, months=3, mode=P_AND_I, reason="Renovasi")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(actor: User) -> None:
        try:
            barrier.wait()
            deferral_approve(actor=actor, deferral_id=deferral.pk)
            outcomes.append("ok")
        except StateConflict as conflict:
            outcomes.append(f"409 {conflict.state}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(actor,)) for actor in deciders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409 approved", "ok"]
    loan.refresh_from_db()
    assert loan.schedule_version == 2
    assert Installment.objects.filter(loan=loan).values("schedule_version").distinct().count() == 2
    assert Installment.objects.filter(loan=loan, schedule_version=2).count() == 12
    assert AuditEntry.objects.filter(loan=loan, action="deferral_approved").count() == 1
