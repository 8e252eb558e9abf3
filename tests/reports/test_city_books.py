"""The city's books (reports/kinds/city_books.py) over the nine months of history of
tests/reports/fund_history.py: check() refuses what cannot be made; each section's
financing, revenue and roll-forward are the fund flows and add up as printed; all banks
are the sum of the banks; the allowance by class is computed here by hand from the
loans at the last close, with the manager's table (edited through the admin and the
audited services); the PDF, XLSX and CSV read back with their figures, headers and page
numbers; the English version."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.models import AuditEntry
from config.clock import business_date_fixed
from config.errors import ApplicationError
from loans.models import Loan, LoanSnapshot
from reports.document import Document, DocumentMeta, Facts, Paragraph, Table, no_progress
from reports.formats import rupiah
from reports.kinds import KINDS, ReportParams, ReportRefused
from reports.kinds import city_books as kind
from reports.models import AllowanceClass
from reports.periods import parse_period
from reports.render import render
from reports.selectors.fund import fund_flows
from reports.services.allowance import allowance_class_create, allowance_class_delete, allowance_class_update
from tests.factories import UserFactory
from tests.loans.conftest import Programme
from tests.reports.fund_history import YEAR, History, make_history
from tests.reports.reading import pdf_pages, png_pages

pytestmark = pytest.mark.django_db

AFTER = date(YEAR, 10, 1)  # the business date the documents are made on
LAST_CLOSE = date(YEAR, 9, 30)


@pytest.fixture
def history(programme: Programme) -> History:
    return make_history(programme, programme.manager)


def meta(language: str = "id") -> DocumentMeta:
    return DocumentMeta(
        number="WBW/PK/2026/000001",
        verify_code="x",
        verify_url="https://example.test/v/x",
        made_at=timezone.now(),
        language=language,  # type: ignore[arg-type]
    )


def make(period: str, language: str = "id", bank_id: int | None = None) -> Document:
    params = ReportParams(kind="city_books", period=parse_period(period), language=language, bank_id=bank_id)
    with business_date_fixed(AFTER):
        return kind.build(params, meta(language), no_progress)


def table(document: Document, title: str) -> Table:
    return next(block for block in document.tables() if block.title == title)


def amounts(document: Document, title: str) -> dict[str, Any]:
    """A table of line items as label -> amount, its result (the totals row) last."""
    found = table(document, title)
    return {str(row[0]).strip(): row[1] for row in [*found.rows, found.totals or []]}


def facts(document: Document, title: str) -> dict[str, Any]:
    block = next(block for block in document.blocks if isinstance(block, Facts) and block.title == title)
    return {fact.label: fact.value for fact in block.items}


def half_up(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- check() -------------------------------------------------------------------------


def test_the_kind_takes_a_month_quarter_or_year_and_an_optional_bank() -> None:
    spec = KINDS["city_books"]
    assert (spec.required, spec.optional, spec.periods) == (("period",), ("bank",), ("month", "quarter", "year"))


def test_check_refuses_no_period_a_period_not_started_and_one_without_a_close(history: History) -> None:
    with business_date_fixed(AFTER):
        kind.check(ReportParams(kind="city_books", period=parse_period(f"{YEAR}-09")))
        kind.check(ReportParams(kind="city_books", period=parse_period(str(YEAR))))
        cases = [
            (None, "id", "Pilih periode laporan."),
            (f"{YEAR}-11", "id", "Periode ini belum dimulai."),
            (f"{YEAR + 1}", "en", "This period has not started yet."),
            # October has started but no close has run in it yet.
            (f"{YEAR}-10", "id", "Belum ada tutup buku harian pada periode ini."),
            (f"{YEAR}-Q4", "en", "No nightly close has run in this period yet."),
            ("2025-12", "id", "Belum ada tutup buku harian pada periode ini."),
        ]
        for code, language, message in cases:
            params = ReportParams(kind="city_books", period=parse_period(code) if code else None, language=language)
            with pytest.raises(ReportRefused) as refused:
                kind.check(params)
            assert refused.value.errors == {"period": [message]}, code


# --- the figures ------------------------------------------------------------------------


def test_each_section_shows_the_fund_flows_and_adds_up_as_printed(history: History) -> None:
    document = make(f"{YEAR}-Q3")
    sections = [("Semua bank", None), *((f"{b.name} ({b.code})", b.pk) for b in history.banks)]
    headings = [block.text for block in document.blocks if isinstance(block, Paragraph) and block.style == "emphasis"]
    assert headings == [name for name, _bank in sections]
    for name, bank_id in sections:
        flows = fund_flows(period=parse_period(f"{YEAR}-Q3"), bank_id=bank_id)
        financing = amounts(document, f"{name} - Pembiayaan")
        assert financing == {
            "Penerimaan pembiayaan: pengembalian pokok dana bergulir": flows.principal_repaid + flows.recovered,
            "dari angsuran pokok": flows.principal_repaid,
            "dari pemulihan pinjaman yang dihapusbukukan": flows.recovered,
            "Pengeluaran pembiayaan: penyaluran dana bergulir": -flows.disbursed,
            "Pembiayaan neto": flows.principal_repaid + flows.recovered - flows.disbursed,
        }
        assert sum(list(financing.values())[i] for i in (0, 3)) == financing["Pembiayaan neto"]
        revenue = list(amounts(document, f"{name} - Lain-lain PAD yang sah: hasil pengelolaan dana bergulir").values())
        assert revenue == [flows.interest_collected, flows.penalty_collected, -flows.bank_fee, flows.city_share]
        assert revenue[0] + revenue[1] + revenue[2] == revenue[3]
        position = facts(document, f"{name} - Hak kota dan dana tersedia")
        assert list(position.values()) == [
            flows.principal_repaid + flows.recovered + flows.city_share,
            "tidak tercatat",
            flows.available,
        ]
        roll = list(amounts(document, f"{name} - Mutasi dana bergulir (baki debet)").values())
        assert roll == [
            flows.opening_outstanding,
            flows.disbursed,
            -flows.principal_repaid,
            -flows.written_off,
            flows.closing_outstanding,
        ]
        assert sum(roll[:4]) == roll[4]
    # September's write-off and recovery are in the quarter, at Bank Jateng.
    jateng = amounts(document, f"{history.jateng.name} (JATENG) - Pembiayaan")
    assert jateng["dari pemulihan pinjaman yang dihapusbukukan"] > 0
    assert (
        amounts(document, f"{history.jateng.name} (JATENG) - Mutasi dana bergulir (baki debet)")[
            "Dikurangi: penghapusbukuan"
        ]
        == -6_000_000
    )


def test_all_banks_are_the_sum_of_the_banks_and_a_quarter_follows_the_one_before(history: History) -> None:
    q2, q3 = make(f"{YEAR}-Q2"), make(f"{YEAR}-Q3")
    titles = (
        "Pembiayaan",
        "Mutasi dana bergulir (baki debet)",
        "Lain-lain PAD yang sah: hasil pengelolaan dana bergulir",
    )
    for document in (q2, q3):
        for title in titles:
            everyone = amounts(document, f"Semua bank - {title}")
            banks = [amounts(document, f"{b.name} ({b.code}) - {title}") for b in history.banks]
            for item, value in everyone.items():
                if isinstance(value, int):
                    assert value == sum(bank[item] for bank in banks), (title, item)
        allowance = f"Penyisihan dana bergulir tidak tertagih per {LAST_CLOSE.day} September {YEAR}"
        everyone_rows = table(document, f"Semua bank - {allowance}").rows if document is q3 else None
        if everyone_rows:
            per_bank = [table(document, f"{b.name} ({b.code}) - {allowance}").rows for b in history.banks]
            for index, row in enumerate(everyone_rows):
                assert row[2] == sum(rows[index][2] for rows in per_bank)  # type: ignore[misc]
                assert row[4] == sum(rows[index][4] for rows in per_bank)  # type: ignore[misc]
    for section in ["Semua bank", *(f"{b.name} ({b.code})" for b in history.banks)]:
        closing = amounts(q2, f"{section} - Mutasi dana bergulir (baki debet)")["Saldo akhir"]
        assert amounts(q3, f"{section} - Mutasi dana bergulir (baki debet)")["Saldo awal"] == closing


def test_the_allowance_by_class_by_hand_and_the_net_realizable_value(programme: Programme, history: History) -> None:
    # The manager's table: lancar raised to 1.25% (an edit through the audited service).
    lancar = AllowanceClass.objects.get(position=1)
    allowance_class_update(actor=programme.manager, allowance_class=lancar, percent=Decimal("1.25"))
    percents = {1: Decimal("1.25"), 2: Decimal("10"), 3: Decimal("10"), 4: Decimal("50"), 5: Decimal("100")}
    names = {1: "Lancar", 2: "Kurang Lancar", 3: "Kurang Lancar", 4: "Diragukan", 5: "Macet"}
    document = make(f"{YEAR}-Q3")
    title = f"Penyisihan dana bergulir tidak tertagih per 30 September {YEAR}"
    # By hand: every loan's outstanding and class at the close of 30 September.
    loans = {loan.pk: loan for loan in Loan.objects.all()}
    by_bank: dict[int, dict[str, int]] = {}
    for snapshot in LoanSnapshot.objects.filter(business_date=LAST_CLOSE):
        grades = by_bank.setdefault(snapshot.bank_id, {})
        grades[names[snapshot.collectibility]] = (
            grades.get(names[snapshot.collectibility], 0) + snapshot.outstanding_principal
        )
        assert loans[snapshot.loan_id].status != Loan.Status.WRITTEN_OFF
    classes = {
        "Lancar": Decimal("1.25"),
        "Kurang Lancar": Decimal("10"),
        "Diragukan": Decimal("50"),
        "Macet": Decimal("100"),
    }
    assert percents[1] == classes["Lancar"]
    everyone_allowance = 0
    everyone_outstanding = 0
    for bank in history.banks:
        rows = table(document, f"{bank.name} ({bank.code}) - {title}").rows
        expected = [
            [name, grades, by_bank[bank.pk].get(name, 0), percent, half_up(by_bank[bank.pk].get(name, 0), percent)]
            for (name, percent), grades in zip(classes.items(), ("1", "2-3", "4", "5"), strict=True)
        ]
        assert [list(row) for row in rows] == expected
        outstanding = sum(row[2] for row in expected)  # type: ignore[misc]
        allowance = sum(row[4] for row in expected)  # type: ignore[misc]
        nrv = facts(document, f"{bank.name} ({bank.code}) - Nilai bersih yang dapat direalisasikan")
        assert list(nrv.values()) == [outstanding, -allowance, outstanding - allowance]
        # The outstanding is the roll-forward's closing figure (the period ends on the close).
        roll = amounts(document, f"{bank.name} ({bank.code}) - Mutasi dana bergulir (baki debet)")
        assert roll["Saldo akhir"] == outstanding
        everyone_allowance += allowance
        everyone_outstanding += outstanding
    # Every class is present: the loans that stopped paying and the one never paid.
    assert by_bank[history.pasar.pk]["Diragukan"] == 4_000_000 - sum(
        row.principal for row in history.loans["stops_pasar"].installments.filter(number__lte=2)
    )
    assert by_bank[history.pasar.pk]["Macet"] == 2_500_000
    assert by_bank[history.jateng.pk]["Kurang Lancar"] > 0
    nrv = facts(document, "Semua bank - Nilai bersih yang dapat direalisasikan")
    assert list(nrv.values()) == [everyone_outstanding, -everyone_allowance, everyone_outstanding - everyone_allowance]


def test_one_bank_is_its_own_section_only(history: History) -> None:
    both = make(f"{YEAR}-09")
    one = make(f"{YEAR}-09", bank_id=history.pasar.pk)
    name = f"{history.pasar.name} (PASAR)"
    headings = [block.text for block in one.blocks if isinstance(block, Paragraph) and block.style == "emphasis"]
    assert headings == [name]
    assert [t.title for t in one.tables()] == [t.title for t in both.tables() if t.title.startswith(name)]
    for block in one.tables():
        assert list(block.rows) == list(table(both, block.title).rows)
    assert one.slug == f"PASAR-{YEAR}-09"
    with pytest.raises(ReportRefused) as refused:
        make(f"{YEAR}-09", bank_id=999_999)
    assert "bank" in refused.value.errors


def test_a_grade_in_no_class_is_shown_apart_so_the_outstanding_still_adds_up(
    programme: Programme, history: History
) -> None:
    manager = programme.manager
    # Re-mapping: 4 and 5 into one class takes two edits; between them grade 5 is in none.
    allowance_class_delete(actor=manager, allowance_class=AllowanceClass.objects.get(position=4))
    document = make(f"{YEAR}-09", bank_id=history.pasar.pk)
    title = f"{history.pasar.name} (PASAR) - Penyisihan dana bergulir tidak tertagih per 30 September {YEAR}"
    rows = table(document, title).rows
    assert list(rows[-1]) == ["Belum masuk kelas", "5", 2_500_000, Decimal(0), 0]
    allowance_class_update(
        actor=manager, allowance_class=AllowanceClass.objects.get(position=3), grade_to=5, name="Diragukan dan macet"
    )
    rows = table(make(f"{YEAR}-09", bank_id=history.pasar.pk), title).rows
    assert [row[0] for row in rows] == ["Lancar", "Kurang Lancar", "Diragukan dan macet"]
    assert rows[-1][1] == "4-5"


# --- the allowance table's services and admin ------------------------------------------------


def test_the_allowance_services_check_refuse_and_audit(programme: Programme) -> None:
    manager = programme.manager
    lancar = AllowanceClass.objects.get(position=1)
    allowance_class_update(actor=manager, allowance_class=lancar, percent="0.75", name="Lancar")
    row = AuditEntry.objects.get(action="allowance_class_update")
    assert (row.actor, row.subject_type, row.before, row.after) == (
        manager,
        "allowanceclass",
        {"percent": "0.50"},
        {"percent": "0.75"},
    )
    with pytest.raises(ApplicationError) as refused:
        allowance_class_update(actor=manager, allowance_class=lancar, grade_to=2)
    assert "grade_from" in refused.value.errors  # overlaps Kurang Lancar (2-3)
    with pytest.raises(ApplicationError) as refused:
        allowance_class_create(actor=manager, position=9, name="Lain", grade_from=1, grade_to=1, percent="1.234")
    assert set(refused.value.errors) == {"grade_from", "percent"}
    with pytest.raises(PermissionDenied):
        allowance_class_update(actor=programme.officer, allowance_class=lancar, percent="1")
    assert AllowanceClass.objects.get(position=1).percent == Decimal("0.75")
    allowance_class_delete(actor=manager, allowance_class=AllowanceClass.objects.get(position=4))
    created = allowance_class_create(actor=manager, position=4, name="Macet", grade_from=5, grade_to=5, percent="90")
    assert AuditEntry.objects.get(action="allowance_class_delete").before["percent"] == "100.00"
    assert AuditEntry.objects.get(action="allowance_class_create").subject_id == str(created.pk)


def test_the_manager_edits_the_table_in_the_admin(client: Any, programme: Programme) -> None:
    manager = programme.manager
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    client.force_login(manager)
    assert client.get("/admin/reports/allowanceclass/").status_code == 200
    lancar = AllowanceClass.objects.get(position=1)
    form = {"position": 1, "name": "Lancar", "grade_from": 1, "grade_to": 1, "percent": "1.00"}
    answer = client.post(f"/admin/reports/allowanceclass/{lancar.pk}/change/", form)
    assert answer.status_code == 302, answer.content[:500]
    assert AllowanceClass.objects.get(pk=lancar.pk).percent == Decimal("1.00")
    row = AuditEntry.objects.get(action="allowance_class_update")
    assert (row.actor, row.after) == (manager, {"percent": "1.00"})
    # An overlap is refused on the form, nothing saved.
    answer = client.post(f"/admin/reports/allowanceclass/{lancar.pk}/change/", {**form, "grade_to": 3})
    assert answer.status_code == 200
    assert b"overlap" in answer.content
    assert AllowanceClass.objects.get(pk=lancar.pk).grade_to == 1
    # An officer with staff status may not.
    officer = UserFactory.create(role="officer", is_staff=True)
    client.force_login(officer)
    assert client.post(f"/admin/reports/allowanceclass/{lancar.pk}/change/", form).status_code == 403


# --- the files, read back -------------------------------------------------------------------


def test_the_pdf_reads_back_with_its_figures_headers_and_page_numbers(history: History) -> None:
    document = make(f"{YEAR}-Q3")
    content = render(document, "pdf")
    pages = pdf_pages(content)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Halaman {number} dari {len(pages)}" in page
        assert "Laporan Dana Bergulir untuk Pembukuan Pemerintah Kota" in page
        assert f"Triwulan III {YEAR}" in page
    text = "\n".join(pages)
    flows = fund_flows(period=parse_period(f"{YEAR}-Q3"))
    for amount in (flows.closing_outstanding, flows.city_share, flows.principal_repaid + flows.recovered):
        assert rupiah(amount) in text
    assert rupiah(-flows.bank_fee) in text
    assert "Nilai bersih yang dapat direalisasikan" in text
    assert "0,50%" in text
    assert "Penyisihan dana bergulir tidak tertagih per 30 September 2026" in text
    pngs = png_pages(content, "city-books", first=1, last=2)
    assert len(pngs) == 2


def test_the_xlsx_and_csv_hold_the_raw_figures(history: History) -> None:
    document = make(f"{YEAR}-Q3")
    flows = fund_flows(period=parse_period(f"{YEAR}-Q3"))
    workbook = openpyxl.load_workbook(io.BytesIO(render(document, "xlsx")))
    assert workbook.sheetnames[:5] == [
        "Ringkasan",
        "SEMUA Pembiayaan",
        "SEMUA Hasil",
        "SEMUA Mutasi",
        "SEMUA Penyisihan",
    ]
    assert "PASAR Penyisihan" in workbook.sheetnames
    mutasi = [list(row) for row in workbook["SEMUA Mutasi"].iter_rows(values_only=True)]
    assert mutasi[0] == ["Uraian", "Jumlah"]
    assert mutasi[1] == ["Saldo awal", flows.opening_outstanding]
    assert mutasi[5] == ["Saldo akhir", flows.closing_outstanding]
    summary = [list(row) for row in workbook["Ringkasan"].iter_rows(values_only=True)]
    assert ["Dana tersedia untuk disalurkan pada akhir periode", flows.available] in summary
    allowance = [list(row) for row in workbook["SEMUA Penyisihan"].iter_rows(values_only=True)]
    assert allowance[0] == ["Kualitas", "Kolektibilitas", "Baki debet", "Persentase", "Penyisihan"]
    assert allowance[1][:4] == ["Lancar", "1", allowance[1][2], 0.5]
    assert allowance[-1][0] == "Jumlah"
    assert allowance[-1][2] == flows.closing_outstanding

    text = render(document, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    start = rows.index(["Semua bank - Mutasi dana bergulir (baki debet)"])
    assert rows[start + 1] == ["Uraian", "Jumlah"]
    assert rows[start + 2] == ["Saldo awal", str(flows.opening_outstanding)]
    assert rows[start + 6] == ["Saldo akhir", str(flows.closing_outstanding)]
    start = rows.index(["Semua bank - Lain-lain PAD yang sah: hasil pengelolaan dana bergulir"])
    assert rows[start + 5] == ["Hasil pengelolaan dana bergulir", str(flows.city_share)]
    assert rows[start + 4] == ["Dikurangi: imbal jasa bank pelaksana", str(-flows.bank_fee)]
    start = rows.index(["Semua bank - Hak kota dan dana tersedia"])
    assert rows[start + 2] == ["Disetor ke kas daerah (tercatat)", "tidak tercatat"]


def test_the_english_version(history: History) -> None:
    document = make(f"{YEAR}-Q3", "en")
    assert document.title == "Revolving Fund Report for the City's Books"
    assert document.period_label == f"Quarter III {YEAR}"
    flows = fund_flows(period=parse_period(f"{YEAR}-Q3"))
    roll = amounts(document, "All banks - Revolving fund roll-forward (outstanding principal)")
    assert roll["Closing balance"] == flows.closing_outstanding
    revenue = amounts(document, "All banks - Other own-source revenue: revolving-fund earnings")
    assert revenue["Revolving-fund earnings"] == flows.city_share
    position = facts(document, "All banks - Owed to the city and fund available")
    assert position["Transferred to the city treasury (recorded)"] == "not recorded"
    content = render(document, "pdf")
    pages = pdf_pages(content)
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert len(png_pages(content, "city-books-en", first=1, last=1)) == 1
    text = "\n".join(pages)
    assert f"IDR {flows.closing_outstanding:,}" in text
    assert "Allowance for uncollectible revolving-fund amounts as of 30 September 2026" in text
    assert "Net realizable value" in text
