"""Borrower services: the rules, the error shape, what is stored."""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone, translation

from borrowers.models import Borrower, BorrowerReadLog, Business, Region
from borrowers.services import (
    borrower_create,
    borrower_login_create,
    borrower_read_log,
    borrower_update,
    business_create,
)
from config.errors import ApplicationError
from config.roles import Role, borrower_id_of, has_role
from tests.borrowers.conftest import NEW_NIK
from tests.factories import BorrowerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def business_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Warung Bu Sri",
        "sector": "food",
        "nib": "9120001234567",
        "started_on": date(2019, 3, 1),
        "monthly_revenue": 15_000_000,
    }
    values.update(overrides)
    return values


def create(**overrides: Any) -> Borrower:
    values: dict[str, Any] = {
        "actor": UserFactory.create(role="officer"),
        "nik": NEW_NIK,
        "name": "Sri Wahyuni",
        "birth_date": date(1985, 8, 17),
        "sex": "F",
        "phone": "0812-3456-7890",
        "address": "Jl. Pemuda 12",
        "kelurahan_code": "33.74.01.1001",
        "business": business_values(),
    }
    business = overrides.pop("business", {})
    values.update(overrides)
    values["business"] = {**values["business"], **business}
    return borrower_create(**values)


def refused(**overrides: Any) -> dict[str, Any]:
    """The errors of a refused registration (and nothing stored)."""
    before = Borrower.objects.count(), Business.objects.count()
    with pytest.raises(ApplicationError) as caught:
        create(**overrides)
    assert (Borrower.objects.count(), Business.objects.count()) == before
    return caught.value.errors


def test_create_stores_the_borrower_and_the_business_normalised() -> None:
    officer = UserFactory.create(role="officer")
    borrower = create(actor=officer, nik="3374 0557 0885 0001", npwp="01.312.166.0-091.000", phone="+62 812 3456 7890")
    borrower.refresh_from_db()
    assert borrower.nik == NEW_NIK
    assert borrower.phone == "+6281234567890"
    assert borrower.npwp == "013121660091000"
    assert borrower.kelurahan_id == "33.74.01.1001"
    assert borrower.created_by == officer
    assert borrower.user is None
    (business,) = borrower.businesses.all()
    assert (business.nib, business.kind, business.workers, business.monthly_revenue) == (
        "9120001234567",
        Business.Kind.INDIVIDUAL,
        1,
        15_000_000,
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"nik": "337405570885000"}, "nik", "A NIK has 16 digits; this one has 15."),
        ({"nik": "3374053202850001"}, "nik", "is impossible"),
        ({"nik": "33740557088500X1"}, "nik", "only digits"),
        ({"nik": "9974055708850001"}, "nik", "not an Indonesian province code"),
        ({"birth_date": date(1985, 8, 18)}, "birth_date", "which gives 17-08-85"),
        ({"birth_date": date(1995, 8, 17)}, "birth_date", "does not agree with the NIK"),
        ({"sex": "M"}, "sex", "a woman's"),
        ({"phone": "024 3512345"}, "phone", "not an Indonesian mobile number"),
        ({"phone": "+1 555 123 4567"}, "phone", "Only Indonesian"),
        ({"kelurahan_code": "33.22.01.2001"}, "kelurahan", "kelurahan 33.22.01.2001 is not in the region list"),
        ({"kelurahan_code": "33.74.01"}, "kelurahan", "is a Kecamatan, not a kelurahan"),
        ({"kelurahan_code": "33.74"}, "kelurahan", "not a kelurahan"),
        ({"kelurahan_code": ""}, "kelurahan", "not in the region list"),
        ({"npwp": "013121661091000"}, "npwp", "check digit"),
        # A blank name or address is the API serializer's to refuse (tests/borrowers/test_apis.py).
    ],
)
def test_create_refuses_each_bad_field(overrides: dict[str, Any], field: str, message: str) -> None:
    errors = refused(**overrides)
    assert list(errors) == [field]
    assert message in errors[field][0]


def test_the_address_must_be_in_kota_semarang() -> None:
    errors = refused(kelurahan_code="33.22.01.2001")
    assert errors["kelurahan"] == [
        "The address must be in Kota Semarang: kelurahan 33.22.01.2001 is not in the region list."
    ]


