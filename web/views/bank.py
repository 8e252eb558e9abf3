"""The bank staff's pages, scoped to their own bank (another bank's application, loan or
report is not found): the queue of applications waiting for the bank with the batch
disbursement, an application's checks, history and next step, the loans by class and
days late, a loan's schedule and repayments (post, reverse, ask for a deferral), the
deferral requests to decide, and the bank's monthly reports.

Each form calls the same service as the API; a refusal is shown beside the form's fields.
Where a second person must act (maker-checker), the page asks the service's own rule
and says so instead of offering the button."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from banks.models import Bank
from config.clock import business_today
from config.errors import ApplicationError, IdempotencyMismatch, SecondPersonRequired, StateConflict
from config.roles import Role, bank_id_of
from loans import collectibility
from loans.models import Application, Deferral, Loan, Repayment
from loans.presenters import render_check, stage_times
from loans.selectors.applications import application_visible, loan_installments, loan_visible
from loans.selectors.bank_queues import (
    application_events,
    bank_application_queue,
    bank_deferral_requests,
    bank_loan_book,
    bank_loan_class_counts,
    loan_deferrals,
)
from loans.selectors.servicing import loan_arrears, loan_repayments
from loans.services import applications as workflow
from loans.services import deferrals as deferral_services
from loans.services.repayments import RepaymentRequest, repayment_post, repayment_reverse, repayment_reverse_refusal
from reports.models import Report
from reports.render import CONTENT_TYPES
from reports.selectors.reports import report_list, report_visible
from reports.services.reports import ReportRequest, report_request
from web.access import PageRequest, page_for
from web.forms import add_refusal

State = Application.State
#: Rows per page of the lists.
PAGE_SIZE = 25
#: The refusals a page shows beside its form (a permission failure other than
#: maker-checker stays a 403).
Refusal = ApplicationError | StateConflict | IdempotencyMismatch | SecondPersonRequired


def _refuse(form: forms.Form, error: Refusal) -> None:
    """Put a service's refusal on ``form``: beside the fields it names, else on top."""
    if isinstance(error, ApplicationError):
        add_refusal(form, error)
    else:
        form.add_error(None, error.message)


def _page(request: PageRequest, items: Any) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- the queue ---------------------------------------------------------------------------


