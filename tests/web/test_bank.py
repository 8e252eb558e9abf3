"""The bank staff's pages: scope (another bank's objects are not found), the workflow
through the forms (credit check, approval by a second person, disbursement, one or a
batch), repayments posted and reversed by a second person, deferral decisions, the
monthly reports, and a bounded number of queries per page."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from banks.models import Bank
from loans.models import Application, Deferral, Loan, Repayment
from loans.services.deferrals import deferral_request
from loans.services.repayments import RepaymentRequest, repayment_post
from reports.models import Report
from tests.factories import BusinessFactory, ProductTermsFactory, UserFactory, bank_user, funded_bank, serviced_loan
from tests.loans.conftest import Programme

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(name="programme")
def programme_fixture(db: Any) -> Programme:
    """The workflow tests' programme (tests/loans/conftest.py): PASAR with its staff
    ``pasar`` and ``pasar2``, JATENG with ``jateng``, two officers and a borrower."""
    pasar = funded_bank("PASAR", 500_000_000)
    jateng = funded_bank("JATENG", 500_000_000, kind=Bank.Kind.COMMERCIAL)
    return Programme(
        terms=ProductTermsFactory.create(valid_from=TODAY.replace(year=2017, month=1, day=1)),
        pasar=pasar,
        jateng=jateng,
        officer=UserFactory.create(username="officer", role="officer"),
        officer2=UserFactory.create(username="officer2", role="officer"),
        pasar_staff=bank_user(pasar, username="pasar"),
        pasar_staff2=bank_user(pasar, username="pasar2"),
        jateng_staff=bank_user(jateng, username="jateng"),
        auditor=UserFactory.create(username="auditor", role="auditor"),
        manager=UserFactory.create(username="manager", role="manager"),
        business=BusinessFactory.create(started_on=TODAY - timedelta(days=5 * 365)),
    )


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def html_of(answer: Any) -> str:
    return str(answer.content.decode())


def application_at(programme: Programme, state: str, **overrides: Any) -> Application:
    """An application of a new borrower at PASAR moved along to ``state``."""
    if "business" not in overrides:
        overrides["business"] = BusinessFactory.create(started_on=TODAY - timedelta(days=5 * 365))
        overrides["borrower"] = overrides["business"].borrower
    return programme.advance(programme.draft(**overrides), state)


def report_of(bank: Any, status: str = Report.Status.DONE) -> Report:
    report = Report.objects.create(
        kind="bank_monthly",
        format="csv",
        bank=bank,
        period="2026-10",
        period_label="Oktober 2026",
        request_key=f"bank_monthly:{bank.code}:2026-10:csv",
        verify_code=f"code-{bank.code}",
        status=status,
        file_name="laporan.csv",
        size=5,
        sha256="0" * 64,
        created_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    if status == Report.Status.DONE:
        report.file.save("laporan.csv", ContentFile(b"a;b\n1"))
    return report


# --- access -------------------------------------------------------------------------------

PAGES = ["/bank/", "/bank/loans/", "/bank/deferrals/", "/bank/reports/"]


@pytest.mark.parametrize("url", PAGES)
def test_a_stranger_is_sent_to_sign_in(client: Client, url: str) -> None:
    answer = client.get(url)
    assert answer.status_code == 302
    assert answer["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("url", PAGES)
def test_an_officer_and_a_borrower_are_refused(client: Client, programme: Programme, url: str) -> None:
    assert signed_in(client, programme.officer).get(url).status_code == 403
    borrower = UserFactory.create(role="borrower")
    assert signed_in(Client(), borrower).get(url).status_code == 403


def test_another_banks_application_loan_and_report_are_not_found(client: Client, programme: Programme) -> None:
    application = application_at(programme, "forwarded")
    loan = serviced_loan(bank=programme.pasar)
    report = report_of(programme.pasar)
    jateng = signed_in(client, programme.jateng_staff)
    assert jateng.get(f"/bank/applications/{application.pk}/").status_code == 404
    assert jateng.post(f"/bank/applications/{application.pk}/", {"action": "reject"}).status_code == 404
    assert jateng.get(f"/bank/loans/{loan.pk}/").status_code == 404
    assert jateng.get(f"/bank/reports/{report.pk}/download/").status_code == 404
    assert application.borrower.name not in html_of(jateng.get("/bank/"))
    assert loan.contract_number not in html_of(jateng.get("/bank/loans/"))


def test_an_application_not_yet_forwarded_is_not_the_banks(client: Client, programme: Programme) -> None:
    application = application_at(programme, "field_verified")
    assert signed_in(client, programme.pasar_staff).get(f"/bank/applications/{application.pk}/").status_code == 404


# --- the workflow ------------------------------------------------------------------------


def test_credit_check_approval_and_disbursement_through_the_pages(programme: Programme) -> None:
    application = application_at(programme, "forwarded")
    url = f"/bank/applications/{application.pk}/"
    first = signed_in(Client(), programme.pasar_staff)
    second = signed_in(Client(), programme.pasar_staff2)

    queue = html_of(first.get("/bank/"))
    assert application.borrower.name in queue
    assert "Rp5.000.000" in queue

    answer = first.post(url, {"action": "credit_check", "credit_check-result": "clean", "credit_check-notes": "SLIK"})
    assert answer.status_code == 302
    application.refresh_from_db()
    assert application.state == Application.State.CREDIT_CHECKED

    # Maker-checker: who recorded the credit check is told a second person approves.
    html = html_of(first.get(url))
    assert 'id="approve-refusal"' in html
    assert 'name="approve-contract_number"' not in html
    refused = first.post(url, {"action": "approve", "approve-contract_number": "PASAR/KW/9"})
    assert refused.status_code == 400
    assert 'id="approve-refusal"' in html_of(refused)
    application.refresh_from_db()
    assert application.state == Application.State.CREDIT_CHECKED

    assert 'name="approve-contract_number"' in html_of(second.get(url))
    answer = second.post(url, {"action": "approve", "approve-contract_number": "PASAR/KW/9", "approve-principal": ""})
    assert answer.status_code == 302, html_of(answer)
    application.refresh_from_db()
    assert application.state == Application.State.APPROVED
    assert application.contract_number == "PASAR/KW/9"

    answer = first.post(url, {"action": "disburse", "disburse-disbursed_on": TODAY.isoformat()})
    assert answer.status_code == 302
    application.refresh_from_db()
    assert application.state == Application.State.DISBURSED
    loan = Loan.objects.get(application=application)
    assert loan.principal == 5_000_000
    follow = html_of(first.get(url))
    assert f'href="/bank/loans/{loan.pk}/"' in follow


def test_a_refused_step_shows_the_error_beside_the_field_and_keeps_the_state(
    client: Client, programme: Programme
) -> None:
    application = application_at(programme, "forwarded")
    answer = signed_in(client, programme.pasar_staff).post(
        f"/bank/applications/{application.pk}/",
        {"action": "credit_check", "credit_check-result": "arrears", "credit_check-notes": ""},
    )
    assert answer.status_code == 400
    html = html_of(answer)
    assert 'id="id_credit_check-notes_error"' in html
    assert "Jelaskan tunggakan yang ditemukan" in html
    application.refresh_from_db()
    assert application.state == Application.State.FORWARDED


def test_an_approval_above_the_amount_asked_is_refused_beside_the_amount(client: Client, programme: Programme) -> None:
    application = application_at(programme, "credit_checked")
    answer = signed_in(client, programme.pasar_staff2).post(
        f"/bank/applications/{application.pk}/",
        {"action": "approve", "approve-contract_number": "PASAR/KW/1", "approve-principal": "9000000"},
    )
    assert answer.status_code == 400
    assert 'id="id_approve-principal_error"' in html_of(answer)
    application.refresh_from_db()
    assert application.state == Application.State.CREDIT_CHECKED


def test_reject_needs_a_reason_and_then_ends_the_application(client: Client, programme: Programme) -> None:
    application = application_at(programme, "forwarded")
    staff = signed_in(client, programme.pasar_staff)
    url = f"/bank/applications/{application.pk}/"
    assert staff.post(url, {"action": "reject", "reject-reason": ""}).status_code == 400
    assert staff.post(url, {"action": "reject", "reject-reason": "Usaha tidak aktif"}).status_code == 302
    application.refresh_from_db()
    assert application.state == Application.State.REJECTED


def test_batch_disbursement_from_the_queue(client: Client, programme: Programme) -> None:
    first = application_at(programme, "approved")
    second = application_at(programme, "approved")
    waiting = application_at(programme, "forwarded")
    staff = signed_in(client, programme.pasar_staff)
    html = html_of(staff.get("/bank/"))
    assert f'id="pick-{first.pk}"' in html
    assert f'id="pick-{second.pk}"' in html
    assert f'id="pick-{waiting.pk}"' not in html  # only the approved ones can be ticked

    refused = staff.post(
        "/bank/", {"applications": [first.pk], "disbursed_on": (TODAY + timedelta(days=1)).isoformat()}
    )
    assert refused.status_code == 400
    first.refresh_from_db()
    assert first.state == Application.State.APPROVED

    answer = staff.post("/bank/", {"applications": [first.pk, second.pk], "disbursed_on": TODAY.isoformat()})
    assert answer.status_code == 302
    assert Loan.objects.filter(application__in=[first, second]).count() == 2
    assert set(Application.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)) == {
        Application.State.DISBURSED
    }


def test_a_batch_naming_an_application_not_approved_is_refused(client: Client, programme: Programme) -> None:
    waiting = application_at(programme, "forwarded")
    answer = signed_in(client, programme.pasar_staff).post(
        "/bank/", {"applications": [waiting.pk], "disbursed_on": TODAY.isoformat()}
    )
    assert answer.status_code == 400
    waiting.refresh_from_db()
    assert waiting.state == Application.State.FORWARDED


# --- repayments --------------------------------------------------------------------------


def test_a_repayment_posted_on_the_page_shows_in_the_loans_repayments(programme: Programme) -> None:
    loan = serviced_loan(bank=programme.pasar)
    url = f"/bank/loans/{loan.pk}/"
    staff = signed_in(Client(), programme.pasar_staff)
    page = html_of(staff.get(url))
    assert 'name="repayment-idempotency_key"' in page
    body = {
        "action": "repayment",
        "repayment-amount": "429167",
        "repayment-paid_on": TODAY.isoformat(),
        "repayment-channel": "teller",
        "repayment-reference": "TRX-1",
        "repayment-idempotency_key": "key-1",
    }
    assert staff.post(url, body).status_code == 302
    # The same form sent again books nothing twice.
    assert staff.post(url, body).status_code == 302
    assert Repayment.objects.filter(loan=loan).count() == 1
    html = html_of(staff.get(url))
    assert "TRX-1" in html
    assert "Rp429.167" in html
    loan.refresh_from_db()
    assert loan.outstanding_principal < loan.principal


def test_a_repayment_in_the_future_is_refused_beside_the_date(client: Client, programme: Programme) -> None:
    loan = serviced_loan(bank=programme.pasar)
    answer = signed_in(client, programme.pasar_staff).post(
        f"/bank/loans/{loan.pk}/",
        {
            "action": "repayment",
            "repayment-amount": "100000",
            "repayment-paid_on": (TODAY + timedelta(days=3)).isoformat(),
            "repayment-channel": "teller",
            "repayment-reference": "TRX-F",
            "repayment-idempotency_key": "key-f",
        },
    )
    assert answer.status_code == 400
    html = html_of(answer)
    assert 'id="id_repayment-paid_on_error"' in html
    assert 'value="TRX-F"' in html
    assert not Repayment.objects.filter(loan=loan).exists()


def test_a_reversal_needs_a_second_person(programme: Programme) -> None:
    loan = serviced_loan(bank=programme.pasar)
    repayment, _ = repayment_post(
        actor=programme.pasar_staff,
        loan_id=loan.pk,
        request=RepaymentRequest(amount=429_167, paid_on=TODAY, channel="teller", reference="TRX-R"),
    )
    url = f"/bank/loans/{loan.pk}/"
    poster = signed_in(Client(), programme.pasar_staff)
    html = html_of(poster.get(url))
    assert "harus dilakukan oleh petugas lain" in html
    assert f'name="reverse-{repayment.pk}-reason"' not in html
    refused = poster.post(
        url, {"action": "reverse", "repayment": repayment.pk, f"reverse-{repayment.pk}-reason": "Salah"}
    )
    assert refused.status_code == 400
    repayment.refresh_from_db()
    assert repayment.status == Repayment.Status.BOOKED

    second = signed_in(Client(), programme.pasar_staff2)
    assert f'name="reverse-{repayment.pk}-reason"' in html_of(second.get(url))
    answer = second.post(
        url, {"action": "reverse", "repayment": repayment.pk, f"reverse-{repayment.pk}-reason": "Salah"}
    )
    assert answer.status_code == 302
    repayment.refresh_from_db()
    assert repayment.status == Repayment.Status.REVERSED
    assert repayment.reversed_by == programme.pasar_staff2


# --- deferrals ----------------------------------------------------------------------------


def test_the_bank_decides_a_deferral_the_city_asked_for(client: Client, programme: Programme) -> None:
    city_asked = serviced_loan(bank=programme.pasar)
    bank_asked = serviced_loan(bank=programme.pasar)
    by_city = deferral_request(
        actor=programme.officer, loan_id=city_asked.pk, months=3, mode="principal_and_interest", reason="Banjir"
    )
    by_bank = deferral_request(
        actor=programme.pasar_staff2, loan_id=bank_asked.pk, months=3, mode="principal_only", reason="Sakit"
    )
    staff = signed_in(client, programme.pasar_staff)
    html = html_of(staff.get("/bank/deferrals/"))
    assert f'name="decide-{by_city.pk}-note"' in html
    assert f'name="decide-{by_bank.pk}-note"' not in html  # the city office decides what the bank asked for
    refused = staff.post(
        "/bank/deferrals/", {"deferral": by_city.pk, "decision": "reject", f"decide-{by_city.pk}-note": ""}
    )
    assert refused.status_code == 400
    answer = staff.post("/bank/deferrals/", {"deferral": by_city.pk, "decision": "approve"})
    assert answer.status_code == 302
    by_city.refresh_from_db()
    assert by_city.state == Deferral.State.APPROVED
    city_asked.refresh_from_db()
    assert city_asked.schedule_version == 2


def test_bank_staff_ask_for_a_deferral_on_the_loan_page(client: Client, programme: Programme) -> None:
    loan = serviced_loan(bank=programme.pasar)
    answer = signed_in(client, programme.pasar_staff).post(
        f"/bank/loans/{loan.pk}/",
        {"action": "deferral", "deferral-months": "3", "deferral-mode": "principal_only", "deferral-reason": "Banjir"},
    )
    assert answer.status_code == 302
    deferral = Deferral.objects.get(loan=loan)
    assert deferral.requested_side == Deferral.Side.BANK


# --- reports -----------------------------------------------------------------------------


def test_reports_list_the_banks_own_and_download_when_done(client: Client, programme: Programme) -> None:
    own = report_of(programme.pasar)
    making = report_of(programme.jateng, status=Report.Status.QUEUED)
    staff = signed_in(client, programme.pasar_staff)
    html = html_of(staff.get("/bank/reports/"))
    assert f"/bank/reports/{own.pk}/download/" in html
    assert "every 2s" not in html  # nothing of this bank being made
    answer = staff.get(f"/bank/reports/{own.pk}/download/")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == b"a;b\n1"  # type: ignore[attr-defined]
    assert staff.get(f"/bank/reports/{making.pk}/download/").status_code == 404


def test_a_report_being_made_is_polled_with_htmx(client: Client, programme: Programme) -> None:
    report_of(programme.pasar, status=Report.Status.RUNNING)
    staff = signed_in(client, programme.pasar_staff)
    assert 'hx-trigger="every 2s"' in html_of(staff.get("/bank/reports/"))
    fragment = html_of(staff.get("/bank/reports/", headers={"HX-Request": "true"}))
    assert "<h1>" not in fragment
    assert 'id="report-list"' in fragment


def test_a_report_of_a_month_not_closed_is_refused_beside_the_month(client: Client, programme: Programme) -> None:
    answer = signed_in(client, programme.pasar_staff).post("/bank/reports/", {"period": "2026-10", "format": "pdf"})
    assert answer.status_code == 400
    html = html_of(answer)
    assert 'id="id_period_error"' in html
    assert 'value="2026-10"' in html
    assert not Report.objects.exists()


# --- query counts ------------------------------------------------------------------------


def _queue_rows(programme: Programme, count: int) -> None:
    for _ in range(count):
        application_at(programme, "forwarded")


def test_the_queue_reads_in_a_bounded_number_of_queries(
    client: Client, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    _queue_rows(programme, 2)
    application_at(programme, "approved")
    staff = signed_in(client, programme.pasar_staff)
    staff.get("/bank/")
    with django_assert_max_num_queries(10):
        assert staff.get("/bank/").status_code == 200
    _queue_rows(programme, 6)
    with django_assert_max_num_queries(10):
        assert staff.get("/bank/").status_code == 200


def test_the_loans_list_and_loan_page_read_in_a_bounded_number_of_queries(
    client: Client, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    loan = serviced_loan(bank=programme.pasar)
    staff = signed_in(client, programme.pasar_staff)
    for number in range(2):
        repayment_post(
            actor=programme.pasar_staff2,
            loan_id=loan.pk,
            request=RepaymentRequest(amount=100_000, paid_on=TODAY, channel="teller", reference=f"Q-{number}"),
        )
    with django_assert_max_num_queries(10):
        assert staff.get("/bank/loans/").status_code == 200
    with django_assert_max_num_queries(12):
        assert staff.get(f"/bank/loans/{loan.pk}/").status_code == 200
    for number in range(5):
        serviced_loan(bank=programme.pasar, principal=2_000_000 + number)
        repayment_post(
            actor=programme.pasar_staff2,
            loan_id=loan.pk,
            request=RepaymentRequest(amount=100_000, paid_on=TODAY, channel="teller", reference=f"R-{number}"),
        )
    with django_assert_max_num_queries(10):
        assert staff.get("/bank/loans/?late=&status=active").status_code == 200
    with django_assert_max_num_queries(12):
        assert staff.get(f"/bank/loans/{loan.pk}/").status_code == 200


def test_the_application_page_reads_in_a_bounded_number_of_queries(
    client: Client, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    application = application_at(programme, "approved")
    staff = signed_in(client, programme.pasar_staff)
    with django_assert_max_num_queries(10):
        assert staff.get(f"/bank/applications/{application.pk}/").status_code == 200


def test_the_deferrals_and_reports_pages_read_in_a_bounded_number_of_queries(
    client: Client, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    staff = signed_in(client, programme.pasar_staff)

    def ask(count: int) -> None:
        for _ in range(count):
            loan = serviced_loan(bank=programme.pasar)
            deferral_request(actor=programme.officer, loan_id=loan.pk, months=3, mode="principal_only", reason="Banjir")

    ask(1)
    report_of(programme.pasar)
    with django_assert_max_num_queries(10):
        assert staff.get("/bank/deferrals/").status_code == 200
    with django_assert_max_num_queries(10):
        assert staff.get("/bank/reports/").status_code == 200
    ask(4)
    with django_assert_max_num_queries(10):
        assert staff.get("/bank/deferrals/").status_code == 200


def test_a_refusal_is_in_the_users_language(client: Client, programme: Programme) -> None:
    application = application_at(programme, "forwarded")
    staff = signed_in(client, programme.pasar_staff)
    staff.post("/i18n/setlang/", {"language": "en", "next": "/bank/"})
    answer = staff.post(
        f"/bank/applications/{application.pk}/",
        {"action": "credit_check", "credit_check-result": "arrears", "credit_check-notes": ""},
    )
    assert answer.status_code == 400
    assert "Describe the arrears found." in html_of(answer)
