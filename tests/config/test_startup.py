"""Starting the project: a missing variable is named in one line, production never runs
tasks inside web requests, development sends them to its embedded broker, and the
in-process mode asked for starts without warnings."""

import json
import subprocess
from pathlib import Path

from tests.processes import run_python

#: What the test run put in the environment (tests/settings.py) and must not leak.
RUN_VARIABLES = ("SECRET_KEY", "DEBUG", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_TASK_ALWAYS_EAGER")


def run(arguments: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(
        arguments,
        unset=(*RUN_VARIABLES, "DJANGO_SETTINGS_MODULE"),
        env={**env, "DATABASE_URL": "sqlite://:memory:"},
    )


def test_a_command_without_a_secret_key_says_what_to_set_in_one_line() -> None:
    result = run(["manage.py", "check"])
    assert result.returncode == 1
    assert result.stderr == ("manage.py: SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for development).\n")
    assert "Traceback" not in result.stderr


def test_production_without_a_broker_refuses_to_start_naming_the_variable() -> None:
    result = run(["manage.py", "check"], SECRET_KEY="x" * 50)
    assert result.returncode == 1
    assert result.stderr.startswith("manage.py: CELERY_BROKER_URL must be set when DEBUG is off")
    assert len(result.stderr.splitlines()) == 1
    web = run(["-c", "from config.wsgi import application"], SECRET_KEY="x" * 50)
    assert web.returncode != 0
    assert "CELERY_BROKER_URL must be set" in web.stderr


def test_production_with_a_broker_starts() -> None:
    result = run(["manage.py", "check"], SECRET_KEY="x" * 50, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 0, result.stderr


def test_development_sends_tasks_to_the_embedded_broker_without_a_warning(tmp_path: Path) -> None:
    script = (
        "import django; django.setup()\n"
        "from config.celery import app\n"
        "assert not app.conf.task_always_eager\n"
        "@app.task\n"
        "def add(a, b):\n"
        "    return a + b\n"
        "add.delay(1, 2)\n"
        "print(app.conf.broker_url, app.conf.result_backend)\n"
    )
    result = run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings", EMBEDDED_BROKER_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"filesystem://localhost/ file://{tmp_path}/results\n"
    # Sent, not run: a message waits in the folder for the worker `make run` starts.
    (message,) = (tmp_path / "messages").iterdir()
    assert message.name.endswith(".wibawa.msg")
    assert json.loads(message.read_text())["headers"]["task"] == "wibawa.add"
    assert "WARNING" not in result.stderr, result.stderr
    assert "No hostname" not in result.stderr


def test_tasks_run_in_process_when_asked_without_a_broker_warning() -> None:
    script = (
        "import django; django.setup()\n"
        "from config.celery import app\n"
        "assert app.conf.task_always_eager\n"
        "@app.task\n"
        "def add(a, b):\n"
        "    return a + b\n"
        "assert add.delay(1, 2).get() == 3\n"
        "print('ran')\n"
    )
    result = run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings", CELERY_TASK_ALWAYS_EAGER="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran\n"
    assert "WARNING" not in result.stderr, result.stderr
    assert "No hostname" not in result.stderr
