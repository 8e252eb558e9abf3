"""The statement document (to be built: see reports/kinds/__init__.py for the contract)."""

from __future__ import annotations

from reports.document import Document, DocumentMeta, Progress
from reports.kinds.base import ReportParams


def build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document:
    raise NotImplementedError("statement")
