"""The borrower and region APIs: shapes, bad input, search, masking, the read log and
who sees and does what."""

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from borrowers.models import Borrower, BorrowerReadLog, Business
from borrowers.services import borrower_login_create
from tests.borrowers.conftest import NEW_NIK, People, registration
from tests.factories import loan_for

pytestmark = pytest.mark.django_db

LIST = reverse("borrower-list")
REGIONS = reverse("region-list")


def detail_url(borrower: Borrower) -> str:
    return reverse("borrower-detail", args=[borrower.pk])


def businesses_url(borrower: Borrower) -> str:
    return reverse("borrower-businesses", args=[borrower.pk])


def as_user(client: APIClient, user: User | None) -> APIClient:
    client.force_authenticate(user)
    return client


def post(client: APIClient, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, format="json")


def patch(client: APIClient, url: str, body: dict[str, Any]) -> Any:
    return client.patch(url, body, format="json")


def get(client: APIClient, url: str, params: dict[str, Any] | None = None) -> Any:
    return client.get(url, params or {})


def logged(user: User | None = None) -> int:
    rows = BorrowerReadLog.objects.all()
    return rows.filter(user=user).count() if user else rows.count()


# --- create ---------------------------------------------------------------------------------


def test_officer_registers_a_borrower(api_client: APIClient, people: People) -> None:
    response = post(as_user(api_client, people.officer), LIST, registration(npwp="01.312.166.0-091.000"))
    assert response.status_code == 201, response.json()
    body = response.json()
    borrower = Borrower.objects.get(pk=body["id"])
    business = borrower.businesses.get()
    assert body == {
        "id": borrower.pk,
        "nik": NEW_NIK,
        "nik_masked": False,
        "name": "Sri Wahyuni",
        "birth_date": "1985-08-17",
        "sex": "F",
        "phone": "+6281234567890",
        "address": "Jl. Pemuda 12 RT 03 RW 01",
        "kelurahan": {"code": "33.74.01.1001", "name": "Miroto"},
        "kecamatan": {"code": "33.74.01", "name": "Semarang Tengah"},
        "npwp": "013121660091000",
        "businesses": [
            {
                "id": business.pk,
                "name": "Warung Bu Sri",
                "sector": "food",
                "kind": "individual",
                "nib": "9120001234567",
                "licence_number": "",
                "started_on": "2019-03-01",
                "monthly_revenue": 15_000_000,
                "workers": 1,
                "health_rating": "",
                "created_at": body["businesses"][0]["created_at"],
            }
        ],
        "has_login": False,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert borrower.created_by == people.officer
    # The answer showed the full NIK: one read logged.
    assert list(BorrowerReadLog.objects.values_list("borrower_id", "user_id", "path")) == [
        (borrower.pk, people.officer.pk, LIST)
    ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (registration(nik="337405570885000"), "nik", "A NIK has 16 digits; this one has 15."),
        (
            registration(nik="3374053202850001"),
            "nik",
            "The birth date in this NIK (320285, DDMMYY with 40 added to the day for women) is impossible.",
        ),
        (
            registration(birth_date="1985-08-18"),
            "birth_date",
            "The birth date does not agree with the NIK, which gives 17-08-85 (DD-MM-YY).",
        ),
        (registration(sex="M"), "sex", "The sex does not agree with the NIK, which is a woman's (day + 40)."),
        (
            registration(kelurahan="33.22.01.2001"),
            "kelurahan",
            "The address must be in Kota Semarang: kelurahan 33.22.01.2001 is not in the region list.",
        ),
        (
            registration(phone="024-351-2345"),
            "phone",
            "This is not an Indonesian mobile number: those start with 08 (+62 8).",
        ),
        (registration(npwp="12345"), "npwp", "An NPWP has 16 digits (or 15 in the old form); this one has 5."),
        (registration(sex="X"), "sex", '"X" is not a valid choice; choose one of: M, F.'),
        (registration(birth_date="17-08-1985"), "birth_date", None),
        (registration(name="  "), "name", "This field may not be blank."),
        (registration(address=""), "address", "This field may not be blank."),
        (registration(nik=3374015708850001), "nik", "Must be text (a JSON string)."),
        (registration(phone=81234567890), "phone", "Must be text (a JSON string)."),
    ],
)
def test_bad_input_answers_400_naming_the_field(
    api_client: APIClient, people: People, body: dict[str, Any], field: str, message: str | None
) -> None:
    response = post(as_user(api_client, people.officer), LIST, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    if message:
        assert errors[field] == [message]
    assert not Borrower.objects.exists()
    assert logged() == 0


@pytest.mark.parametrize(
    ("business", "field", "message"),
    [
        ({"nib": "912000123456"}, "nib", "An NIB has 13 digits; this one has 12."),
        ({"nib": "91200012345AB"}, "nib", "An NIB has only digits."),
        ({"nib": ""}, "nib", None),
        ({"monthly_revenue": 1500000.5}, "monthly_revenue", "Must be a whole number of rupiah (a JSON integer)."),
        ({"monthly_revenue": -5}, "monthly_revenue", None),
        ({"started_on": "2999-01-01"}, "started_on", "A business cannot start in the future."),
        ({"kind": "cooperative"}, "health_rating", "A cooperative needs its health rating."),
        ({"sector": "mining"}, "sector", None),
        ({"monthly_revenue": True}, "monthly_revenue", None),
        ({"monthly_revenue": 2**63}, "monthly_revenue", None),
        ({"monthly_revenue": "1" + "0" * 30}, "monthly_revenue", None),
        ({"workers": 0}, "workers", None),
        ({"workers": 2**40}, "workers", None),
        ({"kind": "partnership"}, "kind", None),
        ({"kind": "cooperative", "health_rating": "excellent"}, "health_rating", None),
        ({"name": "  "}, "name", "This field may not be blank."),
        ({"name": 7}, "name", "Must be text (a JSON string)."),
        ({"nib": 9120001234567}, "nib", "Must be text (a JSON string)."),
    ],
)
def test_bad_business_input_answers_400_nested_under_business(
    api_client: APIClient, people: People, business: dict[str, Any], field: str, message: str | None
) -> None:
    response = post(as_user(api_client, people.officer), LIST, registration(business=business))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["business"]
    assert list(errors["business"]) == [field]
    if message:
        assert errors["business"][field] == [message]
    assert not Business.objects.exists()


def test_a_missing_business_answers_400(api_client: APIClient, people: People) -> None:
    body = registration()
    del body["business"]
    response = post(as_user(api_client, people.officer), LIST, body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["business"]


def test_a_duplicate_nik_answers_400_naming_the_registered_borrower(api_client: APIClient, people: People) -> None:
    client = as_user(api_client, people.officer)
    first = post(client, LIST, registration())
    assert first.status_code == 201
    response = post(client, LIST, registration(business={"nib": "9120001234568"}))
    assert response.status_code == 400
    assert response.json() == {
        "message": "A borrower with this NIK is already registered.",
        "errors": {"nik": ["A borrower with this NIK is already registered."]},
        "existing_borrower": first.json()["id"],
    }
    assert Borrower.objects.count() == 1


def test_several_faults_answer_together(api_client: APIClient, people: People) -> None:
    body = registration(sex="M", phone="12345", kelurahan="33.74.01", business={"nib": "1"})
    response = post(as_user(api_client, people.officer), LIST, body)
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid input."
    assert set(response.json()["errors"]) == {"sex", "phone", "kelurahan", "business"}


def test_a_business_needs_its_required_fields(api_client: APIClient, people: People) -> None:
    body = registration()
    body["business"] = {"nib": "9120001234567"}
    response = post(as_user(api_client, people.officer), LIST, body)
    assert response.status_code == 400
    assert set(response.json()["errors"]["business"]) == {"name", "sector", "started_on", "monthly_revenue"}
    assert not Borrower.objects.exists()


@pytest.mark.parametrize("role", ["auditor", "manager", "jateng_staff", "nobody"])
def test_only_officers_register_borrowers(api_client: APIClient, people: People, role: str) -> None:
    response = post(as_user(api_client, getattr(people, role)), LIST, registration())
    assert response.status_code == 403
    assert not Borrower.objects.exists()


def test_a_borrower_cannot_register_borrowers(api_client: APIClient, people: People, borrower: Borrower) -> None:
    user = borrower_login_create(borrower=borrower, username="sri", password="pass-for-tests")
    assert post(as_user(api_client, user), LIST, registration()).status_code == 403


def test_messages_follow_the_request_language(people: People) -> None:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="id")
    response = post(as_user(client, people.officer), LIST, registration(name=""))
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == ["Bidang ini tidak boleh kosong."]


# --- anonymous ------------------------------------------------------------------------------


def test_anonymous_users_are_refused(api_client: APIClient, borrower: Borrower) -> None:
    assert get(api_client, LIST).status_code == 401
    assert get(api_client, detail_url(borrower)).status_code == 401
    assert post(api_client, LIST, registration()).status_code == 401
    assert patch(api_client, detail_url(borrower), {"name": "X"}).status_code == 401
    assert post(api_client, businesses_url(borrower), {}).status_code == 401


# --- detail, masking and the read log ------------------------------------------------------


@pytest.mark.parametrize(("role", "full"), [("officer", True), ("auditor", False), ("manager", False)])
def test_detail_masks_the_nik_by_role(
    api_client: APIClient, people: People, borrower: Borrower, role: str, full: bool
) -> None:
    user = getattr(people, role)
    borrower.npwp = borrower.nik
    borrower.save()
    response = get(as_user(api_client, user), detail_url(borrower))
    assert response.status_code == 200
    body = response.json()
    masked = borrower.nik[:4] + "********" + borrower.nik[-4:]
    assert body["nik"] == (borrower.nik if full else masked)
    assert body["npwp"] == (borrower.nik if full else masked)  # a person's NPWP is their NIK
    assert body["nik_masked"] is (not full)
    assert logged(user) == (1 if full else 0)


def test_every_full_read_is_logged_once(api_client: APIClient, people: People, borrower: Borrower) -> None:
    client = as_user(api_client, people.officer)
    for _ in range(3):
        assert get(client, detail_url(borrower)).status_code == 200
    rows = list(BorrowerReadLog.objects.values_list("borrower_id", "user_id", "path"))
    assert rows == [(borrower.pk, people.officer.pk, detail_url(borrower))] * 3


def test_lists_always_mask_and_log_nothing(
    api_client: APIClient, people: People, make_business: Callable[..., Business]
) -> None:
    borrowers = [make_business().borrower for _ in range(3)]
    for user in (people.officer, people.auditor, people.manager):
        response = get(as_user(api_client, user), LIST)
        assert response.status_code == 200
        results = response.json()["results"]
        assert [row["id"] for row in results] == [b.pk for b in borrowers]
        assert all(row["nik_masked"] and "********" in row["nik"] for row in results)
        assert all(len(row["businesses"]) == 1 for row in results)
    assert logged() == 0


def test_list_is_paginated(api_client: APIClient, people: People, make_business: Callable[..., Business]) -> None:
    for _ in range(3):
        make_business()
    response = get(as_user(api_client, people.officer), LIST, {"page_size": 2})
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert body["previous"] is None


def test_detail_of_an_unknown_borrower_is_404(api_client: APIClient, people: People) -> None:
    response = get(as_user(api_client, people.officer), reverse("borrower-detail", args=[999999]))
    assert response.status_code == 404
    assert set(response.json()) == {"message", "errors"}


# --- visibility -----------------------------------------------------------------------------


def test_bank_staff_see_only_borrowers_forwarded_to_their_bank_or_with_a_loan_there(
    api_client: APIClient, people: People, make_business: Callable[..., Business]
) -> None:
    forwarded_here = make_business()
    people.application(forwarded_here, people.jateng, forwarded=True)
    draft_here = make_business()
    people.application(draft_here, people.jateng, forwarded=False)
    forwarded_elsewhere = make_business()
    people.application(forwarded_elsewhere, people.pasar, forwarded=True)
    loan_here = make_business()
    loan_for(people.application(loan_here, people.jateng, forwarded=True))
    nothing = make_business()

    client = as_user(api_client, people.jateng_staff)
    visible = [forwarded_here.borrower, loan_here.borrower]
    response = get(client, LIST)
    assert [row["id"] for row in response.json()["results"]] == [b.pk for b in visible]
    for borrower in visible:
        response = get(client, detail_url(borrower))
        assert response.status_code == 200
        assert response.json()["nik"] == borrower.nik  # bank staff need the NIK for SLIK
        assert response.json()["nik_masked"] is False
    for business in (draft_here, forwarded_elsewhere, nothing):
        assert get(client, detail_url(business.borrower)).status_code == 404
    assert logged(people.jateng_staff) == 2

    pasar_client = as_user(APIClient(HTTP_ACCEPT_LANGUAGE="en"), people.pasar_staff)
    assert get(pasar_client, detail_url(forwarded_elsewhere.borrower)).status_code == 200
    assert get(pasar_client, detail_url(forwarded_here.borrower)).status_code == 404


def test_a_borrower_sees_only_themself(
    api_client: APIClient, people: People, make_business: Callable[..., Business]
) -> None:
    own = make_business().borrower
    other = make_business().borrower
    user = borrower_login_create(borrower=own, username="sri", password="pass-for-tests")
    client = as_user(api_client, user)
    response = get(client, detail_url(own))
    assert response.status_code == 200
    assert response.json()["nik"] == own.nik
    assert response.json()["has_login"] is True
    assert logged(user) == 1
    assert get(client, detail_url(other)).status_code == 404
    assert [row["id"] for row in get(client, LIST).json()["results"]] == [own.pk]


def test_a_user_without_a_role_sees_nobody(api_client: APIClient, people: People, borrower: Borrower) -> None:
    client = as_user(api_client, people.nobody)
    assert get(client, LIST).json()["count"] == 0
    assert get(client, detail_url(borrower)).status_code == 404


# --- search ---------------------------------------------------------------------------------


@pytest.fixture
def three(make_business: Callable[..., Business]) -> list[Borrower]:
    return [
        make_business(name="Sri Wahyuni", nik="3374015708850001", birth_date=date(1985, 8, 17)).borrower,
        make_business(
            name="Budi Santoso",
            nik="3374021203900002",
            birth_date=date(1990, 3, 12),
            sex="M",
            kelurahan_id="33.74.02.1001",
        ).borrower,
        make_business(name="Siti Aminah", nik="3374015708850003", birth_date=date(1985, 8, 17)).borrower,
    ]


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"q": "3374015708850001"}, ["Sri Wahyuni"]),
        ({"q": "3374 0157 0885 0003"}, ["Siti Aminah"]),
        ({"q": "33740157"}, ["Sri Wahyuni", "Siti Aminah"]),
        ({"q": "3374"}, ["Sri Wahyuni", "Budi Santoso", "Siti Aminah"]),
        ({"q": "9999"}, []),
        ({"q": "sri"}, ["Sri Wahyuni"]),
        ({"q": "SANTOSO"}, ["Budi Santoso"]),
        ({"q": "i"}, ["Sri Wahyuni", "Budi Santoso", "Siti Aminah"]),
        ({"q": ""}, ["Sri Wahyuni", "Budi Santoso", "Siti Aminah"]),
        ({"kecamatan": "33.74.02"}, ["Budi Santoso"]),
        ({"kelurahan": "33.74.01.1001"}, ["Sri Wahyuni", "Siti Aminah"]),
        ({"kecamatan": "33.74.01", "q": "siti"}, ["Siti Aminah"]),
    ],
)
def test_search_by_nik_or_name_and_region(
    api_client: APIClient, people: People, three: list[Borrower], params: dict[str, str], names: list[str]
) -> None:
    response = get(as_user(api_client, people.officer), LIST, params)
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == names


