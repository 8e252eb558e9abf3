"""Prometheus metrics at /metrics: requests by view, tasks by outcome, and the programme's
state (queues, last closed date, loans by class, documents waiting), for the monitoring's
token or an allowed address only."""

import re
from typing import Any

import pytest
from django.test import Client

from config.metrics import queue_names
from loans.models import Loan
from reports.models import Report
from tasks.schedules import store_pending_schedules
from tests.factories import ApplicationFactory, ProductTermsFactory, loan_for

pytestmark = pytest.mark.django_db


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? (\S+)$" if wanted else rf"^{re.escape(name)} (\S+)$"
    found = re.search(pattern, text, flags=re.M)
    assert found, f"{name}{{{wanted}}} not in the metrics"
    return float(found.group(1))


@pytest.fixture
def reader(settings: Any) -> Client:
    settings.METRICS_TOKEN = "scrape-secret"
    return Client(HTTP_AUTHORIZATION="Bearer scrape-secret")


def test_metrics_are_not_public(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    settings.METRICS_ALLOWED_IPS = frozenset({"10.0.0.9"})
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9").status_code == 200
    # Through a proxy, an allowed address may be anybody's: only the token lets in.
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200


def test_requests_are_counted_by_view(reader: Client, client: Client) -> None:
    before = reader.get("/metrics").content.decode()
    name = "django_http_requests_total_by_view_transport_method_total"
    pattern = name + '{method="GET",transport="http",view="health"}'
    labels = {"method": "GET", "transport": "http", "view": "health"}
    count = sample(before, name, **labels) if pattern in before else 0.0
    client.get("/api/health/")
    client.get("/api/health/")
    after = reader.get("/metrics").content.decode()
    assert sample(after, name, **labels) == count + 2
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in after


def test_tasks_are_counted_by_outcome_with_their_run_time(reader: Client) -> None:
    name = "tasks.schedules.store_pending_schedules"
    text = reader.get("/metrics").content.decode()
    before = sample(text, "wibawa_tasks_total", outcome="succeeded", task=name) if name in text else 0.0
    store_pending_schedules.delay()
    text = reader.get("/metrics").content.decode()
    assert sample(text, "wibawa_tasks_total", outcome="succeeded", task=name) == before + 1
    assert sample(text, "wibawa_task_seconds_count", task=name) >= 1


def test_the_programme_state_is_read_at_each_scrape(reader: Client) -> None:
    terms = ProductTermsFactory.create()
    for grade in (1, 1, 3):
        loan_for(ApplicationFactory.create(terms=terms), collectibility=grade)
    text = reader.get("/metrics").content.decode()
    open_loans = Loan.objects.filter(status=Loan.Status.ACTIVE)
    for grade in range(1, 6):
        assert (
            sample(text, "wibawa_loans", collectibility=str(grade)) == open_loans.filter(collectibility=grade).count()
        )
    assert sample(text, "wibawa_last_closed_business_date") == 0  # never closed
    assert sample(text, "wibawa_documents_waiting", status="queued") == Report.objects.filter(status="queued").count()
    for queue in queue_names():
        assert sample(text, "wibawa_queue_length", queue=queue) >= 0
