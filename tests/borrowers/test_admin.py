"""The admin shows borrower data read-only, and opening a borrower there is a logged read."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse

from borrowers.models import Borrower, BorrowerReadLog, Business, Region
from tests.factories import BusinessFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client: Client) -> tuple[Client, User]:
    user = User.objects.create_superuser("root", "root@example.org", "pass-for-tests")
    client.force_login(user)
    return client, user


@pytest.mark.parametrize("model", [Region, Borrower, Business, BorrowerReadLog])
def test_borrower_models_are_registered_read_only(model: type[Model], rf: RequestFactory) -> None:
    model_admin = admin.site._registry[model]
    request = rf.get("/admin/")
    request.user = User(is_superuser=True, is_active=True, is_staff=True)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_changelists_open_and_mask_the_nik(superuser_client: tuple[Client, User]) -> None:
    client, _ = superuser_client
    borrower = BusinessFactory.create().borrower
    for name in ("region", "borrower", "business", "borrowerreadlog"):
        assert client.get(reverse(f"admin:borrowers_{name}_changelist")).status_code == 200
    page = client.get(reverse("admin:borrowers_borrower_changelist")).content.decode()
    assert borrower.nik not in page
    assert f"{borrower.nik[:4]}********{borrower.nik[-4:]}" in page
    assert not BorrowerReadLog.objects.exists()


def test_opening_a_borrower_in_the_admin_is_a_logged_read(superuser_client: tuple[Client, User]) -> None:
    client, user = superuser_client
    borrower = BusinessFactory.create().borrower
    url = reverse("admin:borrowers_borrower_change", args=[borrower.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert borrower.nik in response.content.decode()
    assert list(BorrowerReadLog.objects.values_list("borrower_id", "user_id", "path")) == [(borrower.pk, user.pk, url)]


def test_the_read_log_cannot_be_edited_or_deleted(superuser_client: tuple[Client, User]) -> None:
    client, user = superuser_client
    borrower = BusinessFactory.create().borrower
    row = BorrowerReadLog.objects.create(borrower=borrower, user=user, path="/x/")
    assert (
        client.post(reverse("admin:borrowers_borrowerreadlog_change", args=[row.pk]), {"path": "/y/"}).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:borrowers_borrowerreadlog_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    row.refresh_from_db()
    assert row.path == "/x/"