def test_users_who_see_nik_masked_search_by_the_whole_nik_only(
    api_client: APIClient, people: People, three: list[Borrower]
) -> None:
    client = as_user(api_client, people.auditor)
    assert get(client, LIST, {"q": "33740157"}).json()["count"] == 0
    assert [row["name"] for row in get(client, LIST, {"q": "3374015708850001"}).json()["results"]] == ["Sri Wahyuni"]
    assert get(client, LIST, {"q": "sri"}).json()["count"] == 1


@pytest.mark.parametrize(
    "params", [{"kecamatan": "33.74.99"}, {"kecamatan": "33.74.01.1001"}, {"kelurahan": "33.74.01"}]
)
def test_an_unknown_region_filter_answers_400(api_client: APIClient, people: People, params: dict[str, str]) -> None:
    response = get(as_user(api_client, people.officer), LIST, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(params)


def test_bank_staff_search_within_their_scope(api_client: APIClient, people: People, three: list[Borrower]) -> None:
    people.application(three[0].businesses.get(), people.jateng, forwarded=True)
    client = as_user(api_client, people.jateng_staff)
    assert [row["name"] for row in get(client, LIST, {"q": "3374"}).json()["results"]] == ["Sri Wahyuni"]


# --- update -----------------------------------------------------------------------------------


def test_officer_updates_a_borrower(api_client: APIClient, people: People, borrower: Borrower) -> None:
    body = {"phone": "+62 857-1111-2222", "address": "Jl. Kartini 5", "kelurahan": "33.74.02.1001"}
    response = patch(as_user(api_client, people.officer), detail_url(borrower), body)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["phone"], data["address"], data["kelurahan"]["code"], data["kecamatan"]["code"]) == (
        "+6285711112222",
        "Jl. Kartini 5",
        "33.74.02.1001",
        "33.74.02",
    )
    assert data["nik_masked"] is False
    assert logged(people.officer) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"birth_date": "1985-08-18"}, "birth_date"),
        ({"sex": "M"}, "sex"),
        ({"nik": "3374015708850999"}, "nik"),
        ({"kelurahan": "33.22.01.2001"}, "kelurahan"),
        ({"phone": "0241234567"}, "phone"),
        ({"npwp": "013121661091000"}, "npwp"),
    ],
)
def test_update_refuses_bad_input(
    api_client: APIClient, people: People, borrower: Borrower, body: dict[str, str], field: str
) -> None:
    before = Borrower.objects.values().get(pk=borrower.pk)
    response = patch(as_user(api_client, people.officer), detail_url(borrower), body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert Borrower.objects.values().get(pk=borrower.pk) == before
    assert logged() == 0


@pytest.mark.parametrize("role", ["auditor", "manager", "jateng_staff"])
def test_only_officers_update(api_client: APIClient, people: People, borrower: Borrower, role: str) -> None:
    people.application(borrower.businesses.get(), people.jateng, forwarded=True)
    response = patch(as_user(api_client, getattr(people, role)), detail_url(borrower), {"name": "X"})
    assert response.status_code == 403
    borrower.refresh_from_db()
    assert borrower.name != "X"


def test_updating_an_unknown_borrower_is_404(api_client: APIClient, people: People) -> None:
    response = patch(as_user(api_client, people.officer), reverse("borrower-detail", args=[999999]), {"name": "X"})
    assert response.status_code == 404


# --- businesses -------------------------------------------------------------------------------


def test_officer_adds_a_cooperative(api_client: APIClient, people: People, borrower: Borrower) -> None:
    body = {
        "name": "Koperasi Pedagang Pasar Johar",
        "sector": "trade",
        "licence_number": "518/123/IUMK/2016",
        "started_on": "2015-06-01",
        "monthly_revenue": 40_000_000,
        "workers": 6,
        "kind": "cooperative",
        "health_rating": "sehat",
    }
    response = post(as_user(api_client, people.officer), businesses_url(borrower), body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["kind"], data["health_rating"], data["nib"], data["monthly_revenue"]) == (
        "cooperative",
        "sehat",
        "",
        40_000_000,
    )
    assert borrower.businesses.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nib": "912000123456"}, "nib"),
        ({"nib": ""}, "nib"),
        ({"kind": "cooperative"}, "health_rating"),
        ({"started_on": "2999-01-01"}, "started_on"),
        ({"monthly_revenue": -1}, "monthly_revenue"),
    ],
)
def test_adding_a_bad_business_answers_400(
    api_client: APIClient, people: People, borrower: Borrower, body: dict[str, Any], field: str
) -> None:
    full = {"name": "Toko", "sector": "trade", "nib": "9129991234567", "started_on": "2020-01-01", "monthly_revenue": 1}
    response = post(as_user(api_client, people.officer), businesses_url(borrower), {**full, **body})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert borrower.businesses.count() == 1


