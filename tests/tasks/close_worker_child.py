"""A real Celery worker in a process of its own whose close chunks after the first fail
("disk full"), for the test of a failed chord on the embedded broker."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from config.celery import app  # noqa: E402
from tasks import close as close_tasks  # noqa: E402

whole_chunk = close_tasks.close_chunk


def failing_chunk(**kwargs: Any) -> Any:
    if kwargs["low"] > 0:
        raise RuntimeError("disk full")
    return whole_chunk(**kwargs)


close_tasks.close_chunk = failing_chunk

if __name__ == "__main__":
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            ",".join(queue.name for queue in app.conf.task_queues),  # every queue of this run
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
    )
