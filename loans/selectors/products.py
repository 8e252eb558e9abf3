"""Product reads."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from config.roles import Role, roles_of
from loans.models import Product, ProductTerms

#: Roles that see inactive products too.
STAFF_ROLES = frozenset({Role.OFFICER, Role.BANK_STAFF, Role.AUDITOR, Role.MANAGER})


def product_terms_on(*, product: Product, on: date) -> ProductTerms | None:
    """The version of ``product``'s terms valid on ``on`` (the newest one if versions
    overlap), or None when no version covers that date."""
    return (
        ProductTerms.objects.filter(product=product, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("-version")
        .first()
    )


def terms_in_force(terms: Iterable[ProductTerms], on: date) -> ProductTerms | None:
    """Among already loaded ``terms``, the one :func:`product_terms_on` would pick for
    ``on`` (for lists, where the terms are prefetched)."""
    valid = [t for t in terms if t.valid_from <= on and (t.valid_to is None or t.valid_to >= on)]
    return max(valid, key=lambda t: t.version, default=None)


def product_list(*, user: Any) -> QuerySet[Product]:
    """The products ``user`` may see, with their term versions prefetched (oldest
    first). The offer is public to every logged-in user, but only the programme's
    staff (city office, banks, auditors, the manager) see inactive products."""
    products = Product.objects.prefetch_related(Prefetch("terms", queryset=ProductTerms.objects.order_by("version")))
    if roles_of(user) & STAFF_ROLES:
        return products.all()
    return products.filter(active=True)
