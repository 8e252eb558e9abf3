"""Drill: two nightly closes of the same date started at the same moment (two beats, or
beat and a manager's button). One runs; the other is refused saying a close is running;
the figures are those of one close. On PostgreSQL and on the embedded default's SQLite."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest
from django.db import connection

from loans.models import CloseRun, FundDay, LoanSnapshot
from loans.services.close import CloseRunning, close_business_date, runs
from tests.loans.test_close import figures, new_loan, pasar  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2026, 3, 2)


def test_two_closes_started_at_once_one_runs_the_other_says_so(
    pasar: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loans = [new_loan(pasar) for _ in range(3)]
    whole_chunk = runs.close_chunk

    def slow_chunk(**kwargs: Any) -> Any:
        time.sleep(0.5)  # the first close is still running when the second starts
        return whole_chunk(**kwargs)

    monkeypatch.setattr(runs, "close_chunk", slow_chunk)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def close() -> None:
        try:
            start.wait(timeout=30)
            outcomes.append(close_business_date(business_date=DAY))
        except CloseRunning as refused:
            outcomes.append(refused)
        except Exception as exc:  # anything else is the drill's failure
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    done = [outcome for outcome in outcomes if isinstance(outcome, CloseRun)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, CloseRunning)]
    assert len(outcomes) == 2, outcomes
    assert (len(done), len(refused)) == (1, 1), outcomes
    for outcome in refused:
        assert outcome.run.business_date == DAY  # it names the close that runs
    assert set(CloseRun.objects.filter(status="done").values_list("business_date", flat=True)) == {DAY}
    assert not CloseRun.objects.filter(status="running").exists()
    assert LoanSnapshot.objects.filter(business_date=DAY).count() == len(loans)
    assert FundDay.objects.filter(business_date=DAY).count() == 1
    for loan in loans:
        assert figures(loan)[0] == DAY
