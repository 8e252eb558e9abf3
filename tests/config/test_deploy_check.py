"""The production settings pass Django's deployment checks: with DEBUG off, a real
SECRET_KEY and a broker, `manage.py check --deploy --fail-level WARNING` reports no
issue; the development key is refused when DEBUG is off; plain HTTP is redirected to
HTTPS except the health check that load balancers call."""

import os
import secrets
import subprocess

from tests.processes import run_python

#: Variables of the test run (tests/settings.py) or the developer's shell that would
#: change what the production settings are.
SKIPPED = (
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "CELERY_TASK_ALWAYS_EAGER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_COOKIES",
    "SECURE_PROXY_SSL_HEADER",
)


def run_production(code_or_command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    production = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        # The test run's own services (tests/settings.py put them in the environment).
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0",
        "DATABASE_URL": os.environ["DATABASE_URL"],
    }
    return run_python(code_or_command, unset=SKIPPED, env={**production, **env})


def test_check_deploy_passes_with_the_production_settings() -> None:
    result = run_production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout
    # Only the HSTS preload warning is silenced (preloading is the domain owner's choice).
    assert "(1 silenced)" in result.stdout


def test_check_deploy_passes_with_preload_on_and_nothing_silenced() -> None:
    result = run_production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], SECURE_HSTS_PRELOAD="1")
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_fails_when_https_is_turned_off() -> None:
    result = run_production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0"
    )
    assert result.returncode != 0
    assert "security.W008" in result.stderr
    assert "security.W004" in result.stderr


def test_the_development_key_is_refused_when_debug_is_off() -> None:
    result = run_production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY="")
    assert result.returncode == 1
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_plain_http_is_redirected_except_the_health_check() -> None:
    script = (
        "import django; django.setup();"
        "from django.test import Client; c = Client();"
        "print(c.get('/api/v1/loans/').status_code, c.get('/api/v1/loans/').headers.get('Location'));"
        "h = c.get('/api/v1/loans/', secure=True);"
        "print(h.headers.get('Strict-Transport-Security'), h.headers.get('X-Frame-Options'),"
        " h.headers.get('Referrer-Policy'));"
        "print(c.get('/api/health/').status_code != 301)"
    )
    result = run_production(["-c", script], DJANGO_SETTINGS_MODULE="config.settings", ALLOWED_HOSTS="testserver")
    assert result.returncode == 0, result.stderr
    redirect, headers, health = result.stdout.splitlines()[-3:]
    assert redirect == "301 https://testserver/api/v1/loans/"
    assert headers == "max-age=31536000; includeSubDomains DENY same-origin"
    assert health == "True"


def test_a_tls_proxy_header_counts_as_https() -> None:
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "print(Client().get('/api/v1/loans/', HTTP_X_FORWARDED_PROTO='https').status_code)"
    )
    result = run_production(
        ["-c", script],
        DJANGO_SETTINGS_MODULE="config.settings",
        ALLOWED_HOSTS="testserver",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "401"
