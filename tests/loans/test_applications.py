"""The application workflow: services and APIs, states, roles, checks and the fund."""

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from audit.models import AuditEntry
from banks.models import Bank
from config.errors import ApplicationError, StateConflict
from loans.models import Application, Loan, ProductTerms
from loans.services import applications as services
from tests.factories import BorrowerFactory, BusinessFactory, ProductTermsFactory, UserFactory, bank_user, funded_bank
from tests.loans.conftest import Programme

pytestmark = pytest.mark.django_db


def post(api_client: Any, user: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    api_client.force_authenticate(user)
    return api_client.post(f"/api/v1/{path}", body or {}, format="json")


def get(api_client: Any, user: Any, path: str) -> Any:
    api_client.force_authenticate(user)
    return api_client.get(f"/api/v1/{path}")


# --- the whole path over the API ---------------------------------------------------------


def test_application_goes_from_draft_to_disbursed_over_the_api(
    api_client: Any, programme: Programme, django_capture_on_commit_callbacks: Any
) -> None:
    created = post(
        api_client,
        programme.officer,
        "applications/",
        {
            "borrower": programme.borrower.pk,
            "bank": "PASAR",
            "principal": 5_000_000,
            "tenor_months": 12,
            "collateral": False,
            "purpose": "Modal kerja",
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["state"] == "draft"
    assert {check["name"] for check in body["checks"]} >= {"resident", "age", "business_age", "principal", "fund"}
    assert all(check["passed"] for check in body["checks"])
    app_id = body["id"]
    today = timezone.localdate().isoformat()

    steps = [
        (programme.officer, "submit", {}, "submitted"),
        (programme.officer2, "field_verify", {"visited_on": today, "notes": "Warung buka"}, "field_verified"),
        (programme.officer, "forward", {}, "forwarded"),
        (programme.pasar_staff, "credit_check", {"result": "clean", "notes": ""}, "credit_checked"),
        (programme.pasar_staff2, "approve", {"contract_number": "PASAR/KW/1"}, "approved"),
    ]
    for actor, action, payload, state in steps:
        answer = post(api_client, actor, f"applications/{app_id}/{action}/", payload)
        assert answer.status_code == 200, (action, answer.json())
        assert answer.json()["state"] == state
    with django_capture_on_commit_callbacks(execute=False):
        answer = post(api_client, programme.pasar_staff, f"applications/{app_id}/disburse/", {"disbursed_on": today})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["state"] == "disbursed"
    loan_id = body["loan"]
    assert isinstance(loan_id, int)
    assert [stage["state"] for stage in body["stages"]] == [
        "draft",
        "submitted",
        "field_verified",
        "forwarded",
        "credit_checked",
        "approved",
        "disbursed",
    ]
    assert [event["action"] for event in body["events"]][-1] == "disburse"

    loan = get(api_client, programme.pasar_staff, f"loans/{loan_id}/").json()
    assert loan["contract_number"] == "PASAR/KW/1"
    assert loan["bank"] == "PASAR"
    assert loan["borrower"] == programme.borrower.pk
    assert loan["principal"] == 5_000_000
    assert loan["outstanding_principal"] == 5_000_000
    assert loan["status"] == "active"
    assert loan["schedule_status"] == "pending"
    schedule = get(api_client, programme.pasar_staff, f"loans/{loan_id}/schedule/").json()
    assert schedule["installments"] == []
    assert schedule["schedule_status"] == "pending"

    bank = Bank.objects.get(code="PASAR")
    assert bank.disbursed == 5_000_000


def test_action_from_the_wrong_state_answers_409_naming_it(api_client: Any, programme: Programme) -> None:
    application = programme.draft()
    answer = post(api_client, programme.officer, f"applications/{application.pk}/forward/")
    assert answer.status_code == 409
    assert answer.json()["state"] == "draft"
    assert "draft" in answer.json()["message"]


def test_submit_refuses_failing_checks_and_stores_them(api_client: Any, programme: Programme) -> None:
    young = BorrowerFactory.create(birth_date=timezone.localdate() - timedelta(days=16 * 365))
    business = BusinessFactory.create(borrower=young, started_on=timezone.localdate() - timedelta(days=200))
    application = programme.draft(borrower=young, business=business)
    failed = {check["name"] for check in application.checks if not check["passed"]}
    assert failed == {"age", "business_age"}

    answer = post(api_client, programme.officer, f"applications/{application.pk}/submit/")
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"age", "business_age"}
    application.refresh_from_db()
    assert application.state == "draft"
    assert application.checks_run_at is not None
    assert not AuditEntry.objects.filter(application=application, action="submit").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"principal": 5_000_001, "collateral": False}, "principal"),
        ({"principal": 50_000_001, "collateral": True}, "principal"),
        ({"tenor_months": 7}, "tenor_months"),
        ({"principal": 1_000_000.5}, "principal"),
        ({"principal": -5}, "principal"),
        ({"bank": "NOPE"}, "bank"),
        ({"borrower": 999_999}, "borrower"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(
    api_client: Any, programme: Programme, body: dict[str, Any], field: str
) -> None:
    payload = {"borrower": programme.borrower.pk, "bank": "PASAR", "principal": 5_000_000, "tenor_months": 12}
    payload.update(body)
    answer = post(api_client, programme.officer, "applications/", payload)
    assert answer.status_code == 400, answer.json()
    assert field in answer.json()["errors"]


def test_collateral_raises_the_ceiling(programme: Programme) -> None:
    application = programme.draft(principal=50_000_000, collateral=True, tenor_months=36)
    assert application.principal == 50_000_000


# --- maker-checker and roles --------------------------------------------------------------


def test_the_submitting_officer_may_not_verify(api_client: Any, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "submitted")
    today = timezone.localdate().isoformat()
    answer = post(
        api_client,
        programme.officer,
        f"applications/{application.pk}/field_verify/",
        {"visited_on": today, "notes": "x"},
    )
    assert answer.status_code == 403


def test_the_credit_checker_may_not_approve(api_client: Any, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "credit_checked")
    answer = post(
        api_client, programme.pasar_staff, f"applications/{application.pk}/approve/", {"contract_number": "K1"}
    )
    assert answer.status_code == 403
    assert Application.objects.get(pk=application.pk).state == "credit_checked"


def test_only_the_chosen_banks_staff_see_and_act(api_client: Any, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "field_verified")
    # Not yet forwarded: the bank does not see it.
    assert get(api_client, programme.pasar_staff, f"applications/{application.pk}/").status_code == 404
    programme.advance(application, "forwarded")
    assert get(api_client, programme.pasar_staff, f"applications/{application.pk}/").status_code == 200
    assert get(api_client, programme.jateng_staff, f"applications/{application.pk}/").status_code == 404
    answer = post(
        api_client,
        programme.jateng_staff,
        f"applications/{application.pk}/credit_check/",
        {"result": "clean"},
    )
    assert answer.status_code == 404
    # The office may not do the bank's step.
    answer = post(api_client, programme.officer, f"applications/{application.pk}/credit_check/", {"result": "clean"})
    assert answer.status_code == 403
    # Nor the bank the office's.
    answer = post(api_client, programme.pasar_staff, f"applications/{application.pk}/withdraw/", {"reason": "x"})
    assert answer.status_code == 403


def test_reject_is_for_the_side_holding_the_file(api_client: Any, programme: Programme) -> None:
    at_office = programme.advance(programme.draft(), "submitted")
    assert (
        post(api_client, programme.pasar_staff, f"applications/{at_office.pk}/reject/", {"reason": "x"}).status_code
        == 404
    )
    answer = post(api_client, programme.officer, f"applications/{at_office.pk}/reject/", {"reason": "Dokumen palsu"})
    assert answer.status_code == 200
    assert answer.json()["state"] == "rejected"
    assert answer.json()["end_reason"] == "Dokumen palsu"

    borrower2 = BusinessFactory.create(started_on=date(2015, 1, 1))
    at_bank = programme.advance(programme.draft(borrower=borrower2.borrower, business=borrower2), "forwarded")
    assert post(api_client, programme.officer, f"applications/{at_bank.pk}/reject/", {"reason": "x"}).status_code == 403
    answer = post(api_client, programme.pasar_staff, f"applications/{at_bank.pk}/reject/", {"reason": ""})
    assert answer.status_code == 400
    assert "reason" in answer.json()["errors"]
    answer = post(
        api_client, programme.pasar_staff, f"applications/{at_bank.pk}/reject/", {"reason": "Kolektibilitas 5"}
    )
    assert answer.json()["state"] == "rejected"
    # A rejected application is finished.
    answer = post(api_client, programme.pasar_staff, f"applications/{at_bank.pk}/reject/", {"reason": "again"})
    assert answer.status_code == 409
    assert answer.json()["state"] == "rejected"


def test_withdraw_only_before_approval(api_client: Any, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "approved")
    answer = post(api_client, programme.officer, f"applications/{application.pk}/withdraw/", {"reason": "Batal"})
    assert answer.status_code == 409
    assert answer.json()["state"] == "approved"


def test_borrower_reads_own_application_and_may_only_withdraw_it(api_client: Any, programme: Programme) -> None:
    application = programme.draft()
    user = UserFactory.create(role="borrower")
    programme.borrower.user = user
    programme.borrower.save()
    assert get(api_client, user, f"applications/{application.pk}/").status_code == 200
    assert post(api_client, user, f"applications/{application.pk}/submit/").status_code == 403
    answer = post(api_client, user, f"applications/{application.pk}/withdraw/", {"reason": "Tidak jadi"})
    assert answer.status_code == 200
    assert answer.json()["state"] == "withdrawn"
    assert AuditEntry.objects.get(application=application, action="withdraw").actor_id == user.pk
    other = BusinessFactory.create(started_on=date(2015, 1, 1))
    foreign = programme.draft(borrower=other.borrower, business=other)
    assert get(api_client, user, f"applications/{foreign.pk}/").status_code == 404
    listed = get(api_client, user, "applications/").json()
    assert [row["id"] for row in listed["results"]] == [application.pk]


def test_auditor_reads_everything_and_changes_nothing(api_client: Any, programme: Programme) -> None:
    application = programme.draft()
    assert get(api_client, programme.auditor, f"applications/{application.pk}/").status_code == 200
    assert post(api_client, programme.auditor, f"applications/{application.pk}/submit/").status_code == 403
    payload = {"borrower": programme.borrower.pk, "bank": "PASAR", "principal": 1_000_000, "tenor_months": 12}
    assert post(api_client, programme.auditor, "applications/", payload).status_code == 403


# --- approval and disbursement rules ------------------------------------------------------


def test_approval_pins_the_product_version_valid_that_day(programme: Programme) -> None:
    application = programme.advance(programme.draft(), "credit_checked")
    today = timezone.localdate()
    programme.terms.valid_to = today - timedelta(days=1)
    programme.terms.save()
    newer = ProductTermsFactory.create(product=programme.terms.product, version=2, annual_rate="2.5", valid_from=today)
    application = programme.advance(application, "disbursed")
    loan = Loan.objects.get(application=application)
    assert loan.terms_id == newer.pk
    assert str(loan.annual_rate) == "2.5000"


def test_approval_may_lower_but_not_raise_the_principal(programme: Programme) -> None:
    application = programme.advance(programme.draft(), "credit_checked")
    with pytest.raises(ApplicationError) as raised:
        services.application_approve(
            actor=programme.pasar_staff2, application_id=application.pk, contract_number="K", principal=6_000_000
        )
    assert "principal" in raised.value.errors
    approved = services.application_approve(
        actor=programme.pasar_staff2, application_id=application.pk, contract_number="K", principal=3_000_000
    )
    assert approved.principal == 3_000_000


def test_contract_numbers_are_unique_per_bank(programme: Programme) -> None:
    first = programme.advance(programme.draft(), "approved")
    other = BusinessFactory.create(started_on=date(2015, 1, 1))
    second = programme.advance(programme.draft(borrower=other.borrower, business=other), "credit_checked")
    with pytest.raises(ApplicationError) as raised:
        services.application_approve(
            actor=programme.pasar_staff2, application_id=second.pk, contract_number=first.contract_number
        )
    assert "contract_number" in raised.value.errors


def test_disbursement_cannot_overdraw_the_fund(programme: Programme) -> None:
    small = funded_bank("KECIL", 4_000_000)
    staff, staff2 = bank_user(small), bank_user(small)
    application = programme.draft(bank=small, principal=3_000_000)
    application = programme.advance(application, "forwarded")
    services.application_credit_check(actor=staff, application_id=application.pk, result="clean")
    services.application_approve(actor=staff2, application_id=application.pk, contract_number="S-1")
    Bank.objects.filter(pk=small.pk).update(disbursed=2_000_000, allocated=4_000_000)  # another loan took half
    with pytest.raises(ApplicationError) as raised:
        services.application_disburse(actor=staff, application_id=application.pk, disbursed_on=timezone.localdate())
    assert "principal" in raised.value.errors
    assert Bank.objects.get(pk=small.pk).disbursed == 2_000_000
    assert not Loan.objects.filter(application=application).exists()


def test_disbursement_date_is_not_in_the_future(programme: Programme) -> None:
    application = programme.advance(programme.draft(), "approved")
    with pytest.raises(ApplicationError) as raised:
        services.application_disburse(
            actor=programme.pasar_staff,
            application_id=application.pk,
            disbursed_on=timezone.localdate() + timedelta(days=1),
        )
    assert "disbursed_on" in raised.value.errors


def test_one_active_loan_per_nik_at_any_bank(programme: Programme) -> None:
    at_pasar = programme.advance(programme.draft(), "approved")
    at_jateng = programme.advance(programme.draft(bank=programme.jateng), "credit_checked")
    programme.advance(at_pasar, "disbursed")
    with pytest.raises(ApplicationError) as raised:
        services.application_approve(
            actor=bank_user(programme.jateng), application_id=at_jateng.pk, contract_number="J-1"
        )
    assert "single_active_loan" in raised.value.errors


def test_state_conflict_names_the_state(programme: Programme) -> None:
    application = programme.draft()
    with pytest.raises(StateConflict) as raised:
        services.application_disburse(
            actor=programme.pasar_staff, application_id=application.pk, disbursed_on=timezone.localdate()
        )
    assert raised.value.state == "draft"


# --- listing by waiting time ----------------------------------------------------------------


def test_list_sorts_by_waiting_time_and_filters(api_client: Any, programme: Programme) -> None:
    old = programme.draft()
    Application.objects.filter(pk=old.pk).update(state_changed_at=timezone.now() - timedelta(days=20))
    other = BusinessFactory.create(started_on=date(2015, 1, 1))
    new = programme.draft(borrower=other.borrower, business=other, bank=programme.jateng)
    rows = get(api_client, programme.officer, "applications/").json()
    assert [row["id"] for row in rows["results"]] == [old.pk, new.pk]
    assert rows["results"][0]["waiting_seconds"] >= 20 * 86400
    rows = get(api_client, programme.officer, "applications/?ordering=-waiting").json()
    assert [row["id"] for row in rows["results"]] == [new.pk, old.pk]
    rows = get(api_client, programme.officer, "applications/?min_waiting_days=7").json()
    assert [row["id"] for row in rows["results"]] == [old.pk]
    rows = get(api_client, programme.officer, "applications/?bank=JATENG").json()
    assert [row["id"] for row in rows["results"]] == [new.pk]
    rows = get(api_client, programme.officer, "applications/?kecamatan=33.74.01&state=draft").json()
    assert rows["count"] == 2
    assert get(api_client, programme.officer, "applications/?state=nonsense").status_code == 400
    assert get(api_client, programme.officer, "applications/?page_size=2&page=9").status_code == 404


# --- the audit trail ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_audit_trail_refuses_update_and_delete_in_postgres(programme: Programme) -> None:
    application = programme.draft()
    event = AuditEntry.objects.get(application=application)
    with pytest.raises(DatabaseError, match="append-only"):
        AuditEntry.objects.filter(pk=event.pk).update(note="changed")
    assert connection.vendor == "postgresql"


# --- two disbursements at once ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_disbursements_cannot_both_overdraw(django_db_blocker: Any) -> None:
    ProductTermsFactory.create(valid_from=date(2017, 1, 1), ceiling_without_collateral=5_000_000)
    bank = funded_bank("DUO", 8_000_000)
    officer, officer2 = UserFactory.create(role="officer"), UserFactory.create(role="officer")
    staff, staff2 = bank_user(bank), bank_user(bank)
    approved = []
    for index in range(2):
        business = BusinessFactory.create(started_on=date(2015, 1, 1))
        application = services.application_create(
            actor=officer, borrower=business.borrower, bank=bank, principal=5_000_000, tenor_months=12, collateral=False
        )
        services.application_submit(actor=officer, application_id=application.pk)
        services.application_field_verify(
            actor=officer2, application_id=application.pk, visited_on=timezone.localdate(), notes="ok"
        )
        services.application_forward(actor=officer, application_id=application.pk)
        services.application_credit_check(actor=staff, application_id=application.pk, result="clean")
        services.application_approve(actor=staff2, application_id=application.pk, contract_number=f"D-{index}")
        approved.append(application.pk)

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def disburse(application_id: int) -> None:
        try:
            barrier.wait()
            services.application_disburse(actor=staff, application_id=application_id, disbursed_on=timezone.localdate())
            outcomes.append("ok")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=disburse, args=(pk,)) for pk in approved]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    bank.refresh_from_db()
    assert bank.disbursed == 5_000_000
    assert Loan.objects.filter(bank=bank).count() == 1


