"""The city office's pages: the queue of applications by state (oldest waiting first),
an application with its checks, stage times, history and the office's steps, the
borrowers (search by name or NIK, by POST), registering a borrower with a business (the
NIK checked as it is typed) and a new application for them.

Officers act; managers and auditors may read the queue, applications and borrowers
(NIK masked for them, as the API does). Every read goes through the scoped selectors,
every write through the services the API calls."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from banks.models import Bank
from banks.selectors import bank_visible
from borrowers.identity import mask_nik
from borrowers.models import Borrower, Business, Region
from borrowers.nik_lookup import nik_state
from borrowers.selectors import borrower_search, borrower_shows_full_nik, borrower_visible, region_list
from borrowers.services import borrower_create, borrower_read_log
from config.clock import business_today
from config.errors import ApplicationError, StateConflict, choice_name
from config.roles import Role, has_role
from loans.models import Application, ProductTerms
from loans.presenters import render_check, stage_times
from loans.selectors.applications import application_list, application_visible, loan_list
from loans.selectors.office import AT_THE_OFFICE, application_history, application_state_counts, office_actions
from loans.selectors.products import product_list, terms_in_force
from loans.services import applications as workflow
from web.access import PageRequest, page_for
from web.forms import add_refusal

State = Application.State
#: Who may read the office's pages; only officers act on them.
READERS = (Role.OFFICER, Role.MANAGER, Role.AUDITOR)
#: Rows per page of the queue and of the borrower list.
PAGE_SIZE = 50
#: The tenor a new application's form starts at, when the product offers it.
DEFAULT_TENOR_MONTHS = 12
#: The queue's default tab: what waits at the office.
OFFICE_TAB = "office"


def state_label(state: str) -> str:
    """A state's name in the active language, capitalised."""
    name = choice_name(State, state)
    return name[:1].upper() + name[1:]


# --- the queue ----------------------------------------------------------------------------


def _tabs(counts: dict[str, int], chosen: str) -> list[dict[str, Any]]:
    tabs = [
        {
            "key": OFFICE_TAB,
            "label": gettext("At the office"),
            "count": sum(counts[s] for s in AT_THE_OFFICE),
            "current": chosen == OFFICE_TAB,
        }
    ]
    tabs += [
        {"key": state, "label": state_label(state), "count": counts[state], "current": chosen == state}
        for state in State.values
    ]
    return tabs


@page_for(*READERS)
def queue(request: PageRequest) -> HttpResponse:
    """Applications by state, the longest waiting first, a tab per state with its count
    (``?state=``; the default tab is what waits at the office). htmx asks for the list
    fragment only."""
    chosen = request.GET.get("state", OFFICE_TAB)
    if chosen != OFFICE_TAB and chosen not in State.values:
        chosen = OFFICE_TAB
    params = QueryDict(mutable=True)
    params.setlist("state", list(AT_THE_OFFICE) if chosen == OFFICE_TAB else [chosen])
    params["ordering"] = "waiting"
    # Only the joins the rows show: planning the selector's eight joins cost more than running them.
    applications = application_list(user=request.user, params=params).select_related(None)
    applications = applications.select_related("borrower", "business", "bank")
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = application_state_counts(queryset=application_visible(user=request.user))
    now = timezone.now()
    rows = [
        {
            "application": application,
            "state": state_label(application.state),
            "waited": now - application.state_changed_at,
        }
        for application in page.object_list
    ]
    context = {"tabs": _tabs(counts, chosen), "chosen": chosen, "page": page, "rows": rows}
    template = "web/office/queue_list.html" if request.htmx else "web/office/queue.html"
    return render(request, template, context)


# --- one application ----------------------------------------------------------------------


