"""Application and loan reads, scoped to what the user may see.

officer, auditor, manager: everything; bank staff: their bank's applications once
forwarded, and their bank's loans; a borrower: their own; anyone else: nothing.
"""

from datetime import timedelta
from typing import Any

import django_filters
from django.db.models import F, QuerySet
from django.utils import timezone

from config.prepared import Prepared
from config.roles import reader_scope
from loans.models import Application, Installment, Loan


def in_scope(queryset: QuerySet[Any], scope: str, scope_id: int | None, **bank_also: Any) -> QuerySet[Any]:
    """``queryset`` (of applications or loans) narrowed to a scope of
    :func:`config.roles.reader_scope`; ``bank_also``: what a bank's rows must also be."""
    if scope == "all":
        return queryset
    if scope == "bank" and scope_id is not None:
        return queryset.filter(bank_id=scope_id, **bank_also)
    if scope == "borrower" and scope_id is not None:
        return queryset.filter(borrower_id=scope_id)
    return queryset.none()


def applications_in_scope(queryset: QuerySet[Application], scope: str, scope_id: int | None) -> QuerySet[Application]:
    """``queryset`` narrowed to a scope of :func:`config.roles.reader_scope` (a bank sees
    its applications once forwarded to it)."""
    return in_scope(queryset, scope, scope_id, forwarded_at__isnull=False)


def application_visible(*, user: Any) -> QuerySet[Application]:
    return applications_in_scope(
        Application.objects.select_related(
            "borrower", "business", "bank", "product", "terms", "borrower__kelurahan", "loan"
        ),
        *reader_scope(user),
    )


def loan_visible(*, user: Any) -> QuerySet[Loan]:
    return in_scope(Loan.objects.select_related("bank", "borrower", "terms__product"), *reader_scope(user))


def loan_with_names(queryset: QuerySet[Loan]) -> QuerySet[Loan]:
    """``queryset`` with, instead of the related rows, only the names an answer about a
    loan shows: ``bank_code``, ``borrower_name``, ``product_code`` and ``terms_version``
    (one join each, no model built for them: the API's loan reads)."""
    return queryset.select_related(None).annotate(
        bank_code=F("bank__code"),
        borrower_name=F("borrower__name"),
        product_code=F("terms__product__code"),
        terms_version=F("terms__version"),
    )


#: A hundred years: longer than any application can have waited, and far from the
#: calendar's start (a date before year 1 cannot be computed).
MAX_WAITING_DAYS = 36_500


class ApplicationFilter(django_filters.FilterSet):
    """``state``, ``bank`` (code), ``kecamatan`` (region code), ``borrower`` (id),
    ``min_waiting_days`` (in the current state at least this many days) and
    ``ordering``: ``waiting`` (longest wait first), ``-waiting``, ``created``, ``-created``."""

    # The state is a column of the row: no join repeats a row, so no DISTINCT (a DISTINCT
    # over every selected column made the list several times slower).
    state = django_filters.MultipleChoiceFilter(choices=Application.State.choices, distinct=False)
    bank = django_filters.CharFilter(field_name="bank__code")
    kecamatan = django_filters.CharFilter(field_name="borrower__kelurahan__parent")
    borrower = django_filters.NumberFilter(field_name="borrower_id")
    min_waiting_days = django_filters.NumberFilter(
        method="filter_waiting", min_value=0, max_value=MAX_WAITING_DAYS, help_text="0 to 36500 days."
    )
    ordering = django_filters.OrderingFilter(
        # Ascending state_changed_at is the longest wait first.
        fields=(("state_changed_at", "waiting"), ("created_at", "created"), ("id", "id")),
    )

    class Meta:
        model = Application
        fields = ["state", "bank", "kecamatan", "borrower"]

    def filter_waiting(self, queryset: QuerySet[Application], name: str, value: Any) -> QuerySet[Application]:
        return queryset.filter(state_changed_at__lte=timezone.now() - timedelta(days=float(value)))


def application_list(*, user: Any, params: Any) -> QuerySet[Application]:
    """The applications the user may see, filtered; by default the longest-waiting first
    (``ordering=waiting``), so nothing sits forgotten."""
    return applications_listed(application_visible(user=user), params)


def applications_listed(queryset: QuerySet[Application], params: Any) -> QuerySet[Application]:
    """``queryset`` filtered and ordered by the list's parameters (:class:`ApplicationFilter`;
    ``ordering=waiting`` by default)."""
    from config.api import filtered

    params = params.copy()
    params.setdefault("ordering", "waiting")
    return filtered(ApplicationFilter, params, queryset)


class LoanFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Loan.Status.choices)
    bank = django_filters.CharFilter(field_name="bank__code")
    borrower = django_filters.NumberFilter(field_name="borrower_id")
    kecamatan = django_filters.CharFilter(field_name="borrower__kelurahan__parent")
    schedule_status = django_filters.ChoiceFilter(choices=Loan.ScheduleStatus.choices)
    disbursed_from = django_filters.DateFilter(field_name="disbursed_on", lookup_expr="gte")
    disbursed_to = django_filters.DateFilter(field_name="disbursed_on", lookup_expr="lte")

    class Meta:
        model = Loan
        fields = ["status", "bank", "borrower", "kecamatan", "schedule_status"]


def loan_list(*, user: Any, params: Any) -> QuerySet[Loan]:
    from config.api import filtered

    return filtered(LoanFilter, params, loan_visible(user=user)).order_by("-id")


def schedule_rows(loan_id: int, version: int) -> QuerySet[Installment]:
    """The installments of schedule ``version`` of the loan ``loan_id``, in order."""
    return Installment.objects.filter(loan_id=loan_id, schedule_version=version).order_by("number")


def loan_installments(*, loan: Loan, version: int | None = None) -> QuerySet[Installment]:
    """The loan's schedule of ``version`` (default the current one), in order."""
    return schedule_rows(loan.pk, version or loan.schedule_version)


#: One loan with its names, among those of a scope (:func:`loan_read`).
_LOAN_READ = Prepared(
    lambda scope, loan_id, scope_id: loan_with_names(in_scope(Loan.objects.all(), scope, scope_id)).filter(pk=loan_id)[
        :1
    ]
)


def loan_read(*, user: Any, loan_id: int) -> Loan | None:
    """The loan ``loan_id`` with its names (:func:`loan_with_names`) if ``user`` may see
    it, else None: ``GET loans/{id}/``, the API's most frequent read, in one query the ORM
    compiles once per process (config/prepared.py)."""
    scope, scope_id = reader_scope(user)
    if scope == "none":
        return None
    found: Loan | None = _LOAN_READ.first(scope, loan_id=loan_id, scope_id=scope_id)
    return found


_NEXT_INSTALLMENT = Prepared(lambda loan_id, version: schedule_rows(loan_id, version).filter(paid_on__isnull=True)[:1])


def loan_next_installment(*, loan: Loan) -> Installment | None:
    """The earliest installment of the current schedule whose principal and interest
    are not yet paid in full (one query, compiled once per process)."""
    found: Installment | None = _NEXT_INSTALLMENT.first(loan_id=loan.pk, version=loan.schedule_version)
    return found
