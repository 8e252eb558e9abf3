"""``GET loans/{id}/`` answers with a plain function (loans/apis/loans.py
``loan_detail_answer``) instead of walking DRF's serializers: its JSON must be exactly
what ``LoanDetailSerializer`` gives (the schema's shape), for loans in every state a
programme holds."""

from io import StringIO
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.db.models import Count, F, Sum
from rest_framework.authtoken.models import Token

from banks.models import Bank
from config.clock import business_today
from loans.apis.loans import LoanDetailSerializer, loan_detail_answer
from loans.models import Installment, Loan, ProductTerms
from loans.selectors.applications import loan_installments, loan_next_installment, loan_with_names
from loans.selectors.servicing import loan_arrears
from tests.factories import ApplicationFactory, bank_user, funded_bank, loan_for, serviced_loan

pytestmark = pytest.mark.django_db


def serializer_answer(loan: Loan) -> Any:
    return LoanDetailSerializer(loan).data


def test_the_plain_answer_is_the_serializers_for_every_loan_of_a_programme(api_client: Any) -> None:
    call_command("seed_demo", "--allow-production", "--months", "12", stdout=StringIO())
    terms = ProductTerms.objects.order_by("pk").first()
    bank = Bank.objects.order_by("pk").first()
    # A loan whose schedule is not stored yet.
    pending = loan_for(ApplicationFactory.create(state="approved", terms=terms, bank=bank), written_off_principal=0)
    assert pending.schedule_status == Loan.ScheduleStatus.PENDING
    Loan.objects.filter(pk=Loan.objects.filter(status=Loan.Status.ACTIVE).values("pk")[:1]).update(
        collectibility=3, collectibility_hold=2, as_of=business_today()
    )
    # A loan behind with principal, interest and penalties (the ledger's sums are not what
    # is compared here: only how they are rendered).
    late = (
        Loan.objects.filter(status=Loan.Status.ACTIVE, schedule_status=Loan.ScheduleStatus.READY)
        .order_by("disbursed_on")
        .first()
    )
    assert late is not None
    Installment.objects.filter(
        loan=late, schedule_version=late.schedule_version, due_date__lte=business_today()
    ).update(principal_paid=0, interest_paid=0, penalty=1_234, penalty_paid=0, paid_on=None)
    loans = list(loan_with_names(Loan.objects.all()).order_by("pk"))
    statuses = dict(Loan.objects.values_list("status").annotate(n=Count("pk")))
    assert {Loan.Status.ACTIVE, Loan.Status.OVERDUE, Loan.Status.PAID_OFF} <= set(statuses), statuses
    arrears = [loan_arrears(loan=loan, on=business_today()) for loan in loans]
    assert any(a.principal and a.interest and a.penalty for a in arrears)
    for loan in loans:
        assert orjson.dumps(loan_detail_answer(loan)) == orjson.dumps(serializer_answer(loan)), loan.pk
    # The arrears and the next installment come from queries compiled once
    # (config/prepared.py): the same as the ORM's own, loan by loan.
    for loan, found in zip(loans, arrears, strict=True):
        if loan.schedule_status != Loan.ScheduleStatus.READY or loan.status == Loan.Status.PAID_OFF:
            continue
        today = business_today()
        due = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version, due_date__lte=today)
        sums = due.aggregate(
            principal=Sum(F("principal") - F("principal_paid")),
            interest=Sum(F("interest") - F("interest_paid") - F("interest_waived")),
            penalty=Sum(F("penalty") - F("penalty_paid")),
        )
        assert (found.principal, found.interest, found.penalty) == tuple(int(v or 0) for v in sums.values()), loan.pk
        expected = loan_installments(loan=loan).filter(paid_on__isnull=True).first()
        got = loan_next_installment(loan=loan)
        assert (got.pk if got else None) == (expected.pk if expected else None), loan.pk


def test_a_bank_reads_its_loan_in_four_queries_and_another_banks_not_at_all(
    api_client: Any, django_assert_num_queries: Any
) -> None:
    loan = serviced_loan()
    token = Token.objects.create(user=bank_user(loan.bank)).key
    other = Token.objects.create(user=bank_user(funded_bank("OTHER"))).key

    # The token with the caller's roles and bank, the loan, its next installment, its arrears.
    with django_assert_num_queries(4):
        answer = api_client.get(f"/api/v1/loans/{loan.pk}/", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 200
    assert answer.json()["id"] == loan.pk
    assert answer.json()["next_installment"]["number"] == 1
    refused = api_client.get(f"/api/v1/loans/{loan.pk}/", HTTP_AUTHORIZATION=f"Token {other}")
    assert refused.status_code == 404
