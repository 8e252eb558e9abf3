"""Pages of the accounts area: the manager's staff (create, deactivate, reactivate,
reassign, revoke API tokens), a borrower's login given by an officer (the activation
code shown once), activating with a code on the phone, and changing one's password.

Every write calls the same service as the API (``accounts.services``); an activation
code is shown only in the answer to the POST that issued it (never stored in clear,
never in a session or a redirect), with ``Cache-Control: no-store``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.activation import activation_attempt
from accounts.models import StaffRole
from accounts.selectors import staff_bank_code, staff_list, staff_roles
from accounts.services import (
    IssuedCode,
    activation_code_issue,
    password_change,
    staff_create,
    staff_deactivate,
    staff_reactivate,
    staff_reassign,
    staff_tokens_revoke,
)
from banks.models import Bank
from banks.selectors import bank_visible
from borrowers.selectors import borrower_visible
from config.auth_apis import AccountLocked, LoginThrottle
from config.errors import ApplicationError
from config.roles import Role
from web.access import landing_of, page_for
from web.forms import add_refusal

#: How each staff role is named on the pages.
ROLE_LABELS: dict[str, Any] = {
    StaffRole.OFFICER: _("City office officer"),
    StaffRole.BANK_STAFF: _("Bank staff"),
    StaffRole.AUDITOR: _("Auditor"),
    StaffRole.MANAGER: _("Programme manager"),
}
ROLE_CHOICES = [(role, label) for role, label in ROLE_LABELS.items()]


def _bank_field(request: HttpRequest) -> forms.ModelChoiceField[Bank]:
    return forms.ModelChoiceField(
        label=_("Bank"),
        queryset=bank_visible(user=request.user).order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("(none)"),
        help_text=_("Bank staff only."),
    )


class StaffCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    password = forms.CharField(
        label=_("Initial password"),
        max_length=128,
        required=False,
        strip=False,
        widget=forms.PasswordInput,
        help_text=_("Leave empty to give an activation code instead (they set their own password)."),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank"] = _bank_field(request)
        self.order_fields(["username", "first_name", "last_name", "role", "bank", "password"])


class StaffReassignForm(forms.Form):
    role = forms.ChoiceField(label=_("New role"), choices=ROLE_CHOICES)

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank"] = _bank_field(request)


def _code_page(request: HttpRequest, issued: IssuedCode, *, for_whom: str, back: str) -> HttpResponse:
    """The activation code, shown this once in large type to print or read out."""
    response = render(request, "web/accounts/code.html", {"issued": issued, "for_whom": for_whom, "back": back})
    add_never_cache_headers(response)
    return response


def _staff_rows(users: Any) -> list[dict[str, Any]]:
    return [
        {
            "user": user,
            "roles": [ROLE_LABELS[role] for role in staff_roles(user)],
            "bank": staff_bank_code(user),
        }
        for user in users
    ]


@page_for(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def manage_staff(request: HttpRequest) -> HttpResponse:
    """The programme's staff, and a form to create one (with an initial password, or an
    activation code shown at once)."""
    form = StaffCreateForm(request, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, issued = staff_create(
                    actor=request.user,
                    username=data["username"],
                    role=data["role"],
                    bank=data["bank"],
                    password=data["password"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                )
            except ApplicationError as exc:
                add_refusal(form, exc)
            else:
                if issued is not None:
                    return _code_page(request, issued, for_whom=user.username, back=reverse("web:manage-staff"))
                messages.success(request, gettext("%(username)s can sign in now.") % {"username": user.username})
                return HttpResponseRedirect(reverse("web:manage-staff"), status=303)
        status = 400
    rows = _staff_rows(staff_list())
    return render(request, "web/accounts/staff.html", {"rows": rows, "form": form}, status=status)


def _staff_or_404(user_id: int) -> User:
    user = staff_list().filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


def _staff_page(request: HttpRequest, user: User, reassign: StaffReassignForm, status: int = 200) -> HttpResponse:
    context = {"row": _staff_rows([user])[0], "member": user, "reassign": reassign}
    return render(request, "web/accounts/staff_member.html", context, status=status)


@page_for(Role.MANAGER)
@require_http_methods(["GET"])
def manage_staff_member(request: HttpRequest, user_id: int) -> HttpResponse:
    """One member of staff with the manager's actions on them."""
    user = _staff_or_404(user_id)
    roles = staff_roles(user)
    initial = {"role": roles[0] if roles else StaffRole.OFFICER, "bank": staff_bank_code(user)}
    return _staff_page(request, user, StaffReassignForm(request, initial=initial))


def _done(request: HttpRequest, user: User, message: str) -> HttpResponse:
    messages.success(request, message)
    return _back_to(user)


def _back_to(user: User) -> HttpResponse:
    return HttpResponseRedirect(reverse("web:manage-staff-member", args=[user.pk]), status=303)


