"""Borrower writes: registering a borrower with a first business, changing a borrower,
adding a business, giving a borrower a login, logging reads of a full record.

Every rule refused answers ApplicationError (400) with a message per field, collected
over all fields at once. A business given inside a borrower is checked the way DRF
reports a nested serializer: ``{"business": {"nib": [...]}}``.
"""

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Final

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from audit.services import audit_record, changed, field_values
from borrowers import identity
from borrowers.models import Borrower, BorrowerReadLog, Business, Region
from borrowers.selectors import borrower_visible
from config.clock import business_today
from config.errors import ApplicationError
from config.roles import Role, UserLike

#: The programme's region (Kota Semarang): a borrower's KTP kelurahan must lie in it.
#: The PROGRAMME_REGION_CODE setting overrides it.
DEFAULT_PROGRAMME_REGION_CODE: Final = "33.74"
DEFAULT_PROGRAMME_REGION_NAME: Final = "Kota Semarang"

#: What the audit row of a new borrower records (personal numbers masked there).
BORROWER_FIELDS = ("nik", "name", "birth_date", "sex", "phone", "address", "kelurahan", "npwp")
#: The fields ``borrower_update`` may change (``nik`` is accepted only unchanged).
BORROWER_UPDATABLE_FIELDS: Final = frozenset(
    {"name", "phone", "address", "kelurahan_code", "npwp", "birth_date", "sex"}
)

#: Errors as DRF shapes them: a list of messages per field, or a dict for a nested object.
FieldErrors = dict[str, Any]

#: The fields of a business (``borrower_create``'s ``business``).
BUSINESS_FIELDS: Final = frozenset(
    {"name", "sector", "nib", "licence_number", "started_on", "monthly_revenue", "workers", "kind", "health_rating"}
)


def programme_region_code() -> str:
    return str(getattr(settings, "PROGRAMME_REGION_CODE", DEFAULT_PROGRAMME_REGION_CODE))


