"""Database connections under the development server: each request runs in a thread of
its own, and a browser leaves its keep-alive sockets open, so a thread that kept its
connection for CONN_MAX_AGE held one PostgreSQL connection per socket until the database
refused more ("too many clients already"). Development closes it after each request
(CONN_MAX_AGE 0 with DEBUG on or under runserver); production processes keep one."""

from __future__ import annotations

import http.client
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection, connections

from tests.config.test_startup import run

#: Sequential requests, each on a keep-alive socket of its own left open, as a browser does.
REQUESTS = 30
#: A closed connection's server process may take a moment to leave pg_stat_activity.
SETTLE_SECONDS = 10


def conn_max_age(*, argv: str = "manage.py", **env: str) -> int:
    """CONN_MAX_AGE as the settings compute it in a fresh process started as ``argv``."""
    script = (
        f"import sys; sys.argv = {argv.split()!r}\n"
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "print(settings.DATABASES['default']['CONN_MAX_AGE'])\n"
    )
    result = run(["-c", script], DJANGO_SETTINGS_MODULE="config.settings", **env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_development_closes_connections_after_each_request_production_keeps_them() -> None:
    production = {"SECRET_KEY": "x" * 50, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    assert conn_max_age(DEBUG="1") == 0
    assert conn_max_age(argv="manage.py runserver", **production) == 0
    assert conn_max_age(**production) == 60
    assert conn_max_age(CONN_MAX_AGE="30", DEBUG="1") == 30


def database_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        (count,) = cursor.fetchone()
    return int(count)


def backends_after_settling(at_most: int) -> int:
    """The test database's connections, waiting (boundedly) for closed ones to leave."""
    deadline = time.monotonic() + SETTLE_SECONDS
    count = database_backends()
    while count > at_most and time.monotonic() < deadline:
        time.sleep(0.1)
        count = database_backends()
    return count


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("setting", "held"), [("development", 0), ("kept for 60 s", REQUESTS)])
def test_sequential_requests_to_a_threaded_server_hold_connections_only_if_kept(
    live_server: Any, monkeypatch: pytest.MonkeyPatch, setting: str, held: int
) -> None:
    age = conn_max_age(DEBUG="1") if setting == "development" else 60
    # The live server's request threads open their connections from this dict.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", age)
    address = urlsplit(live_server.url)
    before = database_backends()
    sockets = []
    try:
        for _ in range(REQUESTS):
            client = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
            client.request("GET", "/api/health/")
            response = client.getresponse()
            response.read()
            assert response.status == 200
            sockets.append(client)  # left open: its server thread lives on
        grown = backends_after_settling(before + held) - before
        print(f"{REQUESTS} requests, CONN_MAX_AGE={age}: {grown} more connections")  # the drill's figure
        if held:
            assert grown >= held  # the fault, measured: one connection per open socket
        else:
            assert grown <= 1  # not growing with the number of requests
    finally:
        for client in sockets:
            client.close()
