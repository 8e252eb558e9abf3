"""A tour of every page of the web app in a real browser, at phone and desktop size, for
each role in turn: a screenshot of each (``<SCREENSHOTS>/<size>/<role>-<page>.png``),
axe-core's accessibility rules, headings in order with one ``<h1>``, no sideways
scrolling and no console error.

The programme toured is small but every page has something to show: a borrower with a
login and a loan four months old (one installment paid, the next ones late, the close
of yesterday run so the dashboard and the collectibility have figures), their
statement asked for, applications at PASAR in several states, a deferral the city
asked for, a monthly report of the bank. A last test checks that the tour names every
page (GET) of the ``web`` namespace, so a page added later is toured or said not to be
a page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from playwright.sync_api import Page, expect

from borrowers.models import Borrower
from config.clock import business_date_fixed, business_today
from loans.models import Application, Installment, Loan
from loans.services.close import close_business_date
from loans.services.deferrals import deferral_request
from loans.services.repayments import RepaymentRequest, repayment_post
from loans.services.schedules import loan_schedules_store
from reports.models import Report
from reports.services.reports import ReportRequest, report_request
from tests.factories import BusinessFactory, UserFactory, serviced_loan
from tests.loans.conftest import Programme
from tests.web.e2e.browser import E2E, check_a11y, shoot, sign_in

pytestmark = E2E

PASSWORD = "pass-for-tests"


@dataclass
class Tour:
    """Who signs in as each role, and the ids the pages' addresses need."""

    usernames: dict[str, str]
    loan: int
    borrower: int
    statement: int
    submitted: int
    forwarded: int
    staff_member: int


@pytest.fixture
def today() -> Iterator[date]:
    """The business date fixed for the whole test (the live server's threads share it)."""
    with business_date_fixed(business_today()) as day:
        yield day


