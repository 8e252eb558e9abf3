"""The managers' pages: the dashboard (figures equal to the selectors', charts as valid
SVG), products and terms, banks and allocations, the collectibility tables and the
audit trail. The manager changes through the services; the auditor reads the same
pages without a form and any POST of theirs is refused; everyone else is 403 and a
stranger is sent to sign in."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from audit.models import AuditEntry
from banks.models import Allocation, Bank
from banks.services import allocation_create, bank_update
from config.clock import business_date_fixed
from config.roles import Role
from loans.models import CollectibilityClass, ProductTerms
from loans.selectors.dashboard import CHART_MONTHS, months_ending
from loans.selectors.portfolio import collectibility_table, portfolio
from loans.services.close import close_business_date
from reports.selectors.programme import monthly_quality, percent_2
from tests.factories import ProductTermsFactory, UserFactory, bank_user, funded_bank, serviced_loan
from web import charts
from web.templatetags.wibawa import persen, rupiah

pytestmark = pytest.mark.django_db

PAGES = ("/manage/", "/manage/products/", "/manage/banks/", "/manage/collectibility/", "/audit/")
SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2026, 3, 15)


@pytest.fixture
def today() -> Any:
    with business_date_fixed(TODAY):
        yield TODAY


@pytest.fixture
def manager() -> User:
    return UserFactory.create(username="mgr", role=Role.MANAGER)


@pytest.fixture
def auditor() -> User:
    return UserFactory.create(username="aud", role=Role.AUDITOR)


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def html_of(client: Client, url: str, status: int = 200, **extra: Any) -> str:
    answer = client.get(url, **extra)
    assert answer.status_code == status, (url, answer.status_code)
    return answer.content.decode()


def close(day: date) -> None:
    with business_date_fixed(day + timedelta(days=1)):
        close_business_date(business_date=day)


# --- who may open the pages ----------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_a_stranger_is_sent_to_sign_in(client: Client, url: str) -> None:
    answer = client.get(url)
    assert answer.status_code == 302
    assert answer["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("url", PAGES)
def test_officers_bank_staff_and_borrowers_are_refused(client: Client, url: str) -> None:
    bank = funded_bank("PASAR")
    for user in (
        UserFactory.create(role=Role.OFFICER),
        bank_user(bank),
        UserFactory.create(role=Role.BORROWER),
    ):
        client.force_login(user)
        assert client.get(url).status_code == 403, user.groups.all()
        assert client.post(url, {}).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_the_auditor_reads_every_page_without_a_form(client: Client, auditor: User, url: str) -> None:
    funded_bank("PASAR")
    ProductTermsFactory.create()
    html = html_of(signed_in(client, auditor), url)
    assert html.count("<h1>") == 1
    # Only the sign-out and language forms post; the page itself offers nothing to change.
    assert html.count('method="post"') == 2


@pytest.mark.parametrize("url", PAGES)
def test_an_auditors_post_is_refused_and_changes_nothing(client: Client, auditor: User, url: str) -> None:
    bank = funded_bank("PASAR")
    terms = ProductTermsFactory.create()
    before = AuditEntry.objects.count()
    answer = signed_in(client, auditor).post(
        url,
        {
            "bank": bank.pk,
            "year": 2026,
            "amount": 5_000_000,
            "product": terms.product_id,
            "bank_kind": "bpr",
        },
    )
    assert answer.status_code == 403
    assert AuditEntry.objects.count() == before
    assert Allocation.objects.count() == 1


@pytest.mark.parametrize("url", ["/manage/", "/audit/"])
def test_the_read_only_pages_refuse_the_managers_post(client: Client, manager: User, url: str) -> None:
    assert signed_in(client, manager).post(url, {}).status_code == 405


# --- the dashboard -------------------------------------------------------------------------


@pytest.fixture
def history(today: date) -> dict[str, Any]:
    """Loans at two banks closed on 14 March 2026: one disbursed in October and never paid
    (133 days late: NPL), one in January never paid (32 days: PAR30, not NPL), two this
    month (current)."""
    pasar = funded_bank("PASAR")
    jateng = funded_bank("JATENG", kind=Bank.Kind.COMMERCIAL)
    with business_date_fixed(date(2025, 10, 1)):
        serviced_loan(bank=pasar, principal=4_000_000, disbursed_on=date(2025, 10, 1))
    with business_date_fixed(date(2026, 1, 10)):
        serviced_loan(bank=jateng, principal=6_000_000, disbursed_on=date(2026, 1, 10))
    with business_date_fixed(date(2026, 3, 5)):
        serviced_loan(bank=pasar, principal=3_000_000, disbursed_on=date(2026, 3, 5))
        serviced_loan(bank=jateng, principal=2_000_000, disbursed_on=date(2026, 3, 5))
    close(date(2026, 2, 28))
    close(date(2026, 3, 14))
    return {"pasar": pasar, "jateng": jateng}


def test_the_dashboard_shows_the_selectors_figures(client: Client, manager: User, history: dict[str, Any]) -> None:
    html = html_of(signed_in(client, manager), "/manage/")
    totals = portfolio(user=manager).totals
    assert totals.outstanding > 0
    assert totals.par30_outstanding > totals.npl_outstanding > 0
    months = monthly_quality(months=months_ending(TODAY))
    assert len(months) == CHART_MONTHS
    this_year = sum(month.disbursed for month in months if month.month.start.year == 2026)
    assert this_year == 11_000_000  # January's 6 million and March's 5 million
    for figure in (
        rupiah(totals.outstanding),
        rupiah(months[-1].disbursed),
        rupiah(this_year),
        persen(percent_2(totals.par30)),
        persen(percent_2(totals.npl)),
        rupiah(totals.par30_outstanding),
        rupiah(totals.npl_outstanding),
    ):
        assert figure in html, figure
    assert rupiah(5_000_000) in html  # disbursed this month
    for bank in Bank.objects.all():
        assert rupiah(bank.allocated) in html
        assert rupiah(bank.disbursed) in html
        assert rupiah(bank.available) in html
    assert "14 Maret 2026" in html  # the close the quality is from


def test_the_dashboard_lists_applications_waiting_longest_first(client: Client, manager: User) -> None:
    from tests.factories import ApplicationFactory

    terms = ProductTermsFactory.create()
    older = ApplicationFactory.create(state="submitted", terms=terms)
    newer = ApplicationFactory.create(state="forwarded", terms=terms)
    ApplicationFactory.create(state="draft", terms=terms)
    type(older).objects.filter(pk=older.pk).update(state_changed_at=newer.state_changed_at - timedelta(days=9))
    html = html_of(signed_in(client, manager), "/manage/")
    assert html.index(f"#{older.pk}<") < html.index(f"#{newer.pk}<")
    assert re.search(r"Diajukan</th><td class=\"num\">1<", html)
    assert re.search(r"Diteruskan ke bank</th><td class=\"num\">1<", html)


def parse_svg(markup: str) -> ET.Element:
    """The page's own SVG (made by web/charts.py from figures, never from outside input)."""
    return ET.fromstring(markup)  # noqa: S314


