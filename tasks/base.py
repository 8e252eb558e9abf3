"""The base class of every Wibawa task: retries on known transient errors only, with
exponential backoff and a cap, and a logged final failure; and :func:`task_send`, the one
way the web sends a task after its commit without a broker outage failing the request."""

import logging
from typing import Any

from celery import Task
from celery.result import AsyncResult
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

#: Errors that a later attempt may not meet: a database or broker that blinked.
TRANSIENT_ERRORS = (
    OperationalError,
    InterfaceError,
    BrokerOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
)


class WibawaTask(Task):
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        # Names the task, never its arguments; the line carries the sending request's id.
        logger.info("task %s[%s] started", self.name, task_id)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        logger.error("task %s[%s] failed for good: %r (args=%r kwargs=%r)", self.name, task_id, exc, args, kwargs)


def task_send(task: Task, *args: Any) -> AsyncResult | None:
    """Send ``task(*args)`` to the broker (or run it, in eager mode). When the broker
    cannot take it (down, unreachable: the settings bound this to about a second),
    log a warning naming the task and the error (task arguments are ids, but they are
    not logged) and return None; the caller's change is committed whatever the broker
    does. Errors of a task run eagerly are not the broker's and propagate.

    The task's result is not kept (``ignore_result``): what such a task does is in the
    rows it writes (a loan's schedule, a report's status, a close run), and nobody
    waits on it. With the Redis result backend, a kept result costs every send a
    SUBSCRIBE and an UNSUBSCRIBE on the result channel (a third of a repayment's
    receipt send) and the worker a stored result."""
    if task.app.conf.task_always_eager:
        return task.delay(*args)
    try:
        return task.apply_async(args, ignore_result=True)
    except Exception as exc:  # kombu, redis and the result backend each raise their own errors
        logger.warning("broker did not take task %s: %s: %s", task.name, type(exc).__name__, exc)
        return None
