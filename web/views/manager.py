"""Pages of the programme's managers: the dashboard, products and their terms, banks
and their allocations, the collectibility tables and the audit trail. The manager
changes what the services let the manager change; the auditor reads the same pages
without a form, and any POST of theirs is refused (403)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from audit.actors import actor_choices
from audit.selectors import audit_list
from banks.models import Allocation
from banks.selectors import bank_visible
from banks.services import FIRST_PROGRAMME_YEAR, LAST_PROGRAMME_YEAR, MAX_ALLOCATION, allocation_create
from config.clock import business_today
from config.errors import ApplicationError
from config.roles import Role, has_role
from loans.collectibility import Grade
from loans.models import Method, ProductTerms
from loans.selectors.dashboard import Dashboard, dashboard
from loans.selectors.portfolio import collectibility_tables
from loans.selectors.products import product_list, terms_in_force
from loans.services.collectibility import (
    BANK_KINDS,
    MAX_MIN_DAYS,
    MAX_NAME_LENGTH,
    collectibility_table_update,
)
from loans.services.products import product_create, product_terms_create
from reports.formats import MONTHS
from reports.selectors.city_books import allowance_table
from web import charts
from web.access import page_for
from web.forms import add_refusal
from web.templatetags.wibawa import persen, rupiah

READERS = (Role.MANAGER, Role.AUDITOR)


def _language() -> str:
    return "en" if (get_language() or "id").startswith("en") else "id"


def _may_change(request: HttpRequest) -> bool:
    """Whether the user may use the page's forms: the manager (the auditor only reads)."""
    return has_role(request.user, Role.MANAGER)


def _require_change(request: HttpRequest) -> None:
    if not _may_change(request):
        raise PermissionDenied


def _reads_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page with nothing to change: a POST is refused, 403 for the auditor (who
    changes nothing anywhere) and 405 for the manager."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            _require_change(request)
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return view(request, *args, **kwargs)

    return wrapped


# --- dashboard --------------------------------------------------------------------------


def _month_label(period_start: date, language: str) -> str:
    """ "Jun": a month for a chart's axis (the charts' twelve months never repeat a name;
    the page says which year each month is in)."""
    return MONTHS[language][period_start.month - 1][:3]


def dashboard_charts(figures: Dashboard, language: str) -> dict[str, charts.Chart]:
    """The dashboard's three charts from its figures (nothing computed here but layout)."""

    def short(amount: charts.Number) -> str:
        return charts.short_rupiah(amount, language)

    def money(amount: charts.Number) -> str:
        return rupiah(int(amount))

    def percent(value: charts.Number) -> str:
        return persen(value)

    months = [(_month_label(month.month.start, language), month) for month in figures.months]
    return {
        "disbursed": charts.column_chart(
            chart_id="chart-disbursed",
            title=gettext("Disbursed by month"),
            points=[(label, month.disbursed) for label, month in months],
            value_format=money,
            axis_format=short,
        ),
        "kecamatan": charts.bar_chart(
            chart_id="chart-kecamatan",
            title=gettext("Outstanding by kecamatan"),
            points=[
                (group.name or gettext("Unknown"), group.outstanding)
                for group in sorted(figures.by_kecamatan, key=lambda group: -group.outstanding)
            ],
            value_format=short,
        ),
        "npl": charts.line_chart(
            chart_id="chart-npl",
            title=gettext("NPL by month"),
            points=[(label, month.npl) for label, month in months],
            value_format=percent,
        ),
    }


@page_for(*READERS)
@_reads_only
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """The programme at a glance: outstanding, disbursed, PAR30 and NPL, each bank's
    fund, the applications waiting, and the charts with their data tables."""
    figures = dashboard(user=request.user, today=business_today())
    language = _language()
    drawn = {
        chart_name: {"chart": chart, "svg": mark_safe(chart.svg)}  # noqa: S308 - built escaped by web.charts
        for chart_name, chart in dashboard_charts(figures, language).items()
    }
    span = f"{figures.months[0].month.label(language)} - {figures.months[-1].month.label(language)}"
    context = {"figures": figures, "charts": drawn, "span": span}
    return render(request, "web/manager/dashboard.html", context)


# --- products ---------------------------------------------------------------------------


