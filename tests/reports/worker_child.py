"""A real Celery worker in a process of its own, for the drills that kill one: the
project's settings from the environment, the stand-in kind (tests/reports/standin.py),
and, with SLOW_RENDER=seconds, a pause in the middle of each PDF (after its first rows
are reported), long enough to kill the worker there. WORKER_POOL=prefork (default
solo) for a pool whose tasks are held to their time limits."""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import reports.render.pdf as pdf  # noqa: E402
from config.celery import app  # noqa: E402
from reports.services import reports as service  # noqa: E402
from tests.reports.standin import StandIn  # noqa: E402

service.kind_module = lambda code: StandIn  # type: ignore[assignment,return-value]
DELAY = float(os.environ.get("SLOW_RENDER", "0"))
if DELAY:
    whole = pdf.render_pdf

    def slow(document: Any, progress: Any) -> bytes:
        progress(1, 3)
        time.sleep(DELAY)
        return whole(document, progress)

    pdf.render_pdf = slow

if __name__ == "__main__":
    app.worker_main(
        [
            "worker",
            f"--pool={os.environ.get('WORKER_POOL', 'solo')}",
            "--concurrency=1",
            "--loglevel=INFO",
            "-Q",
            ",".join(queue.name for queue in app.conf.task_queues),  # every queue of this run
            "--without-mingle",
            "--without-gossip",
        ]
    )
