"""The borrower's papers (reports/kinds/statement.py, receipt.py, settlement.py), read
back as a borrower would: the installment card's every installment, paid amounts and
dates, arrears and penalties as of a date and the pay-off amount (equal to the payoff
API's); a receipt's split (equal to the repayment's allocations) and the principal left;
a reversed receipt saying so; the settlement letter refused before the pay-off and right
after it; the papers queued by a booking made for real by the worker.

One loan is serviced through the services with the clock fixed (tests/factories.py
``serviced_loan``; ``repayment_post``, ``repayment_reverse``, the close): Rp1.200.000
over 6 months, 3% a year flat (Rp200.000 principal and Rp3.000 interest a month,
Rp203.000 an installment), a penalty of 0.1% a day of what is unpaid of an overdue
installment, no grace.

* R1 pays installment 1 (Rp203.000) on its due date, 28 February;
* R2 pays Rp100.000 on 3 April, 3 days after installment 2 fell due (31 March): its
  interest (Rp3.000), then Rp97.000 of its principal;
* the close of 10 May charges installment 2 for 40 days on Rp103.000 (Rp4.120) and
  installment 3 (due 30 April) for 10 days on Rp203.000 (Rp2.030);
* R3 pays Rp112.150 on 12 May: both penalties (Rp6.150), then the interest due
  (installment 3's Rp3.000), then the principal due (installment 2's Rp103.000);
* R4 pays Rp10.000 on 10 June and is reversed: it had paid installment 4's interest
  (Rp3.000) and Rp7.000 of installment 3's principal.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from borrowers.identity import mask_nik
from borrowers.models import Borrower, Business
from config.clock import business_date_fixed
from loans.models import Loan, Repayment
from loans.selectors.servicing import allocations_of, loan_arrears
from loans.services.close import close_business_date
from loans.services.repayments import RepaymentRequest, loan_payoff_quote, repayment_post, repayment_reverse
from reports.document import Document, DocumentMeta, Facts, Paragraph, Table, no_progress
from reports.kinds import ReportParams, ReportRefused
from reports.kinds import receipt as receipt_kind
from reports.kinds import settlement as settlement_kind
from reports.kinds import statement as statement_kind
from reports.kinds.receipt import amount_in_words
from reports.models import Report
from reports.render import render
from reports.services.reports import verify_url
from tests.factories import ProductTermsFactory, UserFactory, serviced_loan
from tests.loans import conftest as loans_conftest
from tests.loans.conftest import Programme
from tests.reports.reading import pdf_pages, png_pages, qr_codes

pytestmark = pytest.mark.django_db
programme = loans_conftest.programme

TODAY = date(2026, 6, 10)
PENALTY_2 = 103_000 * 40 // 1000  # 0.1% a day of Rp103.000 for 40 days: 4,120 (exact, no rounding)
PENALTY_3 = 203_000 * 10 // 1000  # 0.1% a day of Rp203.000 for 10 days: 2,030


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
    settings.REPORTS_AUTO_PAPERS = False


@dataclass
class World:
    programme: Programme
    loan: Loan
    r1: Repayment
    r2: Repayment
    r3: Repayment
    r4: Repayment


def pay(programme: Programme, loan: Loan, amount: int, on: date, reference: str) -> Repayment:
    repayment, _replayed = repayment_post(
        actor=programme.pasar_staff,
        loan_id=loan.pk,
        request=RepaymentRequest(amount=amount, paid_on=on, channel="teller", reference=reference),
    )
    return repayment


@pytest.fixture
def world(programme: Programme) -> World:
    terms = ProductTermsFactory.create(version=2, penalty_percent_per_day=Decimal("0.1"), penalty_grace_days=0)
    loan = serviced_loan(bank=programme.pasar, terms=terms, principal=1_200_000, tenor_months=6)
    dues = list(loan.installments.order_by("number").values_list("due_date", "installment"))
    assert dues == [
        (date(2026, 2, 28), 203_000),
        (date(2026, 3, 31), 203_000),
        (date(2026, 4, 30), 203_000),
        (date(2026, 5, 31), 203_000),
        (date(2026, 6, 30), 203_000),
        (date(2026, 7, 31), 203_000),
    ]
    r1 = pay(programme, loan, 203_000, date(2026, 2, 28), "R-1")
    r2 = pay(programme, loan, 100_000, date(2026, 4, 3), "R-2")
    close_business_date(business_date=date(2026, 5, 10))
    r3 = pay(programme, loan, PENALTY_2 + PENALTY_3 + 3_000 + 103_000, date(2026, 5, 12), "R-3")
    r4 = pay(programme, loan, 10_000, TODAY, "R-4")
    r4 = repayment_reverse(actor=programme.pasar_staff2, repayment_id=r4.pk, reason="Salah rekening")
    loan.refresh_from_db()
    return World(programme, loan, r1, r2, r3, r4)


def meta(language: str = "id") -> DocumentMeta:
    return DocumentMeta(
        number="WBW/KA/2026/000007",
        verify_code="code",
        verify_url="https://wibawa.example/api/v1/documents/verify/code/",
        made_at=timezone.localtime(),
        language=language,  # type: ignore[arg-type]
        issuer="BPR Bank Pasar",
    )


def statement(loan: Loan, as_of: date | None = None, language: str = "id") -> Document:
    params = ReportParams(kind="borrower_statement", loan_id=loan.pk, as_of=as_of, language=language)
    statement_kind.check(params)
    return statement_kind.build(params, meta(language), no_progress)


def receipt(repayment: Repayment, language: str = "id") -> Document:
    params = ReportParams(kind="receipt", repayment_id=repayment.pk, language=language)
    receipt_kind.check(params)
    return receipt_kind.build(params, meta(language), no_progress)


def letter(loan: Loan, language: str = "id") -> Document:
    params = ReportParams(kind="settlement_letter", loan_id=loan.pk, language=language)
    settlement_kind.check(params)
    return settlement_kind.build(params, meta(language), no_progress)


def table(document: Document, index: int = 0) -> Table:
    return document.tables()[index]


def facts(document: Document) -> dict[str, Any]:
    return {fact.label: fact.value for block in document.blocks if isinstance(block, Facts) for fact in block.items}


def text(document: Document) -> str:
    """The whole PDF's text, spaces squeezed."""
    return re.sub(r"\s+", " ", " ".join(pdf_pages(render(document, "pdf"))))


