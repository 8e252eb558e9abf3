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
from django.utils import timezone
from django.utils.translation import gettext

from audit.services import audit_record, changed, field_values
from borrowers import identity
from borrowers.models import Borrower, BorrowerReadLog, Business, Region
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

_MISSING: Final = object()


def programme_region_code() -> str:
    return str(getattr(settings, "PROGRAMME_REGION_CODE", DEFAULT_PROGRAMME_REGION_CODE))


def _add(errors: FieldErrors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _messages(errors: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for value in errors.values():
        found.extend(_messages(value) if isinstance(value, Mapping) else [str(message) for message in value])
    return found


def _raise_if_any(errors: FieldErrors) -> None:
    """Raise ApplicationError when ``errors`` has any: its message is the only error's
    own message, or "Invalid input." when there are several."""
    if not errors:
        return
    messages = _messages(errors)
    raise ApplicationError(messages[0] if len(messages) == 1 else gettext("Invalid input."), errors)


def _translated(error: identity.IdentityError) -> str:
    return gettext(error.template).format(**error.params)


def _checked(check: Callable[[str], str], value: str, field: str, errors: FieldErrors) -> str | None:
    """``check(value)``, or None with the IdentityError's message added under ``field``."""
    try:
        return check(value)
    except identity.IdentityError as exc:
        _add(errors, field, _translated(exc))
        return None


def _text(value: Any, field: str, max_length: int, errors: FieldErrors, *, required: bool = True) -> str:
    """``value`` stripped; a message under ``field`` when it is empty (and required) or too long."""
    text = value.strip() if isinstance(value, str) else ""
    if not isinstance(value, str):
        _add(errors, field, gettext("Must be text."))
    elif required and not text:
        _add(errors, field, gettext("This field may not be blank."))
    elif len(text) > max_length:
        _add(
            errors,
            field,
            gettext("Ensure this field has no more than {max_length} characters.").format(max_length=max_length),
        )
    return text


def _checked_nik_agreement(nik: str, birth_date: Any, sex: Any, errors: FieldErrors) -> None:
    """Messages under ``birth_date`` and ``sex`` where they disagree with the (valid) NIK."""
    if not isinstance(birth_date, date):
        _add(errors, "birth_date", gettext("Must be a date (YYYY-MM-DD)."))
        return
    if birth_date > timezone.localdate():
        _add(errors, "birth_date", gettext("A birth date cannot be in the future."))
    if sex not in Borrower.Sex.values:
        _add(errors, "sex", gettext("Must be M or F."))
        return
    for disagreement in identity.nik_disagreements(nik, birth_date, sex):
        _add(errors, disagreement.field, _translated(disagreement))


def _region_name(code: str) -> str:
    name = Region.objects.filter(code=code).values_list("name", flat=True).first()
    return name or DEFAULT_PROGRAMME_REGION_NAME


def _checked_kelurahan(code: Any, errors: FieldErrors) -> Region | None:
    """The kelurahan (a village-level Region inside the programme region) with this code,
    or None with a message under ``kelurahan``."""
    programme_code = programme_region_code()
    code = code.strip() if isinstance(code, str) else ""
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


def _checked_npwp(npwp: Any, errors: FieldErrors) -> str:
    """The NPWP compact, "" for none; a message under ``npwp`` when it is invalid."""
    if npwp is None or (isinstance(npwp, str) and not npwp.strip()):
        return ""
    if not isinstance(npwp, str):
        _add(errors, "npwp", gettext("Must be text."))
        return ""
    return _checked(identity.validate_npwp, npwp, "npwp", errors) or ""


def _nik_taken_message() -> str:
    return gettext("A borrower with this NIK is already registered.")


def _business_checked(data: Mapping[str, Any], *, borrower_id: int | None) -> tuple[dict[str, Any], FieldErrors]:
    """The business's values ready for ``Business(**values)`` and the errors per field.

    Rules: name and sector; an NIB of 13 digits or the older licence number (an NIB
    already registered to another borrower's business is refused); ``started_on`` not
    in the future; ``monthly_revenue`` a whole number of rupiah, not negative; at least
    one worker; ``kind`` individual or cooperative, and a cooperative needs its health
    rating (an individual business has none).
    """
    unknown = set(data) - {
        "name",
        "sector",
        "nib",
        "licence_number",
        "started_on",
        "monthly_revenue",
        "workers",
        "kind",
        "health_rating",
    }
    if unknown:
        raise TypeError(f"unknown business fields: {sorted(unknown)}")
    errors: FieldErrors = {}
    required = gettext("This field is required.")
    for field in ("name", "sector", "started_on", "monthly_revenue"):
        if data.get(field, _MISSING) is _MISSING:
            _add(errors, field, required)

    name = _text(data.get("name", ""), "name", 150, errors) if "name" in data else ""
    sector = data.get("sector", "")
    if "sector" in data and sector not in Business.Sector.values:
        _add(errors, "sector", gettext("Must be one of: {choices}.").format(choices=", ".join(Business.Sector.values)))

    nib_text = data.get("nib") or ""
    licence_number = _text(data.get("licence_number") or "", "licence_number", 50, errors, required=False)
    nib = ""
    if not isinstance(nib_text, str):
        _add(errors, "nib", gettext("Must be text."))
    elif nib_text.strip():
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

    started_on = data.get("started_on")
    if "started_on" in data:
        if not isinstance(started_on, date):
            _add(errors, "started_on", gettext("Must be a date (YYYY-MM-DD)."))
        elif started_on > timezone.localdate():
            _add(errors, "started_on", gettext("A business cannot start in the future."))

    monthly_revenue = data.get("monthly_revenue")
    if "monthly_revenue" in data:
        if isinstance(monthly_revenue, bool) or not isinstance(monthly_revenue, int):
            _add(errors, "monthly_revenue", gettext("Must be a whole number of rupiah."))
        elif monthly_revenue < 0:
            _add(errors, "monthly_revenue", gettext("Must not be negative."))

    workers = data.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        _add(errors, "workers", gettext("Must be a whole number, at least 1 (the owner counts)."))

    kind = data.get("kind") or Business.Kind.INDIVIDUAL
    health_rating = data.get("health_rating") or ""
    if kind not in Business.Kind.values:
        _add(errors, "kind", gettext("Must be one of: {choices}.").format(choices=", ".join(Business.Kind.values)))
    elif kind == Business.Kind.COOPERATIVE and not health_rating:
        _add(errors, "health_rating", gettext("A cooperative needs its health rating."))
    elif kind == Business.Kind.INDIVIDUAL and health_rating:
        _add(errors, "health_rating", gettext("Only a cooperative has a health rating."))
    if health_rating and health_rating not in Business.Health.values:
        _add(
            errors,
            "health_rating",
            gettext("Must be one of: {choices}.").format(choices=", ".join(Business.Health.values)),
        )

    values = {
        "name": name,
        "sector": sector,
        "nib": nib,
        "licence_number": licence_number,
        "started_on": started_on,
        "monthly_revenue": monthly_revenue,
        "workers": workers,
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

    Raises ApplicationError with a message per field: ``nik`` (invalid or already
    registered), ``birth_date`` and ``sex`` (disagreeing with the NIK; a birth date in
    the future), ``name``, ``phone`` (not an Indonesian mobile number), ``address``,
    ``kelurahan`` (not a kelurahan of the programme region), ``npwp``, and the
    business's fields nested under ``business`` (see ``business_create``).
    """
    errors: FieldErrors = {}
    clean_nik = _checked(identity.validate_nik, nik, "nik", errors) if isinstance(nik, str) else None
    if not isinstance(nik, str):
        _add(errors, "nik", gettext("Must be text."))
    if clean_nik is not None:
        if Borrower.objects.filter(nik=clean_nik).exists():
            _add(errors, "nik", _nik_taken_message())
        _checked_nik_agreement(clean_nik, birth_date, sex, errors)
    clean_name = _text(name, "name", 150, errors)
    clean_phone = _checked(identity.normalise_phone, phone, "phone", errors) if isinstance(phone, str) else None
    clean_address = _text(address, "address", 300, errors)
    kelurahan = _checked_kelurahan(kelurahan_code, errors)
    clean_npwp = _checked_npwp(npwp, errors)
    business_values, business_errors = _business_checked(business, borrower_id=None)
    if business_errors:
        errors["business"] = business_errors
    _raise_if_any(errors)
    if clean_nik is None or clean_phone is None or kelurahan is None:  # each None added an error above
        raise AssertionError("unreachable")

    try:
        with transaction.atomic():
            borrower = Borrower.objects.create(
                nik=clean_nik,
                name=clean_name,
                birth_date=birth_date,
                sex=sex,
                phone=clean_phone,
                address=clean_address,
                kelurahan=kelurahan,
                npwp=clean_npwp,
                created_by=actor,
            )
    except IntegrityError as exc:  # the same NIK registered at the same moment
        if Borrower.objects.filter(nik=clean_nik).exists():
            raise ApplicationError(_nik_taken_message(), {"nik": [_nik_taken_message()]}) from exc
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
    if "name" in fields:
        changes["name"] = _text(fields["name"], "name", 150, errors)
    if "address" in fields:
        changes["address"] = _text(fields["address"], "address", 300, errors)
    if "phone" in fields:
        phone = fields["phone"]
        changes["phone"] = (
            _checked(identity.normalise_phone, phone, "phone", errors) if isinstance(phone, str) else None
        )
        if not isinstance(phone, str):
            _add(errors, "phone", gettext("Must be text."))
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

    Raises ApplicationError with a message per field: ``nib`` (neither a 13-digit NIB
    nor a licence number; an NIB of another borrower's business), ``started_on`` (in
    the future), ``monthly_revenue`` (negative or not whole rupiah), ``workers``,
    ``kind``, ``sector``, ``health_rating`` (a cooperative without one).
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
