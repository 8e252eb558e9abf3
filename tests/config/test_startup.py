"""Starting the project: a missing variable is named in one line, production never runs
tasks inside web requests, and the eager mode of development starts without warnings."""

import subprocess

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


def test_development_runs_tasks_in_process_without_a_broker_warning() -> None:
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
    result = run(["-c", script], DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran\n"
    assert "WARNING" not in result.stderr, result.stderr
    assert "No hostname" not in result.stderr
