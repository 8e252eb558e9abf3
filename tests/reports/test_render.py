"""The renderers, read back as a reader would: every page numbered "Halaman x dari y",
the header on every page, every row present, rupiah and dates the Indonesian way, the
QR's URL; XLSX and CSV with the raw values. Pure (no database)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from reports.document import (
    Chart,
    Column,
    Document,
    DocumentMeta,
    Fact,
    Facts,
    Paragraph,
    Series,
    Table,
    ValueKind,
)
from reports.render import render
from reports.render.cells import cell_formatter, cell_text
from tests.reports.reading import pdf_pages, png_pages, qr_codes

URL = "http://127.0.0.1:8000/api/v1/documents/verify/Zq3-abcDEF123456789012345678901234/"
ROWS = 1_200


def document(language: str = "id", rows: int = ROWS) -> Document:
    columns = (
        Column("Kontrak", width=1.6),
        Column("Peminjam", width=1.8),
        Column("Cair", "date", 1.3),
        Column("Pokok", "rupiah", 1.2),
        Column("Bunga", "percent", 0.6),
        Column("Hari", "int", 0.5),
    )
    table_rows = [
        (f"PASAR/KW/{n:05d}", f"Peminjam {n}", date(2026, 1 + n % 12, 1 + n % 28), 1_000_000 + n, Decimal("3.00"), n)
        for n in range(1, rows + 1)
    ]
    meta = DocumentMeta(
        number="WBW/BM/2026/000042",
        verify_code="Zq3",
        verify_url=URL,
        made_at=datetime(2026, 11, 1, 2, 5, tzinfo=ZoneInfo("Asia/Jakarta")),
        language=language,  # type: ignore[arg-type]
        issuer="BPR Bank Pasar Kota Semarang",
    )
    return Document(
        kind="bank_monthly",
        title="Laporan Bulanan" if language == "id" else "Monthly Report",
        period_label="Oktober 2026" if language == "id" else "October 2026",
        meta=meta,
        landscape=True,
        blocks=(
            Facts("Ringkasan", (Fact("Saldo awal", 1_234_567, "rupiah"), Fact("Per", date(2026, 1, 15), "date"))),
            Paragraph("DIBATALKAN", "emphasis"),
            Chart("Penyaluran", "bar", ("Jan", "Feb"), (Series("Disalurkan", (5_000_000, 7_500_000)),)),
            Chart("PAR30", "line", ("Jan", "Feb"), (Series("PAR30", (Decimal("2.5"), Decimal("3.0"))),), "percent"),
            Table(
                "Daftar pinjaman",
                columns,
                table_rows,
                totals=("Jumlah", None, None, sum(row[3] for row in table_rows), None, None),
            ),
        ),
    )


def test_every_page_is_numbered_and_headed_and_every_row_is_there() -> None:
    progress: list[tuple[int, int]] = []
    content = render(document(), "pdf", lambda done, total: progress.append((done, total)))
    pages = pdf_pages(content)
    count = len(pages)
    assert count > 20
    for number, text in enumerate(pages, start=1):
        assert f"Halaman {number} dari {count}" in text
        assert "Laporan Bulanan" in text
        assert "Kredit Wibawa" in text
        assert "Oktober 2026" in text
        assert "WBW/BM/2026/000042" in text
        assert "1 November 2026 02.05 WIB" in text
    table_pages = [text for text in pages if "PASAR/KW/" in text]
    assert all("Kontrak" in text and "Pokok" in text for text in table_pages), "the header on every page"
    found = set(re.findall(r"PASAR/KW/(\d{5})", "".join(pages)))
    assert found == {f"{n:05d}" for n in range(1, ROWS + 1)}
    everything = "".join(pages)
    assert "Rp1.000.001" in everything
    assert "2 Februari 2026" in everything
    assert "3,00%" in everything
    assert f"Rp{sum(1_000_000 + n for n in range(1, ROWS + 1)):,}".replace(",", ".") in everything
    assert "Rp1.234.567" in everything
    assert "15 Januari 2026" in everything
    assert progress[-1] == (ROWS, ROWS)


def test_english_pages_say_page_x_of_y_and_rupiah_as_idr() -> None:
    pages = pdf_pages(render(document("en", rows=30), "pdf"))
    assert "Page 1 of" in pages[0]
    assert "IDR 1,000,001" in "".join(pages)
    assert "15 January 2026" in "".join(pages)


def test_the_qr_code_carries_the_verification_url() -> None:
    content = render(document(rows=10), "pdf")
    assert qr_codes(content) == [URL]
    assert URL in pdf_pages(content)[0].replace("\n", "")


def test_pages_rendered_for_a_person_to_look_at() -> None:
    content = render(document(rows=80), "pdf")
    pngs = png_pages(content, "render-sample", first=1, last=3)
    assert len(pngs) == 3
    assert all(path.stat().st_size > 10_000 for path in pngs)


def test_xlsx_holds_the_raw_values_in_typed_cells() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render(document(rows=50), "xlsx")))
    assert workbook.sheetnames[0] == "Ringkasan"
    summary = [row for row in workbook["Ringkasan"].iter_rows(values_only=True)]
    assert ("Nomor dokumen", "WBW/BM/2026/000042") in summary
    assert ("Saldo awal", 1_234_567) in summary
    rows = list(workbook["Daftar pinjaman"].iter_rows(values_only=True))
    assert rows[0] == ("Kontrak", "Peminjam", "Cair", "Pokok", "Bunga", "Hari")
    assert rows[1][0] == "PASAR/KW/00001"
    assert rows[1][3] == 1_000_001
    assert rows[1][4] == pytest.approx(3.0)
    assert rows[1][2].date() == date(2026, 2, 2)
    assert len(rows) == 1 + 50 + 1
    assert rows[-1][3] == sum(1_000_000 + n for n in range(1, 51))
    assert "Penyaluran" in workbook.sheetnames


def test_csv_holds_the_raw_values() -> None:
    content = render(document(rows=50), "csv")
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert ["# number", "WBW/BM/2026/000042"] in rows
    assert ["# verify_url", URL] in rows
    header = rows.index(["Kontrak", "Peminjam", "Cair", "Pokok", "Bunga", "Hari"])
    assert rows[header + 1] == ["PASAR/KW/00001", "Peminjam 1", "2026-02-02", "1000001", "3.00", "1"]
    assert rows[header + 51][3] == str(sum(1_000_000 + n for n in range(1, 51)))
    assert ["Saldo awal", "1234567"] in rows
    assert ["Jan", "5000000"] in rows


def test_csv_and_xlsx_cells_keep_blanks_signs_and_decimals_as_they_are() -> None:
    """Table rows go to the csv module as they are: None blank, ints as digits (signed),
    Decimals and dates as str() writes them; XLSX keeps the types."""
    columns = (Column("a"), Column("b", "rupiah"), Column("c", "percent"), Column("d", "date"), Column("e", "int"))
    rows = [('x, "y"', -1_234, Decimal("-1.50"), date(2026, 12, 31), None), (None, 0, Decimal("0.00"), None, 7)]
    base = document(rows=1)
    table = Table("Sisa", columns, rows, totals=("Jumlah", -1_234, None, None, 7))
    content = render(Document(kind="x", title="t", period_label="p", meta=base.meta, blocks=(table,)), "csv")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    start = lines.index(["a", "b", "c", "d", "e"])
    assert lines[start + 1 : start + 4] == [
        ['x, "y"', "-1234", "-1.50", "2026-12-31", ""],
        ["", "0", "0.00", "", "7"],
        ["Jumlah", "-1234", "", "", "7"],
    ]
    workbook = openpyxl.load_workbook(
        io.BytesIO(render(Document(kind="x", title="t", period_label="p", meta=base.meta, blocks=(table,)), "xlsx"))
    )
    sheet = list(workbook["Sisa"].iter_rows(values_only=True))
    assert sheet[1][:2] == ('x, "y"', -1_234)
    assert sheet[1][2] == pytest.approx(-1.5)
    assert sheet[1][3].date() == date(2026, 12, 31)
    assert sheet[1][4] is None
    assert sheet[2] == (None, 0, 0, None, 7)
    assert sheet[3] == ("Jumlah", -1_234, None, None, 7)


def plain_document(blocks: tuple[Any, ...], landscape: bool = False) -> Document:
    meta = DocumentMeta(
        number="WBW/X/2026/000001",
        verify_code="Zq3",
        verify_url=URL,
        made_at=datetime(2026, 11, 1, 2, 5, tzinfo=ZoneInfo("Asia/Jakarta")),
    )
    return Document(kind="x", title="Uji", period_label="Oktober 2026", meta=meta, blocks=blocks, landscape=landscape)


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_columns_formatter_writes_what_cell_text_writes(language: str) -> None:
    values: dict[ValueKind, list[Any]] = {
        "rupiah": [0, 7, 1_234_567, -1_234, Decimal("1500"), None, True, "n/a"],
        "int": [0, 12, 1_234_567, -9_876, Decimal("3"), None, "-"],
        "percent": [Decimal("3.00"), Decimal("3.0"), Decimal("2.505"), 3, Decimal("-1.5"), None, "x"],
        "date": [
            date(2026, 1, 15),
            date(2026, 1, 15),
            datetime(2026, 2, 3, 4, 5, tzinfo=ZoneInfo("Asia/Jakarta")),
            None,
            "kemarin",
        ],
        "text": ["Peminjam 1", "", 42, Decimal("3.10"), date(2026, 12, 1), None],
    }
    for kind, samples in values.items():
        formatter = cell_formatter(kind, language)
        for value in samples + samples:  # twice: what a column remembers is what it wrote
            assert formatter(value) == cell_text(value, kind, language), (kind, value)
    assert cell_formatter("rupiah", "id")(1_234_567) == "Rp1.234.567"
    assert cell_formatter("date", "id")(date(2026, 1, 15)) == "15 Januari 2026"


def test_a_text_too_wide_for_its_column_is_cut_and_the_next_column_is_whole() -> None:
    wide = "W" * 60
    table = Table(
        "Potong",
        (Column("Nama", width=1.0), Column("Sebelah", width=1.0), Column("Jumlah", "rupiah", 1.0)),
        [(wide, "kanan", 5_000), ("Bú (kurung) \\ 5%", "kiri", -7)],
        totals=("Jumlah", None, 4_993),
    )
    content = render(plain_document((table,)), "pdf")
    text = pdf_pages(content)[0]
    assert wide not in text
    cut = re.search(r"(W+)\.\.\. +kanan +Rp5\.000", text)
    assert cut, text
    assert 10 < len(cut.group(1)) < 60
    assert re.search(r"Bú \(kurung\) \\ 5% +kiri +-Rp7", text), text
    assert re.search(r"Jumlah +Rp4\.993", text)


def test_a_list_that_does_not_fit_below_what_comes_before_goes_on_with_its_header_repeated() -> None:
    facts = Facts("Ringkasan", tuple(Fact(f"Butir {n}", n * 1_000, "rupiah") for n in range(1, 41)))
    rows = [(f"BARIS-{n:03d}", n * 1_000) for n in range(1, 41)]
    table = Table(
        "Daftar", (Column("Baris"), Column("Nilai", "rupiah")), rows, totals=("Jumlah", sum(r[1] for r in rows))
    )
    pages = pdf_pages(render(plain_document((facts, table)), "pdf"))
    assert len(pages) == 2
    assert "Butir 40" in pages[0]
    assert "BARIS-001" in pages[0], "the list starts below the facts"
    assert "BARIS-040" in pages[1]
    assert all("Baris" in page and "Nilai" in page for page in pages), "the header on both pages"
    found = re.findall(r"BARIS-(\d{3}) +Rp([\d.]+)", "".join(pages))
    assert [(int(n), int(amount.replace(".", ""))) for n, amount in found] == [(n, n * 1_000) for n in range(1, 41)]
    assert re.search(r"Jumlah +Rp820\.000", pages[1]), "the totals close the list"
    assert "Rp820.000" not in pages[0]


def test_an_empty_list_shows_its_title_once_and_its_header() -> None:
    table = Table("Tidak ada baris", (Column("Kontrak"), Column("Pokok", "rupiah")), [])
    (page,) = pdf_pages(render(plain_document((table,)), "pdf"))
    assert page.count("Tidak ada baris") == 1
    assert re.search(r"Kontrak +Pokok", page)


def test_a_label_a_little_too_wide_is_set_smaller_and_a_much_too_wide_one_is_cut() -> None:
    # Portrait: 515.9 points across; the middle columns are about 46 points wide, 42 of
    # them for the label, which "Bunga dibayar" in bold at 7 points overruns by 15%.
    table = Table(
        "Label",
        (
            Column("Kiri", width=1.0),
            Column("Bunga dibayar", "rupiah", 0.197),
            Column("Denda yang dibayar bulan ini", "rupiah", 0.197),
            Column("Kanan", width=1.0),
        ),
        [("a", 1, 2, "b")],
    )
    (page,) = pdf_pages(render(plain_document((table,)), "pdf"))
    header = next(line for line in page.splitlines() if "Kiri" in line)
    assert re.search(r"Kiri +Bunga dibayar +Denda y[a-z ]*\.\.\. +Kanan", header), header
    assert "Denda yang dibayar bulan ini" not in page
