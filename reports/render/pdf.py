"""PDF with reportlab: A4 (landscape when the document says so), Helvetica.

Every page has the header (the programme, the document's title and period, the
issuer) and the footer ("Halaman x dari y" / "Page x of y", the document number, when
it was made, the verification address and code). The first page carries the QR code
(reportlab's own) of the verification address.

Speed: a table (reports.document.Table) is not a platypus Table, whose layout and
per-cell drawing cost most of a long list's time, but page-sized parts (its title and
header repeated on every page) that draw their rows straight onto the canvas: fixed
column widths and row heights, so nothing is measured but each text's width; each
column's formatter chosen once; one text object a page. The page count is known only
at the end: the canvas keeps each page's state and draws the footers when it saves
(one layout pass, not two).
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable, Sequence
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
from reportlab.lib.rl_accel import escapePDF
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth, unicode2T1
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
from reports.document import Cell, Chart, Document, Facts, Progress
from reports.document import Paragraph as TextBlock
from reports.document import Table as TableBlock
from reports.render.cells import cell_formatter, cell_text

FONT, BOLD = "Helvetica", "Helvetica-Bold"
FONT_SIZE = 7.0
ROW_HEIGHT = 10.0
HEADER_HEIGHT = 22.0
#: A table's header row (fixed, as every row's height is: nothing is measured).
HEADER_ROW = HEADER_HEIGHT / 2 + 4
#: A cell's left and right padding.
PADDING = 2.0
#: From a row's middle down to its text's baseline (reportlab's middle alignment of one
#: line: half the leading, 1.2 times the size, above the baseline less the size).
TEXT_DROP = FONT_SIZE - 1.2 * FONT_SIZE / 2
#: The smallest size (points) a header's label is set at to fit its column.
HEADER_SMALLEST = 5.5
#: How many texts a table's font remembers (their widths and PDF strings) at most.
REMEMBERED = 50_000
#: Columns whose texts are right-aligned.
RIGHT_KINDS = frozenset({"rupiah", "int", "percent"})
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


class _Face:
    """A table's font at :data:`FONT_SIZE`: a text's width and its PDF text-showing
    operators, remembered (a list repeats its dates, statuses and amounts), and so is
    how a text too wide for a column is cut (at most :data:`REMEMBERED` texts of each,
    then it starts again)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.face = getFont(name)
        self.widths = self.face.widths  # by the byte in the font's encoding, ASCII's own
        self.known: dict[str, tuple[float, str]] = {}
        self.cuts: dict[tuple[str, float], tuple[str, float, str]] = {}

    def width(self, text: str) -> float:
        if text.isascii():
            return sum(map(self.widths.__getitem__, text.encode())) * FONT_SIZE / 1000
        return float(self.face.stringWidth(text, FONT_SIZE))

    def shown(self, text: str, document: Any) -> str:
        """``text`` as text-showing operators in this font (the current one): one string
        in the font's encoding; a character the font cannot show is drawn from its
        substitution font and this font set again, as reportlab's text objects do."""
        if text.isascii():
            return f"({escapePDF(text)}) Tj"
        parts = unicode2T1(text, [self.face, *self.face.substitutionFonts])
        shown = []
        for part, encoded in parts:
            if part is self.face:
                shown.append(f"({escapePDF(encoded)}) Tj")
            else:
                other = document.getInternalFontName(part.fontName)
                mine = document.getInternalFontName(self.name)
                shown.append(f"{other} {FONT_SIZE} Tf ({escapePDF(encoded)}) Tj {mine} {FONT_SIZE} Tf")
        return " ".join(shown)

    def fitted(self, text: str, room: float, document: Any) -> tuple[str, float, str]:
        """``text`` on one line, cut with an ellipsis to at most ``room`` points (the
        longest start of it that fits with the ellipsis: a binary search, as widths only
        grow with the length); its width and operators."""
        known = self.known.get(text)
        if known is None:
            if "\n" in text:
                return self.fitted(" ".join(text.split("\n")), room, document)
            if len(self.known) >= REMEMBERED:
                self.known.clear()
            known = self.known[text] = (self.width(text), self.shown(text, document))
        width, shown = known
        if width <= room:
            return text, width, shown
        done = self.cuts.get((text, room))
        if done is None:
            low, high = 0, len(text) - 1  # text[:low] + "..." fits (or low is 0); text[:high + 1] + "..." does not
            while low < high:
                middle = (low + high + 1) // 2
                if self.width(text[:middle] + "...") <= room:
                    low = middle
                else:
                    high = middle - 1
            cut = text[:low] + "..."
            if len(self.cuts) >= REMEMBERED:
                self.cuts.clear()
            done = self.cuts[(text, room)] = (cut, self.width(cut), self.shown(cut, document))
        return done