def _date_input() -> forms.DateInput:
    """A date picker; its value in ISO form whatever the language (a browser's date
    input shows nothing for "17/08/1985")."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SubmitForm(forms.Form):
    def service_kwargs(self) -> dict[str, Any]:
        return {}


class FieldVisitForm(forms.Form):
    visited_on = forms.DateField(label=_("Visit date"), widget=_date_input())
    notes = forms.CharField(label=_("What the visit found"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    latitude = forms.DecimalField(
        label=_("Latitude"), max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False
    )
    longitude = forms.DecimalField(
        label=_("Longitude"), max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False
    )
    photo = forms.FileField(label=_("Photo of the business"), required=False, help_text=_("Up to 5 MB."))

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > 5 * 1024 * 1024:
            raise forms.ValidationError(gettext("The photo may be at most 5 MB."))
        return photo

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "visited_on": data["visited_on"],
            "notes": data["notes"],
            "latitude": data.get("latitude"),
            "longitude": data.get("longitude"),
            "photo": data.get("photo") or None,
        }


class ForwardForm(forms.Form):
    note = forms.CharField(label=_("Note for the bank"), max_length=2000, required=False)

    def service_kwargs(self) -> dict[str, Any]:
        return {"note": self.cleaned_data["note"]}


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def service_kwargs(self) -> dict[str, Any]:
        return {"reason": self.cleaned_data["reason"]}


#: The office's steps: URL slug -> (form, service, success message).
STEPS: dict[str, tuple[type[forms.Form], Any, Any]] = {
    "submit": (SubmitForm, workflow.application_submit, _("The application is submitted.")),
    "field-verify": (FieldVisitForm, workflow.application_field_verify, _("The field visit is recorded.")),
    "forward": (ForwardForm, workflow.application_forward, _("The application is forwarded to the bank.")),
    "reject": (ReasonForm, workflow.application_reject, _("The application is rejected.")),
    "withdraw": (ReasonForm, workflow.application_withdraw, _("The application is withdrawn.")),
}


#: The workflow's audit actions as the history names them.
HISTORY_ACTIONS = {
    "create": _("Created"),
    "submit": _("Submitted"),
    "field_verify": _("Field visit recorded"),
    "forward": _("Forwarded to the bank"),
    "credit_check": _("Credit check recorded"),
    "approve": _("Approved"),
    "disburse": _("Disbursed"),
    "reject": _("Rejected"),
    "withdraw": _("Withdrawn"),
}


def _step_forms(bound: dict[str, forms.Form] | None = None) -> dict[str, forms.Form]:
    found = {slug: form_class(prefix=slug) for slug, (form_class, _s, _m) in STEPS.items()}
    found["field-verify"].initial = {"visited_on": business_today()}
    found.update(bound or {})
    # Template variables cannot hold dashes.
    return {slug.replace("-", "_"): form for slug, form in found.items()}


def _application_page(
    request: PageRequest, application_id: int, *, bound: dict[str, forms.Form] | None = None, status: int = 200
) -> HttpResponse:
    application = get_object_or_404(application_visible(user=request.user), pk=application_id)
    events = application_history(application=application)
    now = timezone.now()
    stages = [{**stage, "label": state_label(stage["state"])} for stage in stage_times(application, events, now)]
    history = [
        {
            "event": event,
            "action": str(HISTORY_ACTIONS.get(event.action, event.action)),
            "from": state_label(event.from_state) if event.from_state else "",
            "to": state_label(event.to_state) if event.to_state else "",
        }
        for event in events
    ]
    refused = next((form for form in (bound or {}).values() if form.errors), None)
    context = {
        "application": application,
        "state": state_label(application.state),
        "waited": now - application.state_changed_at,
        "checks": [render_check(check) for check in application.checks],
        "stages": stages,
        "history": history,
        "actions": office_actions(application=application, user=request.user),
        "is_officer": has_role(request.user, Role.OFFICER),
        "forms": _step_forms(bound),
        "refused": refused,
    }
    return render(request, "web/office/application.html", context, status=status)


@page_for(*READERS)
def application_detail(request: PageRequest, application_id: int) -> HttpResponse:
    """An application: its checks (pass or fail with the reason), how long it spent in
    each state, its history, and the steps the office may take now; where a second
    officer must act, the page says so instead of offering the step."""
    return _application_page(request, application_id)


@page_for(Role.OFFICER)
@require_POST
def application_step(request: PageRequest, application_id: int, step: str) -> HttpResponse:
    """One of the office's steps (``STEPS``), by the workflow service; a refusal is
    shown on the application's page beside the step's fields, nothing changed."""
    if step not in STEPS:
        raise Http404
    get_object_or_404(application_visible(user=request.user), pk=application_id)
    form_class, service, done = STEPS[step]
    form = form_class(request.POST, request.FILES, prefix=step)
    status = 400
    if form.is_valid():
        try:
            service(actor=request.user, application_id=application_id, **form.service_kwargs())  # type: ignore[attr-defined]
        except ApplicationError as exc:
            add_refusal(form, exc)
        except StateConflict as exc:
            form.add_error(None, exc.message)
            status = 409
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or gettext("You may not do this."))
            status = 403
        else:
            messages.success(request, str(done))
            return redirect("web:office-application", application_id=application_id)
    return _application_page(request, application_id, bound={step: form}, status=status)


# --- borrowers ------------------------------------------------------------------------------


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name or NIK"),
        max_length=150,
        required=False,
        help_text=_("Part of the name, or the NIK (or its first digits)."),
    )


def _borrower_rows(borrowers: Any) -> list[dict[str, Any]]:
    return [{"borrower": borrower, "nik": mask_nik(borrower.nik)} for borrower in borrowers]


@page_for(*READERS)
@require_http_methods(["GET", "POST"])
def borrowers(request: PageRequest) -> HttpResponse:
    """The borrowers, newest first (NIK masked in the list); the search goes by POST so
    a NIK never sits in a URL. htmx asks for the results fragment only."""
    form = SearchForm(request.POST or None)
    searched = request.method == "POST" and form.is_valid() and bool(form.cleaned_data["q"].strip())
    q = form.cleaned_data["q"] if searched else ""
    found = borrower_search(user=request.user, q=q).order_by("-id")
    page = Paginator(found, PAGE_SIZE).get_page(1 if searched else request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": _borrower_rows(page.object_list),
        "searched": searched,
        "is_officer": has_role(request.user, Role.OFFICER),
    }
    template = "web/office/borrower_results.html" if request.htmx else "web/office/borrowers.html"
    return render(request, template, context)


def _login_issue_url(borrower: Borrower) -> str | None:
    """Where the accounts pages give a borrower a login (None until they exist)."""
    try:
        return reverse("web:borrower-login-issue", args=[borrower.pk])
    except NoReverseMatch:
        return None


@page_for(*READERS)
def borrower_detail(request: PageRequest, borrower_id: int) -> HttpResponse:
    """A borrower: details with the NIK as the API shows it to this user (in full for an
    officer, the read logged), businesses, applications and loans, and the way to give
    them a login or start an application."""
    borrower = get_object_or_404(borrower_visible(user=request.user), pk=borrower_id)
    full = borrower_shows_full_nik(user=request.user, borrower=borrower)
    if full:
        borrower_read_log(borrower=borrower, user=request.user, path=request.get_full_path())
    applications = application_list(user=request.user, params={"borrower": borrower.pk, "ordering": "-created"})
    applications = applications.select_related(None).select_related("business", "bank")
    loans = loan_list(user=request.user, params={"borrower": borrower.pk}).select_related(None).select_related("bank")
    context = {
        "borrower": borrower,
        "nik": borrower.nik if full else mask_nik(borrower.nik),
        "npwp": borrower.npwp if full or not borrower.npwp else mask_nik(borrower.npwp),
        "applications": [{"application": a, "state": state_label(a.state)} for a in applications],
        "loans": list(loans),
        "login_issue_url": _login_issue_url(borrower),
        "is_officer": has_role(request.user, Role.OFFICER),
    }
    return render(request, "web/office/borrower.html", context)


# --- registering a borrower ---------------------------------------------------------------


def _kelurahan_choices(kecamatan: str = "") -> list[Any]:
    """The kelurahan of the region list, grouped by kecamatan (only one kecamatan's when
    given)."""
    districts = {region.code: region.name for region in region_list(filters={"level": Region.Level.DISTRICT})}
    filters: dict[str, str] = {"level": Region.Level.VILLAGE}
    if kecamatan in districts:
        filters["parent"] = kecamatan
    groups: dict[str, list[tuple[str, str]]] = {}
    for region in region_list(filters=filters):
        groups.setdefault(region.parent_id or "", []).append((region.code, region.name))
    return [("", "—")] + [(districts.get(code, code), options) for code, options in groups.items()]


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


class BorrowerForm(forms.Form):
    nik = forms.CharField(label=_("NIK"), max_length=32, help_text=_("The 16-digit number on the KTP."))
    name = forms.CharField(label=_("Name (as on the KTP)"), max_length=150)
    birth_date = forms.DateField(label=_("Birth date"), widget=_date_input())
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Borrower.Sex.choices])
    phone = forms.CharField(label=_("Mobile phone"), max_length=32, help_text=_("08…, 628… or +62 8…"))
    address = forms.CharField(label=_("Address (as on the KTP)"), max_length=300)
    kecamatan = forms.ChoiceField(label=_("Kecamatan"), required=False)
    kelurahan = forms.ChoiceField(label=_("Kelurahan"))
    npwp = forms.CharField(label=_("NPWP"), max_length=32, required=False, help_text=_("Optional."))
    business_name = forms.CharField(label=_("Business name"), max_length=150)
    sector = forms.ChoiceField(label=_("Sector"), choices=[("", "—"), *Business.Sector.choices])
    kind = forms.ChoiceField(label=_("Kind"), choices=Business.Kind.choices, initial=Business.Kind.INDIVIDUAL)
    nib = forms.CharField(label=_("NIB"), max_length=32, required=False, help_text=_("13 digits."))
    licence_number = forms.CharField(
        label=_("Licence number"), max_length=50, required=False, help_text=_("For an older business without an NIB.")
    )
    started_on = forms.DateField(label=_("Business started on"), widget=_date_input())
    monthly_revenue = forms.IntegerField(label=_("Monthly revenue (rupiah)"), min_value=0)
    workers = forms.IntegerField(label=_("Workers (the owner counts)"), min_value=1, initial=1)
    health_rating = forms.ChoiceField(
        label=_("Health rating (cooperatives)"), choices=[("", "—"), *Business.Health.choices], required=False
    )

    #: Form fields that are the service's ``business`` fields (form name -> service name).
    BUSINESS = {
        "business_name": "name",
        "sector": "sector",
        "kind": "kind",
        "nib": "nib",
        "licence_number": "licence_number",
        "started_on": "started_on",
        "monthly_revenue": "monthly_revenue",
        "workers": "workers",
        "health_rating": "health_rating",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        districts = region_list(filters={"level": Region.Level.DISTRICT})
        _choice_field(self, "kecamatan").choices = [("", "—"), *((r.code, r.name) for r in districts)]
        kecamatan = self.data.get("kecamatan", "") if self.is_bound else ""
        _choice_field(self, "kelurahan").choices = _kelurahan_choices(str(kecamatan))
        self.fields["nik"].widget.attrs.update(
            {
                "inputmode": "numeric",
                "autocomplete": "off",
                "hx-post": reverse("web:office-nik-check"),
                "hx-trigger": "input changed delay:300ms, change",
                "hx-target": "#nik-state",
                "hx-params": "nik",
            }
        )
        self.fields["kecamatan"].widget.attrs.update(
            {"hx-get": reverse("web:office-kelurahan-options"), "hx-target": "#id_kelurahan", "hx-trigger": "change"}
        )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "nik": data["nik"],
            "name": data["name"],
            "birth_date": data["birth_date"],
            "sex": data["sex"],
            "phone": data["phone"],
            "address": data["address"],
            "kelurahan_code": data["kelurahan"],
            "npwp": data["npwp"],
            "business": {service: data[field] for field, service in self.BUSINESS.items()},
        }


def _add_borrower_refusal(form: BorrowerForm, exc: ApplicationError) -> None:
    """The service's refusal beside the fields: its business fields come nested under
    ``business`` and some carry other names on the form."""
    errors = dict(exc.errors or {})
    business = errors.pop("business", {}) or {}
    renamed = {"kelurahan_code": "kelurahan"}
    by_service: dict[str, str] = {service: field for field, service in BorrowerForm.BUSINESS.items()}
    flat = {renamed.get(field, field): messages for field, messages in errors.items()}
    if isinstance(business, dict):
        flat.update({by_service.get(str(field), str(field)): messages for field, messages in business.items()})
    add_refusal(form, ApplicationError(exc.message, flat))


@page_for(Role.OFFICER)
@require_http_methods(["GET", "POST"])
def borrower_new(request: PageRequest) -> HttpResponse:
    """Register a borrower with their business (``borrower_create``); the NIK is checked
    as it is typed and a duplicate leads to the registered borrower."""
    form = BorrowerForm(request.POST or None)
    status = 200
    nik = None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                borrower = borrower_create(actor=request.user, **form.service_kwargs())
            except ApplicationError as exc:
                _add_borrower_refusal(form, exc)
            else:
                messages.success(request, gettext("%(name)s is registered.") % {"name": borrower.name})
                return redirect("web:office-borrower", borrower_id=borrower.pk)
        if form.data.get("nik"):
            state = nik_state(user=request.user, nik=str(form.data["nik"]))
            # An invalid NIK's reason is already beside the field; a duplicate adds the link.
            nik = state if state.valid or state.existing else None
    return render(request, "web/office/borrower_new.html", {"form": form, "nik": nik}, status=status)


@page_for(Role.OFFICER)
@require_POST
def nik_check(request: PageRequest) -> HttpResponse:
    """The state of the NIK typed so far (a fragment): invalid with the reason, already
    registered with a link to that borrower, or valid. POST: a NIK never goes in a URL."""
    typed = request.POST.get("nik", "")[:32]
    state = nik_state(user=request.user, nik=typed) if typed.strip() else None
    return render(request, "web/office/nik_state.html", {"nik": state})


@page_for(Role.OFFICER)
def kelurahan_options(request: PageRequest) -> HttpResponse:
    """The ``<option>``s of the kelurahan of one kecamatan (``?kecamatan=``), for the
    registration form's second select."""
    placeholder, *groups = _kelurahan_choices(request.GET.get("kecamatan", ""))
    return render(request, "web/office/kelurahan_options.html", {"placeholder": placeholder, "groups": groups})


