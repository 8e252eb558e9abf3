"""The accounts pages: the manager's staff, a borrower's login (the code shown once),
activating with a code on the phone, and changing one's password."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import ActivationCode
from accounts.services import activation_code_issue
from audit.models import AuditEntry
from banks.models import BankStaff
from config.api import PROCESS_COUNTERS
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Kebun-Mangga-2026"
CODE = re.compile(r'class="huge code-value">([A-Z0-9-]+)<')


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    PROCESS_COUNTERS.clear()
    cache.clear()
    yield
    PROCESS_COUNTERS.clear()
    cache.clear()


def signed_in(client: Client, role: str | None) -> User:
    user = UserFactory.create(role=role)
    client.force_login(user)
    return user


def landing(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return reverse("web:home")


@pytest.mark.parametrize(
    ("url", "method"),
    [
        ("/manage/staff/", "get"),
        ("/manage/staff/{staff}/", "get"),
        ("/manage/staff/{staff}/deactivate/", "post"),
        ("/manage/staff/{staff}/reactivate/", "post"),
        ("/manage/staff/{staff}/reassign/", "post"),
        ("/manage/staff/{staff}/tokens/revoke/", "post"),
    ],
)
def test_staff_pages_are_the_managers(client: Client, url: str, method: str) -> None:
    staff = UserFactory.create(role="officer")
    path = url.format(staff=staff.pk)
    answer = getattr(client, method)(path)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/?next=")
    for role in ("officer", "bank_staff", "auditor", "borrower"):
        signed_in(client, role)
        assert getattr(client, method)(path).status_code == 403, role
    staff.refresh_from_db()
    assert staff.is_active


def test_a_borrower_or_unknown_user_is_not_found_on_the_staff_pages(client: Client) -> None:
    signed_in(client, "manager")
    borrower = UserFactory.create(role="borrower")
    assert client.get(f"/manage/staff/{borrower.pk}/").status_code == 404
    assert client.post(f"/manage/staff/{borrower.pk}/deactivate/").status_code == 404
    assert client.get("/manage/staff/999999/").status_code == 404
    borrower.refresh_from_db()
    assert borrower.is_active


def test_the_staff_list_in_bounded_queries(client: Client, django_assert_max_num_queries: Any) -> None:
    signed_in(client, "manager")
    pasar = funded_bank("PASAR")
    bank_user(pasar, username="dewi")
    with django_assert_max_num_queries(12):
        html = client.get("/manage/staff/").content.decode()
    assert "dewi" in html
    assert "PASAR" in html
    for _ in range(15):
        bank_user(pasar)
        UserFactory.create(role="auditor")
    with django_assert_max_num_queries(12):
        html = client.get("/manage/staff/").content.decode()
    assert html.count("<tr>") == 1 + 1 + 1 + 30  # header, manager, dewi, the 30 more
    assert "<h1>Staf</h1>" in html


def test_the_manager_creates_staff_with_a_code_shown_once(client: Client) -> None:
    signed_in(client, "manager")
    funded_bank("PASAR")
    answer = client.post("/manage/staff/", {"username": "dewi", "role": "bank_staff", "bank": "PASAR"})
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    html = answer.content.decode()
    code = CODE.search(html)
    assert code is not None
    assert BankStaff.objects.get(user__username="dewi").bank.code == "PASAR"
    assert code[1] not in client.get("/manage/staff/").content.decode()
    assert not ActivationCode.objects.filter(code_digest__contains=code[1]).exists()


def test_the_manager_creates_staff_with_a_password(client: Client) -> None:
    signed_in(client, "manager")
    answer = client.post("/manage/staff/", {"username": "budi", "role": "auditor", "password": NEW_PASSWORD})
    assert answer.status_code == 303
    assert User.objects.get(username="budi").check_password(NEW_PASSWORD)


def test_a_refused_create_shows_the_error_beside_the_field_and_keeps_the_input(client: Client) -> None:
    signed_in(client, "manager")
    answer = client.post("/manage/staff/", {"username": "rina", "role": "bank_staff", "first_name": "Rina"})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'id="id_bank_error"' in html
    assert "Staf bank harus disertai banknya." in html
    assert 'value="Rina"' in html
    assert not User.objects.filter(username="rina").exists()


def test_deactivated_staff_cannot_sign_in_on_the_page_nor_with_a_token(client: Client) -> None:
    manager = signed_in(client, "manager")
    staff = UserFactory.create(role="officer", username="siti")
    token = Token.objects.create(user=staff)
    answer = client.post(f"/manage/staff/{staff.pk}/deactivate/")
    assert answer.status_code == 303
    staff.refresh_from_db()
    assert not staff.is_active
    assert not Token.objects.filter(pk=token.pk).exists()
    assert AuditEntry.objects.filter(action="staff_deactivate", actor=manager).exists()
    other = Client()
    refused = other.post("/login/", {"username": "siti", "password": "pass-for-tests"})
    assert refused.status_code == 200
    assert "_auth_user_id" not in other.session
    assert other.get("/api/v1/auth/session/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 401
    # Reactivated, the password works again.
    assert client.post(f"/manage/staff/{staff.pk}/reactivate/").status_code == 303
    credentials = {"username": "siti", "password": "pass-for-tests"}
    assert other.post("/api/v1/auth/session/", credentials, content_type="application/json").status_code == 200


def test_a_signed_in_session_ends_when_deactivated(client: Client) -> None:
    staff = UserFactory.create(role="auditor")
    theirs = Client()
    theirs.force_login(staff)
    signed_in(client, "manager")
    client.post(f"/manage/staff/{staff.pk}/deactivate/")
    assert theirs.get("/account/password/").status_code == 302


def test_reassign_and_revoke_from_the_page(client: Client, django_assert_max_num_queries: Any) -> None:
    signed_in(client, "manager")
    pasar, jateng = funded_bank("PASAR"), funded_bank("JATENG")
    staff = bank_user(pasar)
    Token.objects.create(user=staff)
    with django_assert_max_num_queries(12):
        html = client.get(f"/manage/staff/{staff.pk}/").content.decode()
    assert "Nonaktifkan" in html
    refused = client.post(f"/manage/staff/{staff.pk}/reassign/", {"role": "officer", "bank": "JATENG"})
    assert refused.status_code == 400
    assert "Hanya staf bank yang bekerja untuk sebuah bank." in refused.content.decode()
    assert (
        client.post(f"/manage/staff/{staff.pk}/reassign/", {"role": "bank_staff", "bank": "JATENG"}).status_code == 303
    )
    assert BankStaff.objects.get(user=staff).bank == jateng
    Token.objects.create(user=staff)
    assert client.post(f"/manage/staff/{staff.pk}/tokens/revoke/").status_code == 303
    assert not Token.objects.filter(user=staff).exists()


def test_an_officer_gives_a_borrower_a_login_and_the_borrower_activates(client: Client) -> None:
    borrower = BorrowerFactory.create(name="Sri Wahyuni")
    url = f"/office/borrowers/{borrower.pk}/login/"
    assert client.post(url).status_code == 302
    signed_in(client, "bank_staff")
    assert client.post(url).status_code == 403
    signed_in(client, "officer")
    assert client.get(url).status_code == 405
    assert client.post("/office/borrowers/999999/login/").status_code == 404
    answer = client.post(url)
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    html = answer.content.decode()
    code = CODE.search(html)
    assert code is not None
    username = f"sri{borrower.pk}"
    assert f'class="huge">{username}<' in html
    assert "<h1>" in html
    assert html.count("<h1>") == 1

    # On the phone: the code, a new password twice; then signed in and sent on.
    phone = Client()
    page = phone.get("/activate/")
    assert page.status_code == 200
    assert 'for="id_code"' in page.content.decode()
    mismatch = phone.post(
        "/activate/", {"username": username, "code": code[1], "password": NEW_PASSWORD, "password_again": "x"}
    )
    assert mismatch.status_code == 400
    assert "Kedua kata sandi tidak sama." in mismatch.content.decode()
    weak = phone.post(
        "/activate/", {"username": username, "code": code[1], "password": "1234", "password_again": "1234"}
    )
    assert weak.status_code == 400
    assert 'id="id_password_error"' in weak.content.decode()
    done = phone.post(
        "/activate/", {"username": username, "code": code[1], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert done["Location"] == landing("web:borrower-home")
    assert phone.session["_auth_user_id"] == str(User.objects.get(username=username).pk)
    again = Client().post(
        "/activate/", {"username": username, "code": code[1], "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert again.status_code == 400
    assert "Kode ini sudah dipakai." in again.content.decode()


def test_an_expired_code_is_refused_on_the_page(client: Client) -> None:
    issued = activation_code_issue(actor=UserFactory.create(role="officer"), borrower=BorrowerFactory.create())
    now = timezone.now()
    ActivationCode.objects.update(issued_at=now - timedelta(hours=73), expires_at=now - timedelta(hours=1))
    answer = client.post("/activate/", {"code": issued.code, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert answer.status_code == 400
    assert "sudah kedaluwarsa" in answer.content.decode()
    assert 'value="' + issued.code + '"' in answer.content.decode()


def test_the_sign_in_page_links_to_activation(client: Client) -> None:
    assert 'href="/activate/"' in client.get("/login/").content.decode()


def test_everyone_changes_their_password(client: Client, django_assert_max_num_queries: Any) -> None:
    assert client.get("/account/password/").status_code == 302
    user = signed_in(client, "borrower")
    with django_assert_max_num_queries(8):
        page = client.get("/account/password/")
    assert page.status_code == 200
    wrong = client.post(
        "/account/password/",
        {"old_password": "nope", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert wrong.status_code == 400
    assert 'id="id_old_password_error"' in wrong.content.decode()
    done = client.post(
        "/account/password/",
        {"old_password": "pass-for-tests", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert done.status_code == 303
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/account/password/").status_code == 200  # still signed in
    assert AuditEntry.objects.filter(action="password_change", actor=user).exists()