def svgs(html: str) -> dict[str, ET.Element]:
    found = {}
    for markup in re.findall(r"<svg .*?</svg>", html, flags=re.S):
        root = parse_svg(markup)
        found[root.attrib["id"]] = root
    return found


def test_the_charts_are_valid_svg_with_a_title_and_one_bar_per_month(
    client: Client, manager: User, history: dict[str, Any]
) -> None:
    html = html_of(signed_in(client, manager), "/manage/", HTTP_ACCEPT_LANGUAGE="en")
    found = svgs(html)
    assert set(found) == {"chart-disbursed", "chart-kecamatan", "chart-npl"}
    for chart_id, root in found.items():
        assert root.attrib["role"] == "img"
        labelled = root.attrib["aria-labelledby"].split()
        ids = {child.attrib.get("id"): child for child in root}
        assert labelled == [f"{chart_id}-title", f"{chart_id}-desc"]
        assert ids[labelled[0]].tag == f"{SVG}title"
        assert ids[labelled[0]].text
        assert ids[labelled[1]].tag == f"{SVG}desc"
    bars = [rect for rect in found["chart-disbursed"].iter(f"{SVG}rect") if rect.attrib.get("class") == "bar"]
    assert len(bars) == CHART_MONTHS
    assert bars[-1].find(f"{SVG}title").text == "Mar: IDR 5,000,000"  # type: ignore[union-attr]
    assert bars[-3].find(f"{SVG}title").text == "Jan: IDR 6,000,000"  # type: ignore[union-attr]
    points = list(found["chart-npl"].iter(f"{SVG}circle"))
    assert len(points) == CHART_MONTHS
    kecamatan = portfolio(user=manager, by="kecamatan").groups
    assert len(list(found["chart-kecamatan"].iter(f"{SVG}rect"))) == len(kecamatan)
    # The data table beside each chart holds the same figures.
    assert html.count("<caption") == 3
    assert '<td>Mar</td><td class="num">IDR 5,000,000</td>' in html