# --- the installment card ------------------------------------------------------------------------


def test_the_card_shows_every_installment_with_what_was_paid_of_it_and_when(world: World) -> None:
    document = statement(world.loan)
    rows = [tuple(row) for row in table(document).rows]
    # no, due, principal, interest, principal paid, interest paid, penalty, penalty paid, left, paid on, note
    assert rows == [
        (1, date(2026, 2, 28), 200_000, 3_000, 200_000, 3_000, 0, 0, 0, date(2026, 2, 28), "Lunas"),
        (2, date(2026, 3, 31), 200_000, 3_000, 200_000, 3_000, PENALTY_2, PENALTY_2, 0, date(2026, 5, 12), "Lunas"),
        (3, date(2026, 4, 30), 200_000, 3_000, 0, 3_000, PENALTY_3, PENALTY_3, 200_000, date(2026, 5, 12),
         "Tertunggak"),
        (4, date(2026, 5, 31), 200_000, 3_000, 0, 0, 0, 0, 203_000, None, "Tertunggak"),
        (5, date(2026, 6, 30), 200_000, 3_000, 0, 0, 0, 0, 203_000, None, ""),
        (6, date(2026, 7, 31), 200_000, 3_000, 0, 0, 0, 0, 203_000, None, ""),
    ]  # fmt: skip
    assert table(document).totals == [None, "Jumlah", 1_200_000, 18_000, 400_000, 9_000, 6_150, 6_150, 809_000,
                                      None, None]  # fmt: skip
    # The repayments, the reversed one marked and left out of the total.
    assert [tuple(row) for row in table(document, 1).rows] == [
        (date(2026, 2, 28), "R-1", "Teller", 203_000, "Dibukukan"),
        (date(2026, 4, 3), "R-2", "Teller", 100_000, "Dibukukan"),
        (date(2026, 5, 12), "R-3", "Teller", 112_150, "Dibukukan"),
        (TODAY, "R-4", "Teller", 10_000, "Dibatalkan"),
    ]
    assert table(document, 1).totals == ["Jumlah", None, None, 203_000 + 100_000 + 112_150, None]