def _tenors(value: str) -> list[int]:
    try:
        tenors = [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
    except ValueError as exc:
        raise forms.ValidationError(_("Whole months separated by commas, such as 6, 12, 24.")) from exc
    if not tenors or any(not 1 <= tenor <= 120 for tenor in tenors):
        raise forms.ValidationError(_("Whole months from 1 to 120 separated by commas, such as 6, 12, 24."))
    return tenors


class TermsForm(forms.Form):
    """A new version of a product's terms: what a manager changes; the rest (rounding,
    region, business days) carries over from the version in force."""

    annual_rate = forms.DecimalField(
        label=_("Interest (percent a year)"), min_value=Decimal(0), max_value=Decimal(100), decimal_places=4
    )
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices)
    ceiling_without_collateral = forms.IntegerField(label=_("Ceiling without collateral (rupiah)"), min_value=1)
    ceiling_with_collateral = forms.IntegerField(label=_("Ceiling with collateral (rupiah)"), min_value=1)
    allowed_tenors = forms.CharField(label=_("Tenors (months)"), max_length=200, help_text=_("Such as 6, 12, 24."))
    grace_months = forms.IntegerField(label=_("Grace (months)"), min_value=0, max_value=60)
    min_age_years = forms.IntegerField(label=_("Minimum age (years)"), min_value=0, max_value=100)
    min_business_age_months = forms.IntegerField(
        label=_("Business running at least (months)"), min_value=0, max_value=1200
    )
    repeat_multiplier = forms.IntegerField(label=_("Repeat loan up to (times the last)"), min_value=1, max_value=100)
    valid_from = forms.DateField(
        label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_allowed_tenors(self) -> list[int]:
        return _tenors(self.cleaned_data["allowed_tenors"])


#: What a new version keeps from the version in force (the page does not offer them).
CARRIED_TERMS = ("rounding", "interest_rounding", "installment_rounding", "business_days", "region_code")


def _terms_initial(terms: ProductTerms | None) -> dict[str, Any]:
    if terms is None:
        return {}
    initial: dict[str, Any] = {name: getattr(terms, name) for name in TermsForm.base_fields if name != "valid_from"}
    initial["allowed_tenors"] = ", ".join(str(tenor) for tenor in terms.allowed_tenors)
    return initial


class ProductForm(forms.Form):
    """A new product: its code and name (its first terms in a :class:`TermsForm`)."""

    code = forms.RegexField(
        label=_("Code"),
        regex=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
        max_length=32,
        help_text=_("Capital letters, digits, '-' or '_', such as WIBAWA."),
    )
    name = forms.CharField(label=_("Name"), max_length=150)


#: The ``product`` a POST names when it creates a product rather than a version.
NEW_PRODUCT = "new"


def _split_refusal(product_form: ProductForm, terms_form: TermsForm, error: ApplicationError) -> None:
    """A refused product: the terms' messages (``terms.<field>``) beside the terms'
    fields, the rest beside the product's."""
    terms = {key.removeprefix("terms."): value for key, value in error.errors.items() if key.startswith("terms.")}
    rest = {key: value for key, value in error.errors.items() if not key.startswith("terms.")}
    if terms:
        add_refusal(terms_form, ApplicationError(error.message, terms))
    if rest or not terms:
        add_refusal(product_form, ApplicationError(error.message, rest))


@page_for(*READERS)
@require_http_methods(["GET", "POST"])
def products_page(request: HttpRequest) -> HttpResponse:
    """Products and every version of their terms; the manager adds a new version of a
    product's terms (``product_terms_create``: the version before is closed the day
    before the new one starts) or a new product with its first terms
    (``product_create``)."""
    today = business_today()
    products = list(product_list(user=request.user).order_by("code"))
    rows: list[dict[str, Any]] = []
    posted_id = request.POST.get("product") if request.method == "POST" else None
    if request.method == "POST":
        _require_change(request)
        if posted_id != NEW_PRODUCT and posted_id not in {str(product.pk) for product in products}:
            raise Http404  # not a product this page shows
    for product in products:
        versions = list(product.terms.all())
        in_force = terms_in_force(versions, today)
        newest = versions[-1] if versions else None
        form: TermsForm | None = None
        if _may_change(request):
            posted = posted_id == str(product.pk)
            form = TermsForm(
                request.POST if posted else None,
                initial=_terms_initial(in_force or newest),
                prefix=f"p{product.pk}",
            )
            if posted and form.is_valid():
                carried = {name: getattr(newest, name) for name in CARRIED_TERMS} if newest else {}
                try:
                    created = product_terms_create(actor=request.user, product=product, **carried, **form.cleaned_data)
                except ApplicationError as exc:
                    add_refusal(form, exc)
                else:
                    messages.success(
                        request,
                        gettext("Version %(version)s of %(product)s saved.")
                        % {"version": created.version, "product": product.name},
                    )
                    return redirect("web:manage-products")
        rows.append({"product": product, "versions": versions[::-1], "in_force": in_force, "form": form})
    new_product: ProductForm | None = None
    new_terms: TermsForm | None = None
    if _may_change(request):
        posted = posted_id == NEW_PRODUCT
        template = next((row["in_force"] for row in rows if row["in_force"] is not None), None)
        new_product = ProductForm(request.POST if posted else None, prefix="new")
        new_terms = TermsForm(
            request.POST if posted else None,
            initial={**_terms_initial(template), "valid_from": today},
            prefix="new-terms",
        )
        if posted and new_product.is_valid() and new_terms.is_valid():
            try:
                created_product = product_create(
                    actor=request.user,
                    code=new_product.cleaned_data["code"],
                    name=new_product.cleaned_data["name"],
                    terms=new_terms.cleaned_data,
                )
            except ApplicationError as exc:
                _split_refusal(new_product, new_terms, exc)
            else:
                messages.success(request, gettext("Product %(product)s created.") % {"product": created_product.name})
                return redirect("web:manage-products")
    status = 400 if request.method == "POST" else 200
    context = {"rows": rows, "today": today, "new_product": new_product, "new_terms": new_terms}
    return render(request, "web/manager/products.html", context, status=status)


# --- banks ------------------------------------------------------------------------------


class AllocationForm(forms.Form):
    bank = forms.ModelChoiceField(label=_("Bank"), queryset=bank_visible(user=None), empty_label=None)
    year = forms.IntegerField(label=_("Programme year"), min_value=FIRST_PROGRAMME_YEAR, max_value=LAST_PROGRAMME_YEAR)
    amount = forms.IntegerField(label=_("Amount (rupiah)"), min_value=1, max_value=MAX_ALLOCATION)
    note = forms.CharField(label=_("Note"), max_length=300, required=False, help_text=_("Such as the budget decree."))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["bank"])
        field.queryset = bank_visible(user=user).order_by("code")