# --- a bank's batch of disbursements ---------------------------------------------------------


def approved_batch(programme: Programme, count: int, bank: Bank | None = None) -> list[Application]:
    applications = []
    for _index in range(count):
        business = BusinessFactory.create(started_on=date(2015, 1, 1))
        draft = programme.draft(borrower=business.borrower, business=business, bank=bank or programme.pasar)
        applications.append(programme.advance(draft, "approved"))
    return applications


def test_batch_disbursement_over_the_api(
    api_client: Any, programme: Programme, django_capture_on_commit_callbacks: Any
) -> None:
    applications = approved_batch(programme, 3)
    today = timezone.localdate().isoformat()
    body = {"disbursements": [{"application": a.pk, "disbursed_on": today} for a in applications]}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = post(api_client, programme.pasar_staff, "applications/disburse/", body)
    assert answer.status_code == 200, answer.json()
    rows = answer.json()["applications"]
    assert [row["state"] for row in rows] == ["disbursed"] * 3
    assert all(isinstance(row["loan"], int) for row in rows)
    assert len(callbacks) == 1  # one schedule task for the batch
    assert Bank.objects.get(pk=programme.pasar.pk).disbursed == 15_000_000
    assert AuditEntry.objects.filter(action="disburse").count() == 3


def test_batch_disbursement_is_all_or_nothing(programme: Programme) -> None:
    applications = approved_batch(programme, 2)
    other = BusinessFactory.create(started_on=date(2015, 1, 1))
    not_approved = programme.advance(programme.draft(borrower=other.borrower, business=other), "credit_checked")
    today = timezone.localdate()
    items = [services.Disbursement(a.pk, today) for a in [*applications, not_approved]]
    with pytest.raises(StateConflict) as raised:
        services.applications_disburse(actor=programme.pasar_staff, disbursements=items)
    assert raised.value.state == "credit_checked"
    assert not Loan.objects.exists()
    assert Bank.objects.get(pk=programme.pasar.pk).disbursed == 0
    with pytest.raises(ApplicationError):
        services.applications_disburse(
            actor=programme.pasar_staff, disbursements=[services.Disbursement(applications[0].pk, today)] * 2
        )
    with pytest.raises(ApplicationError):
        services.applications_disburse(actor=programme.pasar_staff, disbursements=[])