def test_the_card_shows_arrears_and_the_payoff_amount_of_the_payoff_api(world: World) -> None:
    document = statement(world.loan)
    shown = facts(document)
    # Due by 10 June: installment 3's principal and installment 4 whole; penalties paid.
    assert shown["Sisa pokok pinjaman"] == 800_000
    assert shown["Tunggakan pokok"] == 200_000 + 200_000 == loan_arrears(loan=world.loan, on=TODAY).principal
    assert shown["Tunggakan bunga"] == 3_000 == loan_arrears(loan=world.loan, on=TODAY).interest
    assert shown["Denda belum dibayar"] == 0
    assert shown["Jumlah tunggakan"] == 403_000
    assert shown["Hari keterlambatan"] == "41 hari"  # since 30 April
    # Pay-off today: all principal left, installment 4's interest and this month's (installment 5).
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(world.programme.pasar_staff)
    api = client.get(f"/api/v1/loans/{world.loan.pk}/payoff/").json()
    assert api["amount"] == 800_000 + 3_000 + 3_000 == document.extra["payoff"]
    assert shown["Jumlah untuk melunasi per 10 Juni 2026"] == "Rp806.000 (pokok Rp800.000, bunga Rp6.000, denda Rp0)"
    assert shown["NIK"] == mask_nik(world.loan.borrower.nik) != world.loan.borrower.nik
    assert shown["Status pinjaman"] == "Menunggak"


def test_a_card_as_of_an_earlier_date_counts_only_the_repayments_made_by_then(world: World) -> None:
    document = statement(world.loan, as_of=date(2026, 4, 10))
    rows = [tuple(row)[:10] for row in table(document).rows]
    assert rows[:3] == [
        (1, date(2026, 2, 28), 200_000, 3_000, 200_000, 3_000, 0, 0, 0, date(2026, 2, 28)),
        # R2 only: R3 (12 May) is not counted; the penalty the close charged later is shown, with a note.
        (2, date(2026, 3, 31), 200_000, 3_000, 97_000, 3_000, PENALTY_2, 0, 103_000 + PENALTY_2, date(2026, 4, 3)),
        (3, date(2026, 4, 30), 200_000, 3_000, 0, 0, PENALTY_3, 0, 203_000 + PENALTY_3, None),
    ]
    shown = facts(document)
    assert shown["Sisa pokok pinjaman"] == 1_200_000 - 297_000
    assert shown["Tunggakan pokok"] == 103_000
    assert shown["Tunggakan bunga"] == 0
    assert shown["Denda belum dibayar"] == PENALTY_2  # installment 3 not due yet on 10 April
    assert shown["Hari keterlambatan"] == "10 hari"  # since 31 March
    # Pay-off on 10 April: principal left, installment 3's interest (April), penalties.
    assert document.extra["payoff"] == 903_000 + 3_000 + PENALTY_2 + PENALTY_3
    assert [tuple(row)[1] for row in table(document, 1).rows] == ["R-1", "R-2"]
    assert any(isinstance(block, Paragraph) and "sampai 10 Mei 2026" in block.text for block in document.blocks), (
        "the penalties charged after the date are said to be"
    )


def test_the_card_reads_back_from_the_pdf_csv_and_xlsx(world: World) -> None:
    document = statement(world.loan)
    pages = pdf_pages(render(document, "pdf"))
    assert len(pages) == 1
    page = re.sub(r"\s+", " ", pages[0])
    assert "Kartu Angsuran" in page
    assert "Posisi per 10 Juni 2026" in page
    assert "Halaman 1 dari 1" in page
    assert mask_nik(world.loan.borrower.nik) in page
    assert world.loan.borrower.nik not in page
    assert "31 Maret 2026 Rp200.000 Rp3.000 Rp200.000 Rp3.000 Rp4.120 Rp4.120 Rp0 12 Mei 2026 Lunas" in page
    assert "Rp806.000" in page
    assert world.loan.contract_number in page
    rows = list(csv.reader(io.StringIO(render(document, "csv").decode("utf-8-sig"))))
    start = rows.index(["Angsuran"])
    assert rows[start + 3] == ["2", "2026-03-31", "200000", "3000", "200000", "3000", "4120", "4120", "0",
                               "2026-05-12", "Lunas"]  # fmt: skip
    workbook = openpyxl.load_workbook(io.BytesIO(render(document, "xlsx")))
    sheet = list(workbook["Angsuran"].iter_rows(values_only=True))
    assert sheet[3][:9] == (3, sheet[3][1], 200_000, 3_000, 0, 3_000, PENALTY_3, PENALTY_3, 200_000)
    assert sheet[3][1].date() == date(2026, 4, 30)
    assert sheet[-1][8] == 809_000