@page_for(*READERS)
@require_http_methods(["GET", "POST"])
def banks_page(request: HttpRequest) -> HttpResponse:
    """The partner banks with their fund (allocated, drawn, repaid, available) and their
    allocations by programme year; the manager adds an allocation
    (``allocation_create``)."""
    form: AllocationForm | None = None
    status = 200
    if _may_change(request):
        form = AllocationForm(
            request.POST if request.method == "POST" else None,
            user=request.user,
            initial={"year": business_today().year},
        )
    if request.method == "POST":
        _require_change(request)
        if form is not None and form.is_valid():
            bank = form.cleaned_data["bank"]
            try:
                allocation_create(
                    actor=request.user,
                    bank=bank,
                    year=form.cleaned_data["year"],
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["note"],
                )
            except ApplicationError as exc:
                add_refusal(form, exc)
            else:
                messages.success(
                    request,
                    gettext("%(amount)s allocated to %(bank)s for %(year)s.")
                    % {
                        "amount": rupiah(form.cleaned_data["amount"]),
                        "bank": bank.name,
                        "year": form.cleaned_data["year"],
                    },
                )
                return redirect("web:manage-banks")
        status = 400
    banks = bank_visible(user=request.user).order_by("code")
    with_allocations = banks.prefetch_related(
        Prefetch("allocations", queryset=Allocation.objects.select_related("created_by").order_by("-year", "-id"))
    )
    return render(request, "web/manager/banks.html", {"banks": with_allocations, "form": form}, status=status)


# --- collectibility ---------------------------------------------------------------------


