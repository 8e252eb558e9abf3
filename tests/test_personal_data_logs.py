"""Personal data never reaches the logs or task arguments: a whole workflow over the API
(register, apply, submit, verify, forward, credit check with notes, approve, disburse,
repay) and a few refused requests, with every log record captured at DEBUG and every
task sent recorded; no NIK, phone number, NPWP or credit-check note appears in any."""

import logging
import traceback
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery.app.task import Task
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ProductTermsFactory, UserFactory, bank_user, funded_bank

NIK = "3374015708850001"
OTHER_NIK = "3374014501900002"
PHONE = "0812-3456-7890"
NPWP = "01.312.166.0-091.000"
CREDIT_NOTES = "SLIK: tunggakan kartu kredit Rp 3.250.000 di bank lain"
#: Every form a personal value may take in a log line.
SECRETS = {
    "the NIK": [NIK, "3374 0157 0885 0001"],
    "the other NIK": [OTHER_NIK],
    "the phone number": ["081234567890", "+6281234567890", "6281234567890", "81234567890", PHONE],
    "the NPWP": ["013121660091000", NPWP],
    "the credit-check notes": ["tunggakan kartu kredit"],
}
#: The loggers the project and its frameworks write to (all propagate to the root).
LOGGERS = ("", "django", "django.request", "django.db.backends", "celery", "kombu", "borrowers", "loans", "tasks")


def registration(nik: str, **changes: Any) -> dict[str, Any]:
    return {
        "nik": nik,
        "name": "Siti Rahayu",
        "birth_date": "1985-08-17",
        "sex": "F",
        "phone": PHONE,
        "npwp": NPWP,
        "address": "Jl. Pemuda 12",
        "kelurahan": "33.74.01.1001",
        "business": {
            "name": "Warung Bu Siti",
            "sector": "trade",
            "nib": "9120001234567",
            "started_on": "2018-03-01",
            "monthly_revenue": 12_000_000,
        },
        **changes,
    }


def call(client: APIClient, user: Any, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
    client.force_authenticate(user)
    answer = getattr(client, method)(f"/api/v1/{path}", body, format="json")
    assert answer.status_code == expect, (path, answer.status_code, answer.content)
    return answer.json()


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, Any]]:
    """Every task sent (eagerly run in the tests), with its arguments."""
    sent: list[tuple[str, Any, Any]] = []
    original = Task.apply_async

    def recording(self: Task, args: Any = None, kwargs: Any = None, *rest: Any, **options: Any) -> Any:
        sent.append((self.name, args, kwargs))
        return original(self, args, kwargs, *rest, **options)

    monkeypatch.setattr(Task, "apply_async", recording)
    return sent


def record_text(record: logging.LogRecord) -> str:
    parts = [str(record.msg), repr(record.args), record.getMessage()]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    parts.append(repr({key: value for key, value in vars(record).items() if key not in ("msg", "args", "exc_info")}))
    return "\n".join(parts)


@pytest.mark.django_db(transaction=True)
def test_a_whole_workflow_logs_no_personal_data(
    api_client: APIClient, caplog: pytest.LogCaptureFixture, sent_tasks: list[tuple[str, Any, Any]]
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    ProductTermsFactory.create(valid_from=date(2017, 1, 1))
    pasar = funded_bank("PASAR", 1_000_000_000)
    officer, officer2 = UserFactory.create(role="officer"), UserFactory.create(role="officer")
    teller, approver = bank_user(pasar), bank_user(pasar)
    today = timezone.localdate()

    borrower = call(api_client, officer, "post", "borrowers/", registration(NIK), expect=201)
    # Refused: the same NIK again, a NIK of 15 digits, a bad phone with a real NIK, a search.
    call(api_client, officer, "post", "borrowers/", registration(NIK), expect=400)
    call(api_client, officer, "post", "borrowers/", registration(OTHER_NIK[:15]), expect=400)
    call(api_client, officer, "post", "borrowers/", registration(OTHER_NIK, phone="0812-34"), expect=400)
    call(api_client, officer, "post", "borrowers/", registration(OTHER_NIK, npwp="013121661091000"), expect=400)
    call(api_client, officer, "get", f"borrowers/?q={NIK}")
    call(api_client, officer, "patch", f"borrowers/{borrower['id']}/", {"nik": OTHER_NIK}, expect=400)

    application = call(
        api_client,
        officer,
        "post",
        "applications/",
        {
            "borrower": borrower["id"],
            "bank": "PASAR",
            "principal": 5_000_000,
            "tenor_months": 12,
            "collateral": False,
            "purpose": "Modal kerja",
        },
        expect=201,
    )
    base = f"applications/{application['id']}"
    call(api_client, officer, "post", f"{base}/submit/")
    call(api_client, officer2, "post", f"{base}/field_verify/", {"visited_on": today.isoformat(), "notes": "Buka"})
    call(api_client, officer, "post", f"{base}/forward/")
    call(api_client, teller, "post", f"{base}/credit_check/", {"result": "clean", "notes": CREDIT_NOTES})
    call(api_client, approver, "post", f"{base}/approve/", {"contract_number": "PASAR/KW/2026/0001"})
    loan_id = call(api_client, teller, "post", f"{base}/disburse/", {"disbursed_on": today.isoformat()})["loan"]
    assert call(api_client, teller, "get", f"loans/{loan_id}/")["schedule_status"] == "ready"
    repayment = {"amount": 100_000, "paid_on": today.isoformat(), "channel": "teller", "reference": "TLR-1"}
    call(api_client, teller, "post", f"loans/{loan_id}/repayments/", repayment, expect=201)
    call(api_client, teller, "post", f"loans/{loan_id}/repayments/", {**repayment, "amount": 1}, expect=422)

    assert caplog.records, "nothing was captured: the capture is not working"
    assert sent_tasks, "no task was sent: the recording is not working"
    for record in caplog.records:
        text = record_text(record)
        for what, forms in SECRETS.items():
            for form in forms:
                assert form not in text, f"{what} in a log record of {record.name}: {record.getMessage()[:300]}"
    for name, args, kwargs in sent_tasks:
        text = repr((args, kwargs))
        for what, forms in SECRETS.items():
            for form in forms:
                assert form not in text, f"{what} in the arguments of task {name}: {text[:300]}"


def test_the_access_log_leaves_out_query_strings_and_referrers() -> None:
    """gunicorn's default access line has the request line with its query string, and a
    NIK search is `GET borrowers/?q=<NIK>`: docker-compose logs the path only."""
    compose = yaml.safe_load((Path(__file__).resolve().parents[1] / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["command"]
    formats = [part.split("=", 1)[1] for part in command if part.startswith("--access-logformat=")]
    assert len(formats) == 1, command
    assert "%(U)s" in formats[0]
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert atom not in formats[0], atom
