"""Settings for the test suite: the project's settings, pointed at whichever real
services answer (see tests/services.py)."""

import os

from tests.services import POSTGRES, REDIS, SQLITE_TEST_FILE

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
# Tasks run in-process unless a test starts a real worker (tests/conftest.py); said before
# the settings load, which otherwise refuse to start without a broker when DEBUG is off.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
os.environ["DATABASE_URL"] = POSTGRES.url if POSTGRES.available else f"sqlite:///{SQLITE_TEST_FILE}"
if REDIS.available:
    os.environ["CELERY_BROKER_URL"] = REDIS.url
    os.environ["CELERY_RESULT_BACKEND"] = REDIS.url
else:
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("CELERY_RESULT_BACKEND", None)
os.environ.pop("CACHE_URL", None)

from config.settings import *  # noqa: F403

if not POSTGRES.available:
    DATABASES["default"]["TEST"] = {"NAME": str(SQLITE_TEST_FILE)}  # noqa: F405

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Tasks run in-process unless a test starts a real worker (tests/conftest.py).
CELERY_TASK_ALWAYS_EAGER = True
# A queue of this run's own, so no other worker on the same Redis takes its tasks.
CELERY_TASK_DEFAULT_QUEUE = f"wibawa-tests-{os.getpid()}"
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)  # noqa: F405
SIMULATION_THROTTLE = "100000/min"
LOGIN_THROTTLE = "100000/min"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_FAILURE_LIMIT = 100000
# The test client speaks plain HTTP: not redirected to HTTPS (tests/config/test_deploy_check.py
# checks the production setting).
SECURE_SSL_REDIRECT = False
REPORTS_AUTO_PAPERS = False  # receipts after each repayment: on in the tests of them (tests/reports/)
