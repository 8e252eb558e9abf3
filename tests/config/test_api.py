import threading
from datetime import date

import pytest
from django.core.cache import cache, caches
from django.test import override_settings
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from config.api import FixedWindowThrottle, ReusedFieldsSerializer


class TermsSerializer(ReusedFieldsSerializer):
    principal = serializers.IntegerField(min_value=1)
    disbursed = serializers.DateField(source="disbursement_date")


def validated(data: dict[str, object]) -> dict[str, object] | dict[str, list[str]]:
    serializer = TermsSerializer(data=data)
    if serializer.is_valid():
        return dict(serializer.validated_data)
    return {name: [str(message) for message in messages] for name, messages in serializer.errors.items()}


def test_reused_fields_validate_each_instance_independently() -> None:
    assert validated({"principal": 5, "disbursed": "2026-01-31"}) == {
        "principal": 5,
        "disbursement_date": date(2026, 1, 31),
    }
    assert set(validated({"principal": 0, "disbursed": "nope"})) == {"principal", "disbursed"}
    assert validated({"principal": 7, "disbursed": "2026-02-01"}) == {
        "principal": 7,
        "disbursement_date": date(2026, 2, 1),
    }


def test_reused_fields_are_per_thread() -> None:
    results: dict[int, object] = {}

    def work(number: int) -> None:
        for _ in range(200):
            result = validated({"principal": number, "disbursed": f"2026-01-{number:02d}"})
            if result != {"principal": number, "disbursement_date": date(2026, 1, number)}:
                results[number] = result
                return
        results[number] = "ok"

    threads = [threading.Thread(target=work, args=(number,)) for number in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == dict.fromkeys(range(1, 9), "ok")


class TwoPerMinute(FixedWindowThrottle):
    scope = "test"
    rate = "2/min"


@pytest.fixture
def _empty_cache() -> None:
    cache.clear()


@pytest.mark.usefixtures("_empty_cache")
def test_fixed_window_throttle_counts_per_address_and_window(monkeypatch: pytest.MonkeyPatch) -> None:
    factory = APIRequestFactory()
    clock = [1_000_000.0]
    monkeypatch.setattr("config.api.time.time", lambda: clock[0])

    def allowed(address: str) -> bool:
        request = factory.get("/", REMOTE_ADDR=address)
        return TwoPerMinute().allow_request(request, None)  # type: ignore[arg-type]

    assert [allowed("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert allowed("10.0.0.2")
    throttle = TwoPerMinute()
    throttle.allow_request(factory.get("/", REMOTE_ADDR="10.0.0.1"), None)  # type: ignore[arg-type]
    assert 1 <= throttle.wait() <= 60
    clock[0] += 60  # the next window
    assert allowed("10.0.0.1")


@pytest.mark.redis
def test_throttle_counts_in_redis_in_one_pipelined_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    from config.api import _count_hit
    from tests.services import REDIS

    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS.url}}
    key = f"wibawa-test-throttle-{threading.get_ident()}"
    with override_settings(CACHES=redis_cache):
        backend = caches["default"]
        backend.delete(key)
        assert [_count_hit(key, ttl=61) for _ in range(3)] == [1, 2, 3]
        full_key = backend.make_and_validate_key(key)
        assert 0 < redis.Redis.from_url(REDIS.url).ttl(full_key) <= 61
        backend.delete(key)

        factory = APIRequestFactory()
        monkeypatch.setattr("config.api.time.time", lambda: 2_000_000.0)
        address = f"10.9.{threading.get_ident() % 250}.1"
        cache_key = TwoPerMinute().get_cache_key(factory.get("/", REMOTE_ADDR=address), None)  # type: ignore[arg-type]
        backend.delete(f"{cache_key}_{(2_000_000 // 60)}")
        outcomes = [
            TwoPerMinute().allow_request(factory.get("/", REMOTE_ADDR=address), None)  # type: ignore[arg-type]
            for _ in range(3)
        ]
        assert outcomes == [True, True, False]


def test_throttle_lets_requests_through_when_its_cache_is_down() -> None:
    dead_redis = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    with override_settings(CACHES=dead_redis):
        request = APIRequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
        assert all(TwoPerMinute().allow_request(request, None) for _ in range(3))  # type: ignore[arg-type]