def test_only_officers_add_businesses(api_client: APIClient, people: People, borrower: Borrower) -> None:
    body = {"name": "Toko", "sector": "trade", "nib": "9129991234567", "started_on": "2020-01-01", "monthly_revenue": 1}
    assert post(as_user(api_client, people.auditor), businesses_url(borrower), body).status_code == 403
    response = post(as_user(api_client, people.officer), reverse("borrower-businesses", args=[999999]), body)
    assert response.status_code == 404


# --- the role matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "list_count", "read", "create", "update"),
    [
        ("officer", 2, 200, 201, 200),
        ("auditor", 2, 200, 403, 403),
        ("manager", 2, 200, 403, 403),
        ("jateng_staff", 1, 200, 403, 403),  # own bank's forwarded borrower
        ("pasar_staff", 0, 404, 403, 403),
        ("nobody", 0, 404, 403, 403),
    ],
)
def test_role_matrix(
    api_client: APIClient,
    people: People,
    make_business: Callable[..., Business],
    role: str,
    list_count: int,
    read: int,
    create: int,
    update: int,
) -> None:
    seen = make_business()
    people.application(seen, people.jateng, forwarded=True)
    make_business()
    client = as_user(api_client, getattr(people, role))
    assert get(client, LIST).json()["count"] == list_count
    assert get(client, detail_url(seen.borrower)).status_code == read
    assert post(client, LIST, registration()).status_code == create
    assert patch(client, detail_url(seen.borrower), {"address": "Jl. Baru 1"}).status_code == update


