"""The city's allowance table (``AllowanceClass``: penyisihan dana bergulir tidak
tertagih): the programme manager adds, changes and removes classes. Each write locks the
table, checks the row against the others (:func:`reports.allowance.allowance_row_errors`)
and writes its audit row in the same transaction. The city's books read the table when
they are made, so an edit shows in the next document made (documents already made keep
the figures they were made with).

A class may not overlap another (a loan would be allowed for twice); a grade left in no
class while the table is being re-mapped is shown apart in the city's books, with no
allowance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_record, changed, field_values
from config.errors import ApplicationError
from config.roles import Role, has_role
from reports.allowance import AllowanceRow, allowance_row_errors
from reports.models import AllowanceClass

ALLOWANCE_FIELDS = ("position", "name", "grade_from", "grade_to", "percent")


def _row(stored: AllowanceClass) -> AllowanceRow:
    return AllowanceRow(stored.position, stored.name, stored.grade_from, stored.grade_to, Decimal(stored.percent))


def _require_manager(actor: Any) -> None:
    # The site's superuser (the admin's own administrator) may too.
    if not (has_role(actor, Role.MANAGER) or getattr(actor, "is_superuser", False)):
        raise PermissionDenied(_("Only the programme manager may change the allowance table."))


def _check(row: AllowanceRow, *, excluding: int | None) -> None:
    table = AllowanceClass.objects.select_for_update()
    others = [_row(stored) for stored in (table.exclude(pk=excluding) if excluding is not None else table)]
    errors = allowance_row_errors(row, others)
    if errors:
        # The pure core's messages are English; the lead adds them to the catalogue.
        raise ApplicationError(
            _("The allowance class was not saved."),
            {field: [_(message) for message in messages] for field, messages in errors.items()},
        )


@transaction.atomic
def allowance_class_create(
    *, actor: Any, position: int, name: str, grade_from: int, grade_to: int, percent: Decimal | str
) -> AllowanceClass:
    """Add a class of the allowance table. Raises PermissionDenied (not the manager nor a
    superuser) and ApplicationError (by field: name, grades, overlap, percent, position)."""
    _require_manager(actor)
    row = AllowanceRow(position, (name or "").strip(), grade_from, grade_to, Decimal(str(percent)))
    _check(row, excluding=None)
    created = AllowanceClass.objects.create(
        position=row.position, name=row.name, grade_from=row.grade_from, grade_to=row.grade_to, percent=row.percent
    )
    audit_record(
        actor=actor,
        action="allowance_class_create",
        subject=created,
        after={**field_values(created, ALLOWANCE_FIELDS), "percent": str(row.percent)},
    )
    return created


@transaction.atomic
def allowance_class_update(*, actor: Any, allowance_class: AllowanceClass, **fields: Any) -> AllowanceClass:
    """Change a class's position, name, grades or percent; returns it as now stored. An
    audit row holds what changed (none when nothing did). Raises TypeError for another
    field, PermissionDenied (not the manager) and ApplicationError (by field)."""
    unknown = sorted(set(fields) - set(ALLOWANCE_FIELDS))
    if unknown:
        raise TypeError(f"allowance_class_update cannot change {unknown}")
    _require_manager(actor)
    locked = AllowanceClass.objects.select_for_update().get(pk=allowance_class.pk)
    was = {**field_values(locked, ALLOWANCE_FIELDS), "percent": str(Decimal(locked.percent))}
    values = {**field_values(locked, ALLOWANCE_FIELDS), **fields}
    row = AllowanceRow(
        int(values["position"]),
        str(values["name"] or "").strip(),
        int(values["grade_from"]),
        int(values["grade_to"]),
        Decimal(str(values["percent"])),
    )
    _check(row, excluding=locked.pk)
    locked.position, locked.name, locked.percent = row.position, row.name, row.percent
    locked.grade_from, locked.grade_to = row.grade_from, row.grade_to
    locked.save(update_fields=list(ALLOWANCE_FIELDS))
    before, after = changed(was, {**field_values(locked, ALLOWANCE_FIELDS), "percent": str(row.percent)})
    if after:
        audit_record(actor=actor, action="allowance_class_update", subject=locked, before=before, after=after)
    return locked


@transaction.atomic
def allowance_class_delete(*, actor: Any, allowance_class: AllowanceClass) -> None:
    """Remove a class (its grades are shown apart until another class covers them).
    Raises PermissionDenied (not the manager)."""
    _require_manager(actor)
    locked = AllowanceClass.objects.select_for_update().get(pk=allowance_class.pk)
    before = {**field_values(locked, ALLOWANCE_FIELDS), "percent": str(Decimal(locked.percent))}
    audit_record(actor=actor, action="allowance_class_delete", subject=locked, before=before)
    locked.delete()
