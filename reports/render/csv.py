"""CSV renderer (placeholder until the render branch lands)."""

from __future__ import annotations

import csv
import io

from reports.document import Document, Progress, Table


def render_csv(document: Document, progress: Progress) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for block in document.tables():
        writer.writerow([block.title])
        writer.writerow([c.label for c in block.columns])
        writer.writerows([[("" if v is None else v) for v in row] for row in block.rows])
    _ = Table
    return out.getvalue().encode("utf-8-sig")
