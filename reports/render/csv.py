"""CSV: UTF-8 with a byte-order mark (Excel opens it as UTF-8), comma-separated.

First the document's meta as ``key,value`` lines (``#`` before each key), then every
block in order: its title on a line, then (a table) the header, the rows with raw
values (rupiah as whole numbers, dates ISO, percents as decimals) and the totals row;
(facts) ``label,value`` lines; (a chart) the categories with one column per series; a
blank line between blocks. A bank's system reads the loan list as the section whose
title it knows.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from reports.document import Cell, Chart, Document, Facts, Paragraph, Progress, Table


def _raw(value: Cell) -> str | int:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return value
    return str(value)


def render_csv(document: Document, progress: Progress) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    meta = document.meta
    for key, value in (
        ("programme", meta.programme),
        ("title", document.title),
        ("period", document.period_label),
        ("number", meta.number),
        ("issuer", meta.issuer),
        ("made_at", meta.made_at.isoformat()),
        ("verify_url", meta.verify_url),
    ):
        writer.writerow([f"# {key}", value])
    total = document.row_count()
    done = 0
    for block in document.blocks:
        writer.writerow([])
        if isinstance(block, Table):
            writer.writerow([block.title])
            writer.writerow([column.label for column in block.columns])
            for start in range(0, len(block.rows), 5000):
                chunk = block.rows[start : start + 5000]
                # The csv module writes None as blank and dates, ints and Decimals as str()
                # does (ISO dates, plain digits): the same as _raw, at C speed.
                writer.writerows(chunk)
                done += len(chunk)
                progress(done, total)
            if block.totals is not None:
                writer.writerow([_raw(value) for value in block.totals])
        elif isinstance(block, Facts):
            writer.writerow([block.title])
            writer.writerows([[fact.label, _raw(fact.value)] for fact in block.items])
        elif isinstance(block, Chart):
            writer.writerow([block.title])
            writer.writerow(["", *(series.name for series in block.series)])
            for index, category in enumerate(block.categories):
                writer.writerow([category, *(_raw(series.values[index]) for series in block.series)])
        elif isinstance(block, Paragraph):
            writer.writerow([block.text])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
