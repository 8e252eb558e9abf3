"""Charts drawn on the server as SVG: a list of ``(label, value)`` in, one accessible
``<svg role="img">`` out (its ``<title>`` and ``<desc>`` named by ``aria-labelledby``,
each bar or point with its own ``<title>``), no script and nothing fetched. Pure
Python: the page puts the data table beside the chart for screen readers and for
exact figures.

Values are whole numbers or Decimals; the axis starts at 0 and ends at a round number
at or above the largest value. Colours come from the stylesheet (classes ``bar``,
``line``, ``grid``, ``axis``), with a fallback fill that meets AA contrast on white.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

Number = int | Decimal
Format = Callable[[Number], str]

BRAND = "#0b5394"
GRID = "#cfd6de"
INK = "#1b1f24"
FONT = 11


@dataclass(frozen=True)
class Chart:
    """A chart ready for the page: ``svg`` (markup, already escaped) and the ``points``
    it draws (for the data table beside it)."""

    chart_id: str
    title: str
    svg: str
    points: tuple[tuple[str, Number], ...]


def nice_ceiling(value: Number) -> Number:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (1 for 0 or less), so
    the axis ends on a round figure."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(float(value)))
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = step * Decimal(10) ** exponent
        if candidate >= value:
            return int(candidate) if candidate == candidate.to_integral_value() else candidate
    return value  # unreachable: 10 x 10^n is always enough


def _number(value: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart-svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" font-size="{FONT}" font-family="inherit">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
    ]


def _titled(label: str, value: Number, value_format: Format) -> str:
    return f"<title>{escape(label)}: {escape(value_format(value))}</title>"


def _baseline(left: float, right: float, y: float) -> str:
    return (
        f'<line class="axis-line" x1="{_number(left)}" x2="{_number(right)}" '
        f'y1="{_number(y)}" y2="{_number(y)}" stroke="{INK}"/>'
    )


def _describe(points: Sequence[tuple[str, Number]], value_format: Format) -> str:
    return "; ".join(f"{label}: {value_format(value)}" for label, value in points)


def _value_axis(
    top: Number, left: float, right: float, y_of: Callable[[Number], float], axis_format: Format
) -> list[str]:
    """Grid lines and labels at 0, half and the top of the value axis."""
    parts = []
    for fraction in (Decimal(0), Decimal("0.5"), Decimal(1)):
        exact = top * fraction
        tick: Number = int(exact) if exact == int(exact) else exact
        y = _number(y_of(tick))
        parts.append(
            f'<line class="grid" x1="{_number(left)}" x2="{_number(right)}" y1="{y}" y2="{y}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<text class="axis" x="{_number(left - 4)}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{INK}">{escape(axis_format(tick))}</text>'
        )
    return parts


class _Frame:
    """What a chart of one slot per point with a value axis on the left (columns, a line)
    starts from: its margins, the axis up to a round top, and where a value stands."""

    def __init__(
        self,
        chart_id: str,
        title: str,
        points: Sequence[tuple[str, Number]],
        value_format: Format,
        axis_format: Format,
        width: int,
        height: int,
    ) -> None:
        self.left, self.right, self.top_margin, self.bottom = 64.0, float(width - 8), 10.0, float(height - 24)
        self.top = nice_ceiling(max((value for _, value in points), default=0))
        self.slot = (self.right - self.left) / max(len(points), 1)
        self.parts = _open(chart_id, title, _describe(points, value_format), width, height)
        self.parts += _value_axis(self.top, self.left, self.right, self.y_of, axis_format)

    def y_of(self, value: Number) -> float:
        return self.bottom - (self.bottom - self.top_margin) * float(value) / float(self.top)

    def chart(self, chart_id: str, title: str, points: Sequence[tuple[str, Number]]) -> Chart:
        """The chart drawn so far, with its baseline."""
        svg = "".join([*self.parts, _baseline(self.left, self.right, self.bottom), "</svg>"])
        return Chart(chart_id=chart_id, title=title, svg=svg, points=tuple(points))


def _label_below(x: float, bottom: float, label: str) -> str:
    """A point's label under the chart, centred on ``x``."""
    return (
        f'<text class="axis" x="{_number(x)}" y="{_number(bottom + 14)}" text-anchor="middle" '
        f'fill="{INK}">{escape(label)}</text>'
    )