def test_a_kelurahan_of_another_regency_in_the_region_table_is_outside() -> None:
    regency = Region.objects.create(code="33.22", name="Kabupaten Semarang", level=Region.Level.REGENCY)
    district = Region.objects.create(code="33.22.01", name="Getasan", level=Region.Level.DISTRICT, parent=regency)
    Region.objects.create(code="33.22.01.2001", name="Sumogawe", level=Region.Level.VILLAGE, parent=district)
    errors = refused(kelurahan_code="33.22.01.2001")
    assert errors["kelurahan"] == [
        "The address must be in Kota Semarang: kelurahan 33.22.01.2001 (Sumogawe) is outside it."
    ]


def test_the_nik_prefix_does_not_decide_residence() -> None:
    # Registered first in Kabupaten Semarang (33.22), living in Kota Semarang: accepted.
    borrower = create(nik="3322015708850001")
    assert borrower.kelurahan_id == "33.74.01.1001"


def test_a_birth_date_in_the_future_is_refused() -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)
    nik = f"337405{tomorrow.day + 40:02d}{tomorrow:%m%y}0001"
    errors = refused(nik=nik, birth_date=tomorrow)
    assert errors == {"birth_date": ["A birth date cannot be in the future."]}


def test_a_duplicate_nik_is_refused() -> None:
    create()
    errors = refused(business={"nib": "9120001234568"})
    assert errors == {"nik": ["A borrower with this NIK is already registered."]}


def test_every_fault_is_reported_at_once_with_business_errors_nested() -> None:
    with pytest.raises(ApplicationError) as caught:
        create(
            sex="M",
            phone="12345",
            kelurahan_code="33.74.99.9999",
            business={"nib": "123", "started_on": timezone.localdate() + timedelta(days=1)},
        )
    assert caught.value.message == "Invalid input."
    errors: dict[str, Any] = caught.value.errors  # nested for the business, as DRF nests
    assert set(errors) == {"sex", "phone", "kelurahan", "business"}
    assert set(errors["business"]) == {"nib", "started_on"}
    assert errors["business"]["nib"] == ["An NIB has 13 digits; this one has 3."]


def test_a_single_fault_is_the_message() -> None:
    with pytest.raises(ApplicationError) as caught:
        create(phone="024 3512345")
    assert caught.value.message == caught.value.errors["phone"][0]


@pytest.mark.parametrize(
    ("business", "field", "message"),
    [
        ({"nib": "912000123456"}, "nib", "13 digits"),
        ({"nib": "", "licence_number": ""}, "nib", "NIB (13 digits) or"),
        ({"started_on": timezone.localdate() + timedelta(days=1)}, "started_on", "future"),
        # Types and ranges (revenue, workers, kind, sector, rating) are the API
        # serializer's to refuse: tests/borrowers/test_apis.py.
        ({"kind": "cooperative"}, "health_rating", "needs its health rating"),
        ({"health_rating": "sehat"}, "health_rating", "Only a cooperative"),
    ],
)
def test_business_rules(business: dict[str, Any], field: str, message: str) -> None:
    errors = refused(business=business)
    assert list(errors) == ["business"]
    assert list(errors["business"]) == [field]
    assert message in errors["business"][field][0]


def test_a_licence_number_replaces_the_nib() -> None:
    borrower = create(business={"nib": "", "licence_number": "518/123/IUMK/2016"})
    business = borrower.businesses.get()
    assert (business.nib, business.licence_number) == ("", "518/123/IUMK/2016")


def test_a_cooperative_with_its_rating() -> None:
    borrower = create(business={"kind": "cooperative", "health_rating": "cukup_sehat", "workers": 6})
    business = borrower.businesses.get()
    assert (business.kind, business.health_rating, business.workers) == ("cooperative", "cukup_sehat", 6)


def test_an_nib_of_another_borrowers_business_is_refused() -> None:
    other = BorrowerFactory.create()
    Business.objects.create(
        borrower=other, name="Toko", sector="trade", nib="9120001234567", started_on=date(2018, 1, 1), monthly_revenue=1
    )
    errors = refused()
    assert errors == {"business": {"nib": ["This NIB is registered to another borrower's business."]}}


