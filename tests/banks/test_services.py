"""Bank services and selectors: banks, allocations and the fund counter, staff, scope."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections, transaction

from banks.models import Allocation, Bank, BankStaff
from banks.selectors import allocation_list, bank_visible
from banks.services import allocation_create, bank_create, bank_fund_draw, bank_staff_add, bank_update
from config.errors import ApplicationError
from config.roles import bank_id_of, roles_of
from tests.banks.conftest import People
from tests.factories import BankFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(call: Any, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    return caught.value.errors


# --- banks -------------------------------------------------------------------------------


def test_bank_create_upper_cases_the_code_and_starts_with_an_empty_fund(people: People) -> None:
    bank = bank_create(
        actor=people.manager, code=" bpr-kota ", name="BPR Kota", kind="bpr", servicing_fee_percent="2.5"
    )
    bank.refresh_from_db()
    assert (bank.code, bank.name, bank.kind, bank.active) == ("BPR-KOTA", "BPR Kota", "bpr", True)
    assert bank.servicing_fee_percent == Decimal("2.50")
    assert (bank.allocated, bank.disbursed, bank.principal_repaid, bank.available) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "PASAR"}, "code"),
        ({"code": "pasar"}, "code"),
        ({"code": "BANK JATENG"}, "code"),
        ({"code": "A" * 17}, "code"),
    ],
)
def test_bank_create_refuses_bad_fields_by_name(people: People, fields: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"actor": people.manager, "code": "NEW", "name": "New bank", "kind": "bpr"}
    values.update(fields)
    assert list(refused(bank_create, **values)) == [field]
    assert not Bank.objects.filter(code="NEW").exists()


def test_bank_update_writes_only_its_fields_and_never_a_stale_fund(people: People) -> None:
    stale = Bank.objects.get(code="PASAR")
    allocation_create(actor=people.manager, bank=people.pasar, year=2026, amount=500_000_000)
    updated = bank_update(actor=people.manager, bank=stale, name="Bank Pasar", servicing_fee_percent="10", active=False)
    assert updated.allocated == 1_500_000_000
    stored = Bank.objects.get(code="PASAR")
    assert (stored.name, stored.servicing_fee_percent, stored.active) == ("Bank Pasar", Decimal("10.00"), False)
    assert stored.allocated == 1_500_000_000


# Values of the wrong type or out of range are the caller's to refuse (the API's
# serializer, the admin's form): tests/banks/test_apis.py has those cases.


@pytest.mark.parametrize("fields", [{"code": "OTHER"}, {"allocated": 10**12}])
def test_bank_update_refuses_unchangeable_fields(people: People, fields: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=next(iter(fields))):
        bank_update(actor=people.manager, bank=people.pasar, **fields)
    assert Bank.objects.get(pk=people.pasar.pk).allocated == 1_000_000_000


# --- allocations ---------------------------------------------------------------------------


def test_allocation_adds_to_the_bank_fund(people: People) -> None:
    allocation = allocation_create(actor=people.manager, bank=people.pasar, year=2026, amount=250_000_000, note="APBD")
    assert (allocation.year, allocation.amount, allocation.note, allocation.created_by) == (
        2026,
        250_000_000,
        "APBD",
        people.manager,
    )
    assert allocation.bank.allocated == 1_250_000_000
    assert allocation.bank.available == 1_250_000_000
    assert Bank.objects.get(pk=people.pasar.pk).allocated == 1_250_000_000
    assert Bank.objects.get(pk=people.jateng.pk).allocated == 2_000_000_000


def test_allocated_money_can_be_drawn_for_disbursement(people: People) -> None:
    bank = BankFactory.create(code="EMPTY")
    # (An allocation of 0 is refused by the API: test_allocation_bad_input_is_400_naming_the_field.)
    allocation_create(actor=people.manager, bank=bank, year=2026, amount=10_000_000)
    with transaction.atomic():
        assert bank_fund_draw(bank_id=bank.pk, amount=10_000_000)
        assert not bank_fund_draw(bank_id=bank.pk, amount=1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_are_all_counted() -> None:
    assert connection.vendor == "postgresql"
    manager = UserFactory.create(role="manager")
    bank = BankFactory.create(code="RACE")
    threads_count, per_thread = 4, 5
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def allocate(amount: int) -> None:
        try:
            start.wait(timeout=120)
            for _ in range(per_thread):
                allocation_create(actor=manager, bank=bank, year=2026, amount=amount)
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    amounts = [100_000_000 * (n + 1) for n in range(threads_count)]
    threads = [threading.Thread(target=allocate, args=(amount,)) for amount in amounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert Bank.objects.get(pk=bank.pk).allocated == per_thread * sum(amounts)
    assert Allocation.objects.filter(bank=bank).count() == threads_count * per_thread


def test_allocation_list_filters_by_year(people: People) -> None:
    allocation_create(actor=people.manager, bank=people.pasar, year=2025, amount=1)
    allocation_create(actor=people.manager, bank=people.pasar, year=2027, amount=2)
    assert [a.year for a in allocation_list(bank=people.pasar)] == [2025, 2026, 2027]
    assert [a.amount for a in allocation_list(bank=people.pasar, year=2027)] == [2]
    assert list(allocation_list(bank=people.pasar, year=2030)) == []


# --- staff and scope -----------------------------------------------------------------------


def test_bank_staff_add_gives_the_role_and_the_bank(people: People) -> None:
    user = UserFactory.create(username="teller")
    assert bank_id_of(user) is None
    staff = bank_staff_add(bank=people.jateng, user=user)
    assert staff.bank == people.jateng
    assert "bank_staff" in roles_of(user)
    assert bank_id_of(user) == people.jateng.pk
    assert bank_staff_add(bank=people.jateng, user=user) == staff  # again: no change
    assert list(refused(bank_staff_add, bank=people.pasar, user=user)) == ["user"]
    assert BankStaff.objects.get(user=user).bank == people.jateng


@pytest.mark.parametrize(
    ("who", "codes"),
    [
        ("officer", ["JATENG", "PASAR"]),
        ("auditor", ["JATENG", "PASAR"]),
        ("manager", ["JATENG", "PASAR"]),
        ("pasar_staff", ["PASAR"]),
        ("jateng_staff", ["JATENG"]),
        ("borrower", []),
        ("nobody", []),
    ],
)
def test_bank_visible_by_role(people: People, who: str, codes: list[str]) -> None:
    assert [bank.code for bank in bank_visible(user=people.by_name(who))] == codes


def test_bank_staff_without_a_bank_row_sees_no_bank(people: People) -> None:
    orphan: User = UserFactory.create(role="bank_staff")
    assert list(bank_visible(user=orphan)) == []
