import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from tests.processes import ROOT, run_python


def run_django_setup(**env: str) -> subprocess.CompletedProcess[str]:
    return run_python(
        ["-c", "import django; django.setup(); print('started')"],
        unset=("SECRET_KEY", "DEBUG"),
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        timeout=60,
    )


def test_refuses_to_start_without_a_secret_key_when_debug_is_off() -> None:
    result = run_django_setup(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_starts_with_the_development_key_when_debug_is_on() -> None:
    result = run_django_setup(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_time_zone_and_languages() -> None:
    assert settings.TIME_ZONE == "Asia/Jakarta"
    assert settings.LANGUAGE_CODE == "id"
    assert "en" in dict(settings.LANGUAGES)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_suite_runs_on_postgresql_when_it_answers() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        assert cursor.fetchone()[0] >= 120000


def test_openapi_schema_and_swagger_ui_from_own_static_files(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert {"/api/health/", "/api/v1/simulations/"} <= set(document["paths"])

    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = api_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_docker_compose_defines_the_services_with_health_checks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert services["worker"]["image"] == services["web"]["image"]


def test_docker_compose_gives_each_queue_its_workers() -> None:
    from config.settings import celery_queues

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    consumed: list[str] = []
    for name in ("worker", "worker-documents", "worker-close"):
        command = services[name]["command"]
        assert "healthcheck" in services[name], name
        consumed += command[command.index("-Q") + 1].split(",")
    queues, _routes = celery_queues("wibawa")
    # Every queue has its workers, and no queue two kinds of worker.
    assert sorted(consumed) == sorted(queue.name for queue in queues)
    assert services["flower"]["profiles"] == ["monitoring"]


def test_openapi_schema_validates_without_warnings(tmp_path: Path) -> None:
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert {"Simulation", "SimulationResult"} <= {
        name.removesuffix("Request") for name in schema["components"]["schemas"]
    }


def test_every_operation_with_a_body_has_an_example(tmp_path: Path) -> None:
    import json

    from django.core.management import call_command

    target = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(target))
    schema = json.loads(target.read_text())
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in {"get", "post", "patch", "put"} and '"example' not in json.dumps(operation)
    ]
    assert missing == []


def test_the_embedded_sqlite_database_makes_writers_wait_in_wal_mode(tmp_path: Path) -> None:
    """make run's default: transactions take the write lock when they begin and wait for
    it (20 s), in WAL mode; the 50 concurrent repayments test proves what this buys."""
    environment = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "SQLITE_TIMEOUT")}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    script = (
        "import django; django.setup(); from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('PRAGMA journal_mode'); mode = cursor.fetchone()[0]\n"
        "    cursor.execute('PRAGMA synchronous'); synchronous = cursor.fetchone()[0]\n"
        "print(mode, synchronous, connection.transaction_mode, connection.settings_dict['OPTIONS']['timeout'])"
    )
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    # synchronous 1 is NORMAL.
    assert result.stdout.split() == ["wal", "1", "IMMEDIATE", "20"]