class _Layout:
    """What every page of one table shares: each column's formatter (chosen once,
    :func:`reports.render.cells.cell_formatter`), room for its text, left edge of a
    left-aligned text, right edge of a right-aligned one (numbers) and whether it is
    right-aligned; the header's and the totals' texts; the fonts."""

    def __init__(self, block: TableBlock, frame_width: float, language: str, progress: Callable[[int], None]) -> None:
        widths = _widths(block, frame_width)
        self.width = sum(widths)
        lefts = list(itertools.accumulate(widths, initial=0.0))[:-1]
        formatters = [cell_formatter(column.kind, language) for column in block.columns]
        self.columns = [
            (formatter, width - 2 * PADDING, left + PADDING, left + width - PADDING, column.kind in RIGHT_KINDS)
            for formatter, width, left, column in zip(formatters, widths, lefts, block.columns, strict=True)
        ]
        self.header = [column.label for column in block.columns]
        self.totals = (
            [formatter(value) for formatter, value in zip(formatters, block.totals, strict=False)]
            if block.totals is not None
            else None
        )
        self.regular, self.bold = _Face(FONT), _Face(BOLD)
        self.progress = progress


class _Rows(Flowable):
    """Rows ``start`` onwards of a table under its header (and its totals row when
    ``totals``), drawn straight onto the canvas: the zebra stripes one path, the header
    band a rectangle, the rules one path, every cell's text in one text object (fixed
    row heights, so nothing is measured but each text's width, to right-align numbers
    and to cut a text that would run into the next column). It looks as reportlab's
    Table did: the header bold white on navy, every other row shaded, a thin rule below
    each row, the totals bold under a navy rule. Splits between rows (the header
    repeated) when a frame has no room for it all."""

    def __init__(self, layout: _Layout, rows: Sequence[Sequence[Cell]], start: int, totals: bool) -> None:
        super().__init__()
        self.layout = layout
        self.rows = rows
        self.start = start
        self.totals = totals and layout.totals is not None

    def _lines(self) -> int:
        return len(self.rows) + (1 if self.totals else 0)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = self.layout.width
        self.height = HEADER_ROW + ROW_HEIGHT * self._lines()
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        fit = int((available_height - HEADER_ROW) // ROW_HEIGHT)
        if fit >= self._lines():
            return [self]
        fit = min(fit, len(self.rows) - (1 if self.totals else 0))  # the totals keep a row with them
        if fit < 1:
            return []
        return [
            _Rows(self.layout, self.rows[:fit], self.start, totals=False),
            _Rows(self.layout, self.rows[fit:], self.start + fit, totals=self.totals),
        ]

    def draw(self) -> None:
        layout, canvas = self.layout, self.canv
        width, top = layout.width, self.height
        lines = self._lines()
        canvas.saveState()
        stripes = canvas.beginPath()
        for line in range(1, lines, 2):  # a page's rows 0, 2, ... white; 1, 3, ... shaded
            stripes.rect(0, top - HEADER_ROW - (line + 1) * ROW_HEIGHT, width, ROW_HEIGHT)
        canvas.setFillColor(ZEBRA)
        canvas.drawPath(stripes, stroke=0, fill=1)
        canvas.setFillColor(NAVY)
        canvas.rect(0, top - HEADER_ROW, width, HEADER_ROW, stroke=0, fill=1)
        rules = canvas.beginPath()
        for line in range(lines + 1):
            y = top - HEADER_ROW - line * ROW_HEIGHT
            rules.moveTo(0, y)
            rules.lineTo(width, y)
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.25)
        canvas.drawPath(rules, stroke=1, fill=0)
        if self.totals:
            canvas.setStrokeColor(NAVY)
            canvas.setLineWidth(0.8)
            canvas.line(0, ROW_HEIGHT, width, ROW_HEIGHT)
        canvas.restoreState()

        document = canvas._doc
        regular, bold = layout.regular, layout.bold
        code = ["BT", f"{document.getInternalFontName(BOLD)} {FONT_SIZE} Tf 1 1 1 rg"]
        add = code.append
        y = top - HEADER_ROW / 2 - TEXT_DROP
        self._header(add, y, document)
        add(f"{document.getInternalFontName(FONT)} {FONT_SIZE} Tf 0 0 0 rg")
        y = top - HEADER_ROW - ROW_HEIGHT / 2 - TEXT_DROP
        fitted = regular.fitted
        for row in self.rows:
            at = f" {y:.2f} Tm "
            for value, (formatter, room, left, end, right) in zip(row, layout.columns, strict=False):
                text = formatter(value)
                if text:
                    text, text_width, shown = fitted(text, room, document)
                    add(f"1 0 0 1 {end - text_width if right else left:.2f}{at}{shown}")
            y -= ROW_HEIGHT
        if self.totals and layout.totals is not None:
            add(f"{document.getInternalFontName(BOLD)} {FONT_SIZE} Tf")
            self._line(add, layout.totals, y, bold, document)
        add("ET")
        canvas.addLiteral("\n".join(code))
        layout.progress(self.start + len(self.rows))

    def _header(self, add: Callable[[str], None], y: float, document: Any) -> None:
        """The header's labels, bold: a label too wide for its column is set smaller, down
        to :data:`HEADER_SMALLEST` points, and cut with an ellipsis only if that is still
        too wide."""
        bold, name = self.layout.bold, document.getInternalFontName(BOLD)
        for label, (_formatter, room, left, end, right) in zip(self.layout.header, self.layout.columns, strict=True):
            width = bold.width(label)
            if room < width <= room * FONT_SIZE / HEADER_SMALLEST:
                size = math.floor(FONT_SIZE * room / width * 20) / 20  # to a twentieth of a point below
                width = width * size / FONT_SIZE
                shown = bold.shown(label, document).replace(f" {FONT_SIZE} Tf", f" {size} Tf")
                add(f"{name} {size} Tf 1 0 0 1 {end - width if right else left:.2f} {y:.2f} Tm {shown}")
                add(f"{name} {FONT_SIZE} Tf")
            elif label:
                label, width, shown = bold.fitted(label, room, document)
                add(f"1 0 0 1 {end - width if right else left:.2f} {y:.2f} Tm {shown}")

    def _line(self, add: Callable[[str], None], texts: Sequence[str], y: float, face: _Face, document: Any) -> None:
        """One line of texts already formatted (the header, the totals) in ``face``."""
        for text, (_formatter, room, left, end, right) in zip(texts, self.layout.columns, strict=False):
            if text:
                text, text_width, shown = face.fitted(text, room, document)
                add(f"1 0 0 1 {end - text_width if right else left:.2f} {y:.2f} Tm {shown}")


def _table(block: TableBlock, frame_width: float, frame_height: float, language: str, progress: Any) -> list[Flowable]:
    """The table in page-sized parts (:class:`_Rows`), each under its title ("(lanjutan)"
    on the pages after the first); a long list starts on a page of its own."""
    layout = _Layout(block, frame_width, language, progress)
    title_height = STYLES["title"].leading + STYLES["title"].spaceBefore + STYLES["title"].spaceAfter
    per_page = max(5, int((frame_height - title_height - HEADER_HEIGHT - 4) // ROW_HEIGHT))
    rows = block.rows
    story: list[Flowable] = []
    if len(rows) + 2 > per_page:
        story.append(PageBreak())  # a long list starts on a page of its own, so every page is whole
    for start in range(0, max(len(rows), 1), per_page):
        chunk = rows[start : start + per_page]
        title = block.title if start == 0 else f"{block.title} {CONTINUED[language]}"
        last = start + per_page >= len(rows)
        part = _Rows(layout, chunk, start, totals=last)
        heading = Paragraph(escape(title), STYLES["title"])
        # A short table stays with its title; a page of rows follows its title on the page.
        story += [KeepTogether([heading, part])] if part._lines() < 19 else [heading, part]
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