def test_batch_disbursement_checks_the_fund_for_the_total(programme: Programme) -> None:
    applications = approved_batch(programme, 3)
    Bank.objects.filter(pk=programme.pasar.pk).update(allocated=14_000_000)
    today = timezone.localdate()
    with pytest.raises(ApplicationError) as raised:
        services.applications_disburse(
            actor=programme.pasar_staff, disbursements=[services.Disbursement(a.pk, today) for a in applications]
        )
    assert "principal" in raised.value.errors
    assert not Loan.objects.exists()


def test_batch_disbursement_of_another_banks_application_answers_404(api_client: Any, programme: Programme) -> None:
    mine = approved_batch(programme, 1)
    theirs = approved_batch(programme, 1, bank=programme.jateng)
    today = timezone.localdate().isoformat()
    body = {"disbursements": [{"application": a.pk, "disbursed_on": today} for a in [*mine, *theirs]]}
    assert post(api_client, programme.pasar_staff, "applications/disburse/", body).status_code == 404
    assert post(api_client, programme.officer, "applications/disburse/", body).status_code == 403
    bad = {"disbursements": [{"application": mine[0].pk, "disbursed_on": "2026-02-30"}]}
    answer = post(api_client, programme.pasar_staff, "applications/disburse/", bad)
    assert answer.status_code == 400
    assert "disbursements" in answer.json()["errors"]
    assert not Loan.objects.exists()


