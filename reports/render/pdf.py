"""pdf renderer (to be built)."""

from __future__ import annotations

from reports.document import Document, Progress


def render_pdf(document: Document, progress: Progress) -> bytes:
    raise NotImplementedError("pdf")
