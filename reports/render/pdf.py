"""PDF with reportlab: A4 (landscape when the document says so), Helvetica.

Every page has the header (the programme, the document's title and period, the
issuer) and the footer ("Halaman x dari y" / "Page x of y", the document number, when
it was made, the verification address and code). The first page carries the QR code
(reportlab's own) of the verification address.

Speed: platypus lays out a Table in time that grows faster than its rows, so a long
table is cut into page-sized Tables (its title and header repeated on every page), with
fixed column widths and row heights so nothing is measured, and one table style for
all. The page count is known only at the end: the canvas keeps each page's state and
draws the footers when it saves (one layout pass, not two).
"""

from __future__ import annotations

import io
import itertools
from functools import partial
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from reports import formats
from reports.document import Chart, Document, Facts, Progress
from reports.document import Paragraph as TextBlock
from reports.document import Table as TableBlock
from reports.render.cells import cell_text

FONT, BOLD = "Helvetica", "Helvetica-Bold"
FONT_SIZE = 7.0
ROW_HEIGHT = 10.0
HEADER_HEIGHT = 22.0
MARGIN = 14 * mm
TOP = 26 * mm
BOTTOM = 20 * mm
QR_SIZE = 22 * mm
#: Left and right padding of a fact's cells (reportlab's default).
FACT_PADDING = 6
NAVY = colors.HexColor("#17375e")
ZEBRA = colors.HexColor("#eef2f7")
GRID = colors.HexColor("#b8c2cf")
PAGE_OF = {"id": "Halaman {page} dari {pages}", "en": "Page {page} of {pages}"}
FOOTER = {
    "id": "No. {number}  |  Dibuat {made}  |  Periksa keaslian: {url}",
    "en": "No. {number}  |  Made {made}  |  Check authenticity: {url}",
}
CONTINUED = {"id": "(lanjutan)", "en": "(continued)"}
TOTAL = {"id": "Jumlah", "en": "Total"}

STYLES = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=9.5, leading=12, spaceBefore=6, spaceAfter=3,
                            textColor=NAVY),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, spaceAfter=4),
    "note": ParagraphStyle("note", fontName=FONT, fontSize=7, leading=9, textColor=colors.HexColor("#555555"),
                           spaceAfter=4),
    "emphasis": ParagraphStyle("emphasis", fontName=BOLD, fontSize=11, leading=14, alignment=TA_LEFT),
}  # fmt: skip
BASE_STYLE = [
    ("FONT", (0, 0), (-1, -1), FONT, FONT_SIZE),
    ("FONT", (0, 0), (-1, 0), BOLD, FONT_SIZE),
    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
    ("BACKGROUND", (0, 0), (-1, 0), NAVY),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
    ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
    ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ("TOPPADDING", (0, 0), (-1, -1), 1),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
]


class _NumberedCanvas(pdf_canvas.Canvas):
    """Keeps every page until the end, then draws each footer knowing the page count."""

    def __init__(self, *args: Any, document: Document, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._document = document
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        count = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._footer(count)
            super().showPage()
        super().save()

    def _footer(self, count: int) -> None:
        meta = self._document.meta
        width, _height = self._pagesize
        language = meta.language
        self.setStrokeColor(GRID)
        self.line(MARGIN, BOTTOM - 5 * mm, width - MARGIN, BOTTOM - 5 * mm)
        self.setFont(FONT, 6.5)
        self.setFillColor(colors.black)
        text = FOOTER[language].format(
            number=meta.number, made=formats.timestamp(meta.made_at, language), url=meta.verify_url
        )
        self.drawString(MARGIN, BOTTOM - 9 * mm, text)
        self.setFont(BOLD, 7.5)
        self.drawRightString(
            width - MARGIN, BOTTOM - 9 * mm, PAGE_OF[language].format(page=self._pageNumber, pages=count)
        )


def _header(canvas: pdf_canvas.Canvas, template: BaseDocTemplate, document: Document) -> None:
    width, height = canvas._pagesize
    meta = document.meta
    canvas.saveState()
    canvas.setFillColor(NAVY)
    canvas.setFont(BOLD, 8)
    canvas.drawString(MARGIN, height - 10 * mm, meta.programme)
    canvas.setFont(BOLD, 12)
    canvas.drawString(MARGIN, height - 15.5 * mm, document.title)
    canvas.setFont(FONT, 9)
    canvas.setFillColor(colors.black)
    line = document.period_label + (f"  |  {meta.issuer}" if meta.issuer else "")
    canvas.drawString(MARGIN, height - 20 * mm, line)
    right = width - MARGIN - (QR_SIZE + 3 * mm if canvas.getPageNumber() == 1 else 0)
    canvas.setFont(FONT, 7)
    canvas.drawRightString(right, height - 10 * mm, meta.number)
    canvas.setStrokeColor(NAVY)
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN, height - TOP + 3 * mm, width - MARGIN, height - TOP + 3 * mm)
    if canvas.getPageNumber() == 1:
        _qr(canvas, meta.verify_url, width - MARGIN - QR_SIZE, height - TOP + 3.5 * mm, QR_SIZE)
    canvas.restoreState()