def test_the_card_in_english(world: World) -> None:
    page = text(statement(world.loan, language="en"))
    assert "Installment Card" in page
    assert "As of 10 June 2026" in page
    assert "Page 1 of 1" in page
    assert "IDR 806,000 (principal IDR 800,000, interest IDR 6,000, penalty IDR 0)" in page
    assert "Overdue" in page
    assert "41 days" in page


@pytest.mark.parametrize(
    ("as_of", "field"),
    [(date(2026, 6, 11), "as_of"), (date(2026, 1, 30), "as_of")],
)
def test_a_card_for_a_date_after_today_or_before_the_disbursement_is_refused(
    world: World, as_of: date, field: str
) -> None:
    with pytest.raises(ReportRefused) as refused:
        statement(world.loan, as_of=as_of)
    assert field in refused.value.errors


def test_a_card_of_a_paid_off_loan_says_so(world: World) -> None:
    payoff_off(world)
    document = statement(world.loan)
    assert document.blocks[0] == Paragraph("Pinjaman ini telah LUNAS pada 10 Juni 2026.", "emphasis")
    assert facts(document)["Status pinjaman"] == "Lunas"
    assert document.extra["payoff"] == 0
    assert (table(document).totals or [])[8] == 0  # nothing left on any installment (the 6th's interest waived)


# --- the receipt ---------------------------------------------------------------------------------


def split_of(repayment: Repayment) -> dict[int, dict[str, int]]:
    """The repayment's active allocations by installment and component."""
    found: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for allocation in allocations_of([repayment])[repayment.pk]:
        found[allocation["installment"]][allocation["component"]] += allocation["amount"]
    return found


def test_a_receipt_splits_the_repayment_as_its_allocations_and_shows_the_principal_left(world: World) -> None:
    document = receipt(world.r3)
    rows = [tuple(row) for row in table(document).rows]
    # installment, due, penalty, interest, principal, total
    assert rows == [
        (2, date(2026, 3, 31), PENALTY_2, 0, 103_000, PENALTY_2 + 103_000),
        (3, date(2026, 4, 30), PENALTY_3, 3_000, 0, PENALTY_3 + 3_000),
    ]
    allocations = split_of(world.r3)
    assert {row[0]: (row[2], row[3], row[4]) for row in rows} == {
        number: (parts["penalty"], parts["interest"], parts["principal"]) for number, parts in allocations.items()
    }
    assert table(document).totals == ["Jumlah", None, 6_150, 3_000, 103_000, world.r3.amount]
    shown = facts(document)
    assert shown["Sisa pokok pinjaman"] == 1_200_000 - 200_000 - 97_000 - 103_000
    assert shown["Jumlah dibayar"] == 112_150
    assert shown["Terbilang"] == "Seratus dua belas ribu seratus lima puluh rupiah"
    assert shown["Referensi bank"] == "R-3"
    assert shown["Petugas"] == "pasar"
    assert shown["Bank"] == world.loan.bank.name
    # An earlier receipt made now still shows the principal left right after it.
    assert facts(receipt(world.r2))["Sisa pokok pinjaman"] == 1_200_000 - 200_000 - 97_000
    page = text(document)
    assert "Kwitansi Pembayaran Angsuran" in page
    assert "12 Mei 2026" in page
    assert "Halaman 1 dari 1" in page
    assert "WBW/KA/2026/000007" in page
    assert "Rp112.150" in page
    assert mask_nik(world.loan.borrower.nik) in page
    assert "DIBATALKAN" not in page


