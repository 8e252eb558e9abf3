"""The borrower's own pages (phone first): their loan with the next installment, what
is late and what to pay to be current, the pay-off amount today, the schedule, the
repayments with their receipts, the documents to download, and where each of their
applications stands.

Loans, applications and documents are read through the API's scoped selectors
(``loan_visible``, ``application_visible``, ``report_visible``): another borrower's loan
or document is not found (404). Documents are asked for through ``report_request``, as
``POST /api/v1/reports/`` does, and made by a worker; the document's page follows it
(htmx, every 2 seconds) until it can be downloaded."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from config.clock import business_today
from config.errors import ApplicationError, ItemsNotFound
from config.roles import Role
from loans.models import Loan
from loans.selectors.applications import application_visible, loan_visible
from loans.selectors.borrower_page import LoanPage, application_standings, loan_page
from reports.models import Report
from reports.render import CONTENT_TYPES
from reports.selectors.reports import report_visible
from reports.services.reports import PAPERS, ReportRequest, report_request
from web.access import PageRequest, page_for
from web.forms import add_refusal

#: Report statuses of a document that is, or will be, ready to download.
LIVE = (Report.Status.QUEUED, Report.Status.RUNNING, Report.Status.DONE)


def _papers(user: Any, loans: list[Loan]) -> list[Report]:
    """The papers of ``loans`` the user may see (one query), newest first."""
    if not loans:
        return []
    return list(
        report_visible(user=user)
        .filter(loan__in=[loan.pk for loan in loans], kind__in=sorted(PAPERS), status__in=LIVE)
        .order_by("-created_at", "-id")
    )


def _documents(loan: Loan, papers: list[Report], today: Any) -> dict[str, Any]:
    """The loan's latest statement of today, its settlement letter and a receipt per
    repayment, preferring a finished one over one still being made."""

    def better(current: Report | None, candidate: Report) -> bool:
        return current is None or (current.status != Report.Status.DONE and candidate.status == Report.Status.DONE)

    statement: Report | None = None
    settlement: Report | None = None
    receipts: dict[int, Report] = {}
    for report in papers:
        if report.loan_id != loan.pk:
            continue
        if report.kind == Report.Kind.BORROWER_STATEMENT and report.as_of == today and better(statement, report):
            statement = report
        elif report.kind == Report.Kind.SETTLEMENT_LETTER and better(settlement, report):
            settlement = report
        elif (
            report.kind == Report.Kind.RECEIPT
            and report.repayment_id is not None
            and better(receipts.get(report.repayment_id), report)
        ):
            receipts[report.repayment_id] = report
    return {"statement": statement, "settlement": settlement, "receipts": receipts}


def _loan_context(page: LoanPage, papers: list[Report]) -> dict[str, Any]:
    documents = _documents(page.loan, papers, page.on)
    receipts = documents["receipts"]
    return {
        "page": page,
        "loan": page.loan,
        "documents": documents,
        "repayments": [{"repayment": r, "receipt": receipts.get(r.pk)} for r in page.repayments],
    }


@require_GET
@page_for(Role.BORROWER)
def home(request: PageRequest) -> HttpResponse:
    """The borrower's loans (the open one in full first, closed ones below) and their
    applications with where each stands and since when."""
    today = business_today()
    loans = list(loan_visible(user=request.user).order_by("-disbursed_on", "-id"))
    open_loans = [loan for loan in loans if loan.status in Loan.OPEN_STATUSES]
    closed_loans = [loan for loan in loans if loan.status not in Loan.OPEN_STATUSES]
    papers = _papers(request.user, loans)
    applications = list(application_visible(user=request.user).order_by("-created_at", "-id"))
    context = {
        "today": today,
        "open_loans": [_loan_context(loan_page(loan=loan, on=today), papers) for loan in open_loans],
        "closed_loans": [
            {"loan": loan, "settlement": _documents(loan, papers, today)["settlement"]} for loan in closed_loans
        ],
        "standings": application_standings(applications=applications, now=timezone.now()),
    }
    return render(request, "web/borrower/home.html", context)


def _render_loan(
    request: PageRequest, loan: Loan, *, refusal: forms.Form | None = None, status: int = 200
) -> HttpResponse:
    today = business_today()
    context = _loan_context(loan_page(loan=loan, on=today), _papers(request.user, [loan]))
    context.update({"today": today, "refusal": refusal})
    return render(request, "web/borrower/loan.html", context, status=status)


@require_GET
@page_for(Role.BORROWER)
def loan_detail(request: PageRequest, loan_id: int) -> HttpResponse:
    """One of the borrower's loans in full (a paid-off one too)."""
    loan = get_object_or_404(loan_visible(user=request.user), pk=loan_id)
    return _render_loan(request, loan)


class DocumentForm(forms.Form):
    """What the document buttons send: the kind and the loan or repayment it is of."""

    kind = forms.ChoiceField(choices=[(kind, kind) for kind in sorted(PAPERS)])
    loan = forms.IntegerField(min_value=1, required=False)
    repayment = forms.IntegerField(min_value=1, required=False)


@require_POST
@page_for(Role.BORROWER)
def document_request(request: PageRequest) -> HttpResponse:
    """Ask for a statement, receipt or settlement letter (``report_request``, as the API
    does) and go to its page; a loan or repayment not the borrower's is 404, a refusal
    (a settlement letter of a loan not paid off) is shown on the loan's page."""
    form = DocumentForm(request.POST)
    if not form.is_valid():
        raise Http404
    data = form.cleaned_data
    language = "en" if (get_language() or "id").startswith("en") else "id"
    try:
        report, _created = report_request(
            actor=request.user,
            request=ReportRequest(kind=data["kind"], language=language, loan=data["loan"], repayment=data["repayment"]),
        )
    except ItemsNotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        loan = loan_visible(user=request.user).filter(pk=data["loan"] or 0).first()
        if loan is None:
            raise Http404 from exc
        add_refusal(form, exc)
        return _render_loan(request, loan, refusal=form, status=400)
    return redirect("web:borrower-document", report_id=report.pk)


def _paper_or_404(request: PageRequest, report_id: int) -> Report:
    return get_object_or_404(report_visible(user=request.user).filter(kind__in=sorted(PAPERS)), pk=report_id)


@require_GET
@page_for(Role.BORROWER)
def document(request: PageRequest, report_id: int) -> HttpResponse:
    """A document asked for: "being prepared" while a worker makes it (htmx asks for the
    status fragment every 2 seconds), then the download button."""
    report = _paper_or_404(request, report_id)
    template = "web/borrower/document_status.html" if request.htmx else "web/borrower/document.html"
    return render(request, template, {"report": report})


@require_GET
@page_for(Role.BORROWER)
def document_download(request: PageRequest, report_id: int) -> HttpResponse:
    """The document's file (its page while it is not ready)."""
    report = _paper_or_404(request, report_id)
    if report.status != Report.Status.DONE:
        return redirect("web:borrower-document", report_id=report.pk)
    response = FileResponse(
        report.file.open("rb"), as_attachment=True, filename=report.file_name, content_type=CONTENT_TYPES[report.format]
    )
    response["Content-Length"] = str(report.size)
    return cast(HttpResponse, response)  # a streamed file; page_for types views as HttpResponse


urls: list[URLPattern] = [
    path("me/", home, name="borrower-home"),
    path("me/loans/<int:loan_id>/", loan_detail, name="borrower-loan"),
    path("me/documents/", document_request, name="borrower-document-request"),
    path("me/documents/<int:report_id>/", document, name="borrower-document"),
    path("me/documents/<int:report_id>/download/", document_download, name="borrower-document-download"),
]
