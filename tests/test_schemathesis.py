"""The served OpenAPI schema tells the truth: schemathesis generates requests for every
operation from the schema (valid ones and, for operations that take input, invalid
ones), sends them to the app in-process as two roles (the manager and a bank's staff,
by token) over the demo programme, and checks each answer: never a 5xx, a status code
the schema documents, a body that matches the documented schema.

Each operation with path parameters runs once more on objects that exist (a JATENG
loan, application, borrower, repayment, deferral), which generated ids rarely name.
The examples are bounded and derandomized (the same cases every run), so the run takes
about a minute and cannot flake.
"""

import contextlib
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from config.wsgi import application
from loans.models import Application, Deferral, Loan, Repayment
from reports.services.reports import ReportRequest, report_make, report_request

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
#: Cases per operation and mode: enough to reach every field's edges, small enough for CI.
EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 3}
#: Cases per operation on objects that exist (generated ids mostly name none).
EXISTING_EXAMPLES = 3
#: Who sends the requests: demo users (the manager sees and manages everything; a bank's
#: staff sees one bank), one in English and one in Indonesian.
ROLES = {"manager": "en", "jateng": "id"}


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Requests served by the WSGI app inside the test's transaction: Django's test
    client likewise keeps the request signals from closing the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _summary(failure: BaseException) -> str:
    return str(failure).strip()[:2500]


def _existing_objects() -> dict[str, Any]:
    """Path parameters naming objects of the demo programme that both roles may see."""
    loan = Loan.objects.filter(bank__code="JATENG").order_by("id").first()
    application = Application.objects.filter(bank__code="JATENG", forwarded_at__isnull=False).order_by("id").first()
    assert loan is not None
    assert application is not None
    repayment = Repayment.objects.filter(loan=loan).first()
    assert repayment is not None
    deferral = Deferral.objects.filter(loan=loan).first()
    # A made document both roles may see: the repayment's receipt (made here, as the
    # worker would after the commit the test's transaction never reaches).
    report, _ = report_request(
        actor=User.objects.get(username="manager"),
        request=ReportRequest(kind="receipt", repayment=repayment.pk),
    )
    report_make(report_id=report.pk)
    return {
        "code": "JATENG",
        "kind": "commercial",
        "loan_id": loan.pk,
        "application_id": application.pk,
        "borrower_id": loan.borrower_id,
        "repayment_id": repayment.pk,
        "report_id": report.pk,
        "deferral_id": deferral.pk if deferral else 1,
        # A member of staff neither role sending the requests is (deactivating or
        # reassigning them leaves the run's users as they were).
        "user_id": User.objects.get(username="officer2").pk,
    }


def _run_operation(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, dict[str, str]],
    tokens: list[Token],
    failures: dict[str, str],
    statuses: Counter[int],
    path_parameters: dict[str, Any] | None = None,
) -> None:
    """Send generated cases of ``operation`` as each role (``path_parameters`` fixed,
    if given); record the first failure of each (operation, mode, role) and every
    status answered."""
    label = f"{operation.label} ({mode.value}{', existing objects' if path_parameters else ''}"

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXISTING_EXAMPLES if path_parameters else EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        for role, role_headers in headers.items():
            try:
                response = case.call_and_validate(headers=role_headers, checks=CHECKS)
                statuses[response.status_code] += 1
            except BaseException as failure:  # schemathesis raises exception groups
                if isinstance(failure, KeyboardInterrupt):
                    raise
                failures.setdefault(f"{label}, {role})", _summary(failure))
            # DELETE auth/token/revoke/ revokes the token the run uses, and a generated
            # user id may name a user of the run (deactivated, its token revoked): give them back.
            User.objects.filter(pk__in=[token.user_id for token in tokens]).update(is_active=True)
            for token in tokens:
                Token.objects.get_or_create(user=token.user, defaults={"key": token.key})

    with contextlib.suppress(Unsatisfiable):  # no invalid request exists for an operation without input
        run()


def test_every_operation_answers_as_its_schema_says(in_process_requests: None) -> None:
    call_command("seed_demo", "--allow-production", "--months", "2", stdout=StringIO())
    tokens = [Token.objects.get_or_create(user=User.objects.get(username=name))[0] for name in ROLES]
    headers = {
        token.user.username: {"Authorization": f"Token {token.key}", "Accept-Language": language}
        for token, language in zip(tokens, ROLES.values(), strict=True)
    }
    existing = _existing_objects()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    failures: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the schema itself is valid
        operations += 1
        operation = result.ok()
        for mode in EXAMPLES:
            _run_operation(operation, mode, headers, tokens, failures, statuses)
        names = [parameter.name for parameter in operation.path_parameters]
        if names:
            assert set(names) <= set(existing), names
            fixed = {name: existing[name] for name in names}
            _run_operation(operation, GenerationMode.POSITIVE, headers, tokens, failures, statuses, fixed)

    assert operations > 50
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    # The run reached the app's work, not only its refusals.
    assert statuses[200] > 100, statuses
    assert statuses[201] > 0, statuses
    assert statuses[400] > 100, statuses
