"""A real Celery worker in a process of its own for the drills that kill one in the
middle of a task (tests/tasks/test_worker_drills.py). With SLOW_SCHEDULE_STORE=seconds
it pauses after writing a batch's installments, before its transaction commits; with
SLOW_CLOSE_CHUNK=seconds, after a close chunk's figures are written, before the chunk
commits. Entering the pause it creates the file DRILL_MARK, so the test knows when to kill."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from config.celery import app  # noqa: E402
from loans.services import schedules  # noqa: E402
from loans.services.close import runs  # noqa: E402


def _pause(seconds: float) -> None:
    Path(os.environ["DRILL_MARK"]).touch()
    time.sleep(seconds)


SLOW_STORE = float(os.environ.get("SLOW_SCHEDULE_STORE", "0"))
if SLOW_STORE:
    whole_insert = schedules._insert_rows

    def slow_insert(*args: Any, **kwargs: Any) -> None:
        whole_insert(*args, **kwargs)
        _pause(SLOW_STORE)

    schedules._insert_rows = slow_insert

SLOW_CHUNK = float(os.environ.get("SLOW_CLOSE_CHUNK", "0"))
if SLOW_CHUNK:
    whole_close_loans = runs.close_loans

    def slow_close_loans(*args: Any, **kwargs: Any) -> Any:
        result = whole_close_loans(*args, **kwargs)
        _pause(SLOW_CHUNK)
        return result

    runs.close_loans = slow_close_loans

if __name__ == "__main__":
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "-Q",
            ",".join(queue.name for queue in app.conf.task_queues),  # every queue of this run
            "--without-mingle",
            "--without-gossip",
        ]
    )
