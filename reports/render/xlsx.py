"""xlsx renderer (to be built)."""

from __future__ import annotations

from reports.document import Document, Progress


def render_xlsx(document: Document, progress: Progress) -> bytes:
    raise NotImplementedError("xlsx")
