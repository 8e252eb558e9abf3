"""Logs a person can follow: a request id on every request and every line logged while
serving it, carried into the tasks the request sends (a real worker takes it from the
message); JSON lines in production, readable ones in development."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from config.logs import REQUEST_ID, RequestIdFilter, logging_config
from tasks.schedules import store_pending_schedules
from tests.services import WORKER_WAIT

pytestmark = pytest.mark.django_db


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes, as JSON lines."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters))
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    formatter = handler.formatter
    previous = handler.setStream(stream)
    config = logging_config(log_format="json", level="INFO")["formatters"]["json"]
    from pythonjsonlogger.json import JsonFormatter

    handler.setFormatter(
        JsonFormatter(config["fmt"], rename_fields=config["rename_fields"], timestamp=config["timestamp"])
    )
    try:
        yield stream
    finally:
        handler.setStream(previous)
        handler.setFormatter(formatter)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_each_request_gets_an_id_and_keeps_a_well_formed_one_it_came_with(client: Client) -> None:
    first = client.get("/api/health/")["X-Request-ID"]
    second = client.get("/api/health/")["X-Request-ID"]
    assert len(first) == 32
    assert first != second
    assert client.get("/api/health/", HTTP_X_REQUEST_ID="lb-7f3a9c21")["X-Request-ID"] == "lb-7f3a9c21"
    forged = client.get("/api/health/", HTTP_X_REQUEST_ID="x\nlevel=ERROR")["X-Request-ID"]
    assert forged != "x\nlevel=ERROR"
    assert len(forged) == 32


def test_lines_logged_while_serving_carry_the_request_id_as_json(client: Client, console: io.StringIO) -> None:
    answer = client.get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="req-12345678")
    assert answer.status_code == 404
    logged = lines(console)
    assert logged, "a 404 is logged by django.request"
    for line in logged:
        assert line["request_id"] == "req-12345678"
        assert {"time", "level", "logger", "message"} <= line.keys()
    assert REQUEST_ID.get() == "-"  # nothing leaks past the request


def test_a_task_run_eagerly_logs_with_the_request_id(console: io.StringIO) -> None:
    token = REQUEST_ID.set("req-eager-0001")
    try:
        store_pending_schedules.delay()
    finally:
        REQUEST_ID.reset(token)
    started = [line for line in lines(console) if "started" in line["message"]]
    assert started
    assert started[0]["request_id"] == "req-eager-0001"
    assert "tasks.schedules.store_pending_schedules" in started[0]["message"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_takes_the_request_id_from_the_message(celery_worker: Any, console: io.StringIO) -> None:
    token = REQUEST_ID.set("req-worker-0001")
    try:
        result = store_pending_schedules.delay()
    finally:
        REQUEST_ID.reset(token)
    result.get(timeout=WORKER_WAIT)
    started = [line for line in lines(console) if line["message"].endswith("started") and "pending" in line["message"]]
    assert [line["request_id"] for line in started] == ["req-worker-0001"]


def test_a_task_sent_from_no_request_uses_its_own_id(console: io.StringIO) -> None:
    store_pending_schedules.delay()
    started = [line for line in lines(console) if "started" in line["message"]]
    assert started[0]["request_id"].startswith("task-")


def test_production_logs_json_and_development_plain() -> None:
    assert logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"] == "json"
    record = logging.LogRecord("wibawa", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    RequestIdFilter().filter(record)
    plain = logging.Formatter(logging_config(log_format="plain", level="INFO")["formatters"]["plain"]["format"])
    assert plain.format(record).endswith("INFO wibawa [-] hello there")