def test_a_reversed_repayments_receipt_says_so(world: World) -> None:
    document = receipt(world.r4)
    assert isinstance(document.blocks[0], Paragraph)
    assert document.blocks[0].style == "emphasis"
    assert document.blocks[0].text.startswith("DIBATALKAN.")
    assert "Salah rekening" in document.blocks[0].text
    assert "pasar2" in document.blocks[0].text
    # What it had paid before the reversal undid it: installment 4's interest, then 3's principal.
    assert [tuple(row) for row in table(document).rows] == [
        (3, date(2026, 4, 30), 0, 0, 7_000, 7_000),
        (4, date(2026, 5, 31), 0, 3_000, 0, 3_000),
    ]
    assert table(document).title == "Rincian pembayaran (dibatalkan)"
    assert split_of(world.r4) == {}  # nothing of it is booked any more
    assert facts(document)["Sisa pokok pinjaman"] == 800_000
    page = text(document)
    assert "DIBATALKAN" in page
    assert "tidak berlaku sebagai bukti pembayaran" in page
    english = text(receipt(world.r4, language="en"))
    assert "REVERSED" in english
    assert "no longer proof of payment" in english
    assert "Repayment Receipt" in english
    assert "IDR 10,000" in english
    assert "Ten thousand rupiah" in english


def test_a_receipt_for_no_repayment_is_refused(world: World) -> None:
    with pytest.raises(ReportRefused) as refused:
        receipt_kind.check(ReportParams(kind="receipt", repayment_id=world.r4.pk + 1000))
    assert refused.value.errors == {"repayment": ["Pembayaran tidak ditemukan."]}


@pytest.mark.parametrize(
    ("amount", "language", "words"),
    [
        (0, "id", "Nol rupiah"),
        (11, "id", "Sebelas rupiah"),
        (1_000, "id", "Seribu rupiah"),
        (1_250_500, "id", "Satu juta dua ratus lima puluh ribu lima ratus rupiah"),
        (50_000_000, "id", "Lima puluh juta rupiah"),
        (2_001_000_100, "id", "Dua miliar satu juta seratus rupiah"),
        (1_250_500, "en", "One million two hundred fifty thousand five hundred rupiah"),
        (203_042, "en", "Two hundred three thousand forty-two rupiah"),
    ],
)
def test_amounts_in_words(amount: int, language: str, words: str) -> None:
    assert amount_in_words(amount, language) == words


# --- the settlement letter -----------------------------------------------------------------------


def payoff_off(world: World) -> Repayment:
    amount = loan_payoff_quote(loan=Loan.objects.get(pk=world.loan.pk), on=TODAY).amount
    repayment = pay(world.programme, world.loan, amount, TODAY, "R-5")
    world.loan.refresh_from_db()
    assert world.loan.status == Loan.Status.PAID_OFF
    return repayment


def test_a_settlement_letter_is_refused_before_the_payoff(world: World) -> None:
    with pytest.raises(ReportRefused) as refused:
        letter(world.loan)
    assert list(refused.value.errors) == ["loan"]
    assert "belum lunas" in refused.value.message
    assert "Menunggak" in refused.value.message
    with pytest.raises(ReportRefused) as english:
        letter(world.loan, language="en")
    assert "not paid off" in english.value.message


def test_the_settlement_letter_after_the_payoff(world: World) -> None:
    payoff = payoff_off(world)
    assert payoff.amount == 806_000
    document = letter(world.loan)
    shown = facts(document)
    assert shown["Tanggal lunas"] == TODAY
    assert shown["Pokok dibayar"] == 1_200_000
    assert shown["Bunga dibayar"] == 5 * 3_000  # installments 1 to 5; the 6th's waived
    assert shown["Denda dibayar"] == PENALTY_2 + PENALTY_3
    assert shown["Bunga dihapus karena pelunasan dipercepat"] == 3_000
    assert shown["Pembayaran pelunasan"] == "Rp806.000 pada 10 Juni 2026 (referensi R-5)"
    assert [shown[name] for name in ("Sisa pokok", "Sisa bunga", "Sisa denda", "Sisa biaya")] == [0, 0, 0, 0]
    statement_box = [block for block in document.blocks if isinstance(block, Paragraph) and block.style == "emphasis"]
    assert statement_box[0].text == (
        f"Peminjam tersebut telah MELUNASI pinjaman dengan nomor kontrak {world.loan.contract_number} pada 10 Juni "
        "2026. Tidak ada lagi sisa pokok, bunga, denda maupun biaya atas pinjaman ini."
    )
    page = text(document)
    assert "Surat Keterangan Lunas" in page
    assert "Lunas 10 Juni 2026" in page
    assert "Halaman 1 dari 1" in page
    assert "SLIK" in page
    assert mask_nik(world.loan.borrower.nik) in page
    assert world.loan.borrower.nik not in page
    english = text(letter(world.loan, language="en"))
    assert "Loan Settlement Letter" in english
    assert "The borrower has PAID OFF the loan" in english
    assert "No principal, interest, penalty or fee remains" in english


