"""XLSX: a first sheet with the document's meta and every Facts block; then a sheet per
table (bold header, frozen, raw values: rupiah and counts as whole numbers formatted
``#,##0``, dates as dates ``yyyy-mm-dd``, percents as decimals ``0.00``, the totals row
bold); a chart's data as a sheet of its own. Sheet names are unique, at most 31
characters.

Written as SpreadsheetML straight from the rows (a zip of a few XML parts, text as
inline strings), not through openpyxl: openpyxl's write-only mode still makes a cell
object per value, about 7 us each, and a bank monthly report of 100,000 loans has 2.7
million of them (20 s; this writes them in about 3). Every cell carries its reference
(``r="B12"``): optional in the standard, but some readers a bank's system may use need
it. The tests read every file back with openpyxl, as a bank's system or Excel would.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from reports.document import Cell, Chart, Column, Document, Facts, Paragraph, Progress, Table

SUMMARY = {"id": "Ringkasan", "en": "Summary"}
META = {
    "id": ("Program", "Judul", "Periode", "Nomor dokumen", "Dibuat", "Penerbit", "Verifikasi"),
    "en": ("Programme", "Title", "Period", "Document number", "Made", "Issuer", "Verification"),
}
#: Rows written between two progress reports.
CHUNK = 2000
#: Day 0 of Excel's 1900 date system (as every reader counts it, 1900-02-29 included).
EPOCH = date(1899, 12, 30).toordinal()

# Cell styles (indexes into styles.xml's cellXfs): plain, then by number format, then bold.
PLAIN, WHOLE, DECIMAL, DAY, MOMENT = 0, 1, 2, 3, 4
BOLD = 5  # BOLD + any of the above is its bold twin
NUMBER_FORMATS = {WHOLE: 3, DECIMAL: 2, DAY: 164, MOMENT: 165}  # 3 "#,##0" and 2 "0.00" are built in
#: The number style of a column's numbers, by its kind.
KIND_STYLE = {"rupiah": WHOLE, "int": WHOLE, "percent": DECIMAL, "date": DAY, "text": PLAIN}
#: Characters XML 1.0 cannot carry (a control character in a name would break the file).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _sheet_name(title: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", _ILLEGAL.sub("", title)).strip()[:31] or "Sheet"
    name, counter = base, 2
    while name.lower() in taken:
        suffix = f" ({counter})"
        name, counter = base[: 31 - len(suffix)] + suffix, counter + 1
    taken.add(name.lower())
    return name


def _letters(count: int) -> list[str]:
    """Column letters A, B, ... Z, AA, AB, ... for ``count`` columns."""
    letters = []
    for index in range(1, count + 1):
        name = ""
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


def _text(ref: str, value: str, style: int = PLAIN) -> str:
    styled = f' s="{style}"' if style else ""
    return (
        f'<c r="{ref}"{styled} t="inlineStr"><is><t xml:space="preserve">{escape(_ILLEGAL.sub("", value))}</t></is></c>'
    )


def _cell(ref: str, value: Cell | datetime | float, number_style: int, bold: bool = False) -> str:
    """The cell at ``ref`` ("B12"), its style by its value's type (numbers by
    ``number_style``), bold or not; a blank one only when bold."""
    extra = BOLD if bold else 0
    if value is None:
        return f'<c r="{ref}" s="{BOLD}"/>' if bold else ""
    if isinstance(value, str):
        return _text(ref, value, extra)
    if isinstance(value, datetime):
        serial = value.toordinal() - EPOCH + (value.hour * 3600 + value.minute * 60 + value.second) / 86400
        return f'<c r="{ref}" s="{MOMENT + extra}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{DAY + extra}"><v>{value.toordinal() - EPOCH}</v></c>'
    if isinstance(value, Decimal):
        return f'<c r="{ref}" s="{DECIMAL + extra}"><v>{value:f}</v></c>'
    if isinstance(value, float):
        return f'<c r="{ref}" s="{DECIMAL + extra}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" s="{number_style + extra}"><v>{int(value)}</v></c>'


def _row_writer(columns: Sequence[Column]) -> Callable[[int, Sequence[Cell]], str]:
    """A function writing row ``n``'s cells, each column's letter and number style
    chosen once (a whole number, the common case, is written inline)."""
    styles = [KIND_STYLE[column.kind] for column in columns]
    letters = _letters(len(columns))
    numbers = [f'" s="{style}"><v>' for style in styles]

    def row(n: int, values: Sequence[Cell]) -> str:
        parts = []
        for value, letter, number_style, number in zip(values, letters, styles, numbers, strict=False):
            kind = type(value)
            if kind is int:
                parts.append(f'<c r="{letter}{n}{number}{value}</v></c>')
            elif value is None:
                continue
            elif kind is str:
                parts.append(_text(f"{letter}{n}", value))  # type: ignore[arg-type]
            else:
                parts.append(_cell(f"{letter}{n}", value, number_style))
        return "".join(parts)

    return row


class _Sheet:
    """One worksheet's XML: rows appended as cell strings, then written out whole."""

    def __init__(self, name: str, *, widths: Sequence[float] = (), frozen: bool = False) -> None:
        self.name, self.widths, self.frozen = name, widths, frozen
        self.rows: list[str] = []

    def append(self, cells: str) -> None:
        """A row of cells written for row number ``self.next``."""
        self.rows.append(f'<row r="{self.next}">{cells}</row>')

    @property
    def next(self) -> int:
        return len(self.rows) + 1

    def values(self, values: Iterable[Cell | datetime], *, bold: bool = False, number_style: int = WHOLE) -> None:
        n, values = self.next, list(values)
        self.append(
            "".join(
                _cell(f"{letter}{n}", value, number_style, bold)
                for letter, value in zip(_letters(len(values)), values, strict=True)
            )
        )

    def xml(self) -> str:
        view = (
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
            ' state="frozen"/></sheetView></sheetViews>'
            if self.frozen
            else ""
        )
        cols = "".join(
            f'<col min="{index}" max="{index}" width="{width:g}" customWidth="1"/>'
            for index, width in enumerate(self.widths, 1)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"{view}{f'<cols>{cols}</cols>' if cols else ''}<sheetData>{''.join(self.rows)}</sheetData></worksheet>"
        )


