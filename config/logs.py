"""Logs a person can follow: every request gets an id (``X-Request-ID``), every log line
carries it, and the tasks a request sends carry it too, so one id finds a request and the
work it started. Lines are JSON in production (``LOG_FORMAT=json``, the default without
``DEBUG``), one readable line each in development (``LOG_FORMAT=plain``)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from django.core.signals import request_finished, request_started
from django.http import HttpRequest, HttpResponse

#: The id of the request (or task) whose work this thread is doing; "-" outside one.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")

#: A proxy's own request id is kept when it looks like one (so its logs and ours match).
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,64}")
HEADER = "X-Request-ID"


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request an id: the ``X-Request-ID`` it came with when well formed, else a
    new one; answer it in ``X-Request-ID``. First in the middleware list, so every line
    logged while the request is served carries it (until ``request_finished``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if WELL_FORMED.fullmatch(incoming) else new_request_id()
        # Kept until the request is finished (not reset on the way out): Django logs an
        # error answer after the middleware has returned it.
        REQUEST_ID.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def forget_request_id(**_: Any) -> None:
    """``request_started`` and ``request_finished``: no id outside a request."""
    REQUEST_ID.set("-")


request_started.connect(forget_request_id, weak=False, dispatch_uid="wibawa-request-id-start")
request_finished.connect(forget_request_id, weak=False, dispatch_uid="wibawa-request-id-finish")


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (the handlers' formats print it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


# Tasks: the sender's request id travels in the message's headers, and the worker takes it
# up for the task's run (a task sent from no request, such as beat's, uses its own id).
def carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish``: put the current request id in the message's headers."""
    request_id = REQUEST_ID.get()
    if headers is not None and request_id != "-":
        headers.setdefault("request_id", request_id)


_TASK_TOKENS: dict[str, Token[str]] = {}


def adopt_request_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """``task_prerun``: the task's lines carry the id of the request that sent it (in
    eager mode the request's own id is still current); else ``task-<task id>``."""
    sent_with = getattr(getattr(task, "request", None), "request_id", None)
    current = REQUEST_ID.get()
    request_id = sent_with if isinstance(sent_with, str) and WELL_FORMED.fullmatch(sent_with) else None
    if request_id is None:
        request_id = current if current != "-" else f"task-{task_id}"
    if task_id:
        _TASK_TOKENS[task_id] = REQUEST_ID.set(request_id)


def drop_request_id(task_id: str | None = None, **_: Any) -> None:
    """``task_postrun``: back to the id before the task (none, in a worker)."""
    token = _TASK_TOKENS.pop(task_id or "", None)
    if token is not None:
        try:
            REQUEST_ID.reset(token)
        except ValueError:  # set in another context (a thread pool): forget it there
            REQUEST_ID.set("-")


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The ``LOGGING`` setting: one console handler, JSON or plain, with the request id."""
    formatters = {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
        "formatters": formatters,
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
    }