def test_the_dashboard_reads_a_bounded_number_of_queries(
    client: Client, manager: User, history: dict[str, Any], django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    signed_in(client, manager)
    client.get("/manage/")  # the session and the user's roles
    with django_assert_max_num_queries(16):
        html_of(client, "/manage/")
    with business_date_fixed(date(2026, 3, 6)):
        for _ in range(4):
            serviced_loan(bank=history["pasar"], principal=1_000_000, disbursed_on=date(2026, 3, 6))
    close(date(2026, 3, 15))
    with django_assert_max_num_queries(16):
        html_of(client, "/manage/")


# --- the charts' module --------------------------------------------------------------------


def test_the_axis_ends_on_a_round_figure() -> None:
    assert charts.nice_ceiling(0) == 1
    assert charts.nice_ceiling(7) == 10
    assert charts.nice_ceiling(101_000_000) == 200_000_000
    assert charts.nice_ceiling(240) == 250
    assert charts.nice_ceiling(Decimal("2.32")) == Decimal("2.5")


def test_short_rupiah_for_an_axis() -> None:
    assert charts.short_rupiah(0) == "Rp0"
    assert charts.short_rupiah(350_000_000) == "Rp350 jt"
    assert charts.short_rupiah(1_500_000_000) == "Rp1,5 M"
    assert charts.short_rupiah(1_500_000_000, "en") == "IDR 1.5 bn"


def test_a_chart_escapes_its_labels_and_draws_empty_series() -> None:
    chart = charts.column_chart(chart_id="c", title="A & B", points=[("<x>", 5), ("y", 0)])
    root = parse_svg(chart.svg)
    assert root.find(f"{SVG}title").text == "A & B"  # type: ignore[union-attr]
    assert "<x>" not in chart.svg
    empty = charts.bar_chart(chart_id="e", title="none", points=[])
    parse_svg(empty.svg)
    flat = charts.line_chart(chart_id="z", title="zero", points=[("a", 0), ("b", 0)])
    assert len(list(parse_svg(flat.svg).iter(f"{SVG}circle"))) == 2


# --- banks and allocations -----------------------------------------------------------------


def test_the_manager_adds_an_allocation(client: Client, manager: User, today: date) -> None:
    bank = funded_bank("PASAR", amount=100_000_000)
    answer = signed_in(client, manager).post(
        "/manage/banks/", {"bank": bank.pk, "year": 2026, "amount": 250_000_000, "note": "APBD perubahan"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/manage/banks/"
    bank.refresh_from_db()
    assert bank.allocated == 350_000_000
    entry = AuditEntry.objects.get(action="allocation_create")
    assert entry.actor == manager
    html = html_of(client, "/manage/banks/")
    assert "Rp250.000.000" in html
    assert "APBD perubahan" in html
    assert "Rp350.000.000" in html


def test_a_refused_allocation_is_said_beside_the_field_and_keeps_what_was_typed(
    client: Client, manager: User, today: date
) -> None:
    bank = funded_bank("PASAR", amount=100_000_000)
    answer = signed_in(client, manager).post(
        "/manage/banks/", {"bank": bank.pk, "year": 2016, "amount": 0, "note": "salah"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'id="id_year_error"' in html
    assert 'id="id_amount_error"' in html
    assert 'value="salah"' in html
    assert Allocation.objects.count() == 1


def test_the_banks_page_reads_a_bounded_number_of_queries(
    client: Client, manager: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    banks = [funded_bank(f"B{n}") for n in range(2)]
    signed_in(client, manager)
    client.get("/manage/banks/")
    with django_assert_max_num_queries(14):
        html_of(client, "/manage/banks/")
    for n in range(3):
        banks.append(funded_bank(f"C{n}"))
        for year in (2024, 2025):
            allocation_create(actor=manager, bank=banks[-1], year=year, amount=1_000_000)
    with django_assert_max_num_queries(14):
        html_of(client, "/manage/banks/")


# --- collectibility ------------------------------------------------------------------------


def table_post(kind: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"bank_kind": kind}
    for row in collectibility_table(bank_kind=kind):
        data[f"{kind}-name_{row.grade}"] = row.name
        data[f"{kind}-min_days_{row.grade}"] = row.min_days
        data[f"{kind}-provision_percent_{row.grade}"] = row.provision_percent
    data.update({f"{kind}-{name}": value for name, value in changes.items()})
    return data


def test_the_collectibility_page_shows_each_kinds_table_and_the_allowance(client: Client, auditor: User) -> None:
    html = html_of(signed_in(client, auditor), "/manage/collectibility/")
    assert "Dalam Perhatian Khusus" in html
    assert html.count("<tbody>") == 3
    assert "Macet" in html


def test_the_manager_changes_a_collectibility_table(client: Client, manager: User) -> None:
    answer = signed_in(client, manager).post("/manage/collectibility/", table_post("bpr", min_days_2=45))
    assert answer.status_code == 302
    assert CollectibilityClass.objects.get(bank_kind="bpr", grade=2).min_days == 45
    assert CollectibilityClass.objects.get(bank_kind="commercial", grade=2).min_days == 1
    assert AuditEntry.objects.filter(action="collectibility_table_update", subject_id="bpr").count() == 1


def test_a_table_that_cannot_class_every_loan_is_refused(client: Client, manager: User) -> None:
    answer = signed_in(client, manager).post(
        "/manage/collectibility/", table_post("commercial", min_days_3=0), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.status_code == 400
    assert "must start later" in answer.content.decode()
    assert CollectibilityClass.objects.get(bank_kind="commercial", grade=3).min_days == 91


# --- products ------------------------------------------------------------------------------


def terms_post(terms: ProductTerms, **changes: Any) -> dict[str, Any]:
    prefix = f"p{terms.product_id}"
    data = {
        "product": terms.product_id,
        "annual_rate": terms.annual_rate,
        "method": terms.method,
        "ceiling_without_collateral": terms.ceiling_without_collateral,
        "ceiling_with_collateral": terms.ceiling_with_collateral,
        "allowed_tenors": ", ".join(str(tenor) for tenor in terms.allowed_tenors),
        "grace_months": terms.grace_months,
        "min_age_years": terms.min_age_years,
        "min_business_age_months": terms.min_business_age_months,
        "repeat_multiplier": terms.repeat_multiplier,
        "valid_from": "2026-07-01",
        **changes,
    }
    return {name if name == "product" else f"{prefix}-{name}": value for name, value in data.items()}


def test_the_products_page_shows_every_version(client: Client, auditor: User, today: date) -> None:
    terms = ProductTermsFactory.create(valid_from=date(2026, 1, 1), ceiling_without_collateral=5_000_000)
    html = html_of(signed_in(client, auditor), "/manage/products/")
    assert terms.product.name in html
    assert "Rp5.000.000" in html
    assert "1 Januari 2026" in html


def test_the_manager_adds_a_version_of_the_terms(client: Client, manager: User, today: date) -> None:
    terms = ProductTermsFactory.create(valid_from=date(2026, 1, 1))
    answer = signed_in(client, manager).post(
        "/manage/products/", terms_post(terms, ceiling_without_collateral=7_500_000)
    )
    assert answer.status_code == 302
    newest = ProductTerms.objects.get(product=terms.product, version=terms.version + 1)
    assert newest.ceiling_without_collateral == 7_500_000
    assert newest.valid_from == date(2026, 7, 1)
    terms.refresh_from_db()
    assert terms.valid_to == date(2026, 6, 30)


def test_a_version_starting_too_early_is_refused_beside_its_field(client: Client, manager: User, today: date) -> None:
    terms = ProductTermsFactory.create(valid_from=date(2026, 1, 1))
    answer = signed_in(client, manager).post(
        "/manage/products/", terms_post(terms, valid_from="2025-12-01"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert f'id="id_p{terms.product_id}-valid_from_error"' in html
    assert ProductTerms.objects.filter(product=terms.product).count() == 1


# --- the audit trail -----------------------------------------------------------------------


@pytest.fixture
def trail(manager: User) -> dict[str, Any]:
    pasar = funded_bank("PASAR")
    jateng = funded_bank("JATENG")
    other = UserFactory.create(username="mgr2", role=Role.MANAGER)
    allocation_create(actor=manager, bank=pasar, year=2026, amount=1_000_000, note="pertama")
    allocation_create(actor=other, bank=jateng, year=2026, amount=2_000_000, note="kedua")
    bank_update(actor=manager, bank=pasar, name="Bank Pasar Baru")
    return {"pasar": pasar, "jateng": jateng, "other": other}


def rows_of(html: str) -> int:
    return html.count("<tr>") - 1  # less the header


def test_the_audit_trail_filters_by_action_actor_subject_and_date(
    client: Client, auditor: User, manager: User, trail: dict[str, Any]
) -> None:
    signed_in(client, auditor)
    assert "pertama" in html_of(client, "/audit/")
    html = html_of(client, "/audit/?action=allocation_create")
    assert rows_of(html) == 2
    assert "bank_update" not in html
    html = html_of(client, f"/audit/?action=allocation_create&actor={trail['other'].pk}")
    assert rows_of(html) == 1
    assert "kedua" in html
    html = html_of(client, f"/audit/?subject_type=bank&subject_id={trail['pasar'].pk}")
    assert rows_of(html) == 1
    assert "Bank Pasar Baru" in html
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    assert rows_of(html_of(client, f"/audit/?date_from={tomorrow}")) == -1  # no table at all
    assert rows_of(html_of(client, f"/audit/?date_to={tomorrow}&action=bank_update")) == 1


def test_a_bad_audit_filter_is_said_beside_it_not_a_crash(client: Client, auditor: User) -> None:
    html = html_of(signed_in(client, auditor), "/audit/?date_from=31-02-2026&actor=abc", 400, HTTP_ACCEPT_LANGUAGE="en")
    assert 'id="id_date_from_error"' in html
    assert 'id="id_actor_error"' in html


def test_the_audit_trail_pages_keep_the_filters_with_ids_only(
    client: Client, manager: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    bank = funded_bank("PASAR")
    for n in range(30):
        allocation_create(actor=manager, bank=bank, year=2026, amount=1_000 + n)
    signed_in(client, manager)
    client.get("/audit/")
    with django_assert_max_num_queries(10):
        html = html_of(client, f"/audit/?action=allocation_create&actor={manager.pk}")
    assert rows_of(html) == 25
    assert f'href="?actor={manager.pk}&amp;action=allocation_create&amp;page=2"' in html
    with django_assert_max_num_queries(10):
        second = html_of(client, f"/audit/?action=allocation_create&actor={manager.pk}&page=2")
    assert rows_of(second) == 5
    for n in range(30):
        allocation_create(actor=manager, bank=bank, year=2025, amount=5_000 + n)
    with django_assert_max_num_queries(10):
        html_of(client, "/audit/")


def test_the_products_and_collectibility_pages_read_a_bounded_number_of_queries(
    client: Client, manager: User, today: date, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    from tests.factories import ProductFactory

    ProductTermsFactory.create()
    signed_in(client, manager)
    client.get("/manage/products/")
    with django_assert_max_num_queries(10):
        html_of(client, "/manage/products/")
    with django_assert_max_num_queries(10):
        html_of(client, "/manage/collectibility/")
    for n in range(3):
        product = ProductFactory.create(code=f"P{n}", name=f"Produk {n}")
        for version in (1, 2):
            ProductTermsFactory.create(product=product, version=version, valid_from=date(2020 + version, 1, 1))
    with django_assert_max_num_queries(10):
        html = html_of(client, "/manage/products/")
    assert html.count('name="product"') == 4 + 1  # a version form per product, and the new product's


def new_product_post(terms: ProductTerms, code: str, **changes: Any) -> dict[str, Any]:
    data = {key.split("-", 1)[1]: value for key, value in terms_post(terms).items() if key != "product"}
    data.update(changes)
    return {
        "product": "new",
        "new-code": code,
        "new-name": "Wibawa Koperasi",
        **{f"new-terms-{name}": value for name, value in data.items()},
    }


def test_the_manager_creates_a_product_with_its_first_terms(client: Client, manager: User, today: date) -> None:
    terms = ProductTermsFactory.create(valid_from=date(2026, 1, 1))
    form = html_of(signed_in(client, manager), "/manage/products/")
    assert 'name="new-terms-valid_from" value="2026-03-15"' in form  # today, as a date input reads it
    answer = client.post("/manage/products/", new_product_post(terms, "koperasi"))
    assert answer.status_code == 302
    created = ProductTerms.objects.select_related("product").get(product__code="KOPERASI")
    assert created.version == 1
    assert created.product.name == "Wibawa Koperasi"
    assert AuditEntry.objects.filter(action="product_create").count() == 1


def test_a_refused_product_says_which_field_beside_it(client: Client, manager: User, today: date) -> None:
    terms = ProductTermsFactory.create(valid_from=date(2026, 1, 1))
    answer = signed_in(client, manager).post(
        "/manage/products/",
        new_product_post(terms, "WIBAWA", ceiling_with_collateral=1_000_000),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'id="id_new-code_error"' in html
    assert 'id="id_new-terms-ceiling_with_collateral_error"' in html
    assert 'value="Wibawa Koperasi"' in html
    assert ProductTerms.objects.count() == 1