def _qr(canvas: pdf_canvas.Canvas, value: str, x: float, y: float, size: float) -> None:
    """The QR code of ``value`` (reportlab's own encoder, level M, a 4-module quiet zone)
    in the ``size``-point square at ``x``, ``y``: encoded once and drawn as one path of
    the dark runs of each row (the QR widget encodes twice and builds a shape per run,
    most of a one-page paper's time)."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(value)
    code.make()
    border = 4
    box = size / (code.getModuleCount() + 2 * border)
    path = canvas.beginPath()
    for row_index, row in enumerate(code.modules):
        column = 0
        for dark, run in itertools.groupby(bool(module) for module in row):
            count = len(list(run))
            if dark:
                path.rect(x + (column + border) * box, y + size - (row_index + border + 1) * box, count * box, box)
            column += count
    canvas.setFillColor(colors.black)
    canvas.drawPath(path, stroke=0, fill=1)


def _widths(block: TableBlock, available: float) -> list[float]:
    total = sum(column.width for column in block.columns) or 1.0
    return [available * column.width / total for column in block.columns]


def _fit(text: str, width: float, font: str = FONT) -> str:
    """``text`` cut (with an ellipsis) to fit a cell ``width`` points wide."""
    room = width - 4
    if len(text) * FONT_SIZE * 0.5 <= room or stringWidth(text, font, FONT_SIZE) <= room:
        return text
    while text and stringWidth(text + "...", font, FONT_SIZE) > room:
        text = text[:-1]
    return text + "..."


def _table_style(block: TableBlock, rows: int, totals: bool) -> TableStyle:
    commands: list[tuple[Any, ...]] = list(BASE_STYLE)
    for index, column in enumerate(block.columns):
        if column.kind in ("rupiah", "int", "percent"):
            commands.append(("ALIGN", (index, 0), (index, -1), "RIGHT"))
    if totals:
        commands += [("FONT", (0, rows), (-1, rows), BOLD, FONT_SIZE), ("LINEABOVE", (0, rows), (-1, rows), 0.8, NAVY)]
    return TableStyle(commands)


def _table(block: TableBlock, frame_width: float, frame_height: float, language: str, progress: Any) -> list[Flowable]:
    widths = _widths(block, frame_width)
    header = [_fit(column.label, width, BOLD) for column, width in zip(block.columns, widths, strict=True)]
    kinds = [column.kind for column in block.columns]

    def texts(row: Any) -> list[str]:
        return [
            _fit(cell_text(value, kind, language), width)
            for value, kind, width in zip(row, kinds, widths, strict=False)
        ]

    title_height = STYLES["title"].leading + STYLES["title"].spaceBefore + STYLES["title"].spaceAfter
    per_page = max(5, int((frame_height - title_height - HEADER_HEIGHT - 4) // ROW_HEIGHT))
    rows = block.rows
    story: list[Flowable] = []
    if len(rows) + 2 > per_page:
        story.append(PageBreak())  # a long list starts on a page of its own, so every page is whole
    totals = texts(block.totals) if block.totals is not None else None
    if not rows:
        story.append(Paragraph(block.title, STYLES["title"]))
    for start in range(0, max(len(rows), 1), per_page):
        chunk = [texts(row) for row in rows[start : start + per_page]]
        if not chunk and start:
            break
        title = block.title if start == 0 else f"{block.title} {CONTINUED[language]}"
        data = [header, *chunk]
        last = start + per_page >= len(rows)
        with_totals = last and totals is not None
        if with_totals:
            data.append(totals)  # type: ignore[arg-type]
        table = Table(
            data, colWidths=widths, rowHeights=[HEADER_HEIGHT / 2 + 4] + [ROW_HEIGHT] * (len(data) - 1), repeatRows=1
        )
        table.setStyle(_table_style(block, len(data) - 1, with_totals))
        heading = Paragraph(title, STYLES["title"])
        # A short table stays with its title; a page of rows follows its title on the page.
        story += [KeepTogether([heading, table])] if len(data) < 20 else [heading, table]
        progress(start + len(chunk))
        if not last:
            story.append(PageBreak())
    return story


def _fact_cell(text: str, width: float) -> str | Paragraph:
    """A fact's cell: the text as it is when it fits on one line (drawn directly, far
    cheaper than a Paragraph), else a Paragraph that wraps."""
    body = STYLES["body"]
    if stringWidth(text, body.fontName, body.fontSize) <= width - 2 * FACT_PADDING and "\n" not in text:
        return text
    return Paragraph(escape(text), body)


def _facts(block: Facts, frame_width: float, language: str) -> list[Flowable]:
    widths = [frame_width * 0.42, frame_width * 0.58]
    data = [
        [_fact_cell(fact.label, widths[0]), _fact_cell(cell_text(fact.value, fact.kind, language), widths[1])]
        for fact in block.items
    ]
    table = Table(data, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), STYLES["body"].fontName, STYLES["body"].fontSize, STYLES["body"].leading),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
                ("BACKGROUND", (0, 0), (0, -1), ZEBRA),
                ("LEFTPADDING", (0, 0), (-1, -1), FACT_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), FACT_PADDING),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return [CondPageBreak(40 * mm), Paragraph(block.title, STYLES["title"]), table]


def _axis_label(kind: str, language: str) -> Any:
    def label(value: float) -> str:
        if kind == "rupiah":
            if abs(value) >= 1_000_000_000:
                return f"{value / 1_000_000_000:.1f} M".replace(".", "," if language == "id" else ".")
            if abs(value) >= 1_000_000:
                return f"{value / 1_000_000:.0f} jt" if language == "id" else f"{value / 1_000_000:.0f}m"
            return formats.number(int(value), language)
        if kind == "percent":
            return formats.percent(value, language, places=1)
        return formats.number(int(value), language)

    return label


SERIES_COLOURS = [NAVY, colors.HexColor("#d9822b"), colors.HexColor("#3a9a5b"), colors.HexColor("#b03a48")]


def _chart(block: Chart, frame_width: float, language: str) -> list[Flowable]:
    height = 62 * mm
    drawing = Drawing(frame_width, height)
    chart: Any = VerticalBarChart() if block.kind == "bar" else HorizontalLineChart()
    chart.x, chart.y = 18 * mm, 16 * mm
    chart.width, chart.height = frame_width - 60 * mm, height - 22 * mm
    data = [[float(value) for value in series.values] for series in block.series] or [[0.0]]
    chart.data = data
    chart.categoryAxis.categoryNames = list(block.categories) or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6
    if len(block.categories) > 8:
        chart.categoryAxis.labels.angle = 45
        chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.labelTextFormat = _axis_label(block.value_kind, language)
    chart.valueAxis.valueMin = min(0.0, *(min(series) for series in data if series))
    for index in range(len(data)):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        if block.kind == "bar":
            chart.bars[index].fillColor = colour
            chart.bars[index].strokeColor = None
        else:
            chart.lines[index].strokeColor = colour
            chart.lines[index].strokeWidth = 1.5
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = frame_width - 38 * mm, height - 10 * mm
    legend.fontName, legend.fontSize = FONT, 7
    legend.alignment = "right"
    legend.colorNamePairs = [
        (SERIES_COLOURS[index % len(SERIES_COLOURS)], series.name) for index, series in enumerate(block.series)
    ]
    drawing.add(legend)
    return [CondPageBreak(height + 15 * mm), Paragraph(block.title, STYLES["title"]), drawing, Spacer(1, 3 * mm)]


def _paragraph(block: TextBlock, frame_width: float) -> list[Flowable]:
    if block.style != "emphasis":
        return [Paragraph(escape(block.text), STYLES[block.style])]
    box = Table([[Paragraph(escape(block.text), STYLES["emphasis"])]], colWidths=[frame_width])
    box.setStyle(
        TableStyle([("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor("#b03a48")), ("PADDING", (0, 0), (-1, -1), 6)])
    )
    return [Spacer(1, 2 * mm), box, Spacer(1, 2 * mm)]


def render_pdf(document: Document, progress: Progress) -> bytes:
    """The document as PDF bytes (see the module's docstring)."""
    buffer = io.BytesIO()
    pagesize = landscape(A4) if document.landscape else A4
    template = BaseDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=f"{document.title} {document.period_label}".strip(),
        author=document.meta.issuer or document.meta.programme,
        subject=document.meta.number,
        creator="Wibawa",
    )
    frame = Frame(template.leftMargin, template.bottomMargin, template.width, template.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)  # fmt: skip
    template.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=partial(_header, document=document))])
    language = document.meta.language
    total = document.row_count()
    done_before = 0
    story: list[Flowable] = []
    for block in document.blocks:
        if isinstance(block, TableBlock):
            offset = done_before
            story += _table(
                block, frame.width, frame.height, language, lambda rows, o=offset: progress(o + rows, total)
            )
            done_before += len(block.rows)
        elif isinstance(block, Facts):
            story += _facts(block, frame.width, language)
        elif isinstance(block, Chart):
            story += _chart(block, frame.width, language)
        else:
            story += _paragraph(block, frame.width)
    if not story:
        story.append(Spacer(1, 1))
    template.build(story, canvasmaker=partial(_NumberedCanvas, document=document))
    return buffer.getvalue()
