"""What the city office's pages read: the queue's counts per state, an application's
history, and which workflow steps the office may take on an application now (asking
the services' own rules, so a page offers exactly what the service would accept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from audit.models import AuditEntry
from config.roles import Role, has_role
from loans.models import Application
from loans.services import applications as workflow

State = Application.State

#: The states an officer works in, the queue's default view.
AT_THE_OFFICE = (State.DRAFT, State.SUBMITTED, State.FIELD_VERIFIED)


def application_state_counts(*, queryset: QuerySet[Application]) -> dict[str, int]:
    """How many of ``queryset``'s applications are in each state (every state named,
    zero included), in one query."""
    counts = dict.fromkeys(State.values, 0)
    for row in queryset.order_by().values("state").annotate(count=Count("id")):
        counts[row["state"]] = row["count"]
    return counts


def application_history(*, application: Application) -> list[AuditEntry]:
    """The application's audit trail, oldest first, with who did each step (the same
    rows the API's ``events`` and ``stages`` are made of)."""
    return list(AuditEntry.objects.filter(application=application).select_related("actor").order_by("at", "id"))


@dataclass(frozen=True, slots=True)
class OfficeActions:
    """The office's steps on one application for one user: each flag says the step's
    form is offered; ``second_person`` is why a step the state allows must be taken by
    another officer (the page says it instead of offering the form)."""

    submit: bool = False
    field_verify: bool = False
    forward: bool = False
    reject: bool = False
    withdraw: bool = False
    second_person: str | None = None

    @property
    def any(self) -> bool:
        return self.submit or self.field_verify or self.forward or self.reject or self.withdraw


def office_actions(*, application: Application, user: Any) -> OfficeActions:
    """The steps ``user`` may take on ``application`` now, by its state, as the
    workflow services decide: only officers act; the field visit is refused to the
    officer who submitted (maker-checker, :func:`application_field_verify_second_person`)."""
    if not has_role(user, Role.OFFICER):
        return OfficeActions()
    state = application.state
    second_person = None
    field_verify = state == State.SUBMITTED
    if field_verify:
        second_person = workflow.application_field_verify_second_person(application=application, actor=user)
        field_verify = second_person is None
    return OfficeActions(
        submit=state == State.DRAFT,
        field_verify=field_verify,
        forward=state == State.FIELD_VERIFIED,
        reject=state in workflow.OFFICE_STATES,
        withdraw=state in workflow.WITHDRAWABLE_STATES,
        second_person=second_person,
    )
