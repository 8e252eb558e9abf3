"""Prometheus metrics at ``/metrics``, for the city's monitoring, never for the public.

* Requests: rates and latencies by view and method, responses by status
  (django-prometheus's middleware).
* Tasks: ``wibawa_tasks_total{task, outcome}`` and ``wibawa_task_seconds{task}``, counted
  where the task runs (a worker serves its own at ``CELERY_METRICS_PORT``).
* The programme, read at each scrape: ``wibawa_queue_length{queue}``,
  ``wibawa_last_closed_business_date`` (Unix time of its midnight, Asia/Jakarta),
  ``wibawa_loans{collectibility}`` (open loans by class), ``wibawa_documents_waiting{status}``.

Who may read it: a request with ``Authorization: Bearer <METRICS_TOKEN>``, or one from an
address in ``METRICS_ALLOWED_IPS`` that came through no proxy. Anyone else gets 404: the
page is not there for them. Several processes (gunicorn's, a prefork worker's children)
add up through ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from datetime import time as clock_time
from typing import Any

import prometheus_client
from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.clock import BUSINESS_TIME_ZONE

logger = logging.getLogger(__name__)

TASKS = Counter("wibawa_tasks", "Tasks run, by task and outcome (succeeded, failed, retried).", ["task", "outcome"])
TASK_SECONDS = Histogram(
    "wibawa_task_seconds",
    "How long a task ran, by task.",
    ["task"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
_STARTED: dict[str, float] = {}


def task_started(task_id: str | None = None, **_: Any) -> None:
    """``task_prerun``: note when the task began."""
    if task_id:
        _STARTED[task_id] = time.monotonic()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    """``task_postrun``: count the task by its outcome and record how long it ran."""
    began = _STARTED.pop(task_id or "", None)
    name = getattr(task, "name", None) or "unknown"
    TASKS.labels(task=name, outcome=OUTCOMES.get(state or "", (state or "unknown").lower())).inc()
    if began is not None:
        TASK_SECONDS.labels(task=name).observe(time.monotonic() - began)


def queue_names() -> list[str]:
    """The queues the workers take tasks from (config/settings.py ``celery_queues``)."""
    return sorted(queue.name for queue in settings.CELERY_TASK_QUEUES)


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each queue, asked of the broker with a bound of about a second;
    empty when the broker cannot say (down, or not one that counts)."""
    from config.celery import app

    lengths: dict[str, int] = {}
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=1)
            channel: Any = connection.default_channel
            for name in queue_names():
                try:
                    lengths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                except Exception:  # a queue nobody declared yet holds nothing
                    lengths[name] = 0
    except Exception as exc:  # the broker's own errors vary by transport
        logger.warning("metrics: queue lengths unknown: %s: %s", type(exc).__name__, exc)
        return {}
    return lengths


class ProgrammeCollector(Collector):
    """The programme's state, read from the database and the broker at each scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from loans.models import Loan
        from loans.selectors.servicing import business_date_last_closed
        from reports.models import Report

        queues = GaugeMetricFamily("wibawa_queue_length", "Tasks waiting in each queue.", labels=["queue"])
        for name, length in queue_lengths().items():
            queues.add_metric([name], length)
        yield queues

        last = business_date_last_closed()
        closed = GaugeMetricFamily(
            "wibawa_last_closed_business_date",
            "The last closed business date, as the Unix time of its midnight in Asia/Jakarta (0: never closed).",
        )
        closed.add_metric([], datetime.combine(last, clock_time(), BUSINESS_TIME_ZONE).timestamp() if last else 0)
        yield closed

        loans = GaugeMetricFamily(
            "wibawa_loans", "Open loans by collectibility class (1 to 5).", labels=["collectibility"]
        )
        counts = dict(
            Loan.objects.filter(status=Loan.Status.ACTIVE)
            .values_list("collectibility")
            .annotate(n=Count("pk"))
            .values_list("collectibility", "n")
        )
        for grade in range(1, 6):
            loans.add_metric([str(grade)], counts.get(grade, 0))
        yield loans

        waiting = GaugeMetricFamily("wibawa_documents_waiting", "Documents asked for, not made yet.", labels=["status"])
        by_status = dict(
            Report.objects.filter(status__in=[Report.Status.QUEUED, Report.Status.RUNNING])
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in (Report.Status.QUEUED, Report.Status.RUNNING):
            waiting.add_metric([str(status)], by_status.get(status, 0))
        yield waiting


def registry() -> CollectorRegistry:
    """This process's metrics, or every process's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return combined
    return prometheus_client.REGISTRY


def may_read(request: HttpRequest) -> bool:
    """A bearer of ``METRICS_TOKEN``, or a direct (unproxied) request from an allowed address."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    return request.META.get("REMOTE_ADDR", "") in settings.METRICS_ALLOWED_IPS


def metrics(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the Prometheus text format, for those :func:`may_read` lets in."""
    if not may_read(request):
        raise Http404
    body = prometheus_client.generate_latest(registry())
    programme = CollectorRegistry(auto_describe=False)
    programme.register(ProgrammeCollector())
    body += prometheus_client.generate_latest(programme)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)


def worker_metrics_serve(**_: Any) -> None:
    """``worker_init``: a worker serves its task metrics on ``CELERY_METRICS_PORT`` (when set)."""
    port = int(os.environ.get("CELERY_METRICS_PORT") or 0)
    if port:
        prometheus_client.start_http_server(port, registry=registry())
        logger.info("worker metrics on port %s", port)
