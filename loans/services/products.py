"""Product writes: products and their versioned terms.

Terms are never edited in place: a change is a new version, valid from a later date,
and the version before it is closed the day before. A loan keeps the version it was
approved under. Every version is checked with the schedule engine before it is stored,
so no product can offer a loan the engine would refuse.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record, changed, field_values
from borrowers.models import Region
from config.errors import ApplicationError
from loans import money
from loans.models import Method, Product, ProductTerms
from loans.schedule import LoanTerms, ScheduleError, build_schedule

PRODUCT_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")

#: The terms a version is made of, with their defaults (None: required).
TERMS_DEFAULTS: dict[str, Any] = {
    "annual_rate": None,
    "method": Method.FLAT.value,
    "ceiling_without_collateral": None,
    "ceiling_with_collateral": None,
    "allowed_tenors": None,
    "grace_months": 0,
    "rounding": 1,
    "interest_rounding": money.HALF_UP,
    "installment_rounding": money.UP,
    "business_days": False,
    "min_business_age_months": 24,
    "min_age_years": 17,
    "repeat_multiplier": 2,
    "region_code": "33.74",
    "valid_from": None,
}
#: Upper bounds that only catch typing mistakes (ages in years and months, a multiplier).
MAX_MIN_AGE_YEARS = 100
MAX_MIN_BUSINESS_AGE_MONTHS = 1200
MAX_REPEAT_MULTIPLIER = 100


def _clean_terms(terms: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The terms with defaults filled in and normalised, and the errors per field of the
    rules between them. The caller has checked each term's type and range (the API's
    serializer): the rate a decimal of percent, the ceilings whole rupiah from 1, the
    tenors whole months from 1 to 120, the choices among theirs."""
    errors: dict[str, list[str]] = {}
    for name in sorted(set(terms) - set(TERMS_DEFAULTS)):
        errors[name] = [str(_("Not a product term; versions are numbered and closed by the system."))]
    missing = sorted(name for name, default in TERMS_DEFAULTS.items() if default is None and name not in terms)
    if missing:
        raise TypeError(f"product terms need {missing}")
    values = {name: terms.get(name, default) for name, default in TERMS_DEFAULTS.items()}
    values["annual_rate"] = Decimal(money.format_rate_units(money.parse_annual_rate(values["annual_rate"])))
    if values["ceiling_with_collateral"] < values["ceiling_without_collateral"]:
        errors["ceiling_with_collateral"] = [str(_("Must be at least the ceiling without collateral."))]
    tenors = values["allowed_tenors"]
    if len(set(tenors)) != len(tenors):
        errors["allowed_tenors"] = [str(_("Each tenor may appear only once."))]
    elif any(tenor <= values["grace_months"] for tenor in tenors):
        errors["allowed_tenors"] = [
            str(_("Each tenor must be longer than the grace period ({grace} months).")).format(
                grace=values["grace_months"]
            )
        ]
    values["allowed_tenors"] = sorted(tenors)
    if not Region.objects.filter(code=values["region_code"]).exists():
        errors["region_code"] = [str(_("Not a known region code (such as 33.74 for Kota Semarang)."))]
    return values, errors


#: Where an engine refusal lands among the product's fields.
ENGINE_FIELDS = {"tenor_months": "allowed_tenors", "disbursement_date": "valid_from"}


def _engine_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Run the schedule engine over every allowed tenor at both ceilings; its first
    refusal, on the product field at fault. Rounding that is too coarse for the largest
    loans the product offers is refused here rather than at an applicant's approval."""
    for tenor in values["allowed_tenors"]:
        for ceiling_field in ("ceiling_with_collateral", "ceiling_without_collateral"):
            try:
                build_schedule(
                    LoanTerms(
                        principal=values[ceiling_field],
                        annual_rate=values["annual_rate"],
                        tenor_months=tenor,
                        disbursement_date=values["valid_from"],
                        method=values["method"],
                        grace_months=values["grace_months"],
                        rounding=values["rounding"],
                        interest_rounding=values["interest_rounding"],
                        installment_rounding=values["installment_rounding"],
                    )
                )
            except ScheduleError as exc:
                field = ceiling_field if exc.field == "principal" else ENGINE_FIELDS.get(exc.field, exc.field)
                message = gettext(exc.template).format(**exc.params)
                return {
                    field: [str(_("With a tenor of {tenor} months: {message}")).format(tenor=tenor, message=message)]
                }
    return {}


