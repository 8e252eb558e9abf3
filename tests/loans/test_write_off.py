"""Write-off (hapus buku): by a programme manager, for open loans in collectibility
class 5, with a reason; the bank's fund counters do not move."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from audit.models import AuditEntry
from banks.models import Bank
from config.errors import ApplicationError, StateConflict
from loans.models import Loan
from loans.services.deferrals import deferral_request
from loans.services.write_off import loan_write_off
from tests.factories import ProductTermsFactory, UserFactory, bank_user, funded_bank, serviced_loan

pytestmark = pytest.mark.django_db

REASON = "Macet lebih dari 360 hari; usaha tutup."


@pytest.fixture
def bank(db: Any) -> Bank:
    ProductTermsFactory.create()
    return funded_bank("PASAR", 500_000_000)


@pytest.fixture
def manager(db: Any) -> Any:
    return UserFactory.create(username="manager", role="manager")


def bad_loan(bank: Bank, **changes: Any) -> Loan:
    """An overdue loan in class 5 with 4,166,666 of its 5,000,000 still outstanding."""
    loan = serviced_loan(bank=bank)
    values = {"status": "overdue", "collectibility": 5, "outstanding_principal": 4_166_666, **changes}
    Loan.objects.filter(pk=loan.pk).update(**values)
    loan.refresh_from_db()
    return loan


def counters(bank: Bank) -> tuple[int, ...]:
    return tuple(
        Bank.objects.values_list("allocated", "disbursed", "principal_repaid", "interest_collected").get(pk=bank.pk)
    )


def test_manager_writes_off_a_class_5_loan(bank: Bank, manager: Any) -> None:
    loan = bad_loan(bank)
    before = counters(bank)
    on = date(2026, 10, 31)
    loan = loan_write_off(actor=manager, loan_id=loan.pk, reason=f"  {REASON} ", on=on)
    loan.refresh_from_db()
    assert loan.status == "written_off"
    assert (loan.written_off_on, loan.written_off_principal, loan.write_off_reason) == (on, 4_166_666, REASON)
    assert loan.outstanding_principal == 4_166_666
    assert counters(bank) == before
    event = AuditEntry.objects.get(loan=loan, action="loan_written_off")
    assert (event.from_state, event.to_state, event.note) == ("overdue", "written_off", REASON)
    assert event.amounts == {"principal": 4_166_666}
    assert (event.actor, event.application_id) == (manager, loan.application_id)


def test_an_active_loan_in_class_5_may_be_written_off(bank: Bank, manager: Any) -> None:
    loan = bad_loan(bank, status="active")
    assert loan_write_off(actor=manager, loan_id=loan.pk, reason=REASON, on=timezone.localdate()).status == (
        "written_off"
    )


@pytest.mark.parametrize("role", ["officer", "auditor", "borrower", "bank_staff"])
def test_only_a_manager_writes_off(bank: Bank, role: str) -> None:
    loan = bad_loan(bank)
    actor = bank_user(bank) if role == "bank_staff" else UserFactory.create(role=role)
    with pytest.raises(PermissionDenied):
        loan_write_off(actor=actor, loan_id=loan.pk, reason=REASON, on=timezone.localdate())
    loan.refresh_from_db()
    assert loan.status == "overdue"


@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_only_class_5_may_be_written_off(bank: Bank, manager: Any, grade: int) -> None:
    loan = bad_loan(bank, collectibility=grade)
    with pytest.raises(ApplicationError) as error, translation.override("en"):
        loan_write_off(actor=manager, loan_id=loan.pk, reason=REASON, on=timezone.localdate())
    assert list(error.value.errors) == ["collectibility"]
    assert f"class {grade}" in error.value.errors["collectibility"][0]
    loan.refresh_from_db()
    assert loan.status == "overdue"


@pytest.mark.parametrize("status", ["paid_off", "written_off"])
def test_only_an_open_loan_may_be_written_off(bank: Bank, manager: Any, status: str) -> None:
    loan = bad_loan(bank, status=status)
    with pytest.raises(StateConflict) as conflict:
        loan_write_off(actor=manager, loan_id=loan.pk, reason=REASON, on=timezone.localdate())
    assert conflict.value.state == status


def test_reason_and_date_are_checked(bank: Bank, manager: Any) -> None:
    loan = bad_loan(bank)
    today = timezone.localdate()
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"reason": "  ", "on": today}, ["reason"]),
        ({"reason": REASON, "on": today + timedelta(days=1)}, ["on"]),
        ({"reason": REASON, "on": loan.disbursed_on - timedelta(days=1)}, ["on"]),
    ]
    for arguments, fields in cases:
        with pytest.raises(ApplicationError) as error:
            loan_write_off(actor=manager, loan_id=loan.pk, **arguments)
        assert list(error.value.errors) == fields
    loan.refresh_from_db()
    assert loan.status == "overdue"


def test_a_written_off_loan_stays_written_off(bank: Bank, manager: Any) -> None:
    loan = bad_loan(bank)
    loan_write_off(actor=manager, loan_id=loan.pk, reason=REASON, on=timezone.localdate())
    officer = UserFactory.create(role="officer")
    with pytest.raises(StateConflict) as conflict:
        deferral_request(actor=officer, loan_id=loan.pk, months=3, mode="principal_and_interest", reason="x")
    assert conflict.value.state == "written_off"
    loan.refresh_from_db()
    assert (loan.status, loan.written_off_principal) == ("written_off", 4_166_666)
    # The borrower's open-loan slot is free again (written off is not open).
    assert not Loan.objects.filter(borrower=loan.borrower, status__in=Loan.OPEN_STATUSES).exists()


# --- the API ---------------------------------------------------------------------------------


def post(client: Any, user: Any, path: str, body: Any) -> Any:
    client.force_authenticate(user)
    return client.post(f"/api/v1/{path}", body, format="json")


def test_write_off_over_the_api(api_client: Any, bank: Bank, manager: Any) -> None:
    loan = bad_loan(bank)
    answer = post(api_client, manager, f"loans/{loan.pk}/write-off/", {"reason": REASON, "on": "2026-10-31"})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "id": loan.pk,
        "status": "written_off",
        "written_off_on": "2026-10-31",
        "written_off_principal": 4_166_666,
    }
    again = post(api_client, manager, f"loans/{loan.pk}/write-off/", {"reason": REASON})
    assert again.status_code == 409
    assert again.json()["state"] == "written_off"


def test_write_off_date_defaults_to_today_in_jakarta(api_client: Any, bank: Bank, manager: Any) -> None:
    loan = bad_loan(bank)
    answer = post(api_client, manager, f"loans/{loan.pk}/write-off/", {"reason": REASON})
    assert answer.status_code == 200, answer.content
    assert answer.json()["written_off_on"] == timezone.localdate().isoformat()


def test_write_off_api_refusals(api_client: Any, bank: Bank, manager: Any) -> None:
    loan = bad_loan(bank)
    path = f"loans/{loan.pk}/write-off/"
    borrower_user = UserFactory.create(role="borrower")
    loan.borrower.user = borrower_user
    loan.borrower.save()
    for user in (UserFactory.create(role="officer"), UserFactory.create(role="auditor"), bank_user(bank)):
        assert post(api_client, user, path, {"reason": REASON}).status_code == 403
    assert post(api_client, borrower_user, path, {"reason": REASON}).status_code == 403
    other_bank_staff = bank_user(funded_bank("JATENG", kind="commercial"))
    assert post(api_client, other_bank_staff, path, {"reason": REASON}).status_code == 404
    assert post(api_client, manager, "loans/999999/write-off/", {"reason": REASON}).status_code == 404

    for body, field in [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": REASON, "on": "31-10-2026"}, "on"),
        ({"reason": REASON, "on": "2999-01-01"}, "on"),
    ]:
        answer = post(api_client, manager, path, body)
        assert answer.status_code == 400, (body, answer.content)
        assert list(answer.json()["errors"]) == [field]

    Loan.objects.filter(pk=loan.pk).update(collectibility=4)
    answer = post(api_client, manager, path, {"reason": REASON})
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["collectibility"]
    loan.refresh_from_db()
    assert loan.status == "overdue"
    api_client.force_authenticate(None)
    assert api_client.post(f"/api/v1/{path}", {"reason": REASON}, format="json").status_code == 401


def test_a_written_off_borrower_cannot_get_a_new_loan(bank: Bank, manager: Any) -> None:
    from loans.services.applications import application_create

    loan = bad_loan(bank)
    loan_write_off(actor=manager, loan_id=loan.pk, reason=REASON, on=date(2026, 10, 31))
    business = loan.application.business
    business.started_on = date(2015, 1, 1)
    business.save(update_fields=["started_on"])
    application = application_create(
        actor=UserFactory.create(role="officer"),
        borrower=loan.borrower,
        bank=bank,
        principal=2_000_000,
        tenor_months=12,
        collateral=False,
    )
    single = next(check for check in application.checks if check["name"] == "single_active_loan")
    assert single["passed"] is False
    assert loan.contract_number in single["params"]["contract"]
