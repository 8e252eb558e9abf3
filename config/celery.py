"""The Celery app. Settings come from Django's (the CELERY_ names in config/settings.py);
tasks live in the ``tasks`` package (listed in CELERY_IMPORTS)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("wibawa")
app.config_from_object("django.conf:settings", namespace="CELERY")