# --- the field visit's photo, and list cost ---------------------------------------------------


def test_field_visit_takes_a_photo_and_coordinates_as_multipart(
    api_client: Any, programme: Programme, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    application = programme.advance(programme.draft(), "submitted")
    api_client.force_authenticate(programme.officer2)
    photo = SimpleUploadedFile("warung.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", content_type="image/jpeg")
    answer = api_client.post(
        f"/api/v1/applications/{application.pk}/field_verify/",
        {
            "visited_on": timezone.localdate().isoformat(),
            "notes": "Warung buka",
            "latitude": "-6.982500",
            "longitude": "110.409300",
            "photo": photo,
        },
        format="multipart",
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["has_visit_photo"] is True
    assert body["visit_latitude"] == "-6.982500"
    application.refresh_from_db()
    assert str(application.visit_photo.name).startswith("visits/")
    assert (tmp_path / str(application.visit_photo.name)).read_bytes().startswith(b"\xff\xd8")


def test_field_visit_refuses_one_coordinate_and_a_future_date(api_client: Any, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "submitted")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    path = f"applications/{application.pk}/field_verify/"
    answer = post(api_client, programme.officer2, path, {"visited_on": tomorrow, "notes": "x"})
    assert answer.status_code == 400
    assert "visited_on" in answer.json()["errors"]
    today = timezone.localdate().isoformat()
    answer = post(api_client, programme.officer2, path, {"visited_on": today, "notes": "x", "latitude": "-6.9"})
    assert answer.status_code == 400
    assert "latitude" in answer.json()["errors"]


def test_application_list_costs_the_same_queries_for_more_rows(
    api_client: Any, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    approved_batch(programme, 2)
    api_client.force_authenticate(programme.officer)
    with django_assert_max_num_queries(6) as few:
        api_client.get("/api/v1/applications/")
    approved_batch(programme, 4)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = api_client.get("/api/v1/applications/").json()
    assert rows["count"] == 6


def test_a_loan_whose_schedule_the_engine_would_refuse_is_never_approved(programme: Programme) -> None:
    ProductTermsFactory.create(product=programme.terms.product, version=2, rounding=1000, valid_from=date(2017, 1, 2))
    ProductTerms.objects.filter(pk=programme.terms.pk).update(valid_to=date(2017, 1, 1))
    # Rp 7,000 over 36 months: a rounding of Rp 1,000 leaves the regular installments no principal.
    with pytest.raises(ApplicationError) as raised:
        programme.draft(principal=7_000, tenor_months=36)
    assert "principal" in raised.value.errors