def column_chart(
    *,
    chart_id: str,
    title: str,
    points: Sequence[tuple[str, Number]],
    value_format: Format = str,
    axis_format: Format | None = None,
    width: int = 360,
    height: int = 220,
) -> Chart:
    """Vertical bars, one per point, labelled below (months, say). ``value_format``
    words a value in the bars' titles and the description; ``axis_format`` the axis
    (defaults to ``value_format``)."""
    frame = _Frame(chart_id, title, points, value_format, axis_format or value_format, width, height)
    bar = frame.slot * 0.7
    for index, (label, value) in enumerate(points):
        x = frame.left + frame.slot * index + (frame.slot - bar) / 2
        y = frame.y_of(value)
        frame.parts.append(
            f'<rect class="bar" x="{_number(x)}" y="{_number(y)}" width="{_number(bar)}" '
            f'height="{_number(frame.bottom - y)}" fill="{BRAND}">{_titled(label, value, value_format)}</rect>'
        )
        frame.parts.append(_label_below(x + bar / 2, frame.bottom, label))
    return frame.chart(chart_id, title, points)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    points: Sequence[tuple[str, Number]],
    value_format: Format = str,
    width: int = 360,
    label_width: int = 112,
    row_height: int = 22,
) -> Chart:
    """Horizontal bars, one row per point, the label on the left and the value at the
    bar's end (for long labels such as kecamatan names)."""
    top_margin = 4
    height = top_margin * 2 + row_height * max(len(points), 1)
    left, right = float(label_width), float(width - 8)
    largest = max((value for _, value in points), default=0)
    # Leave room at the right for the value written after the longest bar.
    span = (right - left) * 0.62

    parts = _open(chart_id, title, _describe(points, value_format), width, height)
    for index, (label, value) in enumerate(points):
        y = top_margin + row_height * index
        length = span * float(value) / float(largest) if largest > 0 else 0.0
        middle = _number(y + row_height / 2)
        parts.append(
            f'<text class="axis" x="{_number(left - 6)}" y="{middle}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{_number(left)}" y="{_number(y + 3)}" width="{_number(length)}" '
            f'height="{row_height - 6}" fill="{BRAND}">{_titled(label, value, value_format)}</rect>'
        )
        parts.append(
            f'<text class="axis" x="{_number(left + length + 4)}" y="{middle}" dominant-baseline="middle" '
            f'fill="{INK}">{escape(value_format(value))}</text>'
        )
    parts.append(
        f'<line class="axis-line" x1="{_number(left)}" x2="{_number(left)}" y1="0" y2="{height}" stroke="{INK}"/>'
    )
    parts.append("</svg>")
    return Chart(chart_id=chart_id, title=title, svg="".join(parts), points=tuple(points))


def line_chart(
    *,
    chart_id: str,
    title: str,
    points: Sequence[tuple[str, Number]],
    value_format: Format = str,
    axis_format: Format | None = None,
    width: int = 360,
    height: int = 220,
) -> Chart:
    """A line through one point per label (months, say), each point a circle with its
    own title."""
    frame = _Frame(chart_id, title, points, value_format, axis_format or value_format, width, height)
    slot = frame.slot
    coordinates = [(frame.left + slot * index + slot / 2, frame.y_of(value)) for index, (_, value) in enumerate(points)]
    if coordinates:
        path = " ".join(f"{_number(x)},{_number(y)}" for x, y in coordinates)
        frame.parts.append(f'<polyline class="line" points="{path}" fill="none" stroke="{BRAND}" stroke-width="2"/>')
    for (label, value), (x, y) in zip(points, coordinates, strict=True):
        frame.parts.append(
            f'<circle class="point" cx="{_number(x)}" cy="{_number(y)}" r="4" fill="{BRAND}">'
            f"{_titled(label, value, value_format)}</circle>"
        )
        frame.parts.append(_label_below(x, frame.bottom, label))
    return frame.chart(chart_id, title, points)


def short_rupiah(amount: Number, language: str = "id") -> str:
    """A rupiah amount for an axis: "Rp1,5 M" / "Rp350 jt" in Indonesian, "IDR 1.5 bn" /
    "IDR 350 m" in English (one decimal at most; small amounts in full)."""
    units = (
        (10**12, {"id": "T", "en": "tn"}),
        (10**9, {"id": "M", "en": "bn"}),
        (10**6, {"id": "jt", "en": "m"}),
        (10**3, {"id": "rb", "en": "k"}),
    )
    prefix = "IDR " if language == "en" else "Rp"
    for size, names in units:
        if abs(Decimal(amount)) >= size:
            scaled = (Decimal(amount) / size).quantize(Decimal("0.1"))
            text = f"{scaled.normalize():f}"
            if language != "en":
                text = text.replace(".", ",")
            return f"{prefix}{text} {names[language]}"
    return f"{prefix}{int(amount)}"