@pytest.fixture
def tour(programme: Programme, today: date, settings: Any, tmp_path: Any) -> Tour:
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    p = programme
    started = today - timedelta(days=5 * 365)

    def draft() -> Application:
        business = BusinessFactory.create(started_on=started)
        return p.draft(business=business, borrower=business.borrower)

    p.draft()  # the programme's own borrower: a draft
    submitted = p.advance(draft(), "submitted")
    p.advance(draft(), "field_verified")
    forwarded = p.advance(draft(), "forwarded")
    p.advance(draft(), "approved")

    # A loan four months old: the first installment paid on its due date, the rest late.
    with business_date_fixed(today - timedelta(days=125)) as disbursed:
        loan = serviced_loan(bank=p.pasar, terms=p.terms, principal=3_000_000, tenor_months=12, disbursed_on=disbursed)
    first = stored_first_installment(loan)
    with business_date_fixed(first.due_date):
        repayment_post(
            actor=p.pasar_staff,
            loan_id=loan.pk,
            request=RepaymentRequest(
                amount=first.installment, paid_on=first.due_date, channel="teller", reference="R-1"
            ),
        )
    borrower_user = UserFactory.create(username="ibu-sri", role="borrower")
    Borrower.objects.filter(pk=loan.borrower_id).update(user=borrower_user)

    # Another PASAR loan whose deferral the city asked for: the bank decides it.
    other = serviced_loan(bank=p.pasar, terms=p.terms, principal=2_000_000, disbursed_on=today - timedelta(days=20))
    deferral_request(actor=p.officer, loan_id=other.pk, months=3, mode="principal_and_interest", reason="Banjir")

    close_business_date(business_date=today - timedelta(days=1))

    statement, _created = report_request(
        actor=borrower_user, request=ReportRequest(kind="borrower_statement", language="id", loan=loan.pk)
    )
    monthly = Report.objects.create(
        kind="bank_monthly",
        format="csv",
        bank=p.pasar,
        period=f"{today:%Y-%m}",
        period_label=f"{today:%m/%Y}",
        request_key=f"bank_monthly:PASAR:{today:%Y-%m}:csv",
        verify_code="tour-pasar",
        status=Report.Status.DONE,
        file_name="laporan.csv",
        size=5,
        sha256="0" * 64,
        created_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    monthly.file.save("laporan.csv", ContentFile(b"a;b\n1"))
    loan.refresh_from_db()
    return Tour(
        usernames={
            "borrower": borrower_user.username,
            "officer": p.officer.username,
            "bank_staff": p.pasar_staff.username,
            "manager": p.manager.username,
            "auditor": p.auditor.username,
        },
        loan=loan.pk,
        borrower=loan.borrower_id,
        statement=statement.pk,
        submitted=submitted.pk,
        forwarded=forwarded.pk,
        staff_member=p.officer.pk,
    )


def stored_first_installment(loan: Loan) -> Installment:
    """The loan's first installment, once its schedule is stored (the worker may be the
    one storing it: disbursement asks for it too)."""
    for _attempt in range(100):
        first = loan.installments.order_by("number").first()
        if first is not None:
            return first
        loan_schedules_store(loan_ids=[loan.pk])
        time.sleep(0.1)
    raise AssertionError(f"the schedule of loan {loan.pk} was never stored")


def pages_of(role: str, tour: Tour) -> list[tuple[str, str, str]]:
    """(URL name, screenshot name, address) of each page ``role`` tours."""
    borrower = tour.borrower
    manager_reads = [
        ("dashboard", "dashboard", "/manage/"),
        ("manage-products", "products", "/manage/products/"),
        ("manage-banks", "banks", "/manage/banks/"),
        ("manage-collectibility", "collectibility", "/manage/collectibility/"),
        ("audit-trail", "audit", "/audit/"),
        ("office-queue", "office", "/office/"),
        ("office-application", "application", f"/office/applications/{tour.submitted}/"),
        ("office-borrowers", "borrowers", "/office/borrowers/"),
        ("office-borrower", "borrower", f"/office/borrowers/{borrower}/"),
    ]
    tours: dict[str, list[tuple[str, str, str]]] = {
        "public": [
            ("home", "home", "/"),
            ("simulator", "simulator", "/simulator/"),
            ("login", "login", "/login/"),
            ("activate", "activate", "/activate/"),
        ],
        "borrower": [
            ("borrower-home", "home", "/me/"),
            ("borrower-loan", "loan", f"/me/loans/{tour.loan}/"),
            ("borrower-document", "document", f"/me/documents/{tour.statement}/"),
        ],
        "officer": [
            ("office-queue", "queue", "/office/"),
            ("office-application", "application", f"/office/applications/{tour.submitted}/"),
            ("office-borrowers", "borrowers", "/office/borrowers/"),
            ("office-borrower", "borrower", f"/office/borrowers/{borrower}/"),
            ("office-borrower-new", "borrower-new", "/office/borrowers/new/"),
            ("office-application-new", "application-new", f"/office/borrowers/{borrower}/applications/new/"),
        ],
        "bank_staff": [
            ("bank-queue", "queue", "/bank/"),
            ("bank-application", "application", f"/bank/applications/{tour.forwarded}/"),
            ("bank-loans", "loans", "/bank/loans/"),
            ("bank-loan", "loan", f"/bank/loans/{tour.loan}/"),
            ("bank-deferrals", "deferrals", "/bank/deferrals/"),
            ("bank-reports", "reports", "/bank/reports/"),
        ],
        "manager": [
            *manager_reads,
            ("manage-staff", "staff", "/manage/staff/"),
            ("manage-staff-member", "staff-member", f"/manage/staff/{tour.staff_member}/"),
        ],
        "auditor": manager_reads,
    }
    visits = tours[role]
    if role != "public":
        visits = [*visits, ("password-change", "password", "/account/password/")]
    return visits


ROLES = ["public", "borrower", "officer", "bank_staff", "manager", "auditor"]


#: The addresses' ids where no programme is needed (the public pages, the names' check).
NO_PROGRAMME = Tour(usernames={}, loan=1, borrower=1, statement=1, submitted=1, forwarded=1, staff_member=1)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_reads_well(page: Page, role: str, request: pytest.FixtureRequest) -> None:
    """Each page of ``role``: answered 200, one non-empty ``<h1>`` in ``<main>``, a
    screenshot, axe-core and the headings' and reflow checks; no console error."""
    tour: Tour = NO_PROGRAMME
    if role != "public":
        tour = request.getfixturevalue("tour")
        sign_in(page, tour.usernames[role], PASSWORD)
    for name, shot, address in pages_of(role, tour):
        assert resolve(address).url_name == name, address
        answer = page.goto(address)
        assert answer is not None, address
        assert answer.status == 200, (address, answer.status)
        heading = page.locator("main h1")
        expect(heading).to_have_count(1)
        assert heading.inner_text().strip(), f"{address}: an empty <h1>"
        shoot(page, f"{role}-{shot}")
        check_a11y(page)


#: The ``web`` URL names that are no page to look at, and why.
NOT_PAGES = {
    "logout": "POST only",
    "start": "redirects to the user's start page",
    "office-application-step": "POST only",
    "office-nik-check": "POST only (htmx fragment)",
    "office-kelurahan-options": "htmx fragment of <option>s",
    "borrower-login-issue": "POST only",
    "borrower-document-request": "POST only",
    "borrower-document-download": "a file",
    "bank-report-download": "a file",
    "manage-staff-deactivate": "POST only",
    "manage-staff-reactivate": "POST only",
    "manage-staff-reassign": "POST only",
    "manage-staff-tokens-revoke": "POST only",
}


def _web_names() -> set[str]:
    resolver = get_resolver()
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "web":
            names |= {p.name for p in entry.url_patterns if isinstance(p, URLPattern) and p.name}
    return names


def test_the_tour_visits_every_page_of_the_web_app() -> None:
    """Every URL name of the ``web`` namespace is toured or said above not to be a page."""
    toured = {name for role in ROLES for name, _shot, _address in pages_of(role, NO_PROGRAMME)}
    names = _web_names()
    assert names, "no URL of the web namespace found"
    assert names - toured - set(NOT_PAGES) == set(), "pages not toured"
    assert (toured | set(NOT_PAGES)) - names == set(), "names toured that are no URL"
