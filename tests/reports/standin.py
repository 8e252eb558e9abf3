"""A stand-in document kind for the tests of the reports' machinery (and the worker
drills): a small document listing what it was asked for. Each real kind's content is
tested in its own file."""

from __future__ import annotations

from typing import Any

from reports.document import Column, Document, DocumentMeta, Fact, Facts, Table
from reports.kinds import ReportParams, ReportRefused


class StandIn:
    calls: list[ReportParams] = []
    fail_with: Exception | None = None

    @classmethod
    def check(cls, params: ReportParams) -> None:
        if params.period is not None and params.period.code == "2099-01":
            raise ReportRefused("That month has not been closed.", field="period")

    @classmethod
    def build(cls, params: ReportParams, meta: DocumentMeta, progress: Any) -> Document:
        cls.calls.append(params)
        if cls.fail_with is not None:
            raise cls.fail_with
        rows = [(f"row {n}", n * 1000) for n in range(1, 4)]
        progress(3, 3)
        return Document(
            kind=params.kind,
            title="Dokumen uji",
            period_label=params.period.label(params.language) if params.period else "",
            meta=meta,
            blocks=(
                Facts("Ringkasan", (Fact("Nomor", meta.number), Fact("Kode", meta.verify_code))),
                Table("Daftar", (Column("Baris"), Column("Jumlah", "rupiah")), rows, totals=("Jumlah", 6000)),
            ),
            slug="uji",
        )
