"""Sign-in stays limited whatever the shared cache does: per client address (the login
throttle) and per account (the lock-out), with the cache up (local memory, or the real
Redis) and down (a Redis nobody answers on: each process counts on its own then)."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from audit.models import AuditEntry
from config.api import PROCESS_COUNTERS, ProcessCounters
from tests.factories import UserFactory
from tests.services import REDIS

pytestmark = pytest.mark.django_db

PASSWORD = "pass-for-tests"
ENDPOINTS = ["/api/v1/auth/token/", "/api/v1/auth/session/"]


def _redis_db_1() -> str:
    return REDIS.url.rsplit("/", 1)[0] + "/1"


CACHES = {
    "memory": None,  # the test settings' local-memory cache
    "redis": {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_db_1(),
            "KEY_PREFIX": f"wibawa-login-guard-{os.getpid()}",
        }
    },
    "down": {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    },
}


@pytest.fixture(params=[pytest.param(name, marks=[pytest.mark.redis] if name == "redis" else []) for name in CACHES])
def cache_state(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test runs with the cache up (memory, Redis) and down."""
    name: str = request.param
    overrides = CACHES[name]

    def forget() -> None:
        PROCESS_COUNTERS.clear()
        if name != "down":
            caches["default"].clear()

    with override_settings(**({"CACHES": overrides} if overrides else {})):
        forget()
        yield name
        forget()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The wall clock, held still at the start of a minute and of a 15-minute window;
    move it by adding to ``clock[0]``."""
    now = [1_800_000_000.0 - 1_800_000_000.0 % 900]
    monkeypatch.setattr("time.time", lambda: now[0])
    return now


def attempt(endpoint: str, username: str, password: str, address: str, **headers: Any) -> Any:
    client = APIClient(REMOTE_ADDR=address, **headers)
    return client.post(endpoint, {"username": username, "password": password}, format="json")


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_attempts_beyond_the_limit_answer_429_per_address(endpoint: str, cache_state: str, settings: Any) -> None:
    settings.LOGIN_THROTTLE = "3/min"
    user = UserFactory.create()
    answers = [attempt(endpoint, user.username, "wrong", "10.0.0.1").status_code for _ in range(3)]
    assert answers == [400, 400, 400], cache_state
    refused = attempt(endpoint, user.username, PASSWORD, "10.0.0.1")
    assert refused.status_code == 429, cache_state
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another address has its own count.
    assert attempt(endpoint, user.username, PASSWORD, "10.0.0.2").status_code == 200, cache_state


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_passwords_lock_the_account_from_every_address_until_the_window_passes(
    endpoint: str, cache_state: str, clock: list[float], settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 900
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    user = UserFactory.create()

    def from_client(number: int, password: str, **headers: Any) -> Any:
        # Behind one proxy: the client is the address the proxy adds to X-Forwarded-For.
        forwarded = {"HTTP_X_FORWARDED_FOR": f"10.1.0.{number}"}
        return attempt(endpoint, user.username, password, "192.168.0.1", **forwarded, **headers)

    assert [from_client(number, "wrong").status_code for number in (1, 2, 3)] == [400, 400, 400], cache_state

    locked = from_client(4, PASSWORD)  # the right password, from a fourth address
    assert locked.status_code == 429, cache_state
    wait = int(locked["Retry-After"])
    assert wait == 900
    assert locked.json() == {
        "message": f"Terlalu banyak percobaan masuk yang gagal untuk akun ini. Coba lagi dalam {wait} detik.",
        "errors": {},
    }
    english = from_client(5, PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["message"] == f"Too many failed logins for this account. Try again in {wait} seconds."
    row = AuditEntry.objects.get(action="login_locked")
    assert (row.subject_type, row.subject_id, row.actor_id) == ("user", str(user.pk), None)
    assert row.after["login"] == "locked"
    assert PASSWORD not in str(row.after)
    assert "wrong" not in str(row.after)

    clock[0] += 600
    assert int(from_client(6, PASSWORD)["Retry-After"]) == 300
    clock[0] += 300  # the lock-out has passed
    assert from_client(7, PASSWORD).status_code == 200, cache_state


@pytest.mark.usefixtures("clock")
def test_a_username_that_names_nobody_is_locked_too_without_an_audit_row(cache_state: str, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    answers = [attempt(ENDPOINTS[0], "nobody-here", "wrong", "10.2.0.1").status_code for _ in range(3)]
    assert answers == [400, 400, 429], cache_state
    assert not AuditEntry.objects.filter(action="login_locked").exists()


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_success_resets_the_account_count(endpoint: str, cache_state: str, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory.create()
    for _ in range(3):
        assert attempt(endpoint, user.username, "wrong", "10.3.0.1").status_code == 400, cache_state
        assert attempt(endpoint, user.username, "wrong", "10.3.0.1").status_code == 400, cache_state
        assert attempt(endpoint, user.username, PASSWORD, "10.3.0.1").status_code == 200, cache_state
    assert not AuditEntry.objects.filter(action="login_locked").exists()


@pytest.mark.usefixtures("clock")
def test_one_account_locked_leaves_the_others_alone(cache_state: str, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    locked, other = UserFactory.create(), UserFactory.create()
    for _ in range(2):
        attempt(ENDPOINTS[0], locked.username, "wrong", "10.4.0.1")
    assert attempt(ENDPOINTS[0], locked.username, PASSWORD, "10.4.0.1").status_code == 429, cache_state
    assert attempt(ENDPOINTS[0], other.username, PASSWORD, "10.4.0.1").status_code == 200, cache_state


@pytest.mark.usefixtures("clock")
def test_the_cache_keys_name_no_account_and_no_password(settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    caches["default"].clear()
    user = UserFactory.create(username="sri-rahasia")
    for _ in range(2):
        attempt(ENDPOINTS[0], user.username, "sandi-salah", "10.5.0.1")
    stored = caches["default"]._cache  # type: ignore[attr-defined]  # LocMemCache's dict
    assert any(":login-locked:" in key for key in stored)
    assert not any("sri-rahasia" in key or "sandi-salah" in key for key in stored)
    assert not any("sandi-salah" in str(value) for value in stored.values())
    caches["default"].clear()


def test_only_the_login_throttle_holds_when_the_cache_is_down() -> None:
    from config.auth_apis import LoginThrottle
    from loans.apis.simulation import SimulationThrottle

    assert LoginThrottle.fail_open is False
    # The simulator's throttle guards capacity on a public read: it may let requests through.
    assert SimulationThrottle.fail_open is True


def test_process_counters_expire_and_stay_bounded(clock: list[float]) -> None:
    counters = ProcessCounters()
    counters.prune_above = 3
    assert [counters.incr("a", ttl=60) for _ in range(3)] == [1, 2, 3]
    clock[0] += 30
    assert counters.incr("a", ttl=60) == 4  # a later hit keeps the first hit's life
    clock[0] += 30
    assert counters.incr("a", ttl=60) == 1  # a new life
    counters.set("mark", 1.5, ttl=10)
    assert counters.get("mark") == 1.5
    counters.delete("mark")
    assert counters.get("mark") is None
    for name in ("b", "c", "d", "e"):
        counters.incr(name, ttl=1)
    clock[0] += 2
    counters.incr("f", ttl=1)  # more than prune_above: the expired ones are dropped
    assert set(counters._entries) == {"a", "f"}
