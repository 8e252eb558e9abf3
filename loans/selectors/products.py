"""Product reads."""

from datetime import date

from django.db.models import Q

from loans.models import Product, ProductTerms


def product_terms_on(*, product: Product, on: date) -> ProductTerms | None:
    """The version of ``product``'s terms valid on ``on`` (the newest one if versions
    overlap), or None when no version covers that date."""
    return (
        ProductTerms.objects.filter(product=product, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("-version")
        .first()
    )
