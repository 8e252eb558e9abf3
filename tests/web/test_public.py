"""The public pages (home, simulator), signing in and out, and what every page shares:
the language switch, the sign-in redirect for strangers, the vendored assets."""

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from config.roles import Role
from tests.factories import ProductTermsFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def page(client: Client, url: str, **extra: Any) -> str:
    answer = client.get(url, **extra)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.content.decode()


def test_home_shows_the_programme_terms_in_force_in_indonesian_by_default(client: Client) -> None:
    ProductTermsFactory.create(ceiling_without_collateral=5_000_000, ceiling_with_collateral=50_000_000)
    html = page(client, "/")
    assert '<html lang="id">' in html
    assert "Rp5.000.000" in html
    assert "Rp50.000.000" in html
    assert "3,00%" in html
    assert 'href="/login/"' in html
    assert 'href="/simulator/"' in html


def test_the_language_switch_is_remembered(client: Client) -> None:
    answer = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert answer.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = page(client, "/")
    assert '<html lang="en">' in html
    assert "Who can apply" in html
    client.post("/i18n/setlang/", {"language": "id", "next": "/"})
    assert "Siapa yang dapat mengajukan" in page(client, "/")


def test_the_simulator_compares_flat_and_annuity_with_their_effective_rates(client: Client) -> None:
    html = page(client, "/simulator/?principal=12000000&tenor_months=12&method=flat")
    # Flat at 3% a year: 12,000,000 / 12 + 30,000 interest each month.
    assert "Rp1.030.000" in html
    assert html.count('class="card') == 2
    assert "Bunga efektif per tahun" in html
    rates = re.findall(r"(\d+,\d\d)%", html)
    assert rates == ["5,49", "3,00"]  # flat costs near twice its nominal 3%; annuity is 3% on the balance
    assert html.count("<tr>") == 1 + 12  # the chosen method's schedule: a header and 12 rows


def test_the_simulator_answers_htmx_with_the_results_fragment_only(client: Client) -> None:
    html = page(client, "/simulator/?principal=5000000&tenor_months=6&method=annuity", HTTP_HX_REQUEST="true")
    assert "<html" not in html
    assert html.count("<tr>") == 1 + 6


def test_the_simulator_shows_bad_input_beside_the_field_and_keeps_it(client: Client) -> None:
    html = page(client, "/simulator/?principal=-5&tenor_months=500&method=flat", HTTP_ACCEPT_LANGUAGE="en")
    assert 'value="-5"' in html
    assert 'value="500"' in html
    assert html.count('class="error"') >= 2
    assert "<table" not in html


def test_sign_in_leads_each_role_to_its_start_page(client: Client) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    answer = client.post("/login/", {"username": "mgr", "password": "pass-for-tests"})
    assert answer.status_code == 302
    assert answer["Location"] == "/manage/"
    assert client.get("/start/")["Location"] == "/manage/"


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_the_site(client: Client) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    answer = client.post("/login/", {"username": "mgr", "password": "pass-for-tests", "next": "/simulator/"})
    assert answer["Location"] == "/simulator/"
    client.post("/logout/")
    answer = client.post("/login/", {"username": "mgr", "password": "pass-for-tests", "next": "https://evil.example/"})
    assert answer["Location"] == "/manage/"


def test_a_wrong_password_is_said_beside_the_field_and_the_username_kept(client: Client) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    html = client.post("/login/", {"username": "mgr", "password": "nope"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'value="mgr"' in html
    assert "Wrong username or password." in html
    assert 'aria-invalid="true"' in html


def test_repeated_wrong_passwords_lock_the_page_sign_in_as_they_lock_the_api(client: Client, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    UserFactory.create(username="locked-mgr", role=Role.MANAGER)  # a name no other test's guesses counted
    for _ in range(3):
        assert client.post("/login/", {"username": "locked-mgr", "password": "nope"}).status_code == 200
    locked = client.post("/login/", {"username": "locked-mgr", "password": "pass-for-tests"}, HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert "Too many failed logins for this account" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_stranger_is_sent_to_sign_in_and_sign_out_needs_a_post(client: Client) -> None:
    answer = client.get("/start/")
    assert answer.status_code == 302
    assert answer["Location"] == "/login/?next=/start/"
    assert client.get("/logout/").status_code == 405


def test_sessions_end_after_the_idle_time_and_every_request_extends_them() -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_every_page_form_has_a_csrf_token(client: Client) -> None:
    html = page(client, "/login/")
    assert html.count("csrfmiddlewaretoken") >= 2  # the sign-in form and the language switch


def test_the_assets_are_served_from_the_project() -> None:
    html = (ROOT / "web/templates/web/base.html").read_text()
    assert "http://" not in html
    assert "https://" not in html
    vendored = (ROOT / "web/VENDORED.md").read_text()
    for path, digest in re.findall(r"\| `([^`]+)`[^|]*\|[^|]*\|[^|]*\|[^|]*\| ([0-9a-f]{64}) \|", vendored):
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, path
    assert len(re.findall(r"[0-9a-f]{64}", vendored)) == 2


def test_static_files_are_served_by_whitenoise(client: Client) -> None:
    answer = client.get("/static/web/app.css")
    assert answer.status_code == 200
    assert b"--brand" in b"".join(answer.streaming_content)  # type: ignore[attr-defined]


def test_the_menu_marks_only_the_page_open_as_current(client: Client) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    assert client.login(username="mgr", password="pass-for-tests")
    html = page(client, "/manage/products/", HTTP_ACCEPT_LANGUAGE="en")
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == ["/manage/products/"]
    html = page(client, "/manage/", HTTP_ACCEPT_LANGUAGE="en")
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == ["/manage/"]