# --- a new application ----------------------------------------------------------------------


def _terms_offered(user: Any) -> ProductTerms | None:
    """The terms in force today of the programme's product, as the service will use."""
    today = business_today()
    for product in product_list(user=user):
        if product.active and product.code == workflow.PROGRAMME_PRODUCT:
            return terms_in_force(product.terms.all(), today)
    return None


class ApplicationForm(forms.Form):
    business = forms.ChoiceField(label=_("Business"))
    bank = forms.ChoiceField(label=_("Bank"))
    principal = forms.IntegerField(label=_("Amount (rupiah)"), min_value=1)
    tenor_months = forms.TypedChoiceField(label=_("Tenor (months)"), coerce=int)
    collateral = forms.BooleanField(label=_("With collateral"), required=False)
    purpose = forms.CharField(label=_("Purpose"), max_length=500, required=False)

    def __init__(
        self, *args: Any, businesses: list[Business], banks: list[Bank], terms: ProductTerms | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.businesses = {str(b.pk): b for b in businesses}
        self.banks = {b.code: b for b in banks}
        _choice_field(self, "business").choices = [(pk, b.name) for pk, b in self.businesses.items()]
        _choice_field(self, "bank").choices = [(code, b.name) for code, b in self.banks.items()]
        tenors = [int(t) for t in terms.allowed_tenors] if terms else []
        _choice_field(self, "tenor_months").choices = [(t, str(t)) for t in tenors]
        if DEFAULT_TENOR_MONTHS in tenors:
            self.fields["tenor_months"].initial = DEFAULT_TENOR_MONTHS


@page_for(Role.OFFICER)
@require_http_methods(["GET", "POST"])
def application_new(request: PageRequest, borrower_id: int) -> HttpResponse:
    """A new application for one of the borrower's businesses (``application_create``),
    saved as a draft or submitted at once (``application_submit``: every check must
    pass; a failed check leaves the draft, its results shown on its page)."""
    borrower = get_object_or_404(borrower_visible(user=request.user), pk=borrower_id)
    terms = _terms_offered(request.user)
    banks = list(bank_visible(user=request.user).filter(active=True).order_by("name"))
    form = ApplicationForm(request.POST or None, businesses=list(borrower.businesses.all()), banks=banks, terms=terms)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                application = workflow.application_create(
                    actor=request.user,
                    borrower=borrower,
                    business=form.businesses[data["business"]],
                    bank=form.banks[data["bank"]],
                    principal=data["principal"],
                    tenor_months=data["tenor_months"],
                    collateral=data["collateral"],
                    purpose=data["purpose"],
                )
            except ApplicationError as exc:
                add_refusal(form, exc)
            else:
                if request.POST.get("then") == "submit":
                    try:
                        workflow.application_submit(actor=request.user, application_id=application.pk)
                    except (ApplicationError, StateConflict) as exc:
                        messages.error(request, exc.message)
                    else:
                        messages.success(request, gettext("The application is created and submitted."))
                else:
                    messages.success(request, gettext("The application is saved as a draft."))
                return redirect("web:office-application", application_id=application.pk)
    context = {"borrower": borrower, "form": form, "terms": terms}
    return render(request, "web/office/application_new.html", context, status=status)


urls: list[URLPattern] = [
    path("office/", queue, name="office-queue"),
    path("office/applications/<int:application_id>/", application_detail, name="office-application"),
    path("office/applications/<int:application_id>/<slug:step>/", application_step, name="office-application-step"),
    path("office/borrowers/", borrowers, name="office-borrowers"),
    path("office/borrowers/new/", borrower_new, name="office-borrower-new"),
    path("office/borrowers/nik/", nik_check, name="office-nik-check"),
    path("office/borrowers/<int:borrower_id>/", borrower_detail, name="office-borrower"),
    path("office/borrowers/<int:borrower_id>/applications/new/", application_new, name="office-application-new"),
    path("office/kelurahan/", kelurahan_options, name="office-kelurahan-options"),
]
