"""The borrower's own page (/me/): who may open it, the amounts it shows (the same
selectors as the API: the next installment, the arrears, the pay-off quote), the
schedule with paid installments marked, the repayments with their receipts, the
documents asked for and downloaded, the applications with their state, and a query
count that does not grow with the rows.

One loan serviced through the services with the clock fixed on 10 June 2026:
Rp1.200.000 over 6 months, 3% a year flat (Rp203.000 an installment, due 28 February
to 31 July), a penalty of 0.1% a day; installment 1 paid on its due date, nothing since,
the close of 9 June charging the penalties of installments 2 to 4."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from banks.models import Bank
from borrowers.models import Borrower
from config.clock import business_date_fixed
from loans.models import Application, Loan, Repayment
from loans.selectors.applications import loan_next_installment
from loans.selectors.servicing import loan_arrears
from loans.services.close import close_business_date
from loans.services.repayments import RepaymentRequest, loan_payoff_quote, repayment_post
from reports.models import Report
from tests.factories import (
    ApplicationFactory,
    BorrowerFactory,
    BusinessFactory,
    ProductTermsFactory,
    UserFactory,
    bank_user,
    funded_bank,
    serviced_loan,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 10)
#: Queries of /me/ whatever the number of installments, repayments, papers or applications.
HOME_QUERIES = 16


@pytest.fixture(autouse=True)
def today() -> Iterator[date]:
    with business_date_fixed(TODAY) as day:
        yield day


@pytest.fixture(autouse=True)
def _storage(tmp_path: Any, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@dataclass
class World:
    bank: Bank
    staff: User
    loan: Loan
    user: User
    r1: Repayment

    def pay(self, amount: int, on: date, reference: str) -> Repayment:
        repayment, _replayed = repayment_post(
            actor=self.staff,
            loan_id=self.loan.pk,
            request=RepaymentRequest(amount=amount, paid_on=on, channel="teller", reference=reference),
        )
        return repayment


def borrower_login(borrower_id: int) -> User:
    user = UserFactory.create(role="borrower")
    Borrower.objects.filter(pk=borrower_id).update(user=user)
    return user


@pytest.fixture
def world() -> World:
    bank = funded_bank("PASAR", 100_000_000)
    staff = bank_user(bank, username="pasar-teller")
    terms = ProductTermsFactory.create(version=2, penalty_percent_per_day=Decimal("0.1"), penalty_grace_days=0)
    loan = serviced_loan(bank=bank, terms=terms, principal=1_200_000, tenor_months=6)
    world = World(bank=bank, staff=staff, loan=loan, user=borrower_login(loan.borrower_id), r1=None)  # type: ignore[arg-type]
    world.r1 = world.pay(203_000, date(2026, 2, 28), "R-1")
    close_business_date(business_date=date(2026, 6, 9))
    world.loan.refresh_from_db()
    return world


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(html: str) -> str:
    """The page's words, tags dropped and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def rp(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def test_a_stranger_is_sent_to_sign_in(world: World, client: Client) -> None:
    for url in ("/me/", f"/me/loans/{world.loan.pk}/", "/me/documents/1/", "/me/documents/1/download/"):
        answer = client.get(url)
        assert answer.status_code == 302, url
        assert answer["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("role", ["officer", "bank_staff", "manager", "auditor"])
def test_staff_may_not_open_a_borrowers_page(world: World, role: str) -> None:
    client = signed_in(UserFactory.create(role=role))
    assert client.get("/me/").status_code == 403
    assert client.get(f"/me/loans/{world.loan.pk}/").status_code == 403
    assert client.post("/me/documents/", {"kind": "borrower_statement", "loan": world.loan.pk}).status_code == 403
    assert not Report.objects.filter(kind="borrower_statement").exists()


def test_the_page_shows_the_next_installment_what_is_late_and_the_pay_off_as_the_selectors_say(world: World) -> None:
    loan = Loan.objects.get(pk=world.loan.pk)
    arrears = loan_arrears(loan=loan, on=TODAY)
    next_row = loan_next_installment(loan=loan)
    payoff = loan_payoff_quote(loan=loan, on=TODAY)
    assert next_row is not None
    assert next_row.number == 2
    assert arrears.principal + arrears.interest == 3 * 203_000  # installments 2, 3 and 4
    assert arrears.penalty > 0

    page = text(signed_in(world.user).get("/me/").content.decode())
    assert "31 Maret 2026" in page  # the next installment, late
    assert rp(203_000 + next_row.penalty - next_row.penalty_paid) in page
    assert f"Anda terlambat 3 angsuran: bayar {rp(arrears.total)} agar tidak menunggak lagi." in page
    assert f"Sudah termasuk denda keterlambatan {rp(arrears.penalty)}." in page
    assert f"sudah terlambat {arrears.days_past_due} hari" in page
    assert rp(payoff.amount) in page
    assert rp(loan.outstanding_principal) in page


def test_the_schedule_marks_paid_and_late_installments(world: World) -> None:
    html = signed_in(world.user).get("/me/").content.decode()
    rows = re.findall(r"<tr( class=\"\w+\")?>\s*<td>(\d+)</td>", html)
    assert [(number, kind) for kind, number in rows] == [
        ("1", ' class="paid"'),
        ("2", ' class="late"'),
        ("3", ' class="late"'),
        ("4", ' class="late"'),
        ("5", ""),
        ("6", ""),
    ]
    page = text(html)
    assert "✓ Dibayar 28 Feb 2026" in page
    assert page.count("Belum jatuh tempo") == 2


def test_an_up_to_date_loan_says_so_and_in_english_when_asked(world: World) -> None:
    world.pay(3 * 203_000 + world.loan.arrears_penalty, TODAY, "R-2")
    client = signed_in(world.user)
    page = text(client.get("/me/").content.decode())
    assert "Angsuran Anda lancar." in page
    assert "terlambat" not in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/me/"})
    page = text(client.get("/me/").content.decode())
    assert "You are up to date." in page
    assert "Next installment due on" in page


def test_repayments_are_listed_with_their_receipts(world: World, settings: Any) -> None:
    settings.REPORTS_AUTO_PAPERS = True  # the booking queues its receipt; no worker runs it here
    r2 = world.pay(50_000, date(2026, 6, 1), "R-2")
    receipt = Report.objects.get(kind="receipt", repayment=r2)
    settings.REPORTS_AUTO_PAPERS = False
    r3 = world.pay(60_000, TODAY, "R-3")
    html = signed_in(world.user).get("/me/").content.decode()
    page = text(html)
    assert f"{rp(203_000)} · 28 Februari 2026" in page
    assert f"{rp(50_000)} · 1 Juni 2026" in page
    assert f"{rp(60_000)} · 10 Juni 2026" in page
    for reference in ("R-1", "R-2", "R-3"):
        assert f"ref. {reference}" in page
    assert f'href="/me/documents/{receipt.pk}/"' in html  # being prepared
    assert f'name="repayment" value="{world.r1.pk}"' in html  # none yet: a button asks for it
    assert f'name="repayment" value="{r3.pk}"' in html


def test_a_receipt_is_asked_for_made_and_downloaded(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REPORTS_AUTO_PAPERS = False
    r2 = world.pay(50_000, TODAY, "R-2")
    client = signed_in(world.user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/me/documents/", {"kind": "receipt", "repayment": r2.pk})
    report = Report.objects.get(kind="receipt", repayment=r2)
    assert answer.status_code == 302
    assert answer["Location"] == f"/me/documents/{report.pk}/"
    assert report.status == Report.Status.DONE
    html = client.get(answer["Location"]).content.decode()
    assert f'href="/me/documents/{report.pk}/download/"' in html
    assert "every 2s" not in html
    download = client.get(f"/me/documents/{report.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    # The home page now links the finished receipt.
    assert f'href="/me/documents/{report.pk}/download/"' in client.get("/me/").content.decode()


def test_a_document_being_made_is_followed_with_htmx_until_ready(world: World) -> None:
    client = signed_in(world.user)
    answer = client.post("/me/documents/", {"kind": "borrower_statement", "loan": world.loan.pk})
    report = Report.objects.get(kind="borrower_statement")
    assert report.status == Report.Status.QUEUED  # no worker ran (the commit callbacks were not run)
    assert (report.loan_id, report.as_of, report.language) == (world.loan.pk, TODAY, "id")
    html = client.get(answer["Location"]).content.decode()
    assert "Dokumen Anda sedang disiapkan" in html
    fragment = client.get(answer["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in fragment
    assert "<html" not in fragment
    # Downloading before it is ready goes back to its page.
    assert client.get(f"/me/documents/{report.pk}/download/")["Location"] == f"/me/documents/{report.pk}/"
    # Asking again finds the same report.
    assert (
        client.post("/me/documents/", {"kind": "borrower_statement", "loan": world.loan.pk})["Location"]
        == (answer["Location"])
    )
    assert Report.objects.filter(kind="borrower_statement").count() == 1


def test_a_settlement_letter_of_an_open_loan_is_refused_and_nothing_is_queued(world: World) -> None:
    client = signed_in(world.user)
    page = text(client.get("/me/").content.decode())
    assert "Surat keterangan lunas dapat diunduh di sini setelah pinjaman lunas seluruhnya." in page
    answer = client.post("/me/documents/", {"kind": "settlement_letter", "loan": world.loan.pk})
    assert answer.status_code == 400
    assert 'class="error"' in answer.content.decode()
    assert not Report.objects.filter(kind="settlement_letter").exists()


def test_a_paid_off_loan_is_listed_below_with_its_settlement_letter(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REPORTS_AUTO_PAPERS = True  # the pay-off queues the settlement letter
    payoff = loan_payoff_quote(loan=Loan.objects.get(pk=world.loan.pk), on=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        world.pay(payoff.amount, TODAY, "R-LUNAS")
    letter = Report.objects.get(kind="settlement_letter", loan=world.loan)
    assert letter.status == Report.Status.DONE
    client = signed_in(world.user)
    html = client.get("/me/").content.decode()
    page = text(html)
    assert "Saat ini Anda tidak punya pinjaman yang sedang dicicil." in page
    assert "Pinjaman sebelumnya" in page
    assert f'href="/me/loans/{world.loan.pk}/"' in html
    assert f'href="/me/documents/{letter.pk}/download/"' in html
    detail = text(client.get(f"/me/loans/{world.loan.pk}/").content.decode())
    assert "Lunas pada 10 Juni 2026" in detail
    assert "Untuk melunasi" not in detail


def test_another_borrowers_loan_and_documents_are_not_found(world: World) -> None:
    signed_in(world.user).post("/me/documents/", {"kind": "receipt", "repayment": world.r1.pk})
    report = Report.objects.get(kind="receipt", repayment=world.r1)
    other = borrower_login(BorrowerFactory.create().pk)
    client = signed_in(other)
    assert client.get(f"/me/loans/{world.loan.pk}/").status_code == 404
    assert client.get(f"/me/documents/{report.pk}/").status_code == 404
    assert client.get(f"/me/documents/{report.pk}/download/").status_code == 404
    before = Report.objects.count()
    assert client.post("/me/documents/", {"kind": "borrower_statement", "loan": world.loan.pk}).status_code == 404
    assert client.post("/me/documents/", {"kind": "receipt", "repayment": world.r1.pk}).status_code == 404
    assert Report.objects.count() == before
    page = text(client.get("/me/").content.decode())
    assert "Anda belum punya pinjaman." in page
    assert world.loan.contract_number not in page


def test_applications_are_listed_with_their_state_and_since_when(world: World) -> None:
    business = BusinessFactory.create(borrower=world.loan.borrower)
    ApplicationFactory.create(
        business=business, terms=world.loan.terms, state=Application.State.SUBMITTED, principal=7_500_000
    )
    page = text(signed_in(world.user).get("/me/").content.decode())
    assert "Rp7.500.000 selama 12 bulan" in page
    assert "Diajukan sejak" in page
    assert f"{rp(1_200_000)} selama 6 bulan" in page
    assert "Dicairkan sejak" in page


def test_the_page_needs_a_bounded_number_of_queries(
    world: World, django_assert_max_num_queries: Any, settings: Any
) -> None:
    client = signed_in(world.user)
    with django_assert_max_num_queries(HOME_QUERIES):
        assert client.get("/me/").status_code == 200
    # More repayments, receipts, applications and a longer schedule: the same bound.
    for number in range(6):
        world.pay(20_000, TODAY, f"R-MORE-{number}")
    business = BusinessFactory.create(borrower=world.loan.borrower)
    for _number in range(4):
        ApplicationFactory.create(business=business, terms=world.loan.terms, state=Application.State.REJECTED)
    with django_assert_max_num_queries(HOME_QUERIES):
        assert client.get("/me/").status_code == 200
    long_loan = serviced_loan(bank=world.bank, terms=world.loan.terms, principal=36_000_000, tenor_months=36)
    long_client = signed_in(borrower_login(long_loan.borrower_id))
    with django_assert_max_num_queries(HOME_QUERIES):
        html = long_client.get("/me/").content.decode()
    assert html.count('class="nowrap"') == 36
    with django_assert_max_num_queries(HOME_QUERIES):
        assert client.get(f"/me/loans/{world.loan.pk}/").status_code == 200


def test_a_loan_whose_schedule_is_still_computed_says_so(world: World) -> None:
    Loan.objects.filter(pk=world.loan.pk).update(schedule_status=Loan.ScheduleStatus.PENDING)
    page = text(signed_in(world.user).get("/me/").content.decode())
    assert "Jadwal angsuran Anda sedang disiapkan." in page
    assert "terlambat" not in page
    assert "Untuk melunasi" not in page
