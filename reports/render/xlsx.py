"""XLSX (openpyxl, write-only for speed): a first sheet with the document's meta and
every Facts block; then a sheet per table (bold header, frozen, raw values: rupiah as
whole numbers formatted ``#,##0``, dates as dates, percents as decimals, the totals row
bold); a chart's data as a sheet of its own. Sheet names are unique, at most 31
characters."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reports.document import Cell, Chart, Column, Document, Facts, Paragraph, Progress, Table

BOLD = Font(bold=True)
SUMMARY = {"id": "Ringkasan", "en": "Summary"}
META = {
    "id": ("Program", "Judul", "Periode", "Nomor dokumen", "Dibuat", "Penerbit", "Verifikasi"),
    "en": ("Programme", "Title", "Period", "Document number", "Made", "Issuer", "Verification"),
}
FORMATS = {"rupiah": "#,##0", "int": "#,##0", "percent": "0.00", "date": "yyyy-mm-dd"}


def _sheet_name(title: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    name, counter = base, 2
    while name.lower() in taken:
        suffix = f" ({counter})"
        name, counter = base[: 31 - len(suffix)] + suffix, counter + 1
    taken.add(name.lower())
    return name


def _value(value: Cell) -> str | int | float | date | None:
    if isinstance(value, Decimal):
        return float(value)  # a spreadsheet number; the exact figure is the PDF's and CSV's
    return value


def _row(sheet: WriteOnlyWorksheet, values: list[Cell], columns: tuple[Column, ...], bold: bool = False) -> list:
    cells = []
    for value, column in zip(values, columns, strict=False):
        cell = WriteOnlyCell(sheet, value=_value(value))
        number_format = FORMATS.get(column.kind)
        if number_format and value is not None and not isinstance(value, str):
            cell.number_format = number_format
        if bold:
            cell.font = BOLD
        cells.append(cell)
    return cells


def _header(sheet: WriteOnlyWorksheet, labels: list[str]) -> list:
    cells = []
    for label in labels:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = BOLD
        cells.append(cell)
    return cells


def render_xlsx(document: Document, progress: Progress) -> bytes:
    workbook = Workbook(write_only=True)
    language = document.meta.language
    taken: set[str] = set()
    summary = workbook.create_sheet(_sheet_name(SUMMARY[language], taken))
    summary.column_dimensions["A"].width = 40
    summary.column_dimensions["B"].width = 60
    meta = document.meta
    meta_values = (meta.programme, document.title, document.period_label, meta.number,
                   meta.made_at.replace(tzinfo=None), meta.issuer, meta.verify_url)  # fmt: skip
    for label, value in zip(META[language], meta_values, strict=True):
        summary.append([WriteOnlyCell(summary, value=label), value])
    total, done = document.row_count(), 0
    for block in document.blocks:
        if isinstance(block, Facts):
            summary.append([])
            summary.append(_header(summary, [block.title]))
            for fact in block.items:
                cell = WriteOnlyCell(summary, value=_value(fact.value))
                if fact.kind in FORMATS and fact.value is not None and not isinstance(fact.value, str):
                    cell.number_format = FORMATS[fact.kind]
                summary.append([fact.label, cell])
        elif isinstance(block, Paragraph):
            summary.append([])
            summary.append([block.text])
        elif isinstance(block, Table):
            sheet = workbook.create_sheet(_sheet_name(block.sheet or block.title, taken))
            sheet.freeze_panes = "A2"
            for index, column in enumerate(block.columns):
                letter = _letter(index)
                sheet.column_dimensions[letter].width = max(10, min(40, int(column.width * 12)))
            sheet.append(_header(sheet, [column.label for column in block.columns]))
            # Rows go in as plain values (styled cells cost ten times as much): numbers
            # and dates keep their types; only the header and totals are styled.
            decimals = [index for index, column in enumerate(block.columns) if column.kind == "percent"]
            for start in range(0, len(block.rows), 2000):
                chunk = block.rows[start : start + 2000]
                for row in chunk:
                    values: list[Any] = list(row)
                    for index in decimals:
                        values[index] = _value(values[index])
                    sheet.append(values)
                done += len(chunk)
                progress(done, total)
            if block.totals is not None:
                sheet.append(_row(sheet, list(block.totals), block.columns, bold=True))
        elif isinstance(block, Chart):
            sheet = workbook.create_sheet(_sheet_name(block.title, taken))
            sheet.append(_header(sheet, ["", *(series.name for series in block.series)]))
            for index, category in enumerate(block.categories):
                sheet.append([category, *(_value(series.values[index]) for series in block.series)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))
