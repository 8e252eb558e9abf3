"""Collectibility table writes: the programme manager edits the table of a bank kind.

The nightly close classes loans with the table stored when it runs, so an edit takes
effect from the next close; the loans' stored classes are not recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Subject, audit_record
from config.errors import ApplicationError
from config.roles import Role, has_role
from loans.collectibility import BPR, COMMERCIAL, Grade, TableError, validate_table
from loans.models import CollectibilityClass

BANK_KINDS = (COMMERCIAL, BPR)
#: Storage limits of a row (``CollectibilityClass``).
MAX_NAME_LENGTH = 60
MAX_MIN_DAYS = 36_500


@dataclass(frozen=True)
class TableChange:
    """The table of ``bank_kind`` after an edit (``grades``) and before it (``previous``)."""

    bank_kind: str
    grades: tuple[Grade, ...]
    previous: tuple[Grade, ...]


def _row_errors(rows: Sequence[Grade]) -> dict[str, list[str]]:
    """Messages for values the table cannot store (checked before the table's rules)."""
    errors: dict[str, list[str]] = {}
    for row in rows:
        if not isinstance(row.name, str) or not row.name.strip() or len(row.name) > MAX_NAME_LENGTH:
            errors.setdefault("name", []).append(
                _("Grade %(grade)s needs a name of 1 to %(max)s characters.")
                % {"grade": row.grade, "max": MAX_NAME_LENGTH}
            )
        if isinstance(row.min_days, bool) or not isinstance(row.min_days, int) or not 0 <= row.min_days <= MAX_MIN_DAYS:
            errors.setdefault("min_days", []).append(
                _("Days past due are a whole number from 0 to %(max)s.") % {"max": MAX_MIN_DAYS}
            )
        try:
            percent = Decimal(row.provision_percent)
            whole_hundredths = percent.is_finite() and (percent * 100) == (percent * 100).to_integral_value()
        except (InvalidOperation, TypeError, ValueError):
            whole_hundredths = False
        if isinstance(row.provision_percent, float) or not whole_hundredths:
            errors.setdefault("provision_percent", []).append(
                _("A provision rate is a decimal string with at most 2 decimals.")
            )
    return errors


def _stored(row: CollectibilityClass) -> Grade:
    return Grade(row.grade, row.name, row.min_days, Decimal(row.provision_percent))


@transaction.atomic
def collectibility_table_update(*, actor: Any, bank_kind: str, rows: Sequence[Grade]) -> TableChange:
    """Replace the collectibility table of ``bank_kind`` (``commercial`` or ``bpr``)
    with ``rows``: grades 1 to 5 in order, grade 1 from 0 days past due, each grade
    starting later than the one before, provision rates from 0 to 100 percent with at
    most 2 decimals (:func:`loans.collectibility.validate_table`).

    The kind's rows are locked and rewritten in one transaction, with an audit row (who,
    the old rows and the new) in the same transaction. The next nightly close classes
    loans by the new table.

    Raises PermissionDenied (403) unless ``actor`` is the programme manager, and
    ApplicationError (400, messages by field) for an unknown kind or a table that
    cannot class every loan.
    """
    if not has_role(actor, Role.MANAGER):
        raise PermissionDenied(_("Only the programme manager may change a collectibility table."))
    not_saved = _("The collectibility table was not saved.")
    if bank_kind not in BANK_KINDS:
        raise ApplicationError(
            not_saved, {"bank_kind": [_("Must be one of: %(kinds)s.") % {"kinds": ", ".join(BANK_KINDS)}]}
        )
    rows = tuple(rows)
    errors = _row_errors(rows)
    if errors:
        raise ApplicationError(not_saved, errors)
    grades = tuple(Grade(row.grade, row.name.strip(), row.min_days, Decimal(row.provision_percent)) for row in rows)
    try:
        validate_table(grades)
    except TableError as error:
        # The pure core's messages are English; the lead adds them to the catalogue.
        raise ApplicationError(not_saved, {error.field: [_(str(error))]}) from error

    stored = {
        row.grade: row
        for row in CollectibilityClass.objects.select_for_update().filter(bank_kind=bank_kind).order_by("grade")
    }
    previous = tuple(_stored(row) for row in stored.values())
    for grade in grades:
        row = stored.get(grade.grade) or CollectibilityClass(bank_kind=bank_kind, grade=grade.grade)
        row.name = grade.name
        row.min_days = grade.min_days
        row.provision_percent = grade.provision_percent
        row.save()
    change = TableChange(bank_kind=bank_kind, grades=grades, previous=previous)
    audit_record(
        actor=actor,
        action="collectibility_table_update",
        subject=Subject("collectibility_table", bank_kind, f"collectibility table {bank_kind}"),
        before={"grades": [row._asdict() for row in previous]},
        after={"grades": [row._asdict() for row in grades]},
    )
    return change
