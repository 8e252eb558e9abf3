"""The Celery app. Settings come from Django's (the CELERY_ names in config/settings.py);
tasks live in the ``tasks`` package (listed in CELERY_IMPORTS)."""

import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun, worker_init

from config.logs import adopt_request_id, carry_request_id, drop_request_id
from config.metrics import task_finished, task_started, worker_metrics_serve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("wibawa")
app.config_from_object("django.conf:settings", namespace="CELERY")

# The request id follows a request into the tasks it sends (config/logs.py).
before_task_publish.connect(carry_request_id, weak=False)
task_prerun.connect(adopt_request_id, weak=False)
task_postrun.connect(drop_request_id, weak=False)
# Task counts and durations (config/metrics.py); a worker serves them on CELERY_METRICS_PORT.
task_prerun.connect(task_started, weak=False)
task_postrun.connect(task_finished, weak=False)
worker_init.connect(worker_metrics_serve, weak=False)


def keep_django_logging(**_: object) -> None:
    """``setup_logging``: a receiver here tells Celery to leave logging alone, so workers
    log through Django's LOGGING (JSON lines with the request id, config/logs.py)."""


setup_logging.connect(keep_django_logging, weak=False)
