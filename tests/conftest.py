from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from django.core.servers.basehttp import ThreadedWSGIServer
from hypothesis import settings as hypothesis_settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from tests.services import POSTGRES, REDIS, REQUIRED, SQLITE_REQUESTED, WORKER_WAIT, Service

# No per-example deadline (hypothesis's default is 200 ms): on a busy machine an example of
# a correct property takes longer and the test failed. Speed is measured in benchmarks/.
hypothesis_settings.register_profile("wibawa", deadline=None)
hypothesis_settings.load_profile("wibawa")


def pytest_report_header() -> list[str]:
    def state(service: Service) -> str:
        return "yes" if service.available else f"no ({service.error})"

    from tests.web.e2e.browser import SCREENSHOTS

    return [f"services: PostgreSQL {state(POSTGRES)}; Redis {state(REDIS)}", f"browser screenshots: {SCREENSHOTS}"]


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if REQUIRED and SQLITE_REQUESTED:
        # CI's SQLite leg: a PostgreSQL test is deselected on purpose, never skipped.
        selected = [item.nodeid for item in items if "postgres" in item.keywords]
        if selected:
            raise pytest.UsageError(
                f"TEST_DATABASE=sqlite with REQUIRE_SERVICES=1 selected {len(selected)} test(s) marked postgres "
                f"(first: {selected[0]}); deselect them with -m 'not postgres'"
            )
    for item in items:
        if "postgres" in item.keywords and not POSTGRES.available:
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL unreachable: {POSTGRES.error}"))
        if "redis" in item.keywords and not REDIS.available:
            item.add_marker(pytest.mark.skip(reason=f"Redis unreachable: {REDIS.error}"))


@pytest.fixture
def api_client() -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


class _BackloggedServer(ThreadedWSGIServer):
    # Django's development server queues 10 connections; a burst of 50 requests at once
    # would be reset before the app sees it (gunicorn, in production, queues 2048).
    request_queue_size = 128


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """pytest-django's live server (a thread per request, each with its own database
    connection on PostgreSQL or a SQLite file), able to take 128 connections at once."""
    server = LiveServer("127.0.0.1", start=False)
    server.thread.server_class = _BackloggedServer
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_worker() -> Iterator[WorkController]:
    """A real Celery worker (in a thread of this process) consuming from Redis; while it
    runs, tasks go through the broker instead of running eagerly."""
    import celery.contrib.testing.tasks  # noqa: F401 - registers the ping the worker start waits for

    from config.celery import app

    app.conf.task_always_eager = False
    try:
        # Generous bounds (celery's are 10 s), not speed: on a busy machine the first ping
        # or the last task before shutdown may take longer.
        with start_worker(
            app, pool="solo", perform_ping_check=True, ping_task_timeout=WORKER_WAIT, shutdown_timeout=WORKER_WAIT
        ) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if marker is None and "db" not in names and "transactional_db" not in names:
        return
    transactional = "transactional_db" in names or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    # A transactional test's flush wipes what the migrations loaded; put it back (cheaper
    # than serialized_rollback, which also clashes with the content types a flush
    # re-creates: do not use it).
    from tests.factories import restore_reference_data

    restore_reference_data()