def render_xlsx(document: Document, progress: Progress) -> bytes:
    language = document.meta.language
    taken: set[str] = set()
    summary = _Sheet(_sheet_name(SUMMARY[language], taken), widths=(40, 60))
    sheets = [summary]
    meta = document.meta
    meta_values: tuple[Cell | datetime, ...] = (meta.programme, document.title, document.period_label, meta.number,
                   meta.made_at.replace(tzinfo=None), meta.issuer, meta.verify_url)  # fmt: skip
    for label, value in zip(META[language], meta_values, strict=True):
        summary.values((label, value))
    total, done = document.row_count(), 0
    for block in document.blocks:
        if isinstance(block, Facts):
            summary.append("")
            summary.values((block.title,), bold=True)
            for fact in block.items:
                summary.values((fact.label, fact.value), number_style=KIND_STYLE[fact.kind])
        elif isinstance(block, Paragraph):
            summary.append("")
            summary.values((block.text,))
        elif isinstance(block, Table):
            widths = [max(10, min(40, int(column.width * 12))) for column in block.columns]
            sheet = _Sheet(_sheet_name(block.sheet or block.title, taken), widths=widths, frozen=True)
            sheets.append(sheet)
            sheet.values((column.label for column in block.columns), bold=True)
            row = _row_writer(block.columns)
            for start in range(0, len(block.rows), CHUNK):
                chunk = block.rows[start : start + CHUNK]
                for values in chunk:
                    sheet.append(row(sheet.next, values))
                done += len(chunk)
                progress(done, total)
            if block.totals is not None:
                n = sheet.next
                sheet.append(
                    "".join(
                        _cell(f"{letter}{n}", value, KIND_STYLE[column.kind], bold=True)
                        for letter, value, column in zip(
                            _letters(len(block.columns)), block.totals, block.columns, strict=False
                        )
                    )
                )
        elif isinstance(block, Chart):
            sheet = _Sheet(_sheet_name(block.title, taken))
            sheets.append(sheet)
            sheet.values(("", *(series.name for series in block.series)), bold=True)
            number_style = KIND_STYLE[block.value_kind]
            for index, category in enumerate(block.categories):
                sheet.values((category, *(series.values[index] for series in block.series)), number_style=number_style)
    return _package(sheets)


STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="10">'
    + "".join(
        f'<xf numFmtId="{NUMBER_FORMATS.get(style, 0)}" fontId="{font}" fillId="0" borderId="0" xfId="0"'
        + (' applyNumberFormat="1"' if style in NUMBER_FORMATS else "")
        + (' applyFont="1"' if font else "")
        + "/>"
        for font in (0, 1)
        for style in (PLAIN, WHOLE, DECIMAL, DAY, MOMENT)
    )
    + "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _package(sheets: list[_Sheet]) -> bytes:
    """The XLSX file: content types, relationships, the workbook, styles and sheets."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package_relationships = "http://schemas.openxmlformats.org/package/2006/relationships"
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{sheet_type}"/>'
                for n in range(1, len(sheets) + 1)
            )
            + "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{package_relationships}">'
            f'<Relationship Id="rId1" Type="{relationships}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{main}" xmlns:r="{relationships}"><sheets>'
            + "".join(
                f'<sheet name={quoteattr(sheet.name)} sheetId="{n}" r:id="rId{n}"/>'
                for n, sheet in enumerate(sheets, 1)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{package_relationships}">'
            + "".join(
                f'<Relationship Id="rId{n}" Type="{relationships}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                for n in range(1, len(sheets) + 1)
            )
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{relationships}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": STYLES,
    }
    out = io.BytesIO()
    # Level 1: most of the size for a fraction of the time of the default level.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        for n, sheet in enumerate(sheets, 1):
            archive.writestr(f"xl/worksheets/sheet{n}.xml", sheet.xml())
    return out.getvalue()