def test_a_letter_asked_for_before_the_payoff_is_refused_at_the_request(world: World) -> None:
    from reports.services.reports import ReportRequest, report_request

    with pytest.raises(ReportRefused) as refused:
        report_request(
            actor=world.programme.pasar_staff, request=ReportRequest(kind="settlement_letter", loan=world.loan.pk)
        )
    assert "loan" in refused.value.errors
    assert not Report.objects.filter(kind="settlement_letter").exists()


# --- made by the worker --------------------------------------------------------------------------


def test_a_booking_makes_its_receipt_and_a_payoff_its_settlement_letter(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REPORTS_AUTO_PAPERS = True
    amount = loan_payoff_quote(loan=Loan.objects.get(pk=world.loan.pk), on=TODAY).amount
    with django_capture_on_commit_callbacks(execute=True):
        payoff = pay(world.programme, world.loan, amount, TODAY, "R-5")
    made = {report.kind: report for report in Report.objects.filter(loan=world.loan)}
    assert set(made) == {"receipt", "settlement_letter"}
    for report in made.values():
        assert report.status == Report.Status.DONE, report.error
        assert report.file_name.endswith(".pdf")
        assert report.sha256
    assert made["receipt"].repayment_id == payoff.pk
    with made["receipt"].file.open("rb") as stored:
        content = stored.read()
    page = re.sub(r"\s+", " ", pdf_pages(content)[0])
    assert qr_codes(content) == [verify_url(made["receipt"].verify_code)]
    assert "Kwitansi Pembayaran Angsuran" in page
    assert "Rp806.000" in page
    assert str(made["receipt"].number) in page
    assert "Pembayaran ini melunasi seluruh pinjaman." in page
    with made["settlement_letter"].file.open("rb") as stored:
        page = re.sub(r"\s+", " ", pdf_pages(stored.read())[0])
    assert "Surat Keterangan Lunas" in page
    assert str(made["settlement_letter"].number) in page
    # Reversing the pay-off makes its receipt again, saying so; the loan is open again.
    with django_capture_on_commit_callbacks(execute=True):
        repayment_reverse(actor=world.programme.pasar_staff2, repayment_id=payoff.pk, reason="Dana tidak masuk")
    reversed_receipt = Report.objects.filter(kind="receipt", repayment=payoff).order_by("-id").first()
    assert reversed_receipt is not None
    assert reversed_receipt.status == Report.Status.DONE, reversed_receipt.error
    with reversed_receipt.file.open("rb") as stored:
        assert "DIBATALKAN" in pdf_pages(stored.read())[0]


def test_papers_are_made_in_a_few_queries(
    world: World, django_assert_max_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_assert_max_num_queries(5):
        statement_kind.build(ReportParams(kind="borrower_statement", loan_id=world.loan.pk, as_of=TODAY), meta(),
                             no_progress)  # fmt: skip
    with django_assert_max_num_queries(3):
        receipt_kind.build(ReportParams(kind="receipt", repayment_id=world.r3.pk), meta(), no_progress)
    from reports.services.reports import ReportRequest, report_request

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report, _created = report_request(
            actor=world.programme.pasar_staff, request=ReportRequest(kind="receipt", repayment=world.r3.pk)
        )
    assert len(callbacks) == 1
    from reports.services.reports import report_make

    # Claim, read, build, store, finish: the whole worker's path.
    with django_assert_max_num_queries(14):
        report_make(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error


# --- for a person to look at ---------------------------------------------------------------------


def test_the_papers_first_pages_rendered_for_a_person_to_look_at(world: World) -> None:
    documents = {
        "paper-statement": statement(world.loan),
        "paper-receipt-reversed": receipt(world.r4),
        "paper-receipt-en": receipt(world.r3, language="en"),
    }
    payoff_off(world)
    documents["paper-settlement"] = letter(world.loan)
    for name, document in documents.items():
        pngs = png_pages(render(document, "pdf"), name)
        assert len(pngs) == 1
        assert pngs[0].stat().st_size > 10_000


def test_the_clerk_is_named_by_their_full_name_when_known(world: World) -> None:
    User.objects.filter(pk=world.programme.pasar_staff.pk).update(first_name="Sri", last_name="Wahyuni")
    assert facts(receipt(world.r1))["Petugas"] == "Sri Wahyuni"


def test_names_and_reasons_read_back_as_written(world: World) -> None:
    Business.objects.filter(pk=world.loan.application.business_id).update(name="Sate & Soto <Bu Tini>")
    Repayment.objects.filter(pk=world.r4.pk).update(reversal_reason="Masuk <rekening lain> & dobel")
    page = text(receipt(world.r4))
    assert "Sate & Soto <Bu Tini>" in page
    assert "Masuk <rekening lain> & dobel" in page


# --- over the API --------------------------------------------------------------------------------


def test_a_borrower_asks_for_their_card_and_downloads_it_while_others_see_none(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    borrower_user = UserFactory.create(role="borrower")
    Borrower.objects.filter(pk=world.loan.borrower_id).update(user=borrower_user)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(borrower_user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/reports/", {"kind": "borrower_statement", "loan": world.loan.pk, "language": "en"}, format="json"
        )
    assert answer.status_code == 202, answer.json()
    report = client.get(answer.json()["url"]).json()
    assert report["status"] == "done", report
    download = client.get(report["download_url"])
    assert download["Content-Type"] == "application/pdf"
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    page = re.sub(r"\s+", " ", pdf_pages(content)[0])
    assert "Installment Card" in page
    assert world.loan.borrower.name in page
    assert "IDR 806,000" in page
    # Another bank's staff and another borrower find neither the loan nor the report.
    for stranger in (world.programme.jateng_staff, UserFactory.create(role="borrower")):
        other = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        other.force_authenticate(stranger)
        asked = other.post("/api/v1/reports/", {"kind": "borrower_statement", "loan": world.loan.pk}, format="json")
        assert asked.status_code == 404
        assert other.get(answer.json()["url"]).status_code == 404
    # A settlement letter before the pay-off: 400 naming the loan, nothing queued.
    refused = client.post("/api/v1/reports/", {"kind": "settlement_letter", "loan": world.loan.pk}, format="json")
    assert refused.status_code == 400
    assert "loan" in refused.json()["errors"]
    assert not Report.objects.filter(kind="settlement_letter").exists()


def test_a_card_before_a_deferral_that_later_repayments_were_booked_under_is_refused(world: World) -> None:
    from loans.services.deferrals import deferral_approve, deferral_request

    deferral = deferral_request(
        actor=world.programme.officer, loan_id=world.loan.pk, months=3, mode="principal_and_interest", reason="Banjir"
    )
    deferral_approve(actor=world.programme.pasar_staff, deferral_id=deferral.pk, note="ok")
    world.loan.refresh_from_db()
    assert world.loan.schedule_version == 2
    with pytest.raises(ReportRefused) as refused:
        statement(world.loan, as_of=date(2026, 4, 10))  # R3 (12 May) was booked under version 1
    assert list(refused.value.errors) == ["as_of"]
    # Today's card shows the new schedule with what was paid carried over.
    rows = [tuple(row) for row in table(statement(world.loan)).rows]
    assert [row[1] for row in rows] == [
        date(2026, 2, 28), date(2026, 3, 31), date(2026, 7, 31), date(2026, 8, 31), date(2026, 9, 30),
        date(2026, 10, 31),
    ]  # fmt: skip
    assert [row[4] for row in rows] == [200_000, 200_000, 0, 0, 0, 0]
    assert [row[5] for row in rows] == [3_000, 3_000, 3_000, 0, 0, 0]
    assert facts(statement(world.loan))["Sisa pokok pinjaman"] == 800_000