class TableForm(forms.Form):
    """The five grades of one bank kind's table: name, first day past due, provision."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for grade in range(1, 6):
            self.fields[f"name_{grade}"] = forms.CharField(
                label=gettext("Grade %(grade)s: name") % {"grade": grade}, max_length=MAX_NAME_LENGTH
            )
            self.fields[f"min_days_{grade}"] = forms.IntegerField(
                label=gettext("Grade %(grade)s: from days past due") % {"grade": grade},
                min_value=0,
                max_value=MAX_MIN_DAYS,
            )
            self.fields[f"provision_percent_{grade}"] = forms.DecimalField(
                label=gettext("Grade %(grade)s: provision (%%)") % {"grade": grade},
                min_value=Decimal(0),
                max_value=Decimal(100),
                decimal_places=2,
            )

    def grade_fields(self) -> list[tuple[int, list[Any]]]:
        return [
            (grade, [self[f"name_{grade}"], self[f"min_days_{grade}"], self[f"provision_percent_{grade}"]])
            for grade in range(1, 6)
        ]

    def rows(self) -> list[Grade]:
        data = self.cleaned_data
        return [
            Grade(grade, data[f"name_{grade}"], data[f"min_days_{grade}"], data[f"provision_percent_{grade}"])
            for grade in range(1, 6)
        ]


def _table_initial(rows: tuple[Grade, ...]) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for row in rows:
        initial[f"name_{row.grade}"] = row.name
        initial[f"min_days_{row.grade}"] = row.min_days
        initial[f"provision_percent_{row.grade}"] = row.provision_percent
    return initial


KIND_LABELS = {"commercial": _("Commercial banks"), "bpr": _("Rural banks (BPR)")}


@page_for(*READERS)
@require_http_methods(["GET", "POST"])
def collectibility_page(request: HttpRequest) -> HttpResponse:
    """The collectibility table of each bank kind (grades by days past due and their
    provision rates) and the city's allowance classes; the manager edits a kind's table
    (``collectibility_table_update``: the next nightly close classes loans by it)."""
    if request.method == "POST":
        _require_change(request)
    posted_kind = request.POST.get("bank_kind") if request.method == "POST" else None
    if posted_kind is not None and posted_kind not in BANK_KINDS:
        return render(request, "web/manager/collectibility.html", {"tables": []}, status=400)
    tables = collectibility_tables()
    status = 200
    sections = []
    for kind in BANK_KINDS:
        rows = tables.get(kind, ())
        form: TableForm | None = None
        if _may_change(request):
            posted = posted_kind == kind
            form = TableForm(request.POST if posted else None, initial=_table_initial(rows), prefix=kind)
            if posted:
                status = 400
                if form.is_valid():
                    try:
                        collectibility_table_update(actor=request.user, bank_kind=kind, rows=form.rows())
                    except ApplicationError as exc:
                        add_refusal(form, exc)
                    else:
                        messages.success(
                            request,
                            gettext("The table of %(kind)s is saved; the next nightly close classes loans by it.")
                            % {"kind": KIND_LABELS[kind]},
                        )
                        return redirect("web:manage-collectibility")
        sections.append({"kind": kind, "label": KIND_LABELS[kind], "rows": rows, "form": form})
    context = {"tables": sections, "allowance": allowance_table()}
    return render(request, "web/manager/collectibility.html", context, status=status)


# --- audit trail ------------------------------------------------------------------------

#: What the trail's subjects are (``subject_type``: a model's name or a named subject).
SUBJECT_TYPES = (
    "application",
    "loan",
    "repayment",
    "deferral",
    "borrower",
    "business",
    "bank",
    "allocation",
    "product",
    "productterms",
    "collectibility_table",
    "allowanceclass",
    "report",
    "closerun",
    "user",
)
AUDIT_PAGE_SIZE = 25


class AuditFilterForm(forms.Form):
    """The trail's filters: only ids, dates and action names go in the address."""

    subject_type = forms.ChoiceField(label=_("Subject"), required=False)
    subject_id = forms.RegexField(label=_("Subject id"), regex=r"^[0-9A-Za-z_-]{1,64}$", required=False)
    actor = forms.TypedChoiceField(label=_("Who"), coerce=int, required=False, empty_value=None)
    action = forms.RegexField(
        label=_("Action"), regex=r"^[a-z_]{1,48}$", required=False, help_text=_("Such as allocation_create.")
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        subject = cast(forms.ChoiceField, self.fields["subject_type"])
        subject.choices = [("", gettext("Any")), *((name, name) for name in SUBJECT_TYPES)]
        actor = cast(forms.ChoiceField, self.fields["actor"])
        actor.choices = [("", gettext("Anyone")), *actor_choices()]

    def params(self) -> dict[str, str]:
        """The filters as :func:`audit.selectors.audit_list` reads them."""
        data = self.cleaned_data
        params = {
            "subject_type": data.get("subject_type") or "",
            "subject_id": data.get("subject_id") or "",
            "actor": str(data["actor"]) if data.get("actor") is not None else "",
            "action": data.get("action") or "",
            "from": data["date_from"].isoformat() if data.get("date_from") else "",
            "to": data["date_to"].isoformat() if data.get("date_to") else "",
        }
        return {name: value for name, value in params.items() if value}


@page_for(*READERS)
@_reads_only
def audit_page(request: HttpRequest) -> HttpResponse:
    """The audit trail, newest first, filtered by subject, who, action and dates, a page
    at a time (read-only for everyone)."""
    form = AuditFilterForm(request.GET or None)
    params = form.params() if form.is_bound and form.is_valid() else {}
    entries = audit_list(params=params) if not form.is_bound or form.is_valid() else audit_list(params={}).none()
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode(_address_params(params))
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "web/manager/audit.html", {"form": form, "page": page, "query": query}, status=status)


def _address_params(params: dict[str, str]) -> dict[str, str]:
    """The filters under the form's own names (for the page links)."""
    names = {"from": "date_from", "to": "date_to"}
    return {names.get(name, name): value for name, value in params.items()}


urls: list[URLPattern] = [
    path("manage/", dashboard_page, name="dashboard"),
    path("manage/products/", products_page, name="manage-products"),
    path("manage/banks/", banks_page, name="manage-banks"),
    path("manage/collectibility/", collectibility_page, name="manage-collectibility"),
    path("audit/", audit_page, name="audit-trail"),
]
