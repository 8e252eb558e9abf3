"""Reads of reports: who sees which."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from config.api import filtered
from config.roles import Role, bank_id_of, borrower_id_of, reads_all, roles_of
from reports.models import Report
from reports.services.reports import PAPERS


def report_visible(*, user: Any) -> QuerySet[Report]:
    """The reports ``user`` may see: every one for the city office, auditors and the
    manager; a bank's staff their bank's (its monthly reports, its city books, its
    loans' papers); a borrower the papers of their own loans; nobody else any."""
    qs = Report.objects.select_related("bank")
    if reads_all(user):
        return qs
    roles = roles_of(user)
    if Role.BANK_STAFF in roles:
        bank_id = bank_id_of(user)
        return qs.filter(bank_id=bank_id) if bank_id is not None else qs.none()
    if Role.BORROWER in roles:
        borrower_id = borrower_id_of(user)
        if borrower_id is not None:
            return qs.filter(borrower_id=borrower_id, kind__in=sorted(PAPERS))
    return qs.none()


class ReportFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Report.Kind.choices)
    bank = django_filters.CharFilter(field_name="bank__code")
    period = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=Report.Status.choices)
    format = django_filters.ChoiceFilter(choices=Report.Format.choices)
    loan = django_filters.NumberFilter(field_name="loan_id")

    class Meta:
        model = Report
        fields: list[str] = []


def report_list(*, user: Any, params: Any) -> QuerySet[Report]:
    """The reports ``user`` sees, filtered by ``kind``, ``bank`` (code), ``period``,
    ``status``, ``format`` and ``loan``; newest first."""
    return filtered(ReportFilter, params, report_visible(user=user)).order_by("-created_at", "-id")


def report_by_code(*, code: str) -> Report | None:
    """The finished document with verification ``code`` (anyone holding it may ask)."""
    if not code or len(code) > 64:
        return None
    return Report.objects.filter(verify_code=code, status=Report.Status.DONE).first()
