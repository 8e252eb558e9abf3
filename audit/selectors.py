"""Reading the audit trail: filtered, newest first."""

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditEntry

#: Dates whose day bounds still convert to UTC (the calendar's first and last days do not).
EARLIEST, LATEST = date(1, 1, 2), date(9999, 12, 30)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditFilter(django_filters.FilterSet):
    """``subject_type``, ``subject_id``, ``actor`` (username or user id), ``action``,
    ``from`` and ``to`` (dates, both included, in the programme's time zone)."""

    subject_type = django_filters.CharFilter(field_name="subject_type")
    subject_id = django_filters.CharFilter(field_name="subject_id")
    actor = django_filters.CharFilter(method="filter_actor")
    action = django_filters.CharFilter(field_name="action")
    from_ = django_filters.DateFilter(method="filter_from")
    to = django_filters.DateFilter(method="filter_to")

    class Meta:
        model = AuditEntry
        fields = ["subject_type", "subject_id", "action"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the filter is declared as from_ and renamed here.
        self.filters["from"] = self.filters.pop("from_")

    def filter_actor(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        if value.isdigit() and len(value) <= 18:
            return queryset.filter(Q(actor_id=int(value)) | Q(actor__username=value))
        return queryset.filter(actor__username=value)

    def filter_from(self, queryset: QuerySet[AuditEntry], name: str, value: date) -> QuerySet[AuditEntry]:
        if value > LATEST:
            return queryset.none()
        return queryset.filter(at__gte=_day_start(value)) if value >= EARLIEST else queryset

    def filter_to(self, queryset: QuerySet[AuditEntry], name: str, value: date) -> QuerySet[AuditEntry]:
        if value < EARLIEST:
            return queryset.none()
        return queryset.filter(at__lt=_day_start(value + timedelta(days=1))) if value < LATEST else queryset


def audit_list(*, params: Any) -> QuerySet[AuditEntry]:
    """Audit rows matching ``params`` (see :class:`AuditFilter`), newest first. The
    caller checks the reader may see the trail (auditor, manager)."""
    from config.api import filtered

    queryset = AuditEntry.objects.select_related("actor").order_by("-at", "-id")
    return filtered(AuditFilter, params, queryset)
