"""A document as plain data: what every report kind builds and every renderer (PDF,
CSV, XLSX) turns into bytes. No Django import: a kind's builder reads the database and
returns a :class:`Document`; :mod:`reports.render` writes it.

Values in table cells are plain Python: ``str``, ``int`` (rupiah or counts, as the
column's ``kind`` says), ``Decimal`` (percent), ``datetime.date`` or ``None`` (blank).
Renderers format them by the column's kind (:mod:`reports.formats`); CSV and XLSX keep
the raw value (rupiah as whole numbers, dates as ISO dates) so a bank's system can read
them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

#: How a cell or fact is shown: text as is; int a whole number ("1.234"); rupiah as
#: "Rp1.234.567"; percent as "2,50%"; date as "15 Januari 2026".
ValueKind = Literal["text", "int", "rupiah", "percent", "date"]
Cell = str | int | Decimal | date | None

#: ``progress(done, total)``: rows done of rows in all (the report's progress).
Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The progress callback that reports nowhere."""


@dataclass(frozen=True)
class Column:
    label: str
    kind: ValueKind = "text"
    #: Relative width in the PDF (the table's widths are scaled to the page).
    width: float = 1.0


@dataclass(frozen=True)
class Table:
    """A list with a header; in the PDF it breaks across pages with its header repeated,
    in XLSX it is one sheet (``sheet`` names it), in CSV one section."""

    title: str
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[Cell]]
    #: The totals row (same length as ``columns``; ``None`` cells stay blank).
    totals: Sequence[Cell] | None = None
    sheet: str = ""


@dataclass(frozen=True)
class Fact:
    label: str
    value: Cell
    kind: ValueKind = "text"


@dataclass(frozen=True)
class Facts:
    """Label and value pairs (a summary, the parties, the terms)."""

    title: str
    items: tuple[Fact, ...]


@dataclass(frozen=True)
class Paragraph:
    text: str
    #: ``note`` is small print; ``emphasis`` a boxed statement (a reversed receipt, a
    #: settlement's "nothing remains").
    style: Literal["body", "note", "emphasis"] = "body"


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int | Decimal, ...]


@dataclass(frozen=True)
class Chart:
    """A bar or line chart (reportlab graphics in the PDF; its data as a table in CSV
    and XLSX)."""

    title: str
    kind: Literal["bar", "line"]
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    value_kind: ValueKind = "rupiah"


Block = Table | Facts | Paragraph | Chart


@dataclass(frozen=True)
class DocumentMeta:
    """What every document carries besides its content, decided before it is built:
    its number, the unguessable verification code and URL (printed and in the QR),
    when it was made, in which language, and who issues it."""

    number: str
    verify_code: str
    verify_url: str
    made_at: datetime
    language: Literal["id", "en"] = "id"
    programme: str = "Kredit Wibawa - Pemerintah Kota Semarang"
    issuer: str = ""


@dataclass(frozen=True)
class Document:
    kind: str
    title: str
    #: The period or date the document covers, as shown ("Oktober 2026", "per 15 Januari 2026").
    period_label: str
    meta: DocumentMeta
    blocks: tuple[Block, ...]
    landscape: bool = False
    #: For the file name: ``<kind>-<slug>.<ext>`` (e.g. "JATENG-2026-10").
    slug: str = ""
    #: Extra figures a kind wants to keep with the report (not rendered).
    extra: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> list[Table]:
        return [block for block in self.blocks if isinstance(block, Table)]

    def row_count(self) -> int:
        """Rows in all (the unit of the report's progress)."""
        return sum(len(table.rows) for table in self.tables())
