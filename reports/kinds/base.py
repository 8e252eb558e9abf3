"""What a kind's builder is given, and how it refuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from config.errors import ApplicationError
from reports.periods import Period


@dataclass(frozen=True)
class ReportParams:
    """A report's parameters, checked: ids rather than objects (the builder re-reads)."""

    kind: str
    format: str = "pdf"
    language: str = "id"
    bank_id: int | None = None
    period: Period | None = None
    loan_id: int | None = None
    repayment_id: int | None = None
    as_of: date | None = None


class ReportRefused(ApplicationError):
    """This document cannot be made with these parameters: a 400 whose ``errors`` name
    ``field`` (e.g. ``loan``: "the loan is not paid off")."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, errors={field: [message]})
