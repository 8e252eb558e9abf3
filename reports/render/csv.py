"""csv renderer (to be built)."""

from __future__ import annotations

from reports.document import Document, Progress


def render_csv(document: Document, progress: Progress) -> bytes:
    raise NotImplementedError("csv")
