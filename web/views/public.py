"""Pages anyone may open: the home page with the programme's terms, the loan simulator,
signing in and out, and the start page of a signed-in user."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from config.auth_apis import AccountLocked, LoginThrottle, credentials_authenticate
from config.clock import business_today
from config.errors import ApplicationError
from loans.schedule import (
    ANNUITY,
    FLAT,
    MAX_PRINCIPAL,
    MAX_TENOR_MONTHS,
    PROGRAMME_ANNUAL_RATE,
    LoanTerms,
    Method,
    ScheduleError,
    build_schedule,
    effective_annual_rate,
)
from loans.selectors.products import product_list, terms_in_force
from web.access import PageRequest, landing_of, page_for
from web.forms import add_refusal


def home(request: HttpRequest) -> HttpResponse:
    """The programme's terms as the products in force today say them (who can apply,
    the ceilings, the rate, the tenors), what to bring, and the way in."""
    today = business_today()
    offers = []
    for product in product_list(user=request.user):
        if not product.active:
            continue
        terms = terms_in_force(product.terms.all(), today)
        if terms is not None:
            offers.append({"product": product, "terms": terms})
    return render(request, "web/public/home.html", {"offers": offers})


class SimulatorForm(forms.Form):
    principal = forms.IntegerField(label=_("Amount (rupiah)"), min_value=1, max_value=MAX_PRINCIPAL, initial=5_000_000)
    tenor_months = forms.IntegerField(label=_("Tenor (months)"), min_value=1, max_value=MAX_TENOR_MONTHS, initial=12)
    method = forms.ChoiceField(
        label=_("Method"),
        choices=[("annuity", _("Annuity (equal installments)")), ("flat", _("Flat"))],
        initial="annuity",
    )


#: The methods compared side by side on the simulator.
COMPARED_METHODS: tuple[Method, ...] = (FLAT, ANNUITY)


def simulate(principal: int, tenor_months: int, on: date) -> dict[str, Any]:
    """Each compared method's schedule at the programme's rate, or the field it refuses."""
    results: dict[str, Any] = {}
    for method in COMPARED_METHODS:
        terms = LoanTerms(
            principal=principal,
            annual_rate=PROGRAMME_ANNUAL_RATE,
            tenor_months=tenor_months,
            method=method,
            disbursement_date=on,
        )
        schedule = build_schedule(terms)
        rows = [
            {"number": number, "due_date": due, "principal": principal, "interest": interest, "installment": amount}
            for number, (due, principal, interest, amount) in enumerate(
                zip(schedule.due_dates, schedule.principal, schedule.interest, schedule.installment, strict=True),
                start=1,
            )
        ]
        results[method] = {
            "schedule": schedule,
            "rows": rows,
            "first_installment": schedule.installment[0],
            "effective_annual_rate": effective_annual_rate(schedule),
        }
    return results


def simulator(request: PageRequest) -> HttpResponse:
    """The loan simulator: the schedule and totals of both methods, updated as the person
    types (htmx asks for the ``results`` fragment of the same template)."""
    form = SimulatorForm(request.GET or None, initial=None)
    if not request.GET:
        form = SimulatorForm({name: field.initial for name, field in SimulatorForm.base_fields.items()})
    results: dict[str, Any] | None = None
    if form.is_valid():
        try:
            results = simulate(form.cleaned_data["principal"], form.cleaned_data["tenor_months"], business_today())
        except ScheduleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, gettext(exc.template).format(**exc.params))
    context = {
        "form": form,
        "results": results,
        "chosen": form.cleaned_data.get("method", "annuity") if form.is_valid() else "annuity",
        "annual_rate": PROGRAMME_ANNUAL_RATE,
    }
    template = "web/public/simulator_results.html" if request.htmx else "web/public/simulator.html"
    return render(request, template, context)


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return str(target)
    return None


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in with the same limits as the API: guesses per address (``LOGIN_THROTTLE``)
    and per account (locked after ``LOGIN_FAILURE_LIMIT`` wrong passwords), 429 while
    either holds."""
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request) or reverse(landing_of(request.user)))
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        throttle = LoginThrottle()
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            form.add_error(None, gettext("Too many sign-in attempts from this address. Try again in a minute."))
            status = 429
        else:
            try:
                user = credentials_authenticate(request, form.cleaned_data["username"], form.cleaned_data["password"])
            except AccountLocked as exc:
                form.add_error("password", str(exc.detail))
                status = 429
            except ApplicationError as exc:
                add_refusal(form, exc)
            else:
                login(request, user)
                return HttpResponseRedirect(_safe_next(request) or reverse(landing_of(user)))
    return render(request, "web/public/sign_in.html", {"form": form, "next": _safe_next(request)}, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:home")


@page_for()
def start(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own start page, by role."""
    return redirect(landing_of(request.user))


urls: list[URLPattern] = [
    path("", home, name="home"),
    path("simulator/", simulator, name="simulator"),
    path("login/", sign_in, name="login"),
    path("logout/", sign_out, name="logout"),
    path("start/", start, name="start"),
]
