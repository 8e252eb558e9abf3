"""The public pages in a real browser, at phone and desktop size: the home page, the
simulator updating as the person types, signing in (a wrong password said beside the
field; the right one lands), the language switch remembered. Each page: a screenshot,
axe-core's accessibility rules and no console error."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, expect

from config.roles import Role
from tests.factories import ProductTermsFactory, UserFactory
from tests.web.e2e.browser import E2E, check_a11y, shoot, sign_in, size_of

pytestmark = E2E


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def path_of_url(url: str) -> str:
    return urlsplit(url).path


def test_home_shows_the_terms_in_indonesian(page: Page) -> None:
    ProductTermsFactory.create(ceiling_without_collateral=5_000_000, ceiling_with_collateral=50_000_000)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("h1")).to_have_text("Kredit Wibawa")
    expect(page.locator("main")).to_contain_text("Rp5.000.000")
    expect(page.locator("main")).to_contain_text("Rp50.000.000")
    shoot(page, "home")
    check_a11y(page)


def test_the_simulator_follows_the_typing_without_reloading(page: Page) -> None:
    page.goto("/simulator/")
    expect(page.locator("#results .card")).to_have_count(2)
    check_a11y(page)
    page.evaluate("window.sameDocument = true")  # gone if the page reloaded
    with page.expect_response(
        lambda answer: path_of_url(answer.url) == "/simulator/" and answer.request.headers.get("hx-request") == "true"
    ) as fragment:
        page.locator("#id_principal").fill("12000000")
    assert fragment.value.status == 200
    # Flat at 3% a year: 12.000.000 / 12 + 30.000 interest each month.
    expect(page.locator("#results")).to_contain_text("Rp1.030.000")
    expect(page.locator("#results tbody tr")).to_have_count(12)
    page.locator("#id_tenor_months").fill("6")
    expect(page.locator("#results tbody tr")).to_have_count(6)
    assert page.evaluate("window.sameDocument") is True
    assert path_of(page) == "/simulator/"
    shoot(page, "simulator")
    check_a11y(page)


def test_a_wrong_password_is_said_beside_the_field(page: Page) -> None:
    UserFactory.create(username="siti", role=Role.MANAGER)
    sign_in(page, "siti", "not-her-password", succeed=False)
    assert path_of(page) == "/login/"
    password = page.locator(".field", has=page.locator("#id_password"))
    expect(password.locator(".error")).to_have_text("Nama pengguna atau kata sandi salah.")
    expect(page.locator("#id_password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_username")).to_have_value("siti")
    shoot(page, "sign-in-refused")
    check_a11y(page)


def test_the_right_password_lands_on_the_page_asked_for_and_sign_out_leaves(page: Page) -> None:
    UserFactory.create(username="siti", role=Role.MANAGER)
    page.goto("/login/")
    shoot(page, "sign-in")
    check_a11y(page)
    sign_in(page, "siti", "pass-for-tests", next="/simulator/")
    assert path_of(page) == "/simulator/"
    expect(page.locator("header .who")).to_have_text("siti")
    check_a11y(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Keluar").click()
    assert path_of(page) == "/"
    expect(page.locator("header")).to_contain_text("Masuk")


def test_the_language_switch_is_remembered_across_pages(page: Page) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#who")).to_have_text("Who can apply")
    shoot(page, "home-en")
    check_a11y(page)
    page.goto("/simulator/")
    expect(page.locator("h1")).to_have_text("Loan simulator")
    again = page.context.new_page()  # another tab of the same browser
    again.goto("/login/")
    expect(again.locator("h1")).to_have_text("Sign in")
    shoot(again, "sign-in-en")
    check_a11y(again)
    with again.expect_navigation():
        again.get_by_role("button", name="Bahasa Indonesia").click()
    expect(again.locator("h1")).to_have_text("Masuk")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("#who")).to_have_text("Siapa yang dapat mengajukan")


def test_two_people_on_two_devices_have_sessions_of_their_own(phone: BrowserContext, desktop: BrowserContext) -> None:
    UserFactory.create(username="siti", role=Role.MANAGER)
    office = desktop.new_page()
    sign_in(office, "siti", "pass-for-tests", next="/")
    expect(office.locator("header .who")).to_have_text("siti")
    street = phone.new_page()
    street.goto("/")
    assert size_of(street) == "phone"
    expect(street.locator("header .who")).to_have_count(0)
    expect(street.locator("header")).to_contain_text("Masuk")
