"""Renderers: a :class:`reports.document.Document` to the bytes of a file. Pure (no
Django): reportlab for PDF, openpyxl for XLSX, the csv module for CSV."""

from __future__ import annotations

from reports.document import Document, Progress, no_progress

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def render(document: Document, format: str, progress: Progress = no_progress) -> bytes:
    """The document as a ``format`` (``pdf``, ``csv`` or ``xlsx``) file's bytes,
    calling ``progress(rows done, rows in all)`` as it writes table rows."""
    if format == "pdf":
        from reports.render.pdf import render_pdf

        return render_pdf(document, progress)
    if format == "xlsx":
        from reports.render.xlsx import render_xlsx

        return render_xlsx(document, progress)
    if format == "csv":
        from reports.render.csv import render_csv

        return render_csv(document, progress)
    raise ValueError(f"unknown format {format!r}")
