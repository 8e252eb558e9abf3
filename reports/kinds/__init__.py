"""The document kinds: what each needs and the module that builds it.

Each kind's module has

* ``check(params: ReportParams) -> None`` (optional): called when the report is asked
  for, before anything is queued; raises :class:`reports.kinds.base.ReportRefused`
  (a 400 naming the field, or 409) when this document cannot be made (a settlement
  letter for a loan not paid off, a month whose close has not run);
* ``build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document``:
  runs in the worker; reads the database (selectors) and returns the document as plain
  data (:mod:`reports.document`), calling ``progress(done, total)`` as it gathers rows.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from reports.kinds.base import ReportParams, ReportRefused

__all__ = ["KINDS", "KindSpec", "ReportParams", "ReportRefused", "kind_module"]


@dataclass(frozen=True)
class KindSpec:
    code: str
    #: Request fields this kind needs, of ``bank``, ``period``, ``loan``, ``repayment``.
    required: tuple[str, ...]
    #: Request fields it may take besides (``as_of`` is optional where present).
    optional: tuple[str, ...] = ()
    #: Period kinds it takes (``month``, ``quarter``, ``year``) when it takes a period.
    periods: tuple[str, ...] = ()
    module: str = ""
    #: Short code in the document number (WBW/<prefix>/<year>/<id>).
    prefix: str = ""


KINDS: dict[str, KindSpec] = {
    spec.code: spec
    for spec in (
        KindSpec("bank_monthly", ("bank", "period"), (), ("month",), "reports.kinds.bank_monthly", "BM"),
        KindSpec("city_books", ("period",), ("bank",), ("month", "quarter", "year"), "reports.kinds.city_books", "PK"),
        KindSpec("borrower_statement", ("loan",), ("as_of",), (), "reports.kinds.statement", "KA"),
        KindSpec("receipt", ("repayment",), (), (), "reports.kinds.receipt", "KW"),
        KindSpec("settlement_letter", ("loan",), (), (), "reports.kinds.settlement", "SKL"),
        KindSpec("programme", ("period",), (), ("month", "quarter", "year"), "reports.kinds.programme", "LP"),
    )
}


def kind_module(code: str) -> ModuleType:
    return importlib.import_module(KINDS[code].module)
