from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from loans.apis.simulation import SimulationApi

URL = "/api/v1/simulations/"
FULL_REQUEST: dict[str, Any] = {
    "principal": 10_000_000,
    "annual_rate": "3",
    "tenor_months": 12,
    "method": "annuity",
    "disbursement_date": "2026-01-15",
    "first_due_date": None,
    "grace_months": 0,
    "rounding": 1,
    "interest_rounding": "half_up",
    "installment_rounding": "up",
    "business_days": False,
}


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def test_simulation_answers_the_schedule_with_inputs_echoed(api_client: APIClient) -> None:
    response = api_client.post(URL, FULL_REQUEST, format="json")
    assert response.status_code == 200
    body = response.json()
    for name, value in FULL_REQUEST.items():
        assert body[name] == value
    assert len(body["installments"]) == 12
    first = body["installments"][0]
    assert first == {
        "number": 1,
        "due_date": "2026-02-15",
        "principal": 821_937,
        "interest": 25_000,
        "installment": 846_937,
        "balance": 9_178_063,
    }
    assert body["installments"][-1]["balance"] == 0
    assert body["total_principal"] == 10_000_000
    assert body["total_payment"] == body["total_principal"] + body["total_interest"]
    assert body["total_interest"] == sum(row["interest"] for row in body["installments"])
    assert body["effective_annual_rate"] == "3.00"
    money = [row[key] for row in body["installments"] for key in ("principal", "interest", "installment", "balance")]
    assert all(type(value) is int for value in money)


def test_defaults_are_the_programme_product(api_client: APIClient) -> None:
    response = api_client.post(URL, {"principal": 5_000_000, "tenor_months": 10}, format="json")
    assert response.status_code == 200
    body = response.json()
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    assert body["disbursement_date"] in (today.isoformat(), date.fromordinal(today.toordinal() - 1).isoformat())
    assert body["annual_rate"] == "3"
    assert body["method"] == "flat"
    assert (body["grace_months"], body["rounding"], body["business_days"]) == (0, 1, False)
    assert (body["interest_rounding"], body["installment_rounding"]) == ("half_up", "up")
    # Flat: 5,000,000 x 0.25% = 12,500 a month; 500,000 + 12,500 a month.
    assert {row["installment"] for row in body["installments"]} == {512_500}
    assert body["effective_annual_rate"] == "5.42"


def test_whole_number_rates_and_digit_strings_are_accepted(api_client: APIClient) -> None:
    response = api_client.post(URL, {**FULL_REQUEST, "annual_rate": 3, "principal": "10000000"}, format="json")
    assert response.status_code == 200
    assert (response.json()["annual_rate"], response.json()["principal"]) == ("3", 10_000_000)


def test_simulation_needs_no_login_and_is_in_the_schema(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/simulations/"]["post"]
    assert operation.get("security", []) in ([], [{}])
    assert "rnd_m" in operation["description"]
    response_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][response_schema.rsplit("/", 1)[-1]]
    body = api_client.post(URL, FULL_REQUEST, format="json").json()
    assert set(component["properties"]) == set(body)
    assert set(component["required"]) == set(body)
    assert set(SimulationApi.OutputSerializer().fields) == set(body)
    assert {"400", "429"} <= set(operation["responses"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"principal": None}, "principal"),
        ({"principal": -1}, "principal"),
        ({"principal": 0}, "principal"),
        ({"principal": 1.5}, "principal"),
        ({"principal": 10_000_000.0}, "principal"),  # a JSON float is refused, not truncated
        ({"annual_rate": 3.1}, "annual_rate"),  # rates as decimal strings, not binary floats
        ({"principal": "ten"}, "principal"),
        ({"principal": 10**12 + 1}, "principal"),
        ({"tenor_months": 0}, "tenor_months"),
        ({"tenor_months": 121}, "tenor_months"),
        ({"method": "balloon"}, "method"),
        ({"annual_rate": "abc"}, "annual_rate"),
        ({"annual_rate": "-1"}, "annual_rate"),
        ({"annual_rate": "100.01"}, "annual_rate"),
        ({"annual_rate": "3.00001"}, "annual_rate"),
        ({"grace_months": 12}, "grace_months"),
        ({"grace_months": -1}, "grace_months"),
        ({"disbursement_date": "2026-02-30"}, "disbursement_date"),
        ({"disbursement_date": "15/01/2026"}, "disbursement_date"),
        ({"disbursement_date": "9999-12-15"}, "disbursement_date"),
        ({"first_due_date": "2026-01-10"}, "first_due_date"),
        ({"first_due_date": "2026-04-01"}, "first_due_date"),
        ({"rounding": 7}, "rounding"),
        ({"interest_rounding": "up"}, "interest_rounding"),
        ({"installment_rounding": "down"}, "installment_rounding"),
        ({"business_days": "maybe"}, "business_days"),
        ({"principal": 1_000, "rounding": 1000}, "rounding"),
        ({"principal": 5, "tenor_months": 12, "method": "flat"}, "principal"),
    ],
)
def test_bad_input_answers_400_naming_the_field(api_client: APIClient, changes: dict[str, Any], field: str) -> None:
    request = {**FULL_REQUEST, **changes}
    request = {name: value for name, value in request.items() if not (name == "principal" and value is None)}
    response = api_client.post(URL, request, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["message"]
    assert list(body["errors"]) == [field]
    assert all(isinstance(message, str) and message for message in body["errors"][field])


def test_missing_required_fields_and_broken_json(api_client: APIClient) -> None:
    response = api_client.post(URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"principal", "tenor_months"}
    response = api_client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    response = api_client.post(URL, [1, 2], format="json")
    assert response.status_code == 400


def test_errors_speak_indonesian_by_default() -> None:
    response = APIClient().post(URL, {"principal": 1_000_000}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["tenor_months"] == ["Bidang ini harus diisi."]


@override_settings(SIMULATION_THROTTLE="3/min")
def test_simulation_is_throttled_per_client_address(api_client: APIClient) -> None:
    request = {"principal": 1_000_000, "tenor_months": 6}
    statuses = [api_client.post(URL, request, format="json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api_client.post(URL, request, format="json")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert limited.json()["message"]
    other_client = api_client.post(URL, request, format="json", REMOTE_ADDR="10.0.0.9")
    assert other_client.status_code == 200


def test_get_is_not_allowed(api_client: APIClient) -> None:
    response = api_client.get(URL)
    assert response.status_code == 405
    assert response.json()["errors"] == {}


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["2026-01-31", "2026-02-29", "2026-03-01", "9999-12-15", "0001-01-01", "2199-12-31"]),
    st.sampled_from(["3", "3.25", "flat", "annuity", "up", "half_even", "2.99999999999999999999999999999"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([*FULL_REQUEST, "unexpected"]), json_values, max_size=12))
def test_any_json_body_answers_200_or_400_never_500(api_client: APIClient, body: dict[str, Any]) -> None:
    response = api_client.post(URL, {**FULL_REQUEST, **body}, format="json")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["errors"]
    else:
        installments = response.json()["installments"]
        assert sum(row["principal"] for row in installments) == response.json()["principal"]
