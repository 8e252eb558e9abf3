"""The bank admin writes through the services: the fund counters only move with
allocations, and a change never overwrites them. (``admin_client`` is pytest-django's
client logged in as a superuser.)"""

import pytest
from django.test import Client

from banks.models import Allocation, Bank, BankStaff
from config.roles import Role
from tests.banks.conftest import People
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_adds_a_bank_through_the_service(admin_client: Client, people: People) -> None:
    response = admin_client.post(
        "/admin/banks/bank/add/",
        {"code": "bpr-kota", "name": "BPR Kota", "kind": "bpr", "servicing_fee_percent": "1.5", "active": "on"},
    )
    assert response.status_code == 302, response.content
    assert Bank.objects.get(code="BPR-KOTA").allocated == 0


def test_admin_bank_form_refuses_a_bad_code(admin_client: Client, people: People) -> None:
    response = admin_client.post(
        "/admin/banks/bank/add/", {"code": "HAS SPACE", "name": "x", "kind": "bpr", "servicing_fee_percent": "0"}
    )
    assert response.status_code == 200  # the form again, with the error
    assert not Bank.objects.filter(name="x").exists()


def test_admin_change_never_overwrites_the_fund(admin_client: Client, people: People) -> None:
    page = admin_client.get(f"/admin/banks/bank/{people.pasar.pk}/change/")
    assert page.status_code == 200
    # A disbursement lands between showing the form and saving it.
    Bank.objects.filter(pk=people.pasar.pk).update(disbursed=100_000_000)
    response = admin_client.post(
        f"/admin/banks/bank/{people.pasar.pk}/change/",
        {"name": "Bank Pasar", "kind": "bpr", "servicing_fee_percent": "5", "active": "on"},
    )
    assert response.status_code == 302, response.content
    pasar = Bank.objects.get(pk=people.pasar.pk)
    assert (pasar.name, pasar.disbursed, pasar.allocated) == ("Bank Pasar", 100_000_000, 1_000_000_000)
    assert admin_client.post(f"/admin/banks/bank/{people.pasar.pk}/delete/", {"post": "yes"}).status_code == 403


def test_admin_allocation_moves_the_counter_and_cannot_be_changed(admin_client: Client, people: People) -> None:
    response = admin_client.post(
        "/admin/banks/allocation/add/", {"bank": people.jateng.pk, "year": 2026, "amount": 5_000_000, "note": "x"}
    )
    assert response.status_code == 302, response.content
    assert Bank.objects.get(pk=people.jateng.pk).allocated == 2_005_000_000
    allocation = Allocation.objects.get(note="x")
    assert allocation.created_by is not None
    bad = admin_client.post("/admin/banks/allocation/add/", {"bank": people.jateng.pk, "year": 2026, "amount": -5})
    assert bad.status_code == 200
    assert Bank.objects.get(pk=people.jateng.pk).allocated == 2_005_000_000
    assert admin_client.post(f"/admin/banks/allocation/{allocation.pk}/delete/", {"post": "yes"}).status_code == 403


def test_admin_adds_staff_with_the_role(admin_client: Client, people: People) -> None:
    user = UserFactory.create(username="teller")
    response = admin_client.post("/admin/banks/bankstaff/add/", {"user": user.pk, "bank": people.pasar.pk})
    assert response.status_code == 302, response.content
    assert BankStaff.objects.get(user=user).bank == people.pasar
    assert user.groups.filter(name=Role.BANK_STAFF).exists()
    again = admin_client.post("/admin/banks/bankstaff/add/", {"user": user.pk, "bank": people.jateng.pk})
    assert again.status_code == 200  # one bank per user: the form refuses
