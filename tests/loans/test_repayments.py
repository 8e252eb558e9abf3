"""Repayments: booking, the waterfall on stored installments, idempotency, pay-off,
reversal, backdating, bad input, and 50 concurrent postings to one loan."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEntry
from banks.models import Bank
from config.errors import ApplicationError, StateConflict
from loans.models import Installment, Loan, Repayment, RepaymentAllocation
from loans.services.repayments import RepaymentRequest, repayment_post, repayment_reverse
from tests.factories import ProductTermsFactory, UserFactory, bank_user, funded_bank, serviced_loan

pytestmark = pytest.mark.django_db

# 1,200,000 over 12 months at 3% flat: 100,000 principal and 3,000 interest a month.
PRINCIPAL = 1_200_000
MONTHLY = 103_000


class World:
    def __init__(self) -> None:
        self.bank = funded_bank("PASAR", 100_000_000)
        self.staff = bank_user(self.bank, username="pasar-teller")
        self.staff2 = bank_user(self.bank, username="pasar-supervisor")
        self.loan = serviced_loan(bank=self.bank, principal=PRINCIPAL, tenor_months=12, disbursed_on=date(2025, 1, 15))
        self.rows = list(Installment.objects.filter(loan=self.loan).order_by("number"))

    def due(self, number: int) -> date:
        return self.rows[number - 1].due_date

    def post(self, amount: int, paid_on: date, reference: str, key: str = "", actor: User | None = None) -> Repayment:
        repayment, _replayed = repayment_post(
            actor=actor or self.staff,
            loan_id=self.loan.pk,
            request=RepaymentRequest(amount, paid_on, "transfer", reference, key),
        )
        return repayment


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def english() -> Iterator[None]:
    """Service messages in English (they follow the active language, Indonesian by default)."""
    with translation.override("en"):
        yield


def shares(repayment: Repayment) -> list[tuple[int, str, int]]:
    return [
        (a.installment.number, a.component, a.amount)
        for a in RepaymentAllocation.objects.filter(repayment=repayment, undone_at__isnull=True)
        .select_related("installment")
        .order_by("id")
    ]


def paid(loan: Loan) -> list[tuple[int, int, date | None]]:
    return [
        (row.principal_paid, row.interest_paid, row.paid_on)
        for row in Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number")
    ]


def test_the_schedule_is_as_these_tests_assume(world: World) -> None:
    assert [(r.principal, r.interest) for r in world.rows] == [(100_000, 3_000)] * 12
    assert world.due(1) == date(2025, 2, 15)


def test_an_installment_paid_on_time(world: World) -> None:
    repayment = world.post(MONTHLY, world.due(1), "T-1")
    assert shares(repayment) == [(1, "interest", 3_000), (1, "principal", 100_000)]
    world.loan.refresh_from_db()
    assert world.loan.outstanding_principal == PRINCIPAL - 100_000
    assert world.loan.oldest_unpaid_due == world.due(2)
    assert paid(world.loan)[0] == (100_000, 3_000, world.due(1))
    world.bank.refresh_from_db()
    assert (world.bank.principal_repaid, world.bank.interest_collected) == (100_000, 3_000)
    event = AuditEntry.objects.get(loan=world.loan, action="repayment_posted")
    assert event.amounts["principal"] == 100_000
    assert event.actor == world.staff


def test_arrears_take_interest_of_every_due_installment_before_principal(world: World) -> None:
    repayment = world.post(10_000, world.due(2) + timedelta(days=3), "T-1")
    assert shares(repayment) == [(1, "interest", 3_000), (2, "interest", 3_000), (1, "principal", 4_000)]
    world.loan.refresh_from_db()
    assert world.loan.oldest_unpaid_due == world.due(1)


def test_the_installment_waterfall_setting(world: World) -> None:
    terms = ProductTermsFactory.create(version=2, valid_from=date(2030, 1, 1), waterfall="installments")
    loan = serviced_loan(bank=world.bank, terms=terms, principal=PRINCIPAL, disbursed_on=date(2025, 1, 15))
    repayment, _ = repayment_post(
        actor=world.staff,
        loan_id=loan.pk,
        request=RepaymentRequest(110_000, world.due(2) + timedelta(days=3), "teller", "I-1"),
    )
    assert shares(repayment) == [
        (1, "interest", 3_000),
        (1, "principal", 100_000),
        (2, "interest", 3_000),
        (2, "principal", 4_000),
    ]


def test_more_than_due_pays_the_next_installments(world: World) -> None:
    repayment = world.post(MONTHLY * 2 + 500, world.due(1), "T-1")
    assert shares(repayment)[-3:] == [(2, "interest", 3_000), (2, "principal", 100_000), (3, "interest", 500)]
    assert [p[2] for p in paid(world.loan)[:3]] == [world.due(1), world.due(1), None]


def test_shorten_tenor_setting_pays_the_last_installments(world: World) -> None:
    terms = ProductTermsFactory.create(version=2, valid_from=date(2030, 1, 1), overpayment="shorten_tenor")
    loan = serviced_loan(bank=world.bank, terms=terms, principal=PRINCIPAL, disbursed_on=date(2025, 1, 15))
    repayment, _ = repayment_post(
        actor=world.staff,
        loan_id=loan.pk,
        request=RepaymentRequest(MONTHLY * 2, world.due(1), "teller", "S-1"),
    )
    assert shares(repayment)[2:] == [(12, "principal", 100_000), (12, "interest", 3_000)]


def test_paying_off_closes_the_loan_waives_later_interest_and_makes_a_repeat_borrower(world: World) -> None:
    world.post(MONTHLY, world.due(1), "T-1")
    on = world.due(1) + timedelta(days=10)
    client = APIClient()
    client.force_authenticate(world.staff)
    quote = client.get(f"/api/v1/loans/{world.loan.pk}/payoff/", {"on": on.isoformat()}).json()
    # 1,100,000 principal + the running month's interest (installment 2); 10 x 3,000 waived.
    assert quote == {
        "loan": world.loan.pk,
        "on": on.isoformat(),
        "amount": 1_103_000,
        "outstanding_principal": 1_100_000,
        "interest": 3_000,
        "penalty": 0,
        "interest_waived": 30_000,
        "rule": "current_month",
    }
    too_much = client.post(
        f"/api/v1/loans/{world.loan.pk}/repayments/",
        {"amount": 1_103_001, "paid_on": on.isoformat(), "channel": "teller", "reference": "T-X"},
        format="json",
    )
    assert too_much.status_code == 400
    assert too_much.json()["payoff_amount"] == 1_103_000
    assert "1.103.000" in too_much.json()["errors"]["amount"][0]
    answer = client.post(
        f"/api/v1/loans/{world.loan.pk}/repayments/",
        {"amount": 1_103_000, "paid_on": on.isoformat(), "channel": "teller", "reference": "T-2"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["payoff"] is True
    assert body["interest_waived"] == 30_000
    assert body["loan_status"] == "paid_off"
    assert body["outstanding_principal"] == 0
    assert sum(a["amount"] for a in body["allocations"]) == 1_103_000
    world.loan.refresh_from_db()
    assert world.loan.status == Loan.Status.PAID_OFF
    assert world.loan.closed_on == on
    assert world.loan.max_days_past_due == 0
    assert Installment.objects.filter(loan=world.loan, paid_on__isnull=True).count() == 0
    # Closed: nothing more can be booked.
    again = client.post(
        f"/api/v1/loans/{world.loan.pk}/repayments/",
        {"amount": 1, "paid_on": on.isoformat(), "channel": "teller", "reference": "T-3"},
        format="json",
    )
    assert again.status_code == 409


def test_paying_every_installment_closes_the_loan_too(world: World) -> None:
    for number in range(1, 13):
        world.post(MONTHLY, world.due(number), f"T-{number}")
    world.loan.refresh_from_db()
    assert world.loan.status == Loan.Status.PAID_OFF
    assert world.loan.closed_on == world.due(12)
    world.bank.refresh_from_db()
    assert world.bank.principal_repaid == PRINCIPAL


def test_lateness_is_remembered_for_repeat_borrowing(world: World) -> None:
    # Two installments paid 45 days after the first fell due.
    world.post(MONTHLY * 2, world.due(1) + timedelta(days=45), "T-1")
    world.loan.refresh_from_db()
    assert world.loan.max_days_past_due == 45


# --- idempotency ----------------------------------------------------------------------------


def api_post(client: APIClient, loan: Loan, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/v1/loans/{loan.pk}/repayments/", body, format="json", headers=headers)


def test_a_retry_with_the_same_key_answers_the_first_result(world: World) -> None:
    client = APIClient()
    client.force_authenticate(world.staff)
    body = {"amount": MONTHLY, "paid_on": world.due(1).isoformat(), "channel": "auto_debit", "reference": "AD-1"}
    first = api_post(client, world.loan, body, key="k-1")
    again = api_post(client, world.loan, body, key="k-1")
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Repayment.objects.count() == 1
    different = api_post(client, world.loan, {**body, "amount": MONTHLY + 1}, key="k-1")
    assert different.status_code == 422
    assert Repayment.objects.count() == 1


def test_the_bank_reference_alone_makes_a_retry_safe(world: World) -> None:
    client = APIClient()
    client.force_authenticate(world.staff)
    body = {"amount": MONTHLY, "paid_on": world.due(1).isoformat(), "channel": "teller", "reference": "REF-9"}
    assert api_post(client, world.loan, body).status_code == 201
    again = api_post(client, world.loan, body)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api_post(client, world.loan, {**body, "amount": 5}).status_code == 422
    world.bank.refresh_from_db()
    assert world.bank.principal_repaid == 100_000


def test_another_bank_may_reuse_a_reference(world: World) -> None:
    other = funded_bank("JATENG", 100_000_000, kind=Bank.Kind.COMMERCIAL)
    loan = serviced_loan(bank=other, principal=PRINCIPAL, disbursed_on=date(2025, 1, 15))
    world.post(MONTHLY, world.due(1), "SAME")
    repayment, replayed = repayment_post(
        actor=bank_user(other), loan_id=loan.pk, request=RepaymentRequest(MONTHLY, world.due(1), "teller", "SAME")
    )
    assert not replayed
    assert repayment.bank == other


# --- reversal -------------------------------------------------------------------------------


def test_a_reversal_undoes_the_split_and_reruns_later_repayments(world: World, english: None) -> None:
    wrong = world.post(50_000, world.due(1), "T-1")
    later = world.post(MONTHLY, world.due(2), "T-2")
    assert shares(later) == [(2, "interest", 3_000), (1, "principal", 53_000), (2, "principal", 47_000)]
    with pytest.raises(PermissionDenied, match="second person"):
        repayment_reverse(actor=world.staff, repayment_id=wrong.pk, reason="typo")
    repayment_reverse(actor=world.staff2, repayment_id=wrong.pk, reason="Booked twice by mistake")
    wrong.refresh_from_db()
    assert wrong.status == Repayment.Status.REVERSED
    assert wrong.reversed_by == world.staff2
    assert shares(wrong) == []
    assert RepaymentAllocation.objects.filter(repayment=wrong, undone_at__isnull=False).count() == 2
    # The later repayment is split again as if the wrong one never happened.
    assert shares(later) == [(1, "interest", 3_000), (2, "interest", 3_000), (1, "principal", 97_000)]
    world.loan.refresh_from_db()
    assert world.loan.outstanding_principal == PRINCIPAL - 97_000
    world.bank.refresh_from_db()
    assert (world.bank.principal_repaid, world.bank.interest_collected) == (97_000, 6_000)
    assert AuditEntry.objects.filter(loan=world.loan, action="repayment_reversed", actor=world.staff2).exists()


def test_reversing_a_payoff_reopens_the_loan(world: World) -> None:
    on = world.due(1)
    # On a due date the pay-off takes that installment's interest and the next month's.
    payoff = world.post(PRINCIPAL + 6_000, on, "T-1")
    world.loan.refresh_from_db()
    assert world.loan.status == Loan.Status.PAID_OFF
    repayment_reverse(actor=world.staff2, repayment_id=payoff.pk, reason="Bounced")
    world.loan.refresh_from_db()
    assert world.loan.status in (Loan.Status.ACTIVE, Loan.Status.OVERDUE)
    assert world.loan.closed_on is None
    assert world.loan.outstanding_principal == PRINCIPAL
    assert not Installment.objects.filter(loan=world.loan).exclude(interest_waived=0).exists()


def test_reversal_api_refuses_a_reversal_of_a_reversal(world: World) -> None:
    repayment = world.post(MONTHLY, world.due(1), "T-1")
    client = APIClient()
    client.force_authenticate(world.staff2)
    url = f"/api/v1/loans/{world.loan.pk}/repayments/{repayment.pk}/reverse/"
    assert client.post(url, {"reason": ""}, format="json").status_code == 400
    first = client.post(url, {"reason": "wrong loan"}, format="json")
    assert first.status_code == 200
    assert first.json()["status"] == "reversed"
    assert first.json()["allocations"] == []
    second = client.post(url, {"reason": "again"}, format="json")
    assert second.status_code == 409
    assert second.json()["state"] == "reversed"
    listed = client.get(f"/api/v1/loans/{world.loan.pk}/repayments/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["reversal_reason"] == "wrong loan"
    assert listed["results"][0]["reversed_by"] == "pasar-supervisor"


def test_a_reversal_is_refused_when_the_bank_has_lent_the_money_again(world: World, english: None) -> None:
    repayment = world.post(MONTHLY, world.due(1), "T-1")
    Bank.objects.filter(pk=world.bank.pk).update(disbursed=100_000_000 + 100_000)
    with pytest.raises(StateConflict, match="lent this money again"):
        repayment_reverse(actor=world.staff2, repayment_id=repayment.pk, reason="wrong")
    repayment.refresh_from_db()
    assert repayment.status == Repayment.Status.BOOKED


# --- dates ----------------------------------------------------------------------------------


def test_a_backdated_repayment_is_applied_before_later_ones(world: World) -> None:
    later = world.post(MONTHLY, world.due(2), "T-2")
    assert shares(later)[:2] == [(1, "interest", 3_000), (2, "interest", 3_000)]
    early = world.post(MONTHLY, world.due(1), "T-1")
    assert shares(early) == [(1, "interest", 3_000), (1, "principal", 100_000)]
    assert shares(later) == [(2, "interest", 3_000), (2, "principal", 100_000)]
    assert [p[2] for p in paid(world.loan)[:3]] == [world.due(1), world.due(2), None]


def test_a_backdated_repayment_that_would_overpay_a_later_payoff_is_refused(world: World, english: None) -> None:
    # One rupiah short of the pay-off amount on that date: the loan stays open.
    world.post(PRINCIPAL + 3_000 * 2 - 1, world.due(2) - timedelta(days=1), "ALMOST")
    with pytest.raises(ApplicationError, match="pay-off") as refused:
        world.post(MONTHLY, world.due(1), "EARLY")
    assert refused.value.extra["payoff_amount"] < PRINCIPAL + 3_000 * 2 - 1
    assert Repayment.objects.count() == 1


# --- bad input over the API ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 1000.5}, "amount"),
        ({"amount": "1000.5"}, "amount"),
        ({"amount": None}, "amount"),
        ({"paid_on": "2026-02-30"}, "paid_on"),
        ({"channel": "cash"}, "channel"),
        ({"reference": ""}, "reference"),
        ({"reference": "x" * 65}, "reference"),
    ],
)
def test_bad_input_answers_400_naming_the_field(world: World, change: dict[str, Any], field: str) -> None:
    client = APIClient()
    client.force_authenticate(world.staff)
    body = {"amount": MONTHLY, "paid_on": world.due(1).isoformat(), "channel": "teller", "reference": "R", **change}
    answer = api_post(client, world.loan, body)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["errors"]
    assert Repayment.objects.count() == 0


def test_future_and_pre_disbursement_dates_are_refused(world: World) -> None:
    client = APIClient()
    client.force_authenticate(world.staff)
    for paid_on in (timezone.localdate() + timedelta(days=1), world.loan.disbursed_on - timedelta(days=1)):
        body = {"amount": MONTHLY, "paid_on": paid_on.isoformat(), "channel": "teller", "reference": "R"}
        answer = api_post(client, world.loan, body)
        assert answer.status_code == 400
        assert "paid_on" in answer.json()["errors"]


def test_who_may_book(world: World) -> None:
    body = {"amount": MONTHLY, "paid_on": world.due(1).isoformat(), "channel": "teller", "reference": "R"}
    client = APIClient()
    other_bank = funded_bank("OTHER")
    for user, status in [
        (UserFactory.create(role="officer"), 403),
        (UserFactory.create(role="manager"), 403),
        (UserFactory.create(role="auditor"), 403),
        (bank_user(other_bank), 404),
    ]:
        client.force_authenticate(user)
        assert api_post(client, world.loan, body).status_code == status
    borrower_user = UserFactory.create(role="borrower")
    world.loan.borrower.user = borrower_user
    world.loan.borrower.save(update_fields=["user"])
    client.force_authenticate(borrower_user)
    assert api_post(client, world.loan, body).status_code == 403
    assert client.get(f"/api/v1/loans/{world.loan.pk}/repayments/").status_code == 200
    assert Repayment.objects.count() == 0


def test_a_loan_the_caller_may_not_see_is_not_found_whatever_the_body(world: World) -> None:
    # The service finds (and locks) the loan among the caller's; a bad request still
    # answers 404 for a loan the caller may not see, and 400 for one they may.
    client = APIClient()
    url = f"/api/v1/loans/{world.loan.pk}/repayments/"
    good = {"amount": MONTHLY, "paid_on": world.due(1).isoformat(), "channel": "teller", "reference": "R"}
    bad = {**good, "amount": 0}
    client.force_authenticate(bank_user(funded_bank("OTHER")))
    assert api_post(client, world.loan, bad).status_code == 404
    assert api_post(client, world.loan, good, key="k" * 129).status_code == 404
    assert client.post(url, "{not json", content_type="application/json").status_code == 404
    client.force_authenticate(world.staff)
    missing = Loan(pk=world.loan.pk + 1000)
    assert api_post(client, missing, good).status_code == api_post(client, missing, bad).status_code == 404
    assert api_post(client, world.loan, good, key="k" * 129).status_code == 400
    client.force_authenticate(UserFactory.create(role="officer"))
    assert api_post(client, world.loan, bad).status_code == 400
    assert client.post(url, "{not json", content_type="application/json").status_code == 400
    assert api_post(client, world.loan, good).status_code == 403
    assert Repayment.objects.count() == 0


def test_booking_costs_the_same_few_queries_however_many_came_before(
    world: World, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.REPORTS_AUTO_PAPERS = True  # the receipt is queued with the booking
    client = APIClient()
    client.force_authenticate(world.staff)

    def book(n: int) -> Any:
        body = {"amount": 1_000, "paid_on": world.due(1).isoformat(), "channel": "transfer", "reference": f"Q-{n}"}
        return api_post(client, world.loan, body, key=f"q-{n}")

    # The caller's roles (2), the loan found and locked (1), the retry look-up (1), the
    # last closed date (1), the repayment (1), later repayments (1), the installments
    # (2), the allocations (1), the loan and the bank (2), the answer (1), the audit row
    # (1) and the receipt (2); and here the savepoint of the service's transaction (2).
    with django_assert_max_num_queries(18) as first:
        assert book(1).status_code == 201
    queries = len(first.captured_queries)  # read now: the next request empties the log
    for n in range(2, 5):
        book(n)
    with django_assert_max_num_queries(queries):
        assert book(5).status_code == 201


def test_a_loan_whose_schedule_is_pending_refuses_repayments(world: World) -> None:
    Loan.objects.filter(pk=world.loan.pk).update(schedule_status=Loan.ScheduleStatus.PENDING)
    client = APIClient()
    client.force_authenticate(world.staff)
    body = {"amount": MONTHLY, "paid_on": world.due(1).isoformat(), "channel": "teller", "reference": "R"}
    answer = api_post(client, world.loan, body)
    assert answer.status_code == 409
    assert answer.json()["state"] == "pending"


def test_recoveries_after_write_off_are_recorded(world: World) -> None:
    Loan.objects.filter(pk=world.loan.pk).update(status=Loan.Status.WRITTEN_OFF, written_off_principal=PRINCIPAL)
    world.post(MONTHLY, world.due(1), "REC-1")
    world.loan.refresh_from_db()
    assert world.loan.status == Loan.Status.WRITTEN_OFF
    assert world.loan.outstanding_principal == PRINCIPAL - 100_000


def test_loan_detail_shows_arrears_and_days_past_due(world: World) -> None:
    # The whole schedule fell due in 2025-2026; one installment and 1,000 more are paid.
    world.post(MONTHLY + 1_000, world.due(1), "T-1")
    client = APIClient()
    client.force_authenticate(world.staff)
    detail = client.get(f"/api/v1/loans/{world.loan.pk}/").json()
    today = timezone.localdate()
    assert detail["status"] == "overdue"
    assert detail["outstanding_principal"] == PRINCIPAL - 100_000
    assert detail["days_past_due"] == (today - world.due(2)).days
    assert detail["arrears"] == {
        "on": today.isoformat(),
        "principal": 1_100_000,
        "interest": 11 * 3_000 - 1_000,
        "penalty": 0,
        "total": 11 * MONTHLY - 1_000,
    }
    assert detail["collectibility"]["grade"] == 1
    assert detail["next_installment"]["number"] == 2


# --- 50 concurrent repayments ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_repayments_are_each_booked_once() -> None:
    bank = funded_bank("CONC", 100_000_000)
    staff = bank_user(bank)
    loan = serviced_loan(bank=bank, principal=PRINCIPAL, tenor_months=12, disbursed_on=date(2025, 1, 15))
    paid_on = Installment.objects.get(loan=loan, number=3).due_date
    # 35 distinct repayments of 1,000 + n rupiah; 15 of the requests repeat a key.
    requests = [(f"key-{n}", 1_000 + n) for n in range(35)] + [(f"key-{n}", 1_000 + n) for n in range(15)]
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def fire(key: str, amount: int) -> None:
        client = APIClient()
        client.force_authenticate(staff)
        try:
            barrier.wait()
            body = {"amount": amount, "paid_on": paid_on.isoformat(), "channel": "transfer", "reference": key}
            answer = api_post(client, loan, body, key=key)
            with lock:
                answers.append((answer.status_code, answer.headers.get("Idempotent-Replayed", "")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fire, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in answers) == [201] * 50
    assert sum(1 for _, replayed in answers if replayed == "true") == 15
    assert Repayment.objects.filter(loan=loan).count() == 35
    assert_ledger_consistent(loan, bank, [1_000 + n for n in range(35)])


def assert_ledger_consistent(loan: Loan, bank: Bank, amounts: list[int]) -> None:
    """Exactly ``amounts`` are booked on ``loan``, each split into allocations that add up
    to it, and the loan's, its installments' and its bank's counters agree with them."""
    booked = Repayment.objects.filter(loan=loan)
    assert sorted(r.amount for r in booked) == sorted(amounts)
    for repayment in booked:
        assert sum(a.amount for a in repayment.allocations.filter(undone_at__isnull=True)) == repayment.amount
    loan.refresh_from_db()
    principal_repaid = sum(
        a.amount
        for a in RepaymentAllocation.objects.filter(repayment__loan=loan, component="principal", undone_at=None)
    )
    assert loan.outstanding_principal == PRINCIPAL - principal_repaid
    rows = Installment.objects.filter(loan=loan)
    assert sum(row.principal_paid for row in rows) == principal_repaid
    assert sum(row.principal_paid + row.interest_paid + row.penalty_paid for row in rows) == sum(amounts)
    bank.refresh_from_db()
    assert bank.principal_repaid == principal_repaid


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_http_repayments_to_one_loan_are_each_booked_once(live_server: Any) -> None:
    """50 requests at once over real HTTP (each served by a thread of its own with a
    database connection of its own), 10 of them retries of one Idempotency-Key: on SQLite
    as on PostgreSQL every distinct repayment is booked once, the retries are replayed
    and nothing answers 5xx (SQLite writers wait for the lock instead of failing)."""
    bank = funded_bank("HTTP", 100_000_000)
    staff = bank_user(bank)
    token = Token.objects.create(user=staff)
    loan = serviced_loan(bank=bank, principal=PRINCIPAL, tenor_months=12, disbursed_on=date(2025, 1, 15))
    paid_on = Installment.objects.get(loan=loan, number=3).due_date
    # 40 distinct repayments of 1,000 + n rupiah; the first is sent 10 more times.
    requests = [(f"key-{n}", 1_000 + n) for n in range(40)] + [("key-0", 1_000)] * 10
    url = f"{live_server.url}/api/v1/loans/{loan.pk}/repayments/"
    barrier = threading.Barrier(len(requests))

    def fire(key: str, amount: int) -> tuple[int, str, dict[str, Any]]:
        body = {"amount": amount, "paid_on": paid_on.isoformat(), "channel": "transfer", "reference": key}
        request = urllib.request.Request(  # noqa: S310 - the test's own live server
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Token {token.key}",
                "Content-Type": "application/json",
                "Accept-Language": "en",
                "Idempotency-Key": key,
            },
        )
        barrier.wait(timeout=60)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
                return answer.status, answer.headers.get("Idempotent-Replayed", ""), json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, "", {"error": error.read().decode(errors="replace")[:500]}

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        answers = list(pool.map(lambda request: fire(*request), requests))

    assert [status for status, _, _ in answers] == [201] * 50, [a for a in answers if a[0] != 201][:3]
    assert sum(1 for _, replayed, _ in answers if replayed == "true") == 10
    first = {body["reference"]: body["id"] for _, replayed, body in answers if replayed != "true"}
    assert len(first) == 40
    assert all(body["id"] == first["key-0"] for _, replayed, body in answers if replayed == "true")
    assert_ledger_consistent(loan, bank, [1_000 + n for n in range(40)])