def test_business_create_adds_a_business_and_reports_flat_fields() -> None:
    borrower = create()
    officer = UserFactory.create(role="officer")
    # The same borrower may list a second business under their one NIB.
    second = business_create(actor=officer, borrower=borrower, **business_values(name="Katering Sri"))
    assert second.borrower == borrower
    assert borrower.businesses.count() == 2
    with pytest.raises(ApplicationError) as caught:
        business_create(actor=officer, borrower=borrower, **business_values(nib="", kind="cooperative"))
    assert set(caught.value.errors) == {"nib", "health_rating"}


def test_update_changes_the_allowed_fields() -> None:
    borrower = create(npwp="013121660091000")
    officer = UserFactory.create(role="officer")
    updated = borrower_update(
        actor=officer,
        borrower=borrower,
        name="Sri Wahyuningsih",
        phone="0857 1111 2222",
        address="Jl. Kartini 5",
        kelurahan_code="33.74.02.1001",
        npwp="",
    )
    assert (updated.name, updated.phone, updated.address, updated.kelurahan_id, updated.npwp) == (
        "Sri Wahyuningsih",
        "+6285711112222",
        "Jl. Kartini 5",
        "33.74.02.1001",
        "",
    )
    borrower.refresh_from_db()
    assert borrower.phone == "+6285711112222"


def test_update_keeps_birth_date_and_sex_agreeing_with_the_nik() -> None:
    borrower = create()
    officer = UserFactory.create(role="officer")
    with pytest.raises(ApplicationError) as caught:
        borrower_update(actor=officer, borrower=borrower, birth_date=date(1985, 8, 18))
    assert set(caught.value.errors) == {"birth_date"}
    with pytest.raises(ApplicationError) as caught:
        borrower_update(actor=officer, borrower=borrower, sex="M")
    assert set(caught.value.errors) == {"sex"}
    # A birth date in another century of the same two digits still agrees.
    assert borrower_update(actor=officer, borrower=borrower, birth_date=date(1985, 8, 17), sex="F").sex == "F"


def test_the_nik_never_changes() -> None:
    borrower = create()
    officer = UserFactory.create(role="officer")
    with pytest.raises(ApplicationError) as caught:
        borrower_update(actor=officer, borrower=borrower, nik="3374055708850002")
    assert set(caught.value.errors) == {"nik"}
    assert borrower_update(actor=officer, borrower=borrower, nik="3374 0557 0885 0001").nik == NEW_NIK


def test_update_refuses_unknown_fields_as_a_programming_error() -> None:
    borrower = create()
    with pytest.raises(TypeError):
        borrower_update(actor=None, borrower=borrower, user=None)


def test_update_refuses_bad_values_and_changes_nothing() -> None:
    borrower = create()
    with pytest.raises(ApplicationError) as caught:
        borrower_update(actor=None, borrower=borrower, name="New", phone="021 555", kelurahan_code="33.74.01")
    assert set(caught.value.errors) == {"phone", "kelurahan"}
    borrower.refresh_from_db()
    assert borrower.name == "Sri Wahyuni"


def test_login_create_gives_the_borrower_a_login() -> None:
    borrower = create()
    user = borrower_login_create(borrower=borrower, username="sri", password="wibawa-demo")
    borrower.refresh_from_db()
    assert borrower.user == user
    assert user.check_password("wibawa-demo")
    reloaded = User.objects.get(pk=user.pk)
    assert has_role(reloaded, Role.BORROWER)
    assert borrower_id_of(reloaded) == borrower.pk


def test_login_create_refuses_a_second_login_or_a_taken_username() -> None:
    borrower = create()
    borrower_login_create(borrower=borrower, username="sri", password="wibawa-demo")
    with pytest.raises(ApplicationError) as caught:
        borrower_login_create(borrower=borrower, username="sri2", password="wibawa-demo")
    assert "already has a login" in caught.value.errors["username"][0]
    other = BorrowerFactory.create()
    with pytest.raises(ApplicationError) as caught:
        borrower_login_create(borrower=other, username="SRI", password="wibawa-demo")
    assert "taken" in caught.value.errors["username"][0]


def test_read_log_records_who_read_what() -> None:
    borrower = BorrowerFactory.create()
    officer = UserFactory.create(role="officer")
    row = borrower_read_log(borrower=borrower, user=officer, path="/api/v1/borrowers/1/" + "x" * 300)
    assert BorrowerReadLog.objects.get() == row
    assert (row.borrower, row.user, len(row.path)) == (borrower, officer, 200)
