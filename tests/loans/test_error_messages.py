"""Errors that tell people what to do: maker-checker refusals say a second person must act,
a batch names its refused item, and states are named in the answer's language."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from loans.models import Application, Loan
from loans.services.deferrals import deferral_request
from loans.services.repayments import RepaymentRequest, repayment_post
from tests.factories import BusinessFactory, serviced_loan
from tests.loans.conftest import Programme

pytestmark = pytest.mark.django_db


def post(api_client: Any, user: Any, path: str, body: dict[str, Any] | None = None, language: str = "id") -> Any:
    api_client.force_authenticate(user)
    return api_client.post(f"/api/v1/{path}", body or {}, format="json", HTTP_ACCEPT_LANGUAGE=language)


# --- maker-checker ----------------------------------------------------------------------------


def test_the_officer_who_submitted_may_not_verify_and_is_told_a_second_officer_must(
    api_client: Any, programme: Programme
) -> None:
    submitted = programme.advance(programme.draft(), "submitted")
    body = {"visited_on": timezone.localdate().isoformat(), "notes": "Warung buka"}
    path = f"applications/{submitted.pk}/field_verify/"
    indonesian = post(api_client, programme.officer, path, body)
    assert indonesian.status_code == 403
    assert indonesian.json() == {
        "message": "Verifikasi lapangan harus dilakukan oleh petugas kedua: petugas yang mengajukan permohonan "
        "ini tidak boleh sekaligus memverifikasinya.",
        "errors": {},
    }
    english = post(api_client, programme.officer, path, body, language="en")
    assert english.status_code == 403
    assert english.json()["message"] == (
        "A second officer must verify this application: the officer who submitted it may not also verify it."
    )


def test_who_recorded_the_credit_check_may_not_approve(api_client: Any, programme: Programme) -> None:
    checked = programme.advance(programme.draft(), "credit_checked")
    path = f"applications/{checked.pk}/approve/"
    answer = post(api_client, programme.pasar_staff, path, {"contract_number": "KW-1"}, language="en")
    assert answer.status_code == 403
    assert answer.json()["message"].startswith("A second person of the bank must approve")
    indonesian = post(api_client, programme.pasar_staff, path, {"contract_number": "KW-1"})
    assert indonesian.json()["message"].startswith("Persetujuan harus diberikan oleh orang kedua dari bank")


def test_who_booked_a_repayment_may_not_reverse_it(api_client: Any, programme: Programme) -> None:
    loan = serviced_loan(bank=programme.pasar, terms=programme.terms)
    repayment, _replayed = repayment_post(
        actor=programme.pasar_staff,
        loan_id=loan.pk,
        request=RepaymentRequest(
            amount=100_000, paid_on=loan.disbursed_on + timedelta(days=20), channel="teller", reference="T-1"
        ),
    )
    path = f"loans/{loan.pk}/repayments/{repayment.pk}/reverse/"
    answer = post(api_client, programme.pasar_staff, path, {"reason": "typo"}, language="en")
    assert answer.status_code == 403
    assert answer.json()["message"] == "A second person must reverse a repayment, not the one who booked it."
    assert (
        post(api_client, programme.pasar_staff, path, {"reason": "typo"})
        .json()["message"]
        .startswith("Pembatalan pembayaran harus dilakukan oleh petugas lain")
    )


def test_the_side_that_asked_for_a_deferral_is_told_the_other_side_decides(
    api_client: Any, programme: Programme
) -> None:
    loan = serviced_loan(bank=programme.pasar, terms=programme.terms)
    deferral = deferral_request(
        actor=programme.officer, loan_id=loan.pk, months=3, mode="principal_and_interest", reason="Pasar direnovasi"
    )
    path = f"loans/{loan.pk}/deferrals/{deferral.pk}/approve/"
    answer = post(api_client, programme.officer2, path, {"note": "ok"}, language="en")
    assert answer.status_code == 403
    assert answer.json()["message"] == "A deferral the city office asked for is decided by the loan's bank."


# --- a batch names its item -------------------------------------------------------------------


def approved_batch(programme: Programme, count: int, bank: Any = None) -> list[Application]:
    applications = []
    for _index in range(count):
        business = BusinessFactory.create(started_on=date(2015, 1, 1))
        draft = programme.draft(borrower=business.borrower, business=business, bank=bank or programme.pasar)
        applications.append(programme.advance(draft, "approved"))
    return applications


def batch(applications: list[Application], **item_overrides: Any) -> dict[str, Any]:
    today = timezone.localdate().isoformat()
    items = [{"application": a.pk, "disbursed_on": today} for a in applications]
    for index, changes in item_overrides.items():
        items[int(index.removeprefix("item"))].update(changes)
    return {"disbursements": items}


def test_a_batch_item_with_bad_input_is_named_by_its_index(api_client: Any, programme: Programme) -> None:
    applications = approved_batch(programme, 3)
    body = batch(applications, item2={"disbursed_on": "2026-02-30"})
    answer = post(api_client, programme.pasar_staff, "applications/disburse/", body)
    assert answer.status_code == 400
    assert list(answer.json()["errors"]["disbursements"]) == ["2"], answer.json()
    assert list(answer.json()["errors"]["disbursements"]["2"]) == ["disbursed_on"]
    assert not Loan.objects.exists()


def test_a_batch_item_breaking_a_rule_is_named_by_its_index(api_client: Any, programme: Programme) -> None:
    applications = approved_batch(programme, 3)
    answer = post(
        api_client, programme.pasar_staff, "applications/disburse/", batch(applications, item1={"amount": 1}), "en"
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "message": "Disburse the approved principal.",
        "errors": {
            "disbursements": {"1": {"amount": [f"Application {applications[1].pk}: Must be the approved Rp5,000,000."]}}
        },
    }
    twice = post(api_client, programme.pasar_staff, "applications/disburse/", batch([*applications, applications[0]]))
    assert twice.status_code == 400
    assert list(twice.json()["errors"]["disbursements"]) == ["3"]
    assert not Loan.objects.exists()


def test_a_batch_item_the_caller_cannot_see_is_a_404_naming_it(api_client: Any, programme: Programme) -> None:
    mine = approved_batch(programme, 2)
    theirs = approved_batch(programme, 1, bank=programme.jateng)
    answer = post(api_client, programme.pasar_staff, "applications/disburse/", batch([*mine, *theirs]), "en")
    assert answer.status_code == 404
    assert answer.json() == {
        "message": "No such application.",
        "errors": {"disbursements": {"2": {"application": [f"No such application: {theirs[0].pk}."]}}},
    }
    assert not Loan.objects.exists()


def test_a_batch_item_in_the_wrong_state_is_a_409_naming_it_and_its_state(
    api_client: Any, programme: Programme
) -> None:
    applications = approved_batch(programme, 2)
    other = BusinessFactory.create(started_on=date(2015, 1, 1))
    checked = programme.advance(programme.draft(borrower=other.borrower, business=other), "credit_checked")
    answer = post(api_client, programme.pasar_staff, "applications/disburse/", batch([*applications, checked]))
    assert answer.status_code == 409
    body = answer.json()
    assert body["state"] == "credit_checked"  # the code: the contract
    message = "Tindakan ini memerlukan permohonan berstatus disetujui; status saat ini dicek SLIK."
    assert body == {
        "message": message,
        "errors": {"disbursements": {"2": {"application": [message]}}},
        "state": "credit_checked",
    }
    assert not Loan.objects.exists()


def test_a_batch_item_whose_borrower_has_an_open_loan_is_named(api_client: Any, programme: Programme) -> None:
    applications = approved_batch(programme, 2)
    second = applications[1]
    # The second borrower's other application, at the other bank, is disbursed first.
    elsewhere = programme.draft(borrower=second.borrower, business=second.business, bank=programme.jateng)
    programme.advance(elsewhere, "disbursed")
    answer = post(api_client, programme.pasar_staff, "applications/disburse/", batch(applications))
    assert answer.status_code == 400
    assert list(answer.json()["errors"]["disbursements"]) == ["1"]
    assert list(answer.json()["errors"]["disbursements"]["1"]) == ["borrower"]
    assert not Loan.objects.filter(bank=programme.pasar).exists()


# --- states named in the answer's language ----------------------------------------------------


def test_a_409_names_states_in_indonesian_but_answers_the_state_code(api_client: Any, programme: Programme) -> None:
    verified = programme.advance(programme.draft(), "field_verified")
    path = f"applications/{verified.pk}/submit/"
    indonesian = post(api_client, programme.officer, path)
    assert indonesian.status_code == 409
    assert indonesian.json()["state"] == "field_verified"
    assert indonesian.json()["message"] == (
        "Tindakan ini memerlukan permohonan berstatus draf; status saat ini diverifikasi lapangan."
    )
    english = post(api_client, programme.officer, path, language="en")
    assert english.json()["message"] == "This action needs the application in state draft; it is field verified."
    assert english.json()["state"] == "field_verified"