class BatchDisburseForm(forms.Form):
    applications = forms.TypedMultipleChoiceField(
        label=_("Applications to disburse"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    disbursed_on = forms.DateField(label=_("Disbursement date"), widget=_date_input())

    def __init__(self, *args: Any, approved: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["applications"].choices = [(pk, str(pk)) for pk in approved]  # type: ignore[attr-defined]


@page_for(Role.BANK_STAFF)
@require_http_methods(["GET", "POST"])
def queue(request: PageRequest) -> HttpResponse:
    """The bank's applications waiting for it (forwarded, credit checked, approved), the
    longest waiting first, with the approved ones to disburse in one batch."""
    waiting = bank_application_queue(user=request.user)
    approved = list(waiting.filter(state=State.APPROVED).values_list("pk", flat=True))
    form = BatchDisburseForm(request.POST or None, approved=approved, initial={"disbursed_on": business_today()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            items = [
                workflow.Disbursement(pk, form.cleaned_data["disbursed_on"]) for pk in form.cleaned_data["applications"]
            ]
            try:
                workflow.applications_disburse(actor=request.user, disbursements=items)
            except (ApplicationError, StateConflict) as error:
                _refuse(form, error)
            else:
                messages.success(
                    request, gettext("%(count)d applications disbursed; their loans are open.") % {"count": len(items)}
                )
                return redirect("web:bank-queue")
        status = 400
    page = _page(request, waiting)
    return render(
        request,
        "web/bank/queue.html",
        {"page": page, "form": form, "approved": set(approved), "now": timezone.now()},
        status=status,
    )


# --- one application ---------------------------------------------------------------------


class CreditCheckForm(forms.Form):
    result = forms.ChoiceField(label=_("Credit bureau (SLIK) result"), choices=Application.CreditResult.choices)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed when arrears were found: describe them."),
    )


class ApproveForm(forms.Form):
    contract_number = forms.CharField(label=_("Contract number"), max_length=64)
    principal = forms.IntegerField(
        label=_("Approved amount (rupiah)"),
        min_value=1,
        required=False,
        help_text=_("Leave empty to approve the amount asked for; the bank may approve less."),
    )
    tenor_months = forms.IntegerField(
        label=_("Tenor (months)"), min_value=1, max_value=120, required=False, help_text=_("Leave empty to keep it.")
    )
    collateral = forms.TypedChoiceField(
        label=_("Collateral"),
        choices=[("", _("As asked")), ("yes", _("With collateral")), ("no", _("Without collateral"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )


class DisburseForm(forms.Form):
    disbursed_on = forms.DateField(label=_("Disbursement date"), widget=_date_input())


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


#: The steps the bank takes in each state: the form and the service it calls.
APPLICATION_ACTIONS: dict[str, tuple[str, ...]] = {
    State.FORWARDED: ("credit_check", "reject"),
    State.CREDIT_CHECKED: ("approve", "reject"),
    State.APPROVED: ("disburse", "reject"),
}


def _application_forms(application: Application, data: Any = None, action: str = "") -> dict[str, forms.Form]:
    def bound(name: str) -> Any:
        return data if name == action else None

    return {
        "credit_check": CreditCheckForm(bound("credit_check"), prefix="credit_check"),
        "approve": ApproveForm(bound("approve"), prefix="approve"),
        "disburse": DisburseForm(bound("disburse"), prefix="disburse", initial={"disbursed_on": business_today()}),
        "reject": RejectForm(bound("reject"), prefix="reject"),
    }


def _take_step(request: PageRequest, application: Application, action: str, form: forms.Form) -> None:
    data = form.cleaned_data
    pk = application.pk
    if action == "credit_check":
        workflow.application_credit_check(
            actor=request.user, application_id=pk, result=data["result"], notes=data["notes"]
        )
        messages.success(request, gettext("Credit check recorded."))
    elif action == "approve":
        workflow.application_approve(
            actor=request.user,
            application_id=pk,
            contract_number=data["contract_number"],
            principal=data["principal"],
            tenor_months=data["tenor_months"],
            collateral=data["collateral"],
        )
        messages.success(request, gettext("Application approved."))
    elif action == "disburse":
        workflow.application_disburse(actor=request.user, application_id=pk, disbursed_on=data["disbursed_on"])
        messages.success(request, gettext("Disbursed: the loan is open."))
    else:
        workflow.application_reject(actor=request.user, application_id=pk, reason=data["reason"])
        messages.success(request, gettext("Application rejected."))


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else ""


@page_for(Role.BANK_STAFF)
@require_http_methods(["GET", "POST"])
def application_page(request: PageRequest, application_id: int) -> HttpResponse:
    """An application: its checks, stages and history, and the bank's next step for its
    state (credit check, approval, disbursement, rejection)."""
    application = get_object_or_404(application_visible(user=request.user), pk=application_id)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms_by_action = _application_forms(application, request.POST if action else None, action)
    status = 200
    if request.method == "POST":
        form = forms_by_action.get(action)
        if form is None:
            return HttpResponseBadRequest()
        if form.is_valid():
            try:
                _take_step(request, application, action, form)
            except StateConflict as error:
                messages.error(request, error.message)
                return redirect("web:bank-application", application_id=application.pk)
            except (ApplicationError, SecondPersonRequired) as error:
                _refuse(form, error)
            else:
                return redirect("web:bank-application", application_id=application.pk)
        status = 400
        application.refresh_from_db()
    events = application_events(application=application)
    now = timezone.now()
    context = {
        "application": application,
        "checks": [render_check(check) for check in application.checks],
        "stages": [
            {**stage, "label": _state_label(stage["state"]) or stage["state"]}
            for stage in stage_times(application, events, now)
        ],
        "events": [{"event": event, "label": _state_label(event.to_state) or event.action} for event in events],
        "actions": APPLICATION_ACTIONS.get(application.state, ()),
        "forms": forms_by_action,
        "approve_refusal": workflow.application_approve_refusal(application=application, actor=request.user),
        "now": now,
    }
    return render(request, "web/bank/application.html", context, status=status)


# --- loans ---------------------------------------------------------------------------------

#: The "days late" filter: at least this many days past due.
LATE_CHOICES = [
    ("", _("Any")),
    ("1", _("Late (1 day or more)")),
    ("31", _("More than 30 days")),
    ("91", _("More than 90 days")),
    ("181", _("More than 180 days")),
]


class LoanFilterForm(forms.Form):
    grade = forms.TypedChoiceField(
        label=_("Collectibility"),
        choices=[("", _("All classes")), *((grade, f"{grade} {name}") for grade, name in collectibility.NAMES.items())],
        coerce=int,
        empty_value=None,
        required=False,
    )
    late = forms.TypedChoiceField(
        label=_("Days late"), choices=LATE_CHOICES, coerce=int, empty_value=None, required=False
    )
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *Loan.Status.choices], required=False)


@page_for(Role.BANK_STAFF)
def loans(request: PageRequest) -> HttpResponse:
    """The bank's loans by collectibility class and days late (as of the last nightly
    close), with the count in each class, filtered and paginated."""
    form = LoanFilterForm(request.GET or None)
    chosen: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    grade, late, status = chosen.get("grade"), chosen.get("late"), chosen.get("status") or None
    page = _page(request, bank_loan_book(user=request.user, collectibility=grade, min_days_late=late, status=status))
    counts = bank_loan_class_counts(user=request.user, min_days_late=late, status=status)
    query = request.GET.copy()
    query.pop("page", None)
    classes = [
        {"grade": number, "name": name, "loans": counts[number], "chosen": number == grade}
        for number, name in collectibility.NAMES.items()
    ]
    context = {"form": form, "page": page, "classes": classes, "query": query.urlencode()}
    return render(request, "web/bank/loans.html", context)


class RepaymentForm(forms.Form):
    amount = forms.IntegerField(label=_("Amount (rupiah)"), min_value=1)
    paid_on = forms.DateField(label=_("Paid on"), widget=_date_input())
    channel = forms.ChoiceField(label=_("Channel"), choices=Repayment.Channel.choices)
    reference = forms.CharField(
        label=_("Bank reference"), max_length=64, help_text=_("Your bank's own reference; unique for the bank.")
    )
    #: One key per form shown: a second click or a resent form books nothing twice.
    idempotency_key = forms.CharField(max_length=128, widget=forms.HiddenInput)


class ReverseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reversal"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeferralRequestForm(forms.Form):
    months = forms.IntegerField(
        label=_("Months to defer"), min_value=deferral_services.MIN_MONTHS, max_value=deferral_services.MAX_MONTHS
    )
    mode = forms.ChoiceField(label=_("What is deferred"), choices=Deferral.Mode.choices)
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    extension_of = forms.TypedChoiceField(
        label=_("Extension of"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Only to extend an approved deferral, once."),
    )

    def __init__(self, *args: Any, approved: list[Deferral], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["extension_of"].choices = [  # type: ignore[attr-defined]
            ("", _("A first deferral")),
            *((deferral.pk, gettext("Deferral %(id)s") % {"id": deferral.pk}) for deferral in approved),
        ]


def _loan_action(request: PageRequest, loan: Loan, action: str, form: forms.Form, repayment_id: int | None) -> None:
    data = form.cleaned_data
    if action == "repayment":
        repayment, replayed = repayment_post(
            actor=request.user,
            loan_id=loan.pk,
            request=RepaymentRequest(
                amount=data["amount"],
                paid_on=data["paid_on"],
                channel=data["channel"],
                reference=data["reference"].strip(),
                idempotency_key=data["idempotency_key"].strip(),
            ),
        )
        if replayed:
            messages.success(
                request,
                gettext("This repayment was booked already (%(reference)s).") % {"reference": repayment.reference},
            )
        else:
            messages.success(request, gettext("Repayment %(reference)s booked.") % {"reference": repayment.reference})
    elif action == "reverse":
        repayment = repayment_reverse(actor=request.user, repayment_id=repayment_id or 0, reason=data["reason"])
        messages.success(request, gettext("Repayment %(reference)s reversed.") % {"reference": repayment.reference})
    else:
        deferral_services.deferral_request(
            actor=request.user,
            loan_id=loan.pk,
            months=data["months"],
            mode=data["mode"],
            reason=data["reason"],
            extension_of_id=data["extension_of"],
        )
        messages.success(request, gettext("Deferral requested; the city office decides."))


@page_for(Role.BANK_STAFF)
@require_http_methods(["GET", "POST"])
def loan_page(request: PageRequest, loan_id: int) -> HttpResponse:
    """A loan: its arrears today, schedule, repayments and deferrals; post a repayment,
    reverse one (a second person), ask for a deferral."""
    loan = get_object_or_404(loan_visible(user=request.user), pk=loan_id)
    repayments = list(loan_repayments(loan=loan))
    deferrals = list(loan_deferrals(loan=loan))
    approved = [d for d in deferrals if d.state == Deferral.State.APPROVED and d.extension_of_id is None]
    action = request.POST.get("action", "") if request.method == "POST" else ""
    post = request.POST if request.method == "POST" else None
    repayment_form = RepaymentForm(
        post if action == "repayment" else None,
        prefix="repayment",
        initial={"paid_on": business_today(), "idempotency_key": uuid.uuid4().hex},
    )
    deferral_form = DeferralRequestForm(post if action == "deferral" else None, prefix="deferral", approved=approved)
    reverse_forms: dict[int, ReverseForm] = {}
    status = 200
    if request.method == "POST":
        form: forms.Form | None = {"repayment": repayment_form, "deferral": deferral_form}.get(action)
        target = next((r for r in repayments if str(r.pk) == request.POST.get("repayment")), None)
        if action == "reverse" and target is not None:
            form = reverse_forms[target.pk] = ReverseForm(post, prefix=f"reverse-{target.pk}")
        if form is None:
            return HttpResponseBadRequest()
        if form.is_valid():
            try:
                _loan_action(request, loan, action, form, target.pk if target else None)
            except (ApplicationError, StateConflict, IdempotencyMismatch, SecondPersonRequired) as error:
                _refuse(form, error)
            else:
                return redirect("web:bank-loan", loan_id=loan.pk)
        status = 400
    rows = []
    for repayment in repayments:
        refusal = repayment_reverse_refusal(repayment=repayment, actor=request.user)
        rows.append(
            {
                "repayment": repayment,
                "refusal": refusal,
                "form": reverse_forms.get(repayment.pk) or ReverseForm(prefix=f"reverse-{repayment.pk}"),
            }
        )
    installments = list(loan_installments(loan=loan)) if loan.schedule_status == Loan.ScheduleStatus.READY else []
    context = {
        "loan": loan,
        "arrears": loan_arrears(loan=loan, on=business_today()),
        "grade_name": collectibility.NAMES.get(loan.collectibility, ""),
        "installments": installments,
        "repayments": rows,
        "deferrals": deferrals,
        "repayment_form": repayment_form,
        "deferral_form": deferral_form,
        "is_open": loan.status in Loan.OPEN_STATUSES and loan.schedule_status == Loan.ScheduleStatus.READY,
    }
    return render(request, "web/bank/loan.html", context, status=status)


# --- deferrals -----------------------------------------------------------------------------


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed to reject."),
    )


@page_for(Role.BANK_STAFF)
@require_http_methods(["GET", "POST"])
def deferrals(request: PageRequest) -> HttpResponse:
    """The deferrals of the bank's loans, the requests waiting first; approve or reject
    those the city office asked for (the bank's own are decided by the city office)."""
    forms_by_id: dict[int, DecisionForm] = {}
    status = 200
    if request.method == "POST":
        deferral = get_object_or_404(bank_deferral_requests(user=request.user), pk=request.POST.get("deferral") or 0)
        decision = request.POST.get("decision")
        if decision not in {"approve", "reject"}:
            return HttpResponseBadRequest()
        form = forms_by_id[deferral.pk] = DecisionForm(request.POST, prefix=f"decide-{deferral.pk}")
        if form.is_valid():
            try:
                if decision == "approve":
                    deferral_services.deferral_approve(
                        actor=request.user, deferral_id=deferral.pk, note=form.cleaned_data["note"]
                    )
                    messages.success(request, gettext("Deferral approved: the loan has a new schedule."))
                else:
                    deferral_services.deferral_reject(
                        actor=request.user, deferral_id=deferral.pk, note=form.cleaned_data["note"]
                    )
                    messages.success(request, gettext("Deferral rejected."))
            except (ApplicationError, StateConflict, SecondPersonRequired) as error:
                _refuse(form, error)
            else:
                return redirect("web:bank-deferrals")
        status = 400
    page = _page(request, bank_deferral_requests(user=request.user))
    rows = [
        {
            "deferral": deferral,
            "refusal": deferral_services.deferral_decide_refusal(
                deferral=deferral, loan=deferral.loan, actor=request.user
            )
            if deferral.state == Deferral.State.REQUESTED
            else None,
            "form": forms_by_id.get(deferral.pk) or DecisionForm(prefix=f"decide-{deferral.pk}"),
        }
        for deferral in page
    ]
    return render(request, "web/bank/deferrals.html", {"page": page, "rows": rows}, status=status)


# --- reports -------------------------------------------------------------------------------


class ReportForm(forms.Form):
    period = forms.RegexField(
        label=_("Month"),
        regex=r"^\d{4}-\d{2}$",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"}),
        help_text=_("A closed month, e.g. 2026-10."),
        error_messages={"invalid": _("A month as YYYY-MM.")},
    )
    format = forms.ChoiceField(label=_("Format"), choices=Report.Format.choices, initial=Report.Format.PDF)


#: The kind of report a bank's staff ask for here.
BANK_REPORT_KIND = "bank_monthly"
#: The states of a report still being made (the list asks again every 2 seconds).
MAKING = (Report.Status.QUEUED, Report.Status.RUNNING)


@page_for(Role.BANK_STAFF)
@require_http_methods(["GET", "POST"])
def reports(request: PageRequest) -> HttpResponse:
    """Ask for the bank's monthly report (month, format) and the bank's monthly reports
    with their state and, when done, their download; htmx asks for the list again while
    one is being made."""
    bank = get_object_or_404(Bank, pk=bank_id_of(request.user) or 0)
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            language = "en" if (get_language() or "id").startswith("en") else "id"
            try:
                _report, created = report_request(
                    actor=request.user,
                    request=ReportRequest(
                        kind=BANK_REPORT_KIND,
                        format=form.cleaned_data["format"],
                        language=language,
                        bank=bank.code,
                        period=form.cleaned_data["period"],
                    ),
                )
            except ApplicationError as error:
                _refuse(form, error)
            else:
                if created:
                    messages.success(request, gettext("The report is being made; it appears below when ready."))
                else:
                    messages.success(request, gettext("This report was asked for already; it is below."))
                return redirect("web:bank-reports")
        status = 400
    page = _page(request, report_list(user=request.user, params={"kind": BANK_REPORT_KIND}))
    context = {
        "form": form,
        "page": page,
        "bank": bank,
        "making": any(report.status in MAKING for report in page),
    }
    template = "web/bank/reports_list.html" if request.htmx else "web/bank/reports.html"
    return render(request, template, context, status=status)


@page_for(Role.BANK_STAFF)
def report_download(request: PageRequest, report_id: int) -> HttpResponse:
    """A finished report's file, if the user's bank may see it (as the API checks)."""
    report = get_object_or_404(report_visible(user=request.user), pk=report_id)
    if report.status != Report.Status.DONE:
        raise Http404
    response = FileResponse(
        report.file.open("rb"), as_attachment=True, filename=report.file_name, content_type=CONTENT_TYPES[report.format]
    )
    response["Content-Length"] = str(report.size)
    response["X-Checksum-SHA256"] = report.sha256
    return response  # type: ignore[return-value]  # a streamed answer; page_for passes it through


urls: list[URLPattern] = [
    path("bank/", queue, name="bank-queue"),
    path("bank/applications/<int:application_id>/", application_page, name="bank-application"),
    path("bank/loans/", loans, name="bank-loans"),
    path("bank/loans/<int:loan_id>/", loan_page, name="bank-loan"),
    path("bank/deferrals/", deferrals, name="bank-deferrals"),
    path("bank/reports/", reports, name="bank-reports"),
    path("bank/reports/<int:report_id>/download/", report_download, name="bank-report-download"),
]