# --- regions ------------------------------------------------------------------------------------


def test_regions_are_public_and_list_16_kecamatan(api_client: APIClient) -> None:
    response = get(api_client, REGIONS, {"level": "district"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 16
    assert body["results"][0] == {"code": "33.74.01", "name": "Semarang Tengah", "level": "district", "parent": "33.74"}
    assert {row["code"] for row in body["results"]} >= {"33.74.14", "33.74.15", "33.74.16"}


def test_regions_list_177_kelurahan_in_one_page(api_client: APIClient) -> None:
    body = get(api_client, REGIONS, {"level": "village"}).json()
    assert body["count"] == 177
    assert len(body["results"]) == 177
    assert body["next"] is None
    assert body["results"][0] == {"code": "33.74.01.1001", "name": "Miroto", "level": "village", "parent": "33.74.01"}


def test_regions_by_parent(api_client: APIClient) -> None:
    body = get(api_client, REGIONS, {"parent": "33.74.01"}).json()
    assert body["count"] > 0
    assert all(row["parent"] == "33.74.01" and row["level"] == "village" for row in body["results"])
    regency = get(api_client, REGIONS, {"level": "regency"}).json()["results"]
    assert regency == [{"code": "33.74", "name": "Kota Semarang", "level": "regency", "parent": None}]


@pytest.mark.parametrize(("params", "field"), [({"level": "province"}, "level"), ({"parent": "99.99"}, "parent")])
def test_regions_refuse_bad_filters(api_client: APIClient, params: dict[str, str], field: str) -> None:
    response = get(api_client, REGIONS, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_list_costs_the_same_queries_for_many_borrowers(
    api_client: APIClient,
    people: People,
    make_business: Callable[..., Business],
    django_assert_max_num_queries: Any,
) -> None:
    client = as_user(api_client, people.jateng_staff)
    for _ in range(2):
        people.application(make_business(), people.jateng, forwarded=True)
    get(client, LIST)  # warms the user's role and bank caches
    with django_assert_max_num_queries(6) as few:
        assert get(client, LIST).json()["count"] == 2
    for _ in range(8):
        people.application(make_business(), people.jateng, forwarded=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert get(client, LIST).json()["count"] == 10
