"""Products and their versioned terms: services, selectors and APIs (every role)."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from config.errors import ApplicationError
from loans.models import Product, ProductTerms
from loans.selectors.products import product_list, product_terms_on, terms_in_force
from loans.services.products import product_create, product_terms_create
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank

pytestmark = pytest.mark.django_db

TERMS: dict[str, Any] = {
    "annual_rate": "3",
    "ceiling_without_collateral": 5_000_000,
    "ceiling_with_collateral": 50_000_000,
    "allowed_tenors": [36, 6, 12, 18, 24],
    "valid_from": date(2017, 1, 1),
}
TERMS_JSON: dict[str, Any] = {**TERMS, "valid_from": "2017-01-01"}
ROLES = ["officer", "auditor", "manager", "bank_staff", "borrower", "nobody", "anonymous"]


@pytest.fixture
def users(db: Any) -> dict[str, User | None]:
    borrower = UserFactory.create(username="borrower", role="borrower")
    BorrowerFactory.create(user=borrower)
    return {
        "officer": UserFactory.create(username="officer", role="officer"),
        "auditor": UserFactory.create(username="auditor", role="auditor"),
        "manager": UserFactory.create(username="manager", role="manager"),
        "bank_staff": bank_user(funded_bank("PASAR"), username="pasar"),
        "borrower": borrower,
        "nobody": UserFactory.create(username="nobody"),
        "anonymous": None,
    }


@pytest.fixture
def wibawa(users: dict[str, User | None]) -> Product:
    return product_create(actor=users["manager"], code="WIBAWA", name="Kredit Wibawa", terms=TERMS)


def call(api_client: APIClient, user: User | None, method: str, path: str, body: Any = None) -> Any:
    if user is not None:
        api_client.force_authenticate(user)
    if method == "get":
        return api_client.get(f"/api/v1/{path}", body or {})
    return api_client.post(f"/api/v1/{path}", body or {}, format="json")


def refused(call: Any, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    return caught.value.errors


# --- services: creating and versioning -----------------------------------------------------------


def test_product_create_makes_version_1_with_the_programme_defaults(wibawa: Product, users: dict[str, Any]) -> None:
    terms = ProductTerms.objects.get(product=wibawa)
    assert (wibawa.code, wibawa.name, wibawa.active) == ("WIBAWA", "Kredit Wibawa", True)
    assert (terms.version, terms.annual_rate, terms.method, terms.allowed_tenors) == (
        1,
        Decimal("3"),
        "flat",
        [6, 12, 18, 24, 36],
    )
    assert (terms.min_business_age_months, terms.min_age_years, terms.repeat_multiplier) == (24, 17, 2)
    assert (terms.region_code, terms.valid_from, terms.valid_to, terms.created_by) == (
        "33.74",
        date(2017, 1, 1),
        None,
        users["manager"],
    )


def test_a_new_version_closes_the_previous_one_the_day_before(wibawa: Product, users: dict[str, Any]) -> None:
    second = product_terms_create(
        actor=users["manager"], product=wibawa, **{**TERMS, "annual_rate": "6", "valid_from": date(2020, 4, 1)}
    )
    third = product_terms_create(
        actor=users["manager"], product=wibawa, **{**TERMS, "annual_rate": "3.25", "valid_from": date(2026, 7, 1)}
    )
    versions = list(ProductTerms.objects.filter(product=wibawa).order_by("version"))
    assert [(t.version, t.valid_from, t.valid_to) for t in versions] == [
        (1, date(2017, 1, 1), date(2020, 3, 31)),
        (2, date(2020, 4, 1), date(2026, 6, 30)),
        (3, date(2026, 7, 1), None),
    ]
    assert (second.version, third.version, third.annual_rate) == (2, 3, Decimal("3.25"))
    for on, version in [
        (date(2016, 12, 31), None),
        (date(2017, 1, 1), 1),
        (date(2020, 3, 31), 1),
        (date(2020, 4, 1), 2),
        (date(2026, 6, 30), 2),
        (date(2026, 7, 1), 3),
        (date(2199, 1, 1), 3),
    ]:
        found = product_terms_on(product=wibawa, on=on)
        assert (found.version if found else None) == version, on
        assert terms_in_force(versions, on) == found


@pytest.mark.parametrize("valid_from", [date(2017, 1, 1), date(2016, 12, 31)])
def test_a_new_version_may_not_start_on_or_before_the_newest(
    wibawa: Product, users: dict[str, Any], valid_from: date
) -> None:
    errors = refused(
        product_terms_create, actor=users["manager"], product=wibawa, **{**TERMS, "valid_from": valid_from}
    )
    assert list(errors) == ["valid_from"]
    assert ProductTerms.objects.get(product=wibawa).valid_to is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # Each term's type and range is the API serializer's to check (see
        # test_new_terms_bad_input_is_400_naming_the_field); the service owns the rules.
        ({"ceiling_with_collateral": 4_000_000}, "ceiling_with_collateral"),
        ({"allowed_tenors": [12, 12]}, "allowed_tenors"),
        ({"allowed_tenors": [3, 12], "grace_months": 3}, "allowed_tenors"),
        ({"region_code": "99.99"}, "region_code"),
        ({"valid_from": date(1899, 12, 31)}, "valid_from"),
        ({"valid_to": date(2030, 1, 1)}, "valid_to"),
        ({"version": 9}, "version"),
        # Rp30 over 36 months cannot repay principal every month: the engine refuses it.
        ({"ceiling_without_collateral": 30}, "ceiling_without_collateral"),
        # Rounding to Rp1,000 cannot repay Rp1,200 over 36 months: the engine refuses it.
        (
            {"ceiling_without_collateral": 1_200, "ceiling_with_collateral": 1_200, "rounding": 1000},
            "rounding",
        ),
    ],
)
def test_bad_terms_are_refused_naming_the_field(
    wibawa: Product, users: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    terms = {**TERMS, "valid_from": date(2026, 7, 1), **changes}
    errors = refused(product_terms_create, actor=users["manager"], product=wibawa, **terms)
    assert list(errors) == [field], errors
    assert ProductTerms.objects.filter(product=wibawa).count() == 1


def test_missing_terms_are_named(api_client: APIClient, wibawa: Product, users: dict[str, Any]) -> None:
    response = call(api_client, users["manager"], "post", "products/WIBAWA/terms/", {"annual_rate": "3"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"ceiling_without_collateral", "ceiling_with_collateral", "allowed_tenors", "valid_from"}


def test_product_create_refuses_a_taken_code_and_names_term_errors(wibawa: Product, users: dict[str, Any]) -> None:
    errors = refused(
        product_create,
        actor=users["manager"],
        code="wibawa",
        name="Again",
        terms={**TERMS, "allowed_tenors": [3, 12], "grace_months": 3},
    )
    assert set(errors) == {"code", "terms.allowed_tenors"}
    assert Product.objects.count() == 1


def test_inactive_products_are_seen_only_by_the_programme_staff(wibawa: Product, users: dict[str, Any]) -> None:
    Product.objects.filter(pk=wibawa.pk).update(active=False)
    assert [p.code for p in product_list(user=users["officer"])] == ["WIBAWA"]
    assert [p.code for p in product_list(user=users["bank_staff"])] == ["WIBAWA"]
    assert list(product_list(user=users["borrower"])) == []
    assert list(product_list(user=users["nobody"])) == []


# --- APIs: the role x endpoint matrix --------------------------------------------------------------

MANAGER_ONLY = {role: 403 for role in ROLES} | {"anonymous": 401}
EVERYONE = dict.fromkeys(ROLES, 200) | {"anonymous": 401}


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("get", "products/", None, EVERYONE),
        (
            "post",
            "products/",
            {"code": "KUR", "name": "Other", "terms": TERMS_JSON},
            MANAGER_ONLY | {"manager": 201},
        ),
        ("get", "products/WIBAWA/", None, EVERYONE),
        ("post", "products/WIBAWA/terms/", {**TERMS_JSON, "valid_from": "2026-07-01"}, MANAGER_ONLY | {"manager": 201}),
    ],
)
@pytest.mark.parametrize("who", ROLES)
def test_product_endpoint_matrix(
    api_client: APIClient,
    wibawa: Product,
    users: dict[str, Any],
    who: str,
    method: str,
    path: str,
    body: Any,
    expected: dict[str, int],
) -> None:
    response = call(api_client, users[who], method, path, body)
    assert response.status_code == expected[who], response.content


@pytest.mark.parametrize(("method", "path"), [("get", "products/NOPE/"), ("post", "products/NOPE/terms/")])
def test_an_unknown_product_is_404(
    api_client: APIClient, wibawa: Product, users: dict[str, Any], method: str, path: str
) -> None:
    response = call(api_client, users["manager"], method, path, {**TERMS_JSON, "valid_from": "2026-07-01"})
    assert response.status_code == 404


def test_an_inactive_product_is_404_for_a_borrower(
    api_client: APIClient, wibawa: Product, users: dict[str, Any]
) -> None:
    Product.objects.filter(pk=wibawa.pk).update(active=False)
    assert call(api_client, users["borrower"], "get", "products/WIBAWA/").status_code == 404
    assert call(api_client, users["borrower"], "get", "products/").json()["count"] == 0
    assert call(api_client, users["officer"], "get", "products/WIBAWA/").status_code == 200


# --- APIs: shapes ---------------------------------------------------------------------------------


def test_product_list_shows_the_terms_in_force_today(
    api_client: APIClient, wibawa: Product, users: dict[str, Any]
) -> None:
    today = timezone.localdate()
    product_terms_create(
        actor=users["manager"],
        product=wibawa,
        **{**TERMS, "annual_rate": "6", "valid_from": today + timedelta(days=30)},
    )
    body = call(api_client, users["borrower"], "get", "products/").json()
    assert body["count"] == 1
    (product,) = body["results"]
    assert (product["code"], product["current_version"], product["current_terms"]["annual_rate"]) == ("WIBAWA", 1, "3")
    assert product["current_terms"]["valid_to"] == (today + timedelta(days=29)).isoformat()


def test_product_detail_has_every_version_and_names_the_current_one(
    api_client: APIClient, wibawa: Product, users: dict[str, Any]
) -> None:
    today = timezone.localdate()
    product_terms_create(
        actor=users["manager"], product=wibawa, **{**TERMS, "annual_rate": "3.25", "valid_from": today}
    )
    body = call(api_client, users["auditor"], "get", "products/WIBAWA/").json()
    assert body["current_version"] == 2
    assert [(t["version"], t["annual_rate"]) for t in body["terms"]] == [(1, "3"), (2, "3.25")]
    assert body["terms"][1] == {
        "version": 2,
        "annual_rate": "3.25",
        "method": "flat",
        "ceiling_without_collateral": 5_000_000,
        "ceiling_with_collateral": 50_000_000,
        "allowed_tenors": [6, 12, 18, 24, 36],
        "grace_months": 0,
        "rounding": 1,
        "interest_rounding": "half_up",
        "installment_rounding": "up",
        "business_days": False,
        "min_business_age_months": 24,
        "min_age_years": 17,
        "repeat_multiplier": 2,
        "region_code": "33.74",
        "valid_from": today.isoformat(),
        "valid_to": None,
    }
    assert body["terms"][0]["valid_to"] == (today - timedelta(days=1)).isoformat()
    assert body["current_terms"] == body["terms"][1]


def test_a_product_with_no_terms_in_force_today(api_client: APIClient, users: dict[str, Any]) -> None:
    future = timezone.localdate() + timedelta(days=10)
    product_create(actor=users["manager"], code="NEXT", name="Next year", terms={**TERMS, "valid_from": future})
    body = call(api_client, users["officer"], "get", "products/NEXT/").json()
    assert (body["current_version"], body["current_terms"], len(body["terms"])) == (None, None, 1)


def test_manager_creates_a_product_and_a_new_version(api_client: APIClient, users: dict[str, Any]) -> None:
    created = call(
        api_client,
        users["manager"],
        "post",
        "products/",
        {"code": "WIBAWA", "name": "Kredit Wibawa", "terms": TERMS_JSON},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["code"], body["current_version"], len(body["terms"])) == ("WIBAWA", 1, 1)
    assert body["terms"][0]["allowed_tenors"] == [6, 12, 18, 24, 36]
    version = call(
        api_client,
        users["manager"],
        "post",
        "products/WIBAWA/terms/",
        {**TERMS_JSON, "annual_rate": "3.5", "method": "annuity", "rounding": 100, "valid_from": "2026-07-01"},
    )
    assert version.status_code == 201, version.content
    assert {
        k: version.json()[k] for k in ("version", "annual_rate", "method", "rounding", "valid_from", "valid_to")
    } == {
        "version": 2,
        "annual_rate": "3.5",
        "method": "annuity",
        "rounding": 100,
        "valid_from": "2026-07-01",
        "valid_to": None,
    }
    assert ProductTerms.objects.get(product__code="WIBAWA", version=1).valid_to == date(2026, 6, 30)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_from": "2017-01-01"}, "valid_from"),
        ({"valid_from": "2016-06-01"}, "valid_from"),
        ({"valid_from": None}, "valid_from"),
        ({"allowed_tenors": [0, 12]}, "allowed_tenors"),
        ({"allowed_tenors": [12, 121]}, "allowed_tenors"),
        ({"allowed_tenors": [12, 12]}, "allowed_tenors"),
        ({"allowed_tenors": []}, "allowed_tenors"),
        ({"allowed_tenors": [3, 12], "grace_months": 3}, "allowed_tenors"),
        ({"allowed_tenors": [12, "x"]}, "allowed_tenors"),
        ({"annual_rate": "abc"}, "annual_rate"),
        ({"annual_rate": 3.5}, "annual_rate"),
        ({"annual_rate": 3.0}, "annual_rate"),
        ({"annual_rate": "101"}, "annual_rate"),
        ({"annual_rate": "100.5"}, "annual_rate"),
        ({"annual_rate": "3.12345"}, "annual_rate"),
        ({"ceiling_with_collateral": 1_000_000}, "ceiling_with_collateral"),
        ({"ceiling_without_collateral": 1000.5}, "ceiling_without_collateral"),
        ({"ceiling_without_collateral": 0}, "ceiling_without_collateral"),
        ({"ceiling_without_collateral": 2**63}, "ceiling_without_collateral"),
        ({"method": "balloon"}, "method"),
        ({"grace_months": -1}, "grace_months"),
        ({"rounding": 7}, "rounding"),
        ({"interest_rounding": "up"}, "interest_rounding"),
        ({"installment_rounding": "down"}, "installment_rounding"),
        ({"business_days": 0}, "business_days"),
        ({"min_age_years": 0}, "min_age_years"),
        ({"min_age_years": 2**40}, "min_age_years"),
        ({"min_business_age_months": 0}, "min_business_age_months"),
        ({"repeat_multiplier": 0}, "repeat_multiplier"),
        ({"region_code": "99.99"}, "region_code"),
        ({"region_code": 3374}, "region_code"),
        ({"valid_from": "2026-13-01"}, "valid_from"),
    ],
)
def test_new_terms_bad_input_is_400_naming_the_field(
    api_client: APIClient, wibawa: Product, users: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    body = {**TERMS_JSON, "valid_from": "2026-07-01", **changes}
    response = call(api_client, users["manager"], "post", "products/WIBAWA/terms/", body)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert ProductTerms.objects.filter(product=wibawa).count() == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"code": "WIBAWA", "name": "Again", "terms": TERMS_JSON}, ["code"]),
        ({"code": "KUR", "name": "KUR", "terms": {**TERMS_JSON, "allowed_tenors": [121]}}, ["terms.allowed_tenors"]),
        ({"code": "KUR", "name": "KUR", "terms": {**TERMS_JSON, "annual_rate": "abc"}}, ["terms.annual_rate"]),
        ({"code": "KUR", "name": "KUR"}, ["terms"]),
        ({"code": "KUR", "name": "", "terms": TERMS_JSON}, ["name"]),
        ({"code": 0, "name": "KUR", "terms": TERMS_JSON}, ["code"]),
        (
            {
                "code": "KUR",
                "name": "KUR",
                "terms": {
                    **TERMS_JSON,
                    "ceiling_without_collateral": 1_200,
                    "ceiling_with_collateral": 1_200,
                    "rounding": 1000,
                },
            },
            ["terms.rounding"],
        ),
    ],
)
def test_product_create_bad_input_is_400_naming_the_field(
    api_client: APIClient, wibawa: Product, users: dict[str, Any], body: dict[str, Any], fields: list[str]
) -> None:
    response = call(api_client, users["manager"], "post", "products/", body)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == fields
    assert Product.objects.count() == 1


def test_there_is_no_way_to_edit_terms_over_the_api(
    api_client: APIClient, wibawa: Product, users: dict[str, Any]
) -> None:
    api_client.force_authenticate(users["manager"])
    for method in ("put", "patch", "delete"):
        response = getattr(api_client, method)("/api/v1/products/WIBAWA/terms/", {}, format="json")
        assert response.status_code == 405
        assert getattr(api_client, method)("/api/v1/products/WIBAWA/", {}, format="json").status_code == 405


# --- admin ----------------------------------------------------------------------------------------


def test_admin_shows_products_and_terms_but_never_edits_terms(admin_client: Any, wibawa: Product) -> None:
    terms = ProductTerms.objects.get(product=wibawa)
    assert admin_client.get("/admin/loans/product/").status_code == 200
    assert admin_client.get(f"/admin/loans/product/{wibawa.pk}/change/").status_code == 200
    assert admin_client.get("/admin/loans/productterms/").status_code == 200
    assert admin_client.get(f"/admin/loans/productterms/{terms.pk}/change/").status_code == 200  # view only
    assert admin_client.get("/admin/loans/productterms/add/").status_code == 403
    assert admin_client.post(f"/admin/loans/productterms/{terms.pk}/change/", {"annual_rate": "9"}).status_code == 403
    assert admin_client.post(f"/admin/loans/productterms/{terms.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ProductTerms.objects.get(pk=terms.pk).annual_rate == Decimal("3")


@pytest.mark.parametrize("model", ["audit/auditentry", "loans/application", "loans/loan", "loans/installment"])
def test_admin_lists_the_workflow_read_only(admin_client: Any, model: str) -> None:
    assert admin_client.get(f"/admin/{model}/").status_code == 200
    assert admin_client.get(f"/admin/{model}/add/").status_code == 403


def test_admin_refuses_to_add_change_or_delete_audit_entries(admin_user: User, rf: Any) -> None:
    model_admin = django_admin.site._registry[AuditEntry]
    request = rf.get("/admin/audit/auditentry/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.get_actions(request) == {}
