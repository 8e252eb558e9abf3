"""Turning stored workflow data into what readers see: check results in the reader's
language, and how long an application waited in each state."""

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

import orjson
from django.utils.translation import get_language, gettext

from audit.models import AuditEntry
from loans.models import Application

#: Check parameters that are rupiah amounts (shown with thousands separators).
RUPIAH_PARAMS = frozenset({"principal", "limit", "available"})


def rupiah_digits(amount: int) -> str:
    """``1234567`` as "1.234.567" in Indonesian, "1,234,567" in English."""
    text = f"{amount:,}"
    return text.replace(",", ".") if (get_language() or "id").startswith("id") else text


@lru_cache(maxsize=4096)
def checks_rendered(language: str, stored: str) -> list[dict[str, Any]]:
    """An application's check results stored as JSON text (``stored``), rendered in
    ``language`` (the active one): kept for the process, as the same applications are
    listed again and again and their checks change only when they run again (then the
    text is new). Callers must not change the list."""
    return [render_check(check) for check in orjson.loads(stored)]


def render_check(check: dict[str, Any]) -> dict[str, Any]:
    """A stored check result as ``{"name", "passed", "message"}`` in the active language."""
    params = dict(check.get("params") or {})
    for name in RUPIAH_PARAMS & params.keys():
        if isinstance(params[name], int):
            params[name] = rupiah_digits(params[name])
    if "basis" in params:
        params["basis"] = gettext(params["basis"]).format(**(params.pop("basis_params", None) or {}))
    try:
        message = gettext(check["template"]).format(**params)
    except (KeyError, IndexError, ValueError):
        message = check["template"]
    return {"name": check["name"], "passed": check["passed"], "message": message}


def iso_time(value: datetime | None, zone: tzinfo) -> str | None:
    """``value`` as DRF's DateTimeField renders it in ``zone`` (ISO 8601, "Z" for UTC),
    without building a field: a list renders several a row."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def stage_times(application: Application, events: list[AuditEntry], now: datetime) -> list[dict[str, Any]]:
    """Each state the application has been in, when it entered and left it and how many
    seconds it spent there (the current state up to ``now``)."""
    stages: list[dict[str, Any]] = []
    for event in events:
        if not event.to_state or event.to_state == event.from_state:
            continue
        if stages:
            stages[-1]["left_at"] = event.at
            stages[-1]["seconds"] = int((event.at - stages[-1]["entered_at"]).total_seconds())
        stages.append({"state": event.to_state, "entered_at": event.at, "left_at": None, "seconds": None})
    if stages and stages[-1]["left_at"] is None:
        stages[-1]["seconds"] = int((now - stages[-1]["entered_at"]).total_seconds())
    return stages
