"""Borrower reads, scoped to what the user may see, and the region master data.

* officer, auditor, manager: every borrower;
* bank_staff: borrowers with an application forwarded to their bank (``forwarded_at``
  set) or a loan at their bank;
* borrower: only themself (``Borrower.user``);
* anyone else: nobody.

Who sees a NIK in full: the officer, the bank's staff and the borrower themself; the
auditor and the manager see it masked (``3374********0001``), and lists mask it for all.
"""

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from borrowers.models import Borrower, Region
from config.api import filtered
from config.roles import Role, UserLike, bank_id_of, borrower_id_of, has_role, reads_all
from loans.models import Application, Loan

#: Roles shown a borrower's NIK in full (besides the borrower themself).
FULL_NIK_ROLES = (Role.OFFICER, Role.BANK_STAFF)


def borrower_visible(*, user: UserLike) -> QuerySet[Borrower]:
    """The borrowers ``user`` may see, with their businesses and kelurahan (and its
    kecamatan) loaded."""
    queryset = Borrower.objects.select_related("kelurahan__parent").prefetch_related("businesses").order_by("id")
    if reads_all(user):
        return queryset
    scope = Q(pk__in=[])
    bank_id = bank_id_of(user)
    if bank_id is not None:
        forwarded_here = Application.objects.filter(
            borrower=OuterRef("pk"), bank_id=bank_id, forwarded_at__isnull=False
        )
        loan_here = Loan.objects.filter(borrower=OuterRef("pk"), bank_id=bank_id)
        scope |= Q(Exists(forwarded_here)) | Q(Exists(loan_here))
    borrower_id = borrower_id_of(user)
    if borrower_id is not None:
        scope |= Q(pk=borrower_id)
    if bank_id is None and borrower_id is None:
        return queryset.none()
    return queryset.filter(scope)


def borrower_shows_full_nik(*, user: UserLike, borrower: Borrower) -> bool:
    """Whether ``user`` (who may see ``borrower``) is shown its full NIK: officers, bank
    staff and the borrower themself are; auditors and managers see it masked."""
    if has_role(user, *FULL_NIK_ROLES):
        return True
    return borrower.user_id is not None and borrower.user_id == getattr(user, "pk", None)


def _nik_or_name(queryset: QuerySet[Borrower], q: str, *, nik_prefix: bool) -> QuerySet[Borrower]:
    """Borrowers whose NIK is ``q`` (or starts with it, when ``nik_prefix``) when ``q``
    is digits (spaces, dots and dashes ignored), else whose name contains ``q``."""
    q = q.strip()
    if not q:
        return queryset
    digits = "".join(character for character in q if character not in " .-")
    if digits.isascii() and digits.isdigit():
        return queryset.filter(nik__startswith=digits) if nik_prefix else queryset.filter(nik=digits)
    return queryset.filter(name__icontains=q)


class BorrowerFilter(django_filters.FilterSet):
    """``q`` (NIK digits: the NIK or its beginning; or part of the name), ``kecamatan``
    and ``kelurahan`` (region codes)."""

    q = django_filters.CharFilter(
        method="filter_q", max_length=150, label="NIK (or its first digits) or part of the name"
    )
    kecamatan = django_filters.ModelChoiceFilter(
        field_name="kelurahan__parent",
        queryset=Region.objects.filter(level=Region.Level.DISTRICT),
        label="Kecamatan code, e.g. 33.74.01",
    )
    kelurahan = django_filters.ModelChoiceFilter(
        queryset=Region.objects.filter(level=Region.Level.VILLAGE), label="Kelurahan code, e.g. 33.74.01.1001"
    )

    #: False for users who see NIKs masked: a prefix search would let them read a NIK
    #: digit by digit, so they find a borrower by the whole NIK only.
    nik_prefix = True

    class Meta:
        model = Borrower
        fields = ["q", "kecamatan", "kelurahan"]

    def filter_q(self, queryset: QuerySet[Borrower], name: str, value: str) -> QuerySet[Borrower]:
        return _nik_or_name(queryset, value, nik_prefix=self.nik_prefix)


class BorrowerExactNikFilter(BorrowerFilter):
    nik_prefix = False


def borrower_search(*, user: UserLike, q: str = "", kecamatan: str = "", kelurahan: str = "") -> QuerySet[Borrower]:
    """The borrowers ``user`` may see, narrowed by ``q`` (NIK digits, exact or a prefix;
    otherwise part of the name, case-insensitive), ``kecamatan`` and ``kelurahan``
    (region codes). Users who see NIKs masked match the whole NIK only. Raises a
    ValidationError (400) naming the parameter for an unknown kecamatan or kelurahan."""
    filterset_class = BorrowerFilter if has_role(user, *FULL_NIK_ROLES) else BorrowerExactNikFilter
    params = {"q": q, "kecamatan": kecamatan, "kelurahan": kelurahan}
    queryset: QuerySet[Borrower] = filtered(filterset_class, params, borrower_visible(user=user))
    return queryset


class RegionFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Region.Level.choices)
    parent = django_filters.ModelChoiceFilter(queryset=Region.objects.all(), label="Parent region code, e.g. 33.74.01")

    class Meta:
        model = Region
        fields = ["level", "parent"]


def region_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Region]:
    """Regions by code, narrowed by ``level`` (regency, district = kecamatan, village =
    kelurahan) and ``parent`` (a region code). Raises a ValidationError (400) for an
    unknown level or parent."""
    queryset: QuerySet[Region] = filtered(RegionFilter, filters or {}, Region.objects.order_by("code"))
    return queryset
