"""Writing the audit trail: :func:`audit_record`, called by every service that changes
state, inside that service's transaction (so the row exists exactly when the change
does).

A subject is a model instance (its model name, primary key and ``str()``) or a
:class:`Subject` for things that are not one row (a collectibility table, a close).
``before`` and ``after`` hold only the fields that changed (see :func:`changed`);
personal numbers are masked and secrets never stored (see :func:`masked`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from audit.models import AuditEntry
from config.prepared import prepared_insert

#: Personal data: stored masked (first and last 4 characters kept).
PERSONAL_FIELDS = frozenset({"nik", "npwp", "phone", "address"})
#: Secrets: never stored, not even masked.
SECRET_FIELDS = frozenset({"password", "token", "key"})
NOT_RECORDED = "[not recorded]"


@dataclass(frozen=True, slots=True)
class Subject:
    """What changed when it is not one model row: ``type`` names the kind of thing
    (``collectibility_table``), ``id`` which one (``bpr``)."""

    type: str
    id: str
    label: str = ""


def subject_of(subject: models.Model | Subject) -> Subject:
    if isinstance(subject, Subject):
        return subject
    return Subject(subject._meta.model_name or "", str(subject.pk), str(subject)[:200])


def mask(value: str) -> str:
    """All but the first 4 and last 4 characters hidden; 8 or fewer hidden entirely."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def masked(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """``values`` safe to store: personal numbers masked, secrets replaced."""
    safe: dict[str, Any] = {}
    for name, value in (values or {}).items():
        if name in SECRET_FIELDS:
            safe[name] = NOT_RECORDED
        elif name in PERSONAL_FIELDS and isinstance(value, str):
            safe[name] = mask(value)
        else:
            safe[name] = value
    return safe


def field_values(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of ``instance`` as stored (a foreign key as its id)."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        values[name] = getattr(instance, field.attname)  # type: ignore[union-attr]
    return values


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as ``(before, after)``."""
    names = [name for name in after if before.get(name) != after[name]]
    return {name: before.get(name) for name in names}, {name: after[name] for name in names}


def audit_entry(
    *,
    actor: Any,
    action: str,
    subject: models.Model | Subject,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
    application: Any = None,
    loan: Any = None,
    amounts: Mapping[str, int] | None = None,
    from_state: str = "",
    to_state: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """An audit row, not saved (see :func:`audit_record`; a batch saves many at once).
    An application or loan subject links itself; a loan links its application."""
    described = subject_of(subject)
    if application is None and described.type == "application":
        application = subject
    if loan is None and described.type == "loan":
        loan = subject
    application_id = getattr(application, "pk", application)
    loan_id = getattr(loan, "pk", loan)
    if application_id is None and loan is not None:
        application_id = getattr(loan, "application_id", None)
    return AuditEntry(
        at=at or timezone.now(),
        actor_id=actor.pk if getattr(actor, "pk", None) else None,
        action=action,
        subject_type=described.type,
        subject_id=described.id,
        subject_label=described.label[:200],
        before=masked(before),
        after=masked(after),
        from_state=from_state,
        to_state=to_state,
        note=note,
        amounts=dict(amounts or {}),
        application_id=application_id,
        loan_id=loan_id,
    )


def audit_record(
    *,
    actor: Any,
    action: str,
    subject: models.Model | Subject,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
    application: Any = None,
    loan: Any = None,
    amounts: Mapping[str, int] | None = None,
    from_state: str = "",
    to_state: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Write one audit row in the caller's transaction: ``actor`` (a user; None or an
    anonymous user for a system job) did ``action`` to ``subject``. ``before`` and
    ``after`` are the changed fields (pass them through :func:`changed` for an update);
    ``from_state``/``to_state`` a workflow move; ``application``/``loan`` (objects or
    ids) link the row to their history; ``amounts`` are rupiah by name."""
    entry = audit_entry(
        actor=actor,
        action=action,
        subject=subject,
        before=before,
        after=after,
        note=note,
        application=application,
        loan=loan,
        amounts=amounts,
        from_state=from_state,
        to_state=to_state,
        at=at,
    )
    prepared_insert([entry])
    return entry


def audit_record_many(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Write rows built by :func:`audit_entry` in one statement (a batch's changes)."""
    return AuditEntry.objects.bulk_create(list(entries))
