from datetime import date

import pytest
from django.db import OperationalError

from loans.schedule import LoanTerms, ScheduleError, build_schedule
from tasks.schedules import schedule_totals
from tests.services import WORKER_WAIT

TERMS = {
    "principal": 10_000_000,
    "annual_rate": "3",
    "tenor_months": 36,
    "method": "annuity",
    "disbursement_date": "2026-01-31",
}


def expected_totals() -> dict[str, object]:
    schedule = build_schedule(
        LoanTerms(
            principal=10_000_000,
            annual_rate="3",
            tenor_months=36,
            method="annuity",
            disbursement_date=date(2026, 1, 31),
        )
    )
    return {
        "installments": 36,
        "total_principal": 10_000_000,
        "total_interest": schedule.total_interest,
        "total_payment": schedule.total_payment,
        "last_due_date": "2029-01-31",
    }


def test_task_runs_in_process_without_a_broker() -> None:
    result = schedule_totals.delay(TERMS)
    assert result.get(timeout=1) == expected_totals()


def test_bad_terms_fail_for_good_and_are_not_retried() -> None:
    assert ScheduleError not in schedule_totals.autoretry_for
    assert OperationalError in schedule_totals.autoretry_for
    with pytest.raises(ScheduleError):
        schedule_totals.delay({**TERMS, "tenor_months": 0}).get(timeout=1)


@pytest.mark.redis
def test_task_goes_through_redis_to_a_real_worker_and_back(celery_worker: object) -> None:
    from config.celery import app

    assert not app.conf.task_always_eager
    result = schedule_totals.delay(TERMS)
    assert result.get(timeout=WORKER_WAIT) == expected_totals()
    assert result.state == "SUCCESS"
    # The result really went through the result backend in Redis.
    assert type(result.backend).__name__ == "RedisBackend"
    assert app.AsyncResult(result.id).get(timeout=WORKER_WAIT) == expected_totals()
    # A refusal comes back as the engine's own error, field and code intact.
    refused = schedule_totals.delay({**TERMS, "principal": 1_000, "tenor_months": 12, "rounding": 1000})
    with pytest.raises(ScheduleError) as caught:
        refused.get(timeout=WORKER_WAIT)
    assert (caught.value.field, caught.value.code) == ("rounding", "early_payoff")
