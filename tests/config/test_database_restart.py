"""Drill: PostgreSQL restarts while clients read the API. Every answer during the restart
is 200 or a clean 503 in the error shape (never a 500, never a hung request), and the
answers are 200 again once the server is back, with no manual step (the web processes'
connections are health-checked and made anew: CONN_HEALTH_CHECKS).

It restarts the machine's PostgreSQL cluster (Debian's ``pg_ctlcluster``), so it runs
where the suite owns the server, as in CI; the time to recover is printed (``-s``)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connections

from config.auth_services import token_issue
from config.roles import Role
from tests.factories import UserFactory
from tests.services import REQUIRED

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 4
#: The restart and the first good answer after it, at most (generous: a bound, not a speed).
RECOVERY_SECONDS = 60


def cluster() -> list[str]:
    """``pg_ctlcluster VERSION main restart``, for the newest cluster on this machine."""
    clusters = sorted(Path("/etc/postgresql").glob("*/main"), key=lambda path: float(path.parent.name))
    if not shutil.which("pg_ctlcluster") or not clusters:
        message = "no local PostgreSQL cluster to restart (Debian's pg_ctlcluster)"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return ["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1].parent.name, "main", "restart"]


def test_a_restart_under_load_answers_503_then_recovers_by_itself(live_server: Any) -> None:
    restart = cluster()
    manager = UserFactory.create(username="restart-drill", role=Role.MANAGER)
    headers = {"Authorization": f"Token {token_issue(user=manager)}", "Accept-Language": "en"}
    url = f"{live_server.url}/api/v1/loans/"
    answers: list[tuple[float, int, Any]] = []
    stop = threading.Event()

    def client() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    answer = session.get(url, headers=headers, timeout=20)
                except requests.RequestException as exc:  # the connection itself: not the app's answer
                    answers.append((time.monotonic(), 0, repr(exc)))
                    continue
                body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else None
                answers.append((time.monotonic(), answer.status_code, (body, answer.headers.get("Retry-After"))))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    began = time.monotonic()
    subprocess.run(restart, check=True, capture_output=True, timeout=RECOVERY_SECONDS)
    restarted = time.monotonic()
    deadline = restarted + RECOVERY_SECONDS
    while time.monotonic() < deadline and not any(at > restarted and status == 200 for at, status, _ in answers):
        time.sleep(0.2)
    time.sleep(1.0)  # a little more load after the first good answer
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    connections.close_all()  # this process's own connections died with the server

    statuses = [status for _at, status, _detail in answers]
    after = [status for at, status, _detail in answers if at > restarted]
    recovered = next((at for at, status, _ in answers if at > restarted and status == 200), None)
    print(
        f"\nPostgreSQL restart under {CLIENTS} clients: {len(answers)} answers, "
        f"{statuses.count(200)} x 200, {statuses.count(503)} x 503, restart took {restarted - began:.1f} s, "
        f"first 200 after it {(recovered - restarted) if recovered else float('nan'):.2f} s later"
    )
    assert statuses.count(200) > 0
    assert set(statuses) <= {200, 503}, [a for a in answers if a[1] not in (200, 503)][:3]
    for _at, status, detail in answers:
        if status == 503:
            body, retry_after = detail
            assert body == {
                "message": "The service is briefly unavailable: its database is not answering. Try again in a moment.",
                "errors": {},
            }
            assert retry_after == "5"
    assert recovered is not None, "no 200 after the restart"
    assert statuses.count(503) > 0, "the restart fell between requests: the drill proved nothing"
    assert after[-CLIENTS:] == [200] * min(CLIENTS, len(after))  # and it stays up
