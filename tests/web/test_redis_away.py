"""Drill: Redis goes away (the broker, the result backend and the shared cache) while the
web serves people. The pages keep reading; a repayment posted on the bank's page is booked
at once, its receipt left for when the broker returns; sign-in stays limited (the
counters fall back to the process); health says the broker is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from config.api import PROCESS_COUNTERS
from loans.models import Repayment
from tests.factories import serviced_loan
from tests.loans.conftest import Programme
from tests.loans.test_broker_down import GENEROUS_SECONDS, UNREACHABLE, broker_down  # noqa: F401 - a fixture
from tests.web.test_bank import TODAY, programme_fixture  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

CACHE_DOWN = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE}}


@pytest.fixture
def redis_away(broker_down: None, settings: Any) -> Iterator[None]:  # noqa: F811 - the fixture imported above
    settings.REPORTS_AUTO_PAPERS = True  # a repayment asks for its receipt: a task for the broker
    settings.CELERY_BROKER_URL = UNREACHABLE  # what the health check asks
    with override_settings(CACHES=CACHE_DOWN):
        PROCESS_COUNTERS.clear()
        yield
        PROCESS_COUNTERS.clear()


def test_pages_read_and_a_repayment_is_booked_at_once_while_redis_is_away(
    programme: Programme,
    redis_away: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    loan = serviced_loan(bank=programme.pasar)
    staff = Client()
    staff.force_login(programme.pasar_staff)
    for url in ("/bank/", "/bank/loans/", f"/bank/loans/{loan.pk}/"):
        assert staff.get(url).status_code == 200, url
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        answer = staff.post(
            f"/bank/loans/{loan.pk}/",
            {
                "action": "repayment",
                "repayment-amount": "429167",
                "repayment-paid_on": TODAY.isoformat(),
                "repayment-channel": "teller",
                "repayment-reference": "TRX-AWAY",
                "repayment-idempotency_key": "away-1",
            },
        )
    seconds = time.monotonic() - started
    assert answer.status_code == 302
    assert seconds < GENEROUS_SECONDS
    repayment = Repayment.objects.get(loan=loan)
    assert repayment.reference == "TRX-AWAY"
    assert "TRX-AWAY" in staff.get(f"/bank/loans/{loan.pk}/").content.decode()
    # The receipt waits, asked for, for a worker once the broker is back (the sweep sends it).
    from reports.models import Report

    assert Report.objects.filter(loan=loan, kind="receipt", status=Report.Status.QUEUED).exists()


def test_sign_in_stays_limited_and_health_names_the_broker(client: Client, redis_away: None, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert client.post("/login/", {"username": "nobody-away", "password": "x"}).status_code == 200
    assert client.post("/login/", {"username": "nobody-away", "password": "x"}).status_code == 429
    health = client.get("/api/health/")
    assert health.status_code == 503
    assert health.json()["broker"] != "ok"
    assert health.json()["database"] == "ok"
    assert client.get("/").status_code == 200