def _staff_switch(request: HttpRequest, user_id: int, service: Callable[..., Any], done: str) -> HttpResponse:
    """Deactivate or reactivate a staff member with ``service``; ``done`` (with their
    username) is the message when it worked, the service's refusal otherwise."""
    user = _staff_or_404(user_id)
    try:
        service(actor=request.user, user=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back_to(user)
    return _done(request, user, done % {"username": user.username})


@page_for(Role.MANAGER)
@require_POST
def manage_staff_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _staff_switch(request, user_id, staff_deactivate, gettext("%(username)s is deactivated."))


@page_for(Role.MANAGER)
@require_POST
def manage_staff_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _staff_switch(request, user_id, staff_reactivate, gettext("%(username)s can sign in again."))


@page_for(Role.MANAGER)
@require_POST
def manage_staff_tokens_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _staff_or_404(user_id)
    revoked = staff_tokens_revoke(actor=request.user, user=user)
    message = gettext("The API token is revoked.") if revoked else gettext("There was no API token to revoke.")
    return _done(request, user, message)


@page_for(Role.MANAGER)
@require_POST
def manage_staff_reassign(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _staff_or_404(user_id)
    form = StaffReassignForm(request, request.POST)
    if form.is_valid():
        try:
            staff_reassign(
                actor=request.user, user=user, role=form.cleaned_data["role"], bank=form.cleaned_data["bank"]
            )
        except ApplicationError as exc:
            add_refusal(form, exc)
        else:
            return _done(request, user, gettext("%(username)s is reassigned.") % {"username": user.username})
    return _staff_page(request, user, form, status=400)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("Current password"), max_length=128, strip=False, widget=forms.PasswordInput)
    new_password = forms.CharField(label=_("New password"), max_length=128, strip=False, widget=forms.PasswordInput)
    new_password_again = forms.CharField(
        label=_("New password again"), max_length=128, strip=False, widget=forms.PasswordInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password_again") not in (None, data["new_password"]):
            self.add_error("new_password_again", gettext("The two new passwords differ."))
        return data


@page_for()
@require_http_methods(["GET", "POST"])
def password_change_page(request: HttpRequest) -> HttpResponse:
    """Any signed-in user changes their own password (and stays signed in)."""
    form = PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                password_change(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password"],
                )
            except ApplicationError as exc:
                add_refusal(form, exc)
            else:
                update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
                messages.success(request, gettext("Your password is changed."))
                return HttpResponseRedirect(_landing_url(request.user), status=303)
        status = 400
    return render(request, "web/accounts/password.html", {"form": form}, status=status)


class ActivateForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        required=False,
        help_text=_("As written on your paper. You may leave it empty: the code alone is enough."),
    )
    code = forms.CharField(
        label=_("Activation code"),
        max_length=32,
        help_text=_("The code the city office gave you, e.g. KM4Q-7XHT-AC."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}),
    )
    password = forms.CharField(
        label=_("New password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    password_again = forms.CharField(
        label=_("New password again"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") not in (None, data["password"]):
            self.add_error("password_again", gettext("The two passwords differ."))
        return data


def _landing_url(user: Any) -> str:
    """The user's start page (the home page while their area is not mounted)."""
    try:
        return reverse(landing_of(user))
    except NoReverseMatch:
        return reverse("web:home")


@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest) -> HttpResponse:
    """Set one's password with an activation code (phone first), then be signed in and
    sent to one's own page. Limited like signing in."""
    form = ActivateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            throttle = LoginThrottle()
            if not throttle.allow_request(request, None):  # type: ignore[arg-type]
                form.add_error(None, gettext("Too many attempts from this address. Try again in a minute."))
                status = 429
            else:
                try:
                    user = activation_attempt(
                        username=form.cleaned_data["username"],
                        code=form.cleaned_data["code"],
                        password=form.cleaned_data["password"],
                    )
                except AccountLocked as exc:
                    form.add_error("code", str(exc.detail))
                    status = 429
                except ApplicationError as exc:
                    add_refusal(form, exc)
                else:
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    messages.success(request, gettext("Your password is set. Welcome!"))
                    return HttpResponseRedirect(_landing_url(user), status=303)
    response = render(request, "web/accounts/activate.html", {"form": form}, status=status)
    add_never_cache_headers(response)
    return response


@page_for(Role.OFFICER)
@require_POST
def borrower_login_issue(request: HttpRequest, borrower_id: int) -> HttpResponse:
    """Give a registered borrower a login: a new activation code, shown this once."""
    borrower = get_object_or_404(borrower_visible(user=request.user), pk=borrower_id)
    issued = activation_code_issue(actor=request.user, borrower=borrower)
    back = reverse("web:home")
    for name, args in (("web:office-borrower", [borrower.pk]), ("web:office-borrowers", [])):
        try:
            back = reverse(name, args=args)
            break
        except NoReverseMatch:
            continue
    return _code_page(request, issued, for_whom=borrower.name, back=back)


urls: list[URLPattern] = [
    path("manage/staff/", manage_staff, name="manage-staff"),
    path("manage/staff/<int:user_id>/", manage_staff_member, name="manage-staff-member"),
    path("manage/staff/<int:user_id>/deactivate/", manage_staff_deactivate, name="manage-staff-deactivate"),
    path("manage/staff/<int:user_id>/reactivate/", manage_staff_reactivate, name="manage-staff-reactivate"),
    path("manage/staff/<int:user_id>/reassign/", manage_staff_reassign, name="manage-staff-reassign"),
    path("manage/staff/<int:user_id>/tokens/revoke/", manage_staff_tokens_revoke, name="manage-staff-tokens-revoke"),
    path("account/password/", password_change_page, name="password-change"),
    path("activate/", activate, name="activate"),
    path("office/borrowers/<int:borrower_id>/login/", borrower_login_issue, name="borrower-login-issue"),
]
