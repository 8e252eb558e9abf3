"""The documents' files as kept: whether each finished document's file is still in the
reports storage with the SHA-256 its row says (ops/restore's proof, and a check any
time a folder or bucket is in doubt)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from reports.models import Report

_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class DocumentProblem:
    """A finished document whose file is missing (``actual_sha256`` None) or differs."""

    report_id: int
    file: str
    expected_sha256: str
    actual_sha256: str | None

    def __str__(self) -> str:
        if self.actual_sha256 is None:
            return f"report {self.report_id}: file {self.file or '(none)'} is missing"
        return (
            f"report {self.report_id}: file {self.file} has sha256 {self.actual_sha256}, "
            f"its row says {self.expected_sha256}"
        )


def _file_sha256(report: Report) -> str | None:
    storage = report.file.storage
    if not report.file.name or not storage.exists(report.file.name):
        return None
    digest = hashlib.sha256()
    with storage.open(report.file.name, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def documents_differing() -> Iterator[tuple[Report, DocumentProblem | None]]:
    """Every finished (``done``) document in id order, read back from the reports storage,
    with its problem: None when its file is there and its SHA-256 is the row's."""
    done = Report.objects.filter(status=Report.Status.DONE).order_by("id")
    for report in done.iterator(chunk_size=500):
        actual = _file_sha256(report)
        problem = (
            None
            if actual == report.sha256
            else DocumentProblem(
                report_id=report.pk, file=report.file.name or "", expected_sha256=report.sha256, actual_sha256=actual
            )
        )
        yield report, problem