def _add(errors: FieldErrors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _messages(errors: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for value in errors.values():
        found.extend(_messages(value) if isinstance(value, Mapping) else [str(message) for message in value])
    return found


def _raise_if_any(errors: FieldErrors, **extra: Any) -> None:
    """Raise ApplicationError when ``errors`` has any: its message is the only error's
    own message, or "Invalid input." when there are several; ``extra`` adds top-level
    fields to the answer."""
    if not errors:
        return
    messages = _messages(errors)
    raise ApplicationError(messages[0] if len(messages) == 1 else gettext("Invalid input."), errors, **extra)


def _translated(error: identity.IdentityError) -> str:
    return gettext(error.template).format(**error.params)


def _checked(check: Callable[[str], str], value: str, field: str, errors: FieldErrors) -> str | None:
    """``check(value)``, or None with the IdentityError's message added under ``field``."""
    try:
        return check(value)
    except identity.IdentityError as exc:
        _add(errors, field, _translated(exc))
        return None


def _checked_nik_agreement(nik: str, birth_date: date, sex: str, errors: FieldErrors) -> None:
    """Messages under ``birth_date`` and ``sex`` where they disagree with the (valid) NIK,
    or the birth date is in the future."""
    if birth_date > business_today():
        _add(errors, "birth_date", gettext("A birth date cannot be in the future."))
    for disagreement in identity.nik_disagreements(nik, birth_date, sex):
        _add(errors, disagreement.field, _translated(disagreement))


def _region_name(code: str) -> str:
    name = Region.objects.filter(code=code).values_list("name", flat=True).first()
    return name or DEFAULT_PROGRAMME_REGION_NAME


def _checked_kelurahan(code: str, errors: FieldErrors) -> Region | None:
    """The kelurahan (a village-level Region inside the programme region) with this code,
    or None with a message under ``kelurahan``."""
    programme_code = programme_region_code()
    code = code.strip()
    region = Region.objects.select_related("parent__parent").filter(code=code).first() if code else None
    if region is None:
        _add(
            errors,
            "kelurahan",
            gettext("The address must be in {region}: kelurahan {code} is not in the region list.").format(
                region=_region_name(programme_code), code=code or "?"
            ),
        )
        return None
    if region.level != Region.Level.VILLAGE:
        _add(
            errors,
            "kelurahan",
            gettext("{code} ({name}) is a {level}, not a kelurahan: choose the kelurahan of the KTP address.").format(
                code=region.code, name=region.name, level=region.get_level_display()
            ),
        )
        return None
    ancestors: set[str] = set()
    parent = region.parent
    while parent is not None and len(ancestors) < 5:
        ancestors.add(parent.code)
        parent = parent.parent
    if programme_code not in ancestors:
        _add(
            errors,
            "kelurahan",
            gettext("The address must be in {region}: kelurahan {code} ({name}) is outside it.").format(
                region=_region_name(programme_code), code=region.code, name=region.name
            ),
        )
        return None
    return region


def _checked_npwp(npwp: str, errors: FieldErrors) -> str:
    """The NPWP compact, "" for none; a message under ``npwp`` when it is invalid."""
    if not npwp.strip():
        return ""
    return _checked(identity.validate_npwp, npwp, "npwp", errors) or ""


def _nik_taken_message() -> str:
    return gettext("A borrower with this NIK is already registered.")


def _nik_taken_extra(actor: UserLike, nik: str) -> dict[str, int]:
    """``{"existing_borrower": id}`` for the borrower already registered with ``nik``,
    when ``actor`` may see that borrower (officers, auditors and the manager always; bank
    staff only a borrower of their bank); otherwise nothing."""
    existing = borrower_visible(user=actor).filter(nik=nik).values_list("pk", flat=True).first()
    return {} if existing is None else {"existing_borrower": existing}


def _business_checked(data: Mapping[str, Any], *, borrower_id: int | None) -> tuple[dict[str, Any], FieldErrors]:
    """The business's values ready for ``Business(**values)`` and the errors per field.

    The caller has checked each field's type and range (the API's serializer): a name,
    a ``Business.Sector``, ``started_on`` a date, ``monthly_revenue`` whole rupiah from
    0, ``workers`` from 1, ``kind`` and ``health_rating`` among theirs. Rules: an NIB
    of 13 digits or the older licence number (an NIB already registered to another
    borrower's business is refused); ``started_on`` not in the future; a cooperative
    needs its health rating (an individual business has none).
    """
    unknown = set(data) - BUSINESS_FIELDS
    if unknown:
        raise TypeError(f"unknown business fields: {sorted(unknown)}")
    errors: FieldErrors = {}
    nib_text = data.get("nib", "")
    licence_number = data.get("licence_number", "").strip()
    nib = ""
    if nib_text.strip():
        nib = _checked(identity.validate_nib, nib_text, "nib", errors) or ""
        same_nib = Business.objects.filter(nib=nib)
        if borrower_id is not None:
            same_nib = same_nib.exclude(borrower_id=borrower_id)
        if nib and same_nib.exists():
            _add(errors, "nib", gettext("This NIB is registered to another borrower's business."))
    elif not licence_number:
        _add(
            errors, "nib", gettext("Give the business's NIB (13 digits) or, for an older business, its licence number.")
        )

    started_on: date = data["started_on"]
    if started_on > business_today():
        _add(errors, "started_on", gettext("A business cannot start in the future."))

    kind = data.get("kind") or Business.Kind.INDIVIDUAL
    health_rating = data.get("health_rating", "")
    if kind == Business.Kind.COOPERATIVE and not health_rating:
        _add(errors, "health_rating", gettext("A cooperative needs its health rating."))
    elif kind == Business.Kind.INDIVIDUAL and health_rating:
        _add(errors, "health_rating", gettext("Only a cooperative has a health rating."))

    values = {
        "name": data["name"].strip(),
        "sector": data["sector"],
        "nib": nib,
        "licence_number": licence_number,
        "started_on": started_on,
        "monthly_revenue": data["monthly_revenue"],
        "workers": data.get("workers", 1),
        "kind": kind,
        "health_rating": health_rating,
    }
    return values, errors


@transaction.atomic
def borrower_create(
    *,
    actor: UserLike,
    nik: str,
    name: str,
    birth_date: date,
    sex: str,
    phone: str,
    address: str,
    kelurahan_code: str,
    npwp: str = "",
    business: Mapping[str, Any],
) -> Borrower:
    """Register a borrower (created by ``actor``) with a first business.

    The caller has checked each value's type and length (the API's serializer).
    Raises ApplicationError with a message per field: ``nik`` (invalid or already
    registered: then the answer names the registered borrower's id as
    ``existing_borrower`` when ``actor`` may see that borrower), ``birth_date`` and
    ``sex`` (disagreeing with the NIK; a birth date in the future), ``phone`` (not an
    Indonesian mobile number), ``kelurahan`` (not a kelurahan of the programme region),
    ``npwp``, and the business's fields nested under ``business`` (see
    ``business_create``).
    """
    errors: FieldErrors = {}
    nik_taken: dict[str, int] = {}
    clean_nik = _checked(identity.validate_nik, nik, "nik", errors)
    if clean_nik is not None:
        if Borrower.objects.filter(nik=clean_nik).exists():
            _add(errors, "nik", _nik_taken_message())
            nik_taken = _nik_taken_extra(actor, clean_nik)
        _checked_nik_agreement(clean_nik, birth_date, sex, errors)
    clean_phone = _checked(identity.normalise_phone, phone, "phone", errors)
    kelurahan = _checked_kelurahan(kelurahan_code, errors)
    clean_npwp = _checked_npwp(npwp, errors)
    business_values, business_errors = _business_checked(business, borrower_id=None)
    if business_errors:
        errors["business"] = business_errors
    _raise_if_any(errors, **nik_taken)
    if clean_nik is None or clean_phone is None or kelurahan is None:  # each None added an error above
        raise AssertionError("unreachable")

    try:
        with transaction.atomic():
            borrower = Borrower.objects.create(
                nik=clean_nik,
                name=name.strip(),
                birth_date=birth_date,
                sex=sex,
                phone=clean_phone,
                address=address.strip(),
                kelurahan=kelurahan,
                npwp=clean_npwp,
                created_by=actor,
            )
    except IntegrityError as exc:  # the same NIK registered at the same moment
        if Borrower.objects.filter(nik=clean_nik).exists():
            raise ApplicationError(
                _nik_taken_message(), {"nik": [_nik_taken_message()]}, **_nik_taken_extra(actor, clean_nik)
            ) from exc
        raise
    business_row = Business.objects.create(borrower=borrower, **business_values)
    audit_record(actor=actor, action="borrower_create", subject=borrower, after=field_values(borrower, BORROWER_FIELDS))
    audit_record(actor=actor, action="business_create", subject=business_row, after=business_values)
    return borrower


@transaction.atomic
def borrower_update(*, actor: UserLike, borrower: Borrower, **fields: Any) -> Borrower:
    """Change a borrower's ``name``, ``phone``, ``address``, ``kelurahan_code``,
    ``npwp`` (``""`` removes it), ``birth_date`` and ``sex`` (the last two only to values
    that still agree with the NIK). The NIK never changes: ``nik`` is accepted only
    equal to the current one. Returns the borrower as stored.

    Raises ApplicationError with a message per field (as ``borrower_create``), and
    TypeError for a field that is not one of these.
    """
    unknown = set(fields) - BORROWER_UPDATABLE_FIELDS - {"nik"}
    if unknown:
        raise TypeError(f"borrower_update cannot change {sorted(unknown)}")
    current = Borrower.objects.select_for_update().get(pk=borrower.pk)
    errors: FieldErrors = {}
    changes: dict[str, Any] = {}

    if "nik" in fields:
        try:
            same = identity.validate_nik(fields["nik"]) == current.nik
        except (identity.IdentityError, TypeError):
            same = False
        if not same:
            _add(errors, "nik", gettext("The NIK cannot be changed: register the borrower again if it was wrong."))
    for field in ("name", "address"):
        if field in fields:
            changes[field] = fields[field].strip()
    if "phone" in fields:
        changes["phone"] = _checked(identity.normalise_phone, fields["phone"], "phone", errors)
    if "kelurahan_code" in fields:
        changes["kelurahan"] = _checked_kelurahan(fields["kelurahan_code"], errors)
    if "npwp" in fields:
        changes["npwp"] = _checked_npwp(fields["npwp"], errors)
    if "birth_date" in fields or "sex" in fields:
        birth_date = fields.get("birth_date", current.birth_date)
        sex = fields.get("sex", current.sex)
        _checked_nik_agreement(current.nik, birth_date, sex, errors)
        changes.update(birth_date=birth_date, sex=sex)
    _raise_if_any(errors)

    was = field_values(current, changes)
    for field, value in changes.items():
        setattr(current, field, value)
    if changes:
        current.save(update_fields=[*changes, "updated_at"])
        before, after = changed(was, field_values(current, changes))
        if after:
            audit_record(actor=actor, action="borrower_update", subject=current, before=before, after=after)
    return current


@transaction.atomic
def business_create(
    *,
    actor: UserLike,
    borrower: Borrower,
    name: str,
    sector: str,
    started_on: date,
    monthly_revenue: int,
    nib: str = "",
    licence_number: str = "",
    workers: int = 1,
    kind: str = Business.Kind.INDIVIDUAL,
    health_rating: str = "",
) -> Business:
    """Add a business (or cooperative) to a borrower.

    The caller has checked each value's type and range (the API's serializer).
    Raises ApplicationError with a message per field: ``nib`` (neither a 13-digit NIB
    nor a licence number; an NIB of another borrower's business), ``started_on`` (in
    the future), ``health_rating`` (a cooperative without one, an individual business
    with one).
    """
    values, errors = _business_checked(
        {
            "name": name,
            "sector": sector,
            "nib": nib,
            "licence_number": licence_number,
            "started_on": started_on,
            "monthly_revenue": monthly_revenue,
            "workers": workers,
            "kind": kind,
            "health_rating": health_rating,
        },
        borrower_id=borrower.pk,
    )
    _raise_if_any(errors)
    business = Business.objects.create(borrower=borrower, **values)
    audit_record(actor=actor, action="business_create", subject=business, after={"borrower": borrower.pk, **values})
    return business


@transaction.atomic
def borrower_login_create(*, borrower: Borrower, username: str, password: str, actor: UserLike = None) -> User:
    """Give ``borrower`` a login: a user in the ``borrower`` group linked by
    ``Borrower.user``, audited as done by ``actor`` (None: a system job such as the demo
    seeding). The password is not held to the password validators (demo data
    uses a shared one). Raises ApplicationError (``username``) when the borrower already
    has a login or the username is taken."""
    locked = Borrower.objects.select_for_update().get(pk=borrower.pk)
    if locked.user_id is not None:
        message = gettext("This borrower already has a login.")
        raise ApplicationError(message, {"username": [message]})
    if User.objects.filter(username__iexact=username).exists():
        message = gettext("This username is taken.")
        raise ApplicationError(message, {"username": [message]})
    user = User.objects.create_user(username=username, password=password)
    user.groups.add(Group.objects.get(name=Role.BORROWER))
    locked.user = user
    locked.save(update_fields=["user", "updated_at"])
    audit_record(
        actor=actor,
        action="borrower_login_create",
        subject=user,
        after={"username": user.username, "role": Role.BORROWER, "borrower": locked.pk},
    )
    borrower.user = user
    return user


def borrower_read_log(*, borrower: Borrower, user: UserLike, path: str) -> BorrowerReadLog:
    """Record that ``user`` was shown ``borrower``'s full record (its unmasked NIK) at
    ``path``."""
    return BorrowerReadLog.objects.create(borrower=borrower, user=user, path=path[:200])