@transaction.atomic
def product_terms_create(*, actor: Any, product: Product, **terms: Any) -> ProductTerms:
    """A new version of ``product``'s terms (the previous highest version + 1), valid
    from ``valid_from``. The previous version still open (or closing on or after that
    day) is closed the day before, so versions never overlap.

    ``terms``: ``annual_rate`` (percent, Decimal or decimal string), ``method``,
    ``ceiling_without_collateral`` and ``ceiling_with_collateral`` (rupiah),
    ``allowed_tenors`` (months), ``grace_months``, ``rounding`` (rupiah),
    ``interest_rounding``, ``installment_rounding``, ``business_days``,
    ``min_business_age_months``, ``min_age_years``, ``repeat_multiplier``,
    ``region_code`` and ``valid_from`` (required); the rest default to the programme's.
    The caller checks that ``actor`` may manage products (the manager) and each term's
    type and range (the API's serializer: ``ProductTermsInputSerializer``); a required
    term missing is a TypeError.

    Raises ApplicationError naming the field: a field that is not a term, ceilings out
    of order, a tenor given twice or not longer than the grace period, an unknown region,
    terms the schedule engine refuses, or a ``valid_from`` on or before the newest
    version's.
    """
    values, errors = _clean_terms(terms)
    if not errors:
        errors = _engine_errors(values)
    if errors:
        raise ApplicationError(str(_("The product terms were not saved.")), errors)

    # The product's row lock serialises versions: two at once cannot get one number.
    Product.objects.select_for_update().filter(pk=product.pk).first()
    valid_from: date = values["valid_from"]
    latest = ProductTerms.objects.filter(product=product).order_by("-valid_from", "-version").first()
    if latest is not None:
        if valid_from <= latest.valid_from:
            raise ApplicationError(
                str(_("The product terms were not saved.")),
                {
                    "valid_from": [
                        str(_("Must be after {date}, when version {version} starts.")).format(
                            date=latest.valid_from.isoformat(), version=latest.version
                        )
                    ]
                },
            )
        previous_day = valid_from - timedelta(days=1)
        ProductTerms.objects.filter(product=product).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=previous_day)
        ).update(valid_to=previous_day)
    version = (ProductTerms.objects.filter(product=product).aggregate(Max("version"))["version__max"] or 0) + 1
    created = ProductTerms.objects.create(product=product, version=version, created_by=actor, **values)
    audit_record(actor=actor, action="product_terms_create", subject=created, after={"version": version, **values})
    return created


@transaction.atomic
def product_create(*, actor: Any, code: str, name: str, terms: dict[str, Any]) -> Product:
    """A new product with version 1 of its ``terms`` (see :func:`product_terms_create`).

    ``code`` is upper-cased (``WIBAWA`` is the programme's). The caller checks that
    ``actor`` may manage products (the manager) and each value's type and range (a
    name of at most 150 characters). Raises ApplicationError naming the field: a code
    taken or malformed, or a bad term (as ``terms.<term>``).
    """
    code = code.strip().upper()
    errors: dict[str, list[str]] = {}
    if not PRODUCT_CODE_PATTERN.match(code):
        errors["code"] = [str(_("1 to 32 capital letters, digits, '-' or '_', such as WIBAWA."))]
    elif Product.objects.filter(code=code).exists():
        errors["code"] = [str(_("A product with the code {code} already exists.")).format(code=code)]
    _values, term_errors = _clean_terms(terms)
    errors.update({f"terms.{field}": messages for field, messages in term_errors.items()})
    if errors:
        raise ApplicationError(str(_("The product was not created.")), errors)
    try:
        with transaction.atomic():
            product = Product.objects.create(code=code, name=name.strip())
            audit_record(
                actor=actor, action="product_create", subject=product, after={"code": code, "name": product.name}
            )
    except IntegrityError as exc:  # the same code created at the same moment
        raise ApplicationError(
            str(_("The product was not created.")),
            {"code": [str(_("A product with the code {code} already exists.")).format(code=code)]},
        ) from exc
    try:
        product_terms_create(actor=actor, product=product, **terms)
    except ApplicationError as exc:
        raise ApplicationError(
            str(_("The product was not created.")),
            {f"terms.{field}": messages for field, messages in exc.errors.items()},
        ) from exc
    return product


#: What :func:`product_update` may change (terms change only as new versions).
PRODUCT_UPDATABLE_FIELDS = ("name", "active")


@transaction.atomic
def product_update(*, actor: Any, product: Product, **fields: Any) -> Product:
    """Change a product's ``name`` or ``active`` flag (the back office's edit), under the
    product's row lock, with its audit row. Raises ApplicationError naming the field for
    any other field, a blank name or a flag that is not a boolean."""
    errors: dict[str, list[str]] = {
        name: [str(_("This field cannot be changed."))] for name in fields if name not in PRODUCT_UPDATABLE_FIELDS
    }
    if "name" in fields and (not isinstance(fields["name"], str) or not fields["name"].strip()):
        errors["name"] = [str(_("This field may not be blank."))]
    if "active" in fields and not isinstance(fields["active"], bool):
        errors["active"] = [str(_("Must be true or false."))]
    if errors:
        raise ApplicationError(str(_("The product was not changed.")), errors)
    locked = Product.objects.select_for_update().get(pk=product.pk)
    was = field_values(locked, fields)
    for name, value in fields.items():
        setattr(locked, name, value.strip() if name == "name" else value)
    before, after = changed(was, field_values(locked, fields))
    if after:
        locked.save(update_fields=list(after))
        audit_record(actor=actor, action="product_update", subject=locked, before=before, after=after)
    return locked
