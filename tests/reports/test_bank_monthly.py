"""The bank monthly report (reports/kinds/bank_monthly.py) over a small real history made
through the services with the clock set by ``business_date_fixed``: loans disbursed,
repaid on time, late with a penalty, partly, paid off early, one never paid that
reaches class 5 and is written off with a recovery, and the close run at every month
end. Per-loan figures are checked by hand; the lists' totals equal the summary and the
fund flows; September's opening is August's closing; another bank's loans never
appear; NIKs are masked; the PDF, XLSX and CSV are read back as a reader would.

PASAR (a BPR: class 1 up to 30 days late, 0.5% provision; class 5 from 181 days, 100%):

* A: Rp12,000,000 over 12 months from 10 January (Rp1,000,000 + Rp30,000 a month),
  every installment paid on its due date;
* B: Rp6,000,000 over 12 months from 10 January (Rp500,000 + Rp15,000), never paid:
  202 days late on 31 August, written off on 5 September, Rp1,000,000 recovered on
  20 September;
* C: Rp4,800,000 over 12 months from 5 February (Rp400,000 + Rp12,000) with a penalty
  of 0.1% a day: July's installment paid on 4 August with the penalty the close of 31
  July charged (26 days x 0.1% x 412,000 = 10,712), August's (due 5 August) Rp200,000 of
  it on 25 August;
* D: Rp3,000,000 over 6 months from 10 January, paid off by its last installment on 10
  July (not in August's report);
* E: Rp2,400,000 disbursed on 15 August;
* F: Rp3,600,000 over 12 months from 10 March, paid on time, paid off on 20 August.

JATENG (commercial): G, Rp7,200,000 from 10 January, paid on time: never in PASAR's
report.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from banks.models import Allocation, Bank
from borrowers.identity import mask_nik
from config.clock import BUSINESS_TIME_ZONE, business_date_fixed
from loans.models import FundDay, Loan, ProductTerms, Repayment, RepaymentAllocation
from loans.services.close import close_business_date
from loans.services.repayments import loan_payoff_quote
from loans.services.write_off import loan_write_off
from reports.document import Document, DocumentMeta, Facts, Table, no_progress
from reports.kinds import ReportParams, ReportRefused
from reports.kinds import bank_monthly as kind
from reports.periods import month_period, parse_period
from reports.render import render
from reports.selectors.bank_monthly import COLUMN, STATUSES, loan_rows, masked_nik_sql
from reports.selectors.fund import fund_flows
from tests.factories import ProductFactory, ProductTermsFactory
from tests.loans import conftest as loans_conftest
from tests.loans.conftest import Programme
from tests.reports import fund_history
from tests.reports.fund_history import pay
from tests.reports.reading import pdf_pages, png_pages

pytestmark = pytest.mark.django_db
programme = loans_conftest.programme
AUGUST, SEPTEMBER = parse_period("2026-08"), parse_period("2026-09")


@dataclass
class History:
    pasar: Bank
    jateng: Bank
    loans: dict[str, Loan]


def disburse(bank: Bank, terms: ProductTerms, principal: int, on: date, tenor: int = 12, name: str = "") -> Loan:
    return fund_history.disburse(bank, terms, principal, on, tenor, name=name, series="M")


def pay_due_in(loan: Loan, first: date, last: date) -> None:
    """Pay each installment of ``loan`` due from ``first`` to ``last`` whole, on its due date."""
    for row in loan.installments.filter(due_date__gte=first, due_date__lte=last, paid_on__isnull=True).order_by(
        "number"
    ):
        pay(loan, row.installment - row.principal_paid - row.interest_paid, row.due_date)


def close(day: date) -> None:
    with business_date_fixed(day + timedelta(days=1)):
        close_business_date(business_date=day)


def month_ends(until: int) -> list[date]:
    return [month_period(2026, month).end for month in range(1, until + 1)]


def make_history(programme: Programme, extra: int = 0) -> History:
    """The history of the module's docstring; ``extra`` more small loans of PASAR
    disbursed on 20 August (for lists that run over pages)."""
    pasar, jateng = programme.pasar, programme.jateng
    Bank.objects.filter(pk=pasar.pk).update(servicing_fee_percent=Decimal("10"))
    # The fund's allocations before the history, so ``available`` counts them.
    Allocation.objects.update(created_at=datetime(2025, 12, 1, tzinfo=BUSINESS_TIME_ZONE))
    terms = programme.terms
    with_penalty = ProductTermsFactory.create(
        product=ProductFactory.create(code="DENDA", name="Wibawa dengan denda"), penalty_percent_per_day=Decimal("0.1")
    )
    loans = {
        "A": disburse(pasar, terms, 12_000_000, date(2026, 1, 10), name="Warung Sembako A"),
        "B": disburse(pasar, terms, 6_000_000, date(2026, 1, 10)),
        "D": disburse(pasar, terms, 3_000_000, date(2026, 1, 10), tenor=6),
        "G": disburse(jateng, terms, 7_200_000, date(2026, 1, 10)),
    }
    for day in month_ends(9):
        month = day.month
        if month == 2:
            loans["C"] = disburse(pasar, with_penalty, 4_800_000, date(2026, 2, 5))
        if month == 3:
            loans["F"] = disburse(pasar, terms, 3_600_000, date(2026, 3, 10))
        first = day.replace(day=1)
        for key in ("A", "D", "G", "F"):
            if key in loans and not (key == "F" and month >= 8):
                pay_due_in(loans[key], first, day)
        if "C" in loans and month < 7:
            pay_due_in(loans["C"], first, day)
        if month == 8:
            c = Loan.objects.get(pk=loans["C"].pk)
            july = c.installments.get(due_date=date(2026, 7, 5))
            assert july.penalty == 10_712  # the close of 31 July: 26 days x 0.1% x 412,000
            pay(c, 412_000 + 10_712, date(2026, 8, 4))
            pay(c, 200_000, date(2026, 8, 25))
            loans["E"] = disburse(pasar, terms, 2_400_000, date(2026, 8, 15))
            f = loans["F"]
            pay_due_in(f, date(2026, 8, 1), date(2026, 8, 10))
            pay(f, loan_payoff_quote(loan=f, on=date(2026, 8, 20)).amount, date(2026, 8, 20))
            for index in range(extra):
                loans[f"X{index}"] = disburse(pasar, terms, 1_200_000 + 12_000 * index, date(2026, 8, 20))
        if month == 9:
            with business_date_fixed(date(2026, 9, 5)):
                loan_write_off(actor=programme.manager, loan_id=loans["B"].pk, reason="Macet", on=date(2026, 9, 5))
            pay(loans["B"], 1_000_000, date(2026, 9, 20))
            c = Loan.objects.get(pk=loans["C"].pk)
            august = c.installments.get(due_date=date(2026, 8, 5))
            pay(c, 212_000 + august.penalty + 412_000, date(2026, 9, 5))
            pay_due_in(loans["E"], first, day)
        close(day)
    for loan in loans.values():
        loan.refresh_from_db()
    pasar.refresh_from_db()
    return History(pasar=pasar, jateng=jateng, loans=loans)


@pytest.fixture
def history(programme: Programme) -> History:
    return make_history(programme)


@pytest.fixture
def many(programme: Programme) -> History:
    """The history with sixty more loans of PASAR, so the lists run over pages."""
    return make_history(programme, extra=60)


def meta(language: str = "id") -> DocumentMeta:
    return DocumentMeta(
        number="WBW/BM/2026/7",
        verify_code="kode",
        verify_url="https://wibawa.example/v/kode",
        made_at=timezone.localtime(),
        language=language,  # type: ignore[arg-type]
        issuer="BPR Bank Pasar",
    )


def make(bank: Bank, period: str, format: str = "csv", language: str = "id") -> Document:
    params = ReportParams(
        kind="bank_monthly", format=format, language=language, bank_id=bank.pk, period=parse_period(period)
    )
    return kind.build(params, meta(language), no_progress)


def block(document: Document, title: str) -> Any:
    return next(item for item in document.blocks if getattr(item, "title", None) == title)


def facts(document: Document, title: str) -> dict[str, Any]:
    found = block(document, title)
    assert isinstance(found, Facts)
    return {fact.label: fact.value for fact in found.items}


def rows_by_contract(document: Document) -> dict[str, dict[str, Any]]:
    """The CSV/XLSX loan list as {contract: {column label: value}}."""
    loans = block(document, "Daftar pinjaman")
    assert isinstance(loans, Table)
    labels = [column.label for column in loans.columns]
    return {str(row[0]): dict(zip(labels, row, strict=True)) for row in loans.rows}


# --- figures by hand ----------------------------------------------------------------------


def test_august_per_loan_figures_by_hand(history: History) -> None:
    loans = history.loans
    with business_date_fixed(date(2026, 10, 2)):
        document = make(history.pasar, "2026-08")
    rows = rows_by_contract(document)
    number = {key: loan.contract_number for key, loan in loans.items()}
    # D was paid off in July and G is another bank's: neither is listed.
    assert set(rows) == {number[key] for key in ("A", "B", "C", "E", "F")}
    assert list(rows) == [number[key] for key in ("A", "B", "C", "F", "E")]  # by disbursement

    a = rows[number["A"]]
    assert a["Tgl kontrak"] == date(2026, 1, 10)  # no approval moment recorded: the disbursement
    assert (a["Plafon"], a["Tenor"], a["Bunga/th"]) == (12_000_000, 12, Decimal("3.0000"))
    assert (a["Tgl cair"], a["Jatuh tempo"], a["Usaha"]) == (date(2026, 1, 10), date(2027, 1, 10), "Warung Sembako A")
    assert (a["Baki awal"], a["Pokok JT"], a["Bunga JT"]) == (6_000_000, 1_000_000, 30_000)
    assert (a["Pokok bayar"], a["Bunga bayar"], a["Denda bayar"]) == (1_000_000, 30_000, 0)
    assert (a["Tgk pokok"], a["Tgk bunga"], a["Hr tgk"], a["Baki akhir"], a["Kol"]) == (0, 0, 0, 5_000_000, 1)
    assert a["Status"] == "Aktif"
    assert a["NIK"] == mask_nik(loans["A"].borrower.nik)

    b = rows[number["B"]]
    assert (b["Baki awal"], b["Pokok JT"], b["Bunga JT"], b["Pokok bayar"], b["Bunga bayar"]) == (
        6_000_000, 500_000, 15_000, 0, 0,
    )  # fmt: skip
    # Seven installments (10 February to 10 August) unpaid; 31 August - 10 February = 202 days.
    assert (b["Tgk pokok"], b["Tgk bunga"], b["Hr tgk"], b["Baki akhir"], b["Kol"]) == (
        3_500_000, 105_000, 202, 6_000_000, 5,
    )  # fmt: skip
    assert b["Status"] == "Menunggak"

    c = rows[number["C"]]
    # Opening: 4,800,000 - 4 x 400,000 (March to June). Paid on 4 August: July's penalty
    # 10,712, interest 12,000, principal 400,000; on 25 August 200,000 of August's: its
    # interest 12,000 first, then 188,000 of principal. The close of 31 August charges
    # August's rest: 26 days x 0.1% x 212,000 = 5,512.
    assert (c["Baki awal"], c["Pokok JT"], c["Bunga JT"]) == (3_200_000, 400_000, 12_000)
    assert (c["Pokok bayar"], c["Bunga bayar"], c["Denda bayar"]) == (588_000, 24_000, 10_712)
    assert (c["Tgk pokok"], c["Tgk bunga"], c["Tgk denda"], c["Hr tgk"]) == (212_000, 0, 5_512, 26)
    assert (c["Baki akhir"], c["Kol"]) == (2_612_000, 1)  # a BPR: class 1 up to 30 days

    e = rows[number["E"]]
    assert (e["Baki awal"], e["Pencairan"], e["Pokok JT"], e["Baki akhir"], e["Kol"]) == (0, 2_400_000, 0, 2_400_000, 1)
    assert e["Jatuh tempo"] == date(2027, 8, 15)

    f = rows[number["F"]]
    # Opening 3,600,000 - 4 x 300,000; August's 300,000 on 10 August, the rest at pay-off.
    assert (f["Baki awal"], f["Pokok bayar"], f["Baki akhir"], f["Kol"], f["Status"]) == (
        2_400_000, 2_400_000, 0, None, "Lunas",
    )  # fmt: skip
    f_interest = sum(
        RepaymentAllocation.objects.filter(
            repayment__loan=loans["F"], repayment__paid_on__gte=AUGUST.start, component="interest"
        ).values_list("amount", flat=True)
    )
    assert f["Bunga bayar"] == f_interest >= 9_000

    # Class table (the BPR's own rates): class 1 holds A, C, E; class 5 holds B.
    by_class = block(document, "Baki debet dan penyisihan per kolektibilitas")
    class_rows = {row[0]: row for row in by_class.rows}
    class_one = 5_000_000 + 2_612_000 + 2_400_000
    assert class_rows[1][2:] == [3, class_one, Decimal("0.50"), 50_060]  # 10,012,000 x 0.5%
    assert class_rows[5][2:] == [1, 6_000_000, Decimal("100.00"), 6_000_000]
    assert [class_rows[grade][2] for grade in (2, 3, 4)] == [0, 0, 0]
    assert by_class.totals == ["Jumlah", None, 4, class_one + 6_000_000, None, 6_050_060]

    # Ageing: A and E current, C 1-30, B over 180.
    ageing = {row[0]: row[1:] for row in block(document, "Umur tunggakan").rows}
    assert ageing["Tidak menunggak"] == [2, 7_400_000, 0, 0]
    assert ageing["1-30 hari"] == [1, 2_612_000, 212_000, 0]
    assert ageing["Lebih dari 180 hari"] == [1, 6_000_000, 3_500_000, 105_000]
    assert all(ageing[label] == [0, 0, 0, 0] for label in ("31-60 hari", "61-90 hari", "91-120 hari", "121-180 hari"))


def test_september_write_off_and_recovery(history: History) -> None:
    with business_date_fixed(date(2026, 10, 2)):
        document = make(history.pasar, "2026-09")
    b = rows_by_contract(document)[history.loans["B"].contract_number]
    # Recovery of 1,000,000 on 20 September: the interest of the eight installments due
    # by then (8 x 15,000) first, then 880,000 of principal, after the write-off.
    assert (b["Baki awal"], b["Hapus buku"], b["Pokok bayar"], b["Pemulihan"], b["Bunga bayar"]) == (
        6_000_000, 6_000_000, 0, 880_000, 120_000,
    )  # fmt: skip
    assert (b["Baki akhir"], b["Kol"], b["Tgk pokok"], b["Status"]) == (0, None, 0, "Hapus buku")
    fund = facts(document, "Perputaran dana bergulir")
    assert fund["Hapus buku"] == 6_000_000
    assert facts(document, "Bunga, denda dan setoran ke kota")["Pemulihan pokok hapus buku"] == 880_000


# --- totals, the roll-forward and the fund flows -------------------------------------------


@pytest.mark.parametrize("month", ["2026-08", "2026-09"])
def test_list_totals_equal_the_summary_and_the_fund_flows(history: History, month: str) -> None:
    period = parse_period(month)
    with business_date_fixed(date(2026, 10, 2)):
        document = make(history.pasar, month)
    loans = block(document, "Daftar pinjaman")
    labels = [column.label for column in loans.columns]

    def column(label: str) -> int:
        return sum(row[labels.index(label)] or 0 for row in loans.rows)

    kinds = [column.kind for column in loans.columns]
    # Money and counts are whole ints, never Decimal (PostgreSQL sums are numeric).
    assert all(
        type(value) is int for row in loans.rows for value, kind_ in zip(row, kinds, strict=True) if kind_ == "rupiah"
    )
    totals = dict(zip(labels, loans.totals, strict=True))
    assert all(type(totals[label]) is int for label, kind_ in zip(labels, kinds, strict=True) if kind_ == "rupiah")
    for label, kind_ in zip(labels, (c.kind for c in loans.columns), strict=True):
        if kind_ == "rupiah":
            assert totals[label] == column(label), label

    # Loan by loan: opening + disbursed - principal repaid - written off = closing.
    for row in loans.rows:
        line = dict(zip(labels, row, strict=True))
        assert line["Baki awal"] + line["Pencairan"] - line["Pokok bayar"] - line["Hapus buku"] == line["Baki akhir"], (
            line["No. kontrak"]
        )

    flows = fund_flows(period=period, bank_id=history.pasar.pk)
    assert flows.rolls_forward
    fund = facts(document, "Perputaran dana bergulir")
    assert fund == {
        "Baki debet awal bulan": flows.opening_outstanding,
        "Pencairan": flows.disbursed,
        "Angsuran pokok kembali": flows.principal_repaid,
        "Hapus buku": flows.written_off,
        "Baki debet akhir bulan": flows.closing_outstanding,
    }
    # The list's sums are the fund's flows to the rupiah.
    assert column("Baki awal") == flows.opening_outstanding
    assert column("Pencairan") == flows.disbursed
    assert column("Pokok bayar") == flows.principal_repaid
    assert column("Hapus buku") == flows.written_off
    assert column("Pemulihan") == flows.recovered
    assert column("Baki akhir") == flows.closing_outstanding
    assert column("Bunga bayar") == flows.interest_collected
    assert column("Denda bayar") == flows.penalty_collected
    closed = FundDay.objects.get(bank=history.pasar, business_date=period.end)
    assert column("Baki akhir") == closed.outstanding_principal
    assert (
        fund["Baki debet awal bulan"] + fund["Pencairan"] - fund["Angsuran pokok kembali"] - fund["Hapus buku"]
        == fund["Baki debet akhir bulan"]
    )

    income = facts(document, "Bunga, denda dan setoran ke kota")
    interest, penalty = column("Bunga bayar"), column("Denda bayar")
    fee = (interest * 10 + 50) // 100  # 10% of the interest, half up
    assert income["Bunga diterima"] == interest
    assert income["Denda diterima"] == penalty
    assert income["Imbal jasa bank"] == fee
    assert income["Bagian pemerintah kota (bunga + denda - imbal jasa)"] == interest + penalty - fee
    owed = column("Pokok bayar") + column("Pemulihan") + interest + penalty - fee
    assert income["Kewajiban kepada kota (pokok kembali + pemulihan + bagian kota)"] == owed
    assert income["Telah disetor ke kas daerah"] == "tidak dicatat dalam sistem"
    assert income["Dana tersedia untuk disalurkan"] == closed.available

    # Class table and ageing total the list's month-end figures.
    by_class = block(document, "Baki debet dan penyisihan per kolektibilitas")
    assert by_class.totals[3] == column("Baki akhir")
    open_at_end = [row for row in loans.rows if row[labels.index("Kol")] is not None]
    assert by_class.totals[2] == len(open_at_end)
    for grade_row in by_class.rows:
        grade = grade_row[0]
        assert grade_row[3] == sum(
            r[labels.index("Baki akhir")] for r in open_at_end if r[labels.index("Kol")] == grade
        )
        assert str(grade) in closed.outstanding_by_class
        assert grade_row[3] == closed.outstanding_by_class[str(grade)]
    ageing = block(document, "Umur tunggakan")
    assert ageing.totals[1:] == [len(open_at_end), column("Baki akhir"), column("Tgk pokok"), column("Tgk bunga")]

    activity = facts(document, "Pencairan dan angsuran bulan ini")
    repayments = Repayment.objects.filter(
        bank=history.pasar, status="booked", paid_on__gte=period.start, paid_on__lte=period.end
    )
    assert activity["Pembayaran dibukukan"] == repayments.count() > 0
    assert activity["Nilai pembayaran (pokok + bunga + denda)"] == (
        column("Pokok bayar") + column("Pemulihan") + interest + penalty
    )
    assert activity["Nilai pencairan"] == column("Pencairan")
    assert activity["Pinjaman dicairkan"] == sum(1 for row in loans.rows if row[labels.index("Pencairan")])


def test_the_roll_forward_ties_to_the_previous_months_closing(history: History) -> None:
    with business_date_fixed(date(2026, 10, 2)):
        reports = {month: make(history.pasar, month) for month in ("2026-07", "2026-08", "2026-09")}
    for before, after in (("2026-07", "2026-08"), ("2026-08", "2026-09")):
        closing = facts(reports[before], "Perputaran dana bergulir")["Baki debet akhir bulan"]
        assert facts(reports[after], "Perputaran dana bergulir")["Baki debet awal bulan"] == closing
        # Loan by loan too: every loan open at the earlier month's end opens the next.
        earlier, later = rows_by_contract(reports[before]), rows_by_contract(reports[after])
        for contract, row in earlier.items():
            if row["Baki akhir"]:
                assert later[contract]["Baki awal"] == row["Baki akhir"]
        assert sum(row["Baki awal"] for row in later.values()) == closing


def test_progress_counts_the_loans(history: History) -> None:
    calls: list[tuple[int, int]] = []
    params = ReportParams(kind="bank_monthly", format="csv", bank_id=history.pasar.pk, period=AUGUST)
    with business_date_fixed(date(2026, 10, 2)):
        document = kind.build(params, meta(), lambda done, total: calls.append((done, total)))
    listed = len(block(document, "Daftar pinjaman").rows)
    assert calls[0] == (0, 6)  # PASAR's loans disbursed by 31 August, D included
    assert calls[-1] == (listed, listed) == (5, 5)
    assert all(done <= total for done, total in calls)


def test_another_banks_loans_never_appear(history: History) -> None:
    with business_date_fixed(date(2026, 10, 2)):
        pasar = make(history.pasar, "2026-08")
        jateng = make(history.jateng, "2026-08")
    g = history.loans["G"]
    assert g.contract_number not in rows_by_contract(pasar)
    assert set(rows_by_contract(jateng)) == {g.contract_number}
    (g_row,) = loan_rows(bank_id=history.jateng.pk, period=AUGUST, status_labels=dict.fromkeys(STATUSES, ""))
    assert g_row[COLUMN["closing_outstanding"]] == 7_200_000 - 7 * 600_000
    # JATENG is a commercial bank: its own provision rates (1% for class 1).
    by_class = block(jateng, "Baki debet dan penyisihan per kolektibilitas")
    assert by_class.rows[0][2:] == [1, 3_000_000, Decimal("1.00"), 30_000]


def test_check_refuses_a_month_not_closed_and_missing_fields(history: History) -> None:
    with business_date_fixed(date(2026, 10, 2)):
        kind.check(ReportParams(kind="bank_monthly", bank_id=history.pasar.pk, period=AUGUST))
        with pytest.raises(ReportRefused) as refused:
            kind.check(ReportParams(kind="bank_monthly", bank_id=history.pasar.pk, period=parse_period("2026-10")))
        assert refused.value.errors == {
            "period": ["Tutup buku hari terakhir bulan ini (31 Oktober 2026) belum dijalankan."]
        }
        with pytest.raises(ReportRefused) as refused:
            kind.check(
                ReportParams(
                    kind="bank_monthly", bank_id=history.pasar.pk, period=parse_period("2026-10"), language="en"
                )
            )
        assert refused.value.errors == {
            "period": ["The close of the month's last day (31 October 2026) has not run yet."]
        }
        with pytest.raises(ReportRefused) as refused:
            kind.check(ReportParams(kind="bank_monthly", period=AUGUST))
        assert "bank" in refused.value.errors
        with pytest.raises(ReportRefused) as refused:
            kind.check(ReportParams(kind="bank_monthly", bank_id=history.pasar.pk))
        assert "period" in refused.value.errors


def test_the_sql_nik_mask_equals_mask_nik(history: History) -> None:
    from django.db import connection

    samples = ["3374011705800001", "3374", "12345678", "123456789", "33740117058000"]
    with connection.cursor() as cursor:
        for sample in samples:
            cursor.execute(f"SELECT {masked_nik_sql('%(nik)s')}", {"nik": sample})
            assert cursor.fetchone()[0] == mask_nik(sample), sample
    with business_date_fixed(date(2026, 10, 2)):
        rows = rows_by_contract(make(history.pasar, "2026-08"))
    for key in ("A", "B", "C", "E", "F"):
        loan = history.loans[key]
        assert rows[loan.contract_number]["NIK"] == mask_nik(loan.borrower.nik)


# --- the files, read back ---------------------------------------------------------------------


def test_pdf_xlsx_and_csv_read_back(many: History) -> None:
    history = many
    with business_date_fixed(date(2026, 10, 2)):
        documents = {fmt: make(history.pasar, "2026-08", fmt) for fmt in ("pdf", "xlsx", "csv")}
    expected = rows_by_contract(documents["csv"])
    assert len(expected) == 65
    nik = {loan.borrower.nik for loan in Loan.objects.filter(bank=history.pasar).select_related("borrower")}

    pdf = render(documents["pdf"], "pdf")
    pages = pdf_pages(pdf)
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert f"Halaman {number} dari {len(pages)}" in text
        assert "Laporan Bulanan Bank Pelaksana" in text
        assert "Agustus 2026 | BPR Bank Pasar" in text  # the period and the issuing bank
        assert "WBW/BM/2026/7" in text
    whole = "\n".join(pages)
    for contract in expected:
        assert whole.count(contract) == 2, contract  # once in each of the two lists
    assert not any(full in whole for full in nik)
    assert mask_nik(history.loans["A"].borrower.nik) in whole
    # Every list page repeats its header; the totals close each list.
    term_pages = [text for text in pages if "Daftar pinjaman: data kontrak" in text]
    month_pages = [text for text in pages if "Daftar pinjaman: angsuran" in text]
    assert len(term_pages) >= 2
    assert len(month_pages) >= 2
    assert all("No. kontrak" in text and "Jatuh tempo" in text for text in term_pages)
    assert all("Pokok JT" in text and "Baki akhir" in text for text in month_pages)
    closing = sum(row["Baki akhir"] for row in expected.values())
    assert f"Rp{closing:,}".replace(",", ".") in month_pages[-1]
    assert "Rp12.000.000" in term_pages[0]
    assert "10 Januari 2026" in term_pages[0]
    assert "Perputaran dana bergulir" in pages[0]
    fund = facts(documents["pdf"], "Perputaran dana bergulir")
    assert fund["Baki debet akhir bulan"] == closing
    available = facts(documents["pdf"], "Bunga, denda dan setoran ke kota")["Dana tersedia untuk disalurkan"]
    assert available > 0
    assert f"Rp{available:,}".replace(",", ".") in pages[0]
    png = png_pages(pdf, "bank-monthly", first=1, last=2, dpi=70)
    assert len(png) == 2

    book = load_workbook(io.BytesIO(render(documents["xlsx"], "xlsx")), read_only=True)
    sheet = list(book["Daftar pinjaman"].iter_rows(values_only=True))
    header, body, totals = sheet[0], sheet[1:-1], sheet[-1]
    assert len(body) == 65
    # openpyxl leaves out a row's empty cells at its end (a closed loan's class).
    read = {row[0]: dict(itertools.zip_longest(header, row)) for row in body}
    assert set(read) == set(expected)
    c = read[history.loans["C"].contract_number]
    assert (c["Pokok bayar"], c["Denda bayar"], c["Baki akhir"], c["Kol"]) == (588_000, 10_712, 2_612_000, 1)
    assert c["Tgl cair"].date() == date(2026, 2, 5)
    assert totals[header.index("Baki akhir")] == closing
    assert not any(full in str(row) for row in sheet for full in nik)
    classes = list(book["Per kolektibilitas"].iter_rows(values_only=True))
    assert [row[0] for row in classes] == ["Kol.", 1, 2, 3, 4, 5, "Jumlah"]
    assert classes[-1][3] == closing

    text = render(documents["csv"], "csv").decode("utf-8-sig")
    assert not any(full in text for full in nik)
    lines = list(csv.reader(io.StringIO(text)))
    start = lines.index(["Daftar pinjaman"])
    header_row = lines[start + 1]
    loan_lines = lines[start + 2 : start + 2 + 65]
    assert {line[0] for line in loan_lines} == set(expected)
    c_line = next(line for line in loan_lines if line[0] == history.loans["C"].contract_number)
    assert c_line[header_row.index("Pokok bayar")] == "588000"
    assert c_line[header_row.index("Tgl cair")] == "2026-02-05"
    assert lines[start + 2 + 65][header_row.index("Baki akhir")] == str(closing)


def test_english_labels_and_figures(history: History) -> None:
    with business_date_fixed(date(2026, 10, 2)):
        document = make(history.pasar, "2026-08", "pdf", language="en")
    assert document.title == "Executing Bank Monthly Report"
    assert document.period_label.startswith("August 2026")
    fund = facts(document, "Revolving fund roll-forward")
    assert fund["Outstanding at the end of the month"] == 5_000_000 + 2_612_000 + 2_400_000 + 6_000_000
    pages = pdf_pages(render(document, "pdf"))
    assert all(f"Page {n} of {len(pages)}" in text for n, text in enumerate(pages, start=1))
    whole = "\n".join(pages)
    assert "IDR 16,012,000" in whole
    assert "Loans: contract terms" in whole
    assert "Princ. paid" in whole
    assert "10 January 2026" in whole
    assert "not recorded in the system" in whole
