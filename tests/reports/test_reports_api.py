"""Asking for documents, following and downloading them, who sees which, the public
check of a document, and what happens when a worker dies mid-document. A stand-in kind
(a small document of its own) keeps these tests about the machinery: each real kind's
content is tested in its own file."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from config.errors import ApplicationError
from loans.models import Loan
from loans.services.repayments import RepaymentRequest, repayment_post
from reports.models import Report
from reports.services import reports as service
from reports.services.reports import ReportRequest, report_make, report_request, reports_monthly, reports_sweep
from tests.factories import UserFactory, serviced_loan
from tests.reports.conftest import Programme
from tests.reports.standin import StandIn

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stand_in(monkeypatch: pytest.MonkeyPatch) -> type[StandIn]:
    StandIn.calls = []
    StandIn.fail_with = None
    monkeypatch.setattr(service, "kind_module", lambda code: StandIn)
    return StandIn


@pytest.fixture(autouse=True)
def _storage(tmp_path: Any, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def client_for(user: Any) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def ask(client: APIClient, captured: Any, **body: Any) -> Any:
    with captured(execute=True):
        return client.post("/api/v1/reports/", body, format="json")


def test_a_bank_asks_for_its_monthly_report_and_downloads_it(
    programme: Programme, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(programme.pasar_staff)
    answer = ask(client, django_capture_on_commit_callbacks, kind="bank_monthly", bank="PASAR", period="2026-10",
                 format="csv")  # fmt: skip
    assert answer.status_code == 202, answer.json()
    assert set(answer.json()) >= {"id", "status", "url"}
    assert answer.json()["status"] == "queued"
    report = client.get(answer.json()["url"]).json()
    assert report["status"] == "done", report
    assert report["kind"] == "bank_monthly"
    assert report["bank"] == "PASAR"
    assert report["period"] == "2026-10"
    assert report["number"].startswith("WBW/BM/")
    assert report["progress"] == {"done": 3, "total": 3}
    download = client.get(report["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="bank_monthly-uji.csv"' in download["Content-Disposition"]
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert len(content) == report["size"]
    assert hashlib.sha256(content).hexdigest() == report["sha256"]
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert ["row 2", "2000"] in rows
    params = StandIn.calls[0]
    assert (params.bank_id, params.period.code if params.period else None) == (programme.pasar.pk, "2026-10")


def test_an_identical_request_returns_the_finished_report_unless_refresh(
    programme: Programme, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(programme.manager)
    body = {"kind": "programme", "period": "2026-Q3", "format": "csv"}
    first = ask(client, django_capture_on_commit_callbacks, **body)
    again = ask(client, django_capture_on_commit_callbacks, **body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    other_language = ask(client, django_capture_on_commit_callbacks, **body, language="en")
    assert other_language.status_code == 202
    assert other_language.json()["id"] != first.json()["id"]
    refreshed = ask(client, django_capture_on_commit_callbacks, **body, refresh=True)
    assert refreshed.status_code == 202
    assert refreshed.json()["id"] not in (
        first.json()["id"],
        other_language.json()["id"],
    )
    assert len(StandIn.calls) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "bank_monthly", "period": "2026-10"}, "bank"),
        ({"kind": "bank_monthly", "bank": "PASAR"}, "period"),
        ({"kind": "bank_monthly", "bank": "PASAR", "period": "2026-10", "loan": 1}, "loan"),
        ({"kind": "bank_monthly", "bank": "PASAR", "period": "2026-Q3"}, "period"),
        ({"kind": "bank_monthly", "bank": "PASAR", "period": "2026-13"}, "period"),
        ({"kind": "bank_monthly", "bank": "PASAR", "period": "Oct 2026"}, "period"),
        ({"kind": "bank_monthly", "bank": "PASAR", "period": "2026-10", "colour": "red"}, "colour"),
        ({"kind": "bank_monthly", "bank": "PASAR", "period": "2099-01"}, "period"),
        ({"kind": "receipt"}, "repayment"),
        ({"kind": "programme", "period": "2026", "as_of": "2026-01-01"}, "as_of"),
        ({"kind": "monthly", "period": "2026"}, "kind"),
        ({"kind": "programme", "period": "2026", "format": "docx"}, "format"),
        ({"kind": "programme", "period": "2026", "language": "jv"}, "language"),
        ({"kind": "programme", "period": 2026}, "period"),
        ({"kind": "programme", "period": "2026", "refresh": 1}, "refresh"),
    ],
)
def test_a_request_that_does_not_fit_its_kind_is_a_400_naming_the_field(
    programme: Programme, body: dict[str, Any], field: str
) -> None:
    answer = client_for(programme.manager).post("/api/v1/reports/", body, format="json")
    assert answer.status_code == 400, answer.json()
    assert field in answer.json()["errors"], answer.json()
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("language", "body", "field", "message"),
    [
        ("id", {"kind": "bank_monthly", "period": "2026-10"}, "bank", "Laporan bank_monthly memerlukan bank."),
        ("en", {"kind": "bank_monthly", "period": "2026-10"}, "bank", "A bank_monthly report needs bank."),
        (
            "id",
            {"kind": "receipt", "repayment": 1, "period": "2026"},
            "period",
            "Laporan receipt tidak menerima period.",
        ),
        ("id", {"kind": "programme", "period": "2026-13"}, "period", "Bulan harus 01 sampai 12."),
        ("en", {"kind": "programme", "period": "2026-13"}, "period", "The month must be 01 to 12."),
        ("id", {"kind": "programme", "period": "Okt2026"}, "period", "Gunakan bulan (2026-10), triwulan (2026-Q3)"),
        ("id", {"kind": "programme", "period": "1999"}, "period", "Tahun harus antara 2017 dan"),
        (
            "id",
            {"kind": "bank_monthly", "bank": "PASAR", "period": "2026"},
            "period",
            "Laporan bank_monthly mencakup satu bulan (mis. 2026-10).",
        ),
        (
            "en",
            {"kind": "city_books", "period": "2026-1a"},
            "period",
            "Use a month (2026-10), a quarter (2026-Q3) or a year (2026).",
        ),
        ("id", {"kind": "bank_monthly", "bank": "XYZ", "period": "2026-10"}, "bank", "Tidak ada bank XYZ di antara"),
        ("id", {"kind": "receipt", "repayment": 10**9}, "repayment", "Pembayaran ini tidak ada di antara milik Anda."),
        ("id", {"kind": "programme", "period": "2026", "colour": "red"}, "colour", "Bukan isian permintaan laporan."),
    ],
)
def test_refusals_are_worded_in_the_request_language(
    programme: Programme, language: str, body: dict[str, Any], field: str, message: str
) -> None:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(programme.manager)
    answer = client.post("/api/v1/reports/", body, format="json")
    assert answer.status_code in (400, 404), answer.json()
    assert answer.json()["errors"][field][0].startswith(message), answer.json()
    top = answer.json()["message"]
    if language == "id":
        assert top in {
            "Permintaan ini tidak sesuai dengan jenis laporannya.",
            "Bank tidak ditemukan.",
            "Pembayaran tidak ditemukan.",
            "Masukan tidak valid.",
        }, top


def test_who_may_ask_for_what(programme: Programme) -> None:
    loan = serviced_loan(bank=programme.pasar, disbursed_on=date(2026, 1, 31))
    jateng = client_for(programme.jateng_staff)
    # Another bank's report or loan is not found; a kind the role never sees is refused.
    assert jateng.post("/api/v1/reports/", {"kind": "bank_monthly", "bank": "PASAR", "period": "2026-10"},
                       format="json").status_code == 404  # fmt: skip
    assert jateng.post("/api/v1/reports/", {"kind": "borrower_statement", "loan": loan.pk},
                       format="json").status_code == 404  # fmt: skip
    assert jateng.post("/api/v1/reports/", {"kind": "programme", "period": "2026"}, format="json").status_code == 403
    assert jateng.post("/api/v1/reports/", {"kind": "city_books", "period": "2026"}, format="json").status_code == 403
    assert jateng.post("/api/v1/reports/", {"kind": "city_books", "period": "2026", "bank": "JATENG"},
                       format="json").status_code == 202  # fmt: skip
    pasar = client_for(programme.pasar_staff)
    assert pasar.post("/api/v1/reports/", {"kind": "borrower_statement", "loan": loan.pk},
                      format="json").status_code == 202  # fmt: skip
    borrower_user = UserFactory.create(role="borrower")
    loan.borrower.user = borrower_user
    loan.borrower.save(update_fields=["user"])
    own = client_for(borrower_user)
    assert own.post("/api/v1/reports/", {"kind": "bank_monthly", "bank": "PASAR", "period": "2026-10"},
                    format="json").status_code == 403  # fmt: skip
    assert own.post("/api/v1/reports/", {"kind": "borrower_statement", "loan": loan.pk, "as_of": "2026-03-01"},
                    format="json").status_code == 202  # fmt: skip
    stranger = client_for(UserFactory.create(role="borrower"))
    assert stranger.post("/api/v1/reports/", {"kind": "borrower_statement", "loan": loan.pk},
                         format="json").status_code == 404  # fmt: skip
    assert client_for(programme.auditor).post("/api/v1/reports/", {"kind": "programme", "period": "2026"},
                                              format="json").status_code == 202  # fmt: skip
    assert APIClient().post("/api/v1/reports/", {"kind": "programme", "period": "2026"},
                            format="json").status_code == 401  # fmt: skip


def test_each_sees_only_their_own_reports(programme: Programme) -> None:
    loan = serviced_loan(bank=programme.pasar, disbursed_on=date(2026, 1, 31))
    borrower_user = UserFactory.create(role="borrower")
    loan.borrower.user = borrower_user
    loan.borrower.save(update_fields=["user"])
    made = {
        "pasar": report_request(
            actor=programme.manager, request=ReportRequest(kind="bank_monthly", bank="PASAR", period="2026-10")
        )[0],
        "jateng": report_request(
            actor=programme.manager, request=ReportRequest(kind="bank_monthly", bank="JATENG", period="2026-10")
        )[0],
        "programme": report_request(actor=programme.manager, request=ReportRequest(kind="programme", period="2026"))[0],
        "statement": report_request(
            actor=programme.manager, request=ReportRequest(kind="borrower_statement", loan=loan.pk)
        )[0],
    }

    def listed(user: Any, query: str = "") -> set[int]:
        return {row["id"] for row in client_for(user).get(f"/api/v1/reports/{query}").json()["results"]}

    ids = {name: report.pk for name, report in made.items()}
    assert listed(programme.manager) == set(ids.values()) == listed(programme.auditor)
    assert listed(programme.pasar_staff) == {ids["pasar"], ids["statement"]}
    assert listed(programme.jateng_staff) == {ids["jateng"]}
    assert listed(borrower_user) == {ids["statement"]}
    assert listed(programme.manager, "?kind=bank_monthly&bank=JATENG&period=2026-10") == {ids["jateng"]}
    assert client_for(programme.manager).get("/api/v1/reports/?kind=nope").status_code == 400
    assert client_for(programme.jateng_staff).get(f"/api/v1/reports/{ids['pasar']}/").status_code == 404
    assert client_for(borrower_user).get(f"/api/v1/reports/{ids['programme']}/download/").status_code == 404
    # Not made yet (no worker ran: the test keeps the commit's callbacks): 409 naming the state.
    answer = client_for(programme.pasar_staff).get(f"/api/v1/reports/{ids['pasar']}/download/")
    assert answer.status_code == 409
    assert answer.json()["state"] == "queued"


def test_anyone_holding_a_document_can_check_it(programme: Programme, django_capture_on_commit_callbacks: Any) -> None:
    answer = ask(client_for(programme.pasar_staff), django_capture_on_commit_callbacks, kind="bank_monthly",
                 bank="PASAR", period="2026-10")  # fmt: skip
    report = Report.objects.get(pk=answer.json()["id"])
    assert len(report.verify_code) >= 32
    checked = APIClient().get(f"/api/v1/documents/verify/{report.verify_code}/")
    assert checked.status_code == 200
    body = checked.json()
    assert body["number"] == report.number
    assert body["sha256"] == report.sha256
    assert body["kind"] == "bank_monthly"
    assert body["issuer"] == programme.pasar.name
    assert body["period"] == "Oktober 2026"
    assert body["title"] == "Dokumen uji"
    assert body["made_at"]
    # One character changed (never to itself: a code may end in "x" already).
    wrong = report.verify_code[:-1] + ("y" if report.verify_code.endswith("x") else "x")
    assert APIClient().get(f"/api/v1/documents/verify/{wrong}/").status_code == 404
    # The code printed on it is the one checked: the document carries its own URL.
    assert StandIn.calls
    assert report.verify_code in service.verify_url(report.verify_code)


def test_a_document_that_fails_is_marked_failed_with_its_error(
    programme: Programme, django_capture_on_commit_callbacks: Any, stand_in: type[StandIn]
) -> None:
    stand_in.fail_with = ApplicationError("No close for 31 October 2026.")
    answer = ask(client_for(programme.manager), django_capture_on_commit_callbacks, kind="programme", period="2026")
    report = client_for(programme.manager).get(answer.json()["url"]).json()
    assert report["status"] == "failed"
    assert report["error"] == "No close for 31 October 2026."
    assert report["download_url"] is None
    assert report["sha256"] is None
    # A failed one is not returned to an identical request: asking again makes it again.
    stand_in.fail_with = None
    again = ask(client_for(programme.manager), django_capture_on_commit_callbacks, kind="programme", period="2026")
    assert again.status_code == 202
    assert client_for(programme.manager).get(again.json()["url"]).json()["status"] == "done"


def _stale(report: Report, seconds: int) -> None:
    Report.objects.filter(pk=report.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_a_report_whose_worker_died_goes_to_the_next_worker(programme: Programme, settings: Any) -> None:
    report, _ = report_request(actor=programme.manager, request=ReportRequest(kind="programme", period="2026"))
    attempt = service._claim(report.pk, timezone.now())  # a worker takes it ... and is killed
    assert attempt == 1
    assert report_make(report_id=report.pk) is None  # held by a live worker: left alone
    _stale(report, settings.REPORT_STALE_SECONDS + 1)
    assert reports_sweep()["requeued"] == 1
    report.refresh_from_db()
    assert report.status == "queued"
    made = report_make(report_id=report.pk)
    assert made is not None
    assert made.status == "done"
    assert made.attempts == 2
    # The first worker, thought dead, comes back: it changes nothing.
    assert service._finish(report.pk, 1, status="failed", error="late") is False
    assert Report.objects.get(pk=report.pk).status == "done"


def test_a_report_whose_workers_keep_dying_is_failed(programme: Programme, settings: Any) -> None:
    report, _ = report_request(actor=programme.manager, request=ReportRequest(kind="programme", period="2026"))
    for _attempt in range(settings.REPORT_MAX_ATTEMPTS):
        assert service._claim(report.pk, timezone.now()) is not None
        _stale(report, settings.REPORT_STALE_SECONDS + 1)
        reports_sweep()
    report.refresh_from_db()
    assert report.status == "failed"
    assert "stopped 3 times" in report.error


def test_a_report_running_past_its_time_limit_is_failed_and_can_be_asked_for_again(
    programme: Programme, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(programme.manager)
    report, _ = report_request(actor=programme.manager, request=ReportRequest(kind="programme", period="2026"))
    attempt = service._claim(report.pk, timezone.now())  # a live worker, its heartbeat fresh, far too slow
    Report.objects.filter(pk=report.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.REPORT_TIME_LIMIT + settings.REPORT_STALE_SECONDS + 1)
    )
    assert reports_sweep() == {"failed": 1, "requeued": 0, "resent": 0}
    shown = client.get(f"/api/v1/reports/{report.pk}/").json()
    assert shown["status"] == "failed"
    assert "time limit" in shown["error"]
    # The slow worker finishing after all records nothing over the failure.
    assert attempt is not None
    assert service._finish(report.pk, attempt, status="done") is False
    assert Report.objects.get(pk=report.pk).status == "failed"
    # Asked for again, it is made afresh (a failed report is never returned to a request).
    again = ask(client, django_capture_on_commit_callbacks, kind="programme", period="2026")
    assert again.status_code == 202
    assert again.json()["id"] != report.pk
    assert client.get(again.json()["url"]).json()["status"] == "done"


def test_a_queued_report_whose_message_was_lost_is_sent_again(
    programme: Programme, django_capture_on_commit_callbacks: Any
) -> None:
    report, _ = report_request(actor=programme.manager, request=ReportRequest(kind="programme", period="2026"))
    _stale(report, service.REQUEUE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reports_sweep()["resent"] == 1
    assert Report.objects.get(pk=report.pk).status == "done"


def test_beat_queues_every_banks_monthly_report_and_the_city_books_once(programme: Programme) -> None:
    made = reports_monthly(month="2026-10")
    assert sorted((r.kind, r.bank.code if r.bank else "", r.format) for r in made) == [
        ("bank_monthly", "JATENG", "pdf"),
        ("bank_monthly", "JATENG", "xlsx"),
        ("bank_monthly", "PASAR", "pdf"),
        ("bank_monthly", "PASAR", "xlsx"),
        ("city_books", "", "pdf"),
        ("city_books", "", "xlsx"),
    ]
    assert all(r.requested_by is None and r.period == "2026-10" for r in made)
    assert {r.pk for r in reports_monthly(month="2026-10")} == {r.pk for r in made}


def test_a_booked_repayment_queues_its_receipt_and_a_payoff_its_settlement_letter(
    programme: Programme, settings: Any
) -> None:
    settings.REPORTS_AUTO_PAPERS = True
    loan = serviced_loan(bank=programme.pasar, principal=1_200_000, tenor_months=6, disbursed_on=date(2026, 1, 31))
    first = loan.installments.order_by("number").first()
    assert first is not None
    repayment, _ = repayment_post(
        actor=programme.pasar_staff,
        loan_id=loan.pk,
        request=RepaymentRequest(
            amount=first.installment, paid_on=date(2026, 2, 27), channel="teller", reference="R-1"
        ),
    )
    receipts = Report.objects.filter(kind="receipt", repayment=repayment)
    assert receipts.count() == 1
    assert receipts[0].bank_id == programme.pasar.pk
    assert receipts[0].borrower_id == loan.borrower_id
    assert not Report.objects.filter(kind="settlement_letter").exists()
    quote = service_payoff(loan)
    payoff, _ = repayment_post(
        actor=programme.pasar_staff,
        loan_id=loan.pk,
        request=RepaymentRequest(amount=quote, paid_on=date(2026, 3, 2), channel="teller", reference="R-2"),
    )
    assert Loan.objects.get(pk=loan.pk).status == "paid_off"
    assert Report.objects.filter(kind="receipt", repayment=payoff).count() == 1
    assert Report.objects.filter(kind="settlement_letter", loan=loan).count() == 1


def service_payoff(loan: Loan) -> int:
    from loans.services.repayments import loan_payoff_quote

    return loan_payoff_quote(loan=Loan.objects.get(pk=loan.pk), on=date(2026, 3, 2)).amount


def test_receipts_wait_when_the_setting_is_off(programme: Programme, settings: Any) -> None:
    settings.REPORTS_AUTO_PAPERS = False
    loan = serviced_loan(bank=programme.pasar, disbursed_on=date(2026, 1, 31))
    repayment_post(
        actor=programme.pasar_staff,
        loan_id=loan.pk,
        request=RepaymentRequest(amount=100_000, paid_on=date(2026, 2, 27), channel="teller", reference="R-9"),
    )
    assert not Report.objects.exists()


def test_the_request_is_audited(programme: Programme) -> None:
    from audit.models import AuditEntry

    report, _ = report_request(actor=programme.pasar_staff, request=ReportRequest(kind="bank_monthly", bank="PASAR",
                                                                                 period="2026-10"))  # fmt: skip
    row = AuditEntry.objects.get(action="report_request")
    assert row.actor_id == programme.pasar_staff.pk
    assert row.subject_id == str(report.pk)