# --- backdating across the nightly close ---------------------------------------------------


def test_a_backdated_repayment_recomputes_the_closed_days(world: World) -> None:
    from loans.models import LoanSnapshot
    from loans.services.close import close_business_date

    closed = world.due(2) + timedelta(days=5)
    close_business_date(business_date=closed)
    world.loan.refresh_from_db()
    assert world.loan.days_past_due == (closed - world.due(1)).days
    snapshot = LoanSnapshot.objects.get(loan=world.loan, business_date=closed)
    assert snapshot.days_past_due == (closed - world.due(1)).days

    world.post(MONTHLY * 2, closed - timedelta(days=3), "LATE-FEED")
    world.loan.refresh_from_db()
    assert world.loan.days_past_due == 0
    assert world.loan.as_of == closed
    snapshot = LoanSnapshot.objects.get(loan=world.loan, business_date=closed)
    assert (snapshot.days_past_due, snapshot.arrears_principal) == (0, 0)


def test_a_repayment_backdated_beyond_the_banks_limit_is_refused(world: World, english: None) -> None:
    from loans.services.close import close_business_date

    closed = world.due(3)
    close_business_date(business_date=closed)
    with pytest.raises(ApplicationError, match="31 days"):
        world.post(MONTHLY, closed - timedelta(days=32), "TOO-OLD")
    Bank.objects.filter(pk=world.bank.pk).update(backdate_limit_days=40)
    world.post(MONTHLY, closed - timedelta(days=32), "ALLOWED")
    assert Repayment.objects.count() == 1
