"""Indonesian identity numbers and phone numbers: checking, normalising and masking.

Pure functions, no Django: the services translate the messages when they answer.

* NIK (KTP number): 16 digits, ``PPRRSSDDMMYYXXXX``: province (2), regency or city (2),
  district (2), birth date as DDMMYY with 40 added to the day for women, serial (4).
  Checked with python-stdnum (``stdnum.id.nik``) plus the day rule stdnum leaves loose
  (it reads the day modulo 40, so a day of 81 would pass as the 1st).
* NPWP (tax number): 16 digits since 2024 (a NIK, or 0 and the old number), the old
  15-digit form still on older documents (``stdnum.id.npwp``). Stored compact, digits only.
* NIB (OSS business number): exactly 13 digits.
* Phone: Indonesian mobile numbers only (08xx domestically, 10 to 13 digits in that
  form), stored as E.164 (``+628...``).

Every refusal is an :class:`IdentityError` naming the input field and carrying an
English message template (a module constant, marked for translation) and its parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from stdnum import numdb
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.id import nik as stdnum_nik
from stdnum.id import npwp as stdnum_npwp


def gettext_noop(text: str) -> str:
    """Marks a message for translation (``manage.py makemessages`` finds it) without
    importing Django: the services translate IdentityError.template when they answer."""
    return text


NIK_REQUIRED = gettext_noop("Enter the NIK (the 16-digit number on the KTP).")
NIK_NOT_DIGITS = gettext_noop("A NIK has only digits; this one has other characters.")
NIK_LENGTH = gettext_noop("A NIK has 16 digits; this one has {length}.")
NIK_DATE = gettext_noop(
    "The birth date in this NIK ({digits}, DDMMYY with 40 added to the day for women) is impossible."
)
NIK_PROVINCE = gettext_noop("This NIK starts with {province}, which is not an Indonesian province code.")
NIK_INVALID = gettext_noop("This is not a valid NIK.")
NIK_BIRTH_DATE_MISMATCH = gettext_noop("The birth date does not agree with the NIK, which gives {nik_date} (DD-MM-YY).")
NIK_SEX_MISMATCH_FEMALE = gettext_noop("The sex does not agree with the NIK, which is a woman's (day + 40).")
NIK_SEX_MISMATCH_MALE = gettext_noop("The sex does not agree with the NIK, which is a man's.")

PHONE_REQUIRED = gettext_noop("Enter a mobile phone number.")
PHONE_FORMAT = gettext_noop("Write an Indonesian mobile number as 08..., 628... or +62 8... (digits only).")
PHONE_NOT_INDONESIAN = gettext_noop("Only Indonesian mobile numbers (+62) are accepted.")
PHONE_NOT_MOBILE = gettext_noop("This is not an Indonesian mobile number: those start with 08 (+62 8).")
PHONE_LENGTH = gettext_noop("An Indonesian mobile number has 10 to 13 digits written as 08...; this one has {length}.")

NPWP_NOT_DIGITS = gettext_noop("An NPWP has only digits (dots and dashes are allowed between them).")
NPWP_LENGTH = gettext_noop("An NPWP has 16 digits (or 15 in the old form); this one has {length}.")
NPWP_CHECKSUM = gettext_noop("This NPWP's check digit is wrong: check the number.")
NPWP_INVALID = gettext_noop("This is not a valid NPWP.")
NPWP_NOT_A_NIK = gettext_noop("A 16-digit NPWP that does not start with 0 is a NIK, and this one is not a valid NIK.")

NIB_NOT_DIGITS = gettext_noop("An NIB has only digits.")
NIB_LENGTH = gettext_noop("An NIB has 13 digits; this one has {length}.")

NIK_LENGTH_DIGITS: Final = 16
NIB_LENGTH_DIGITS: Final = 13
#: Domestic (0-form) lengths of an Indonesian mobile number, 08xx...
PHONE_MIN_DIGITS: Final = 10
PHONE_MAX_DIGITS: Final = 13
#: Added to the birth day in a woman's NIK.
FEMALE_DAY_OFFSET: Final = 40

MALE: Final = "M"
FEMALE: Final = "F"

_DIGITS = re.compile(r"[0-9]*")
#: Separators people write inside numbers: spaces, dots and dashes.
_SEPARATORS = re.compile(r"[\s.\-]")


class IdentityError(ValueError):
    """An identity number or phone refused. ``field`` names the input at fault;
    ``message`` is ``template`` (English, translatable) filled with ``params``."""

    def __init__(self, field: str, template: str, params: Mapping[str, object] | None = None) -> None:
        self.field = field
        self.template = template
        self.params = dict(params or {})
        self.message = template.format(**self.params)
        super().__init__(field, template, self.params)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class NikFacts:
    """What a valid NIK says: where it was first registered, the birth date (the year
    only as its last two digits: the NIK does not say the century) and the sex."""

    province: str
    regency: str
    district: str
    birth_day: int
    birth_month: int
    birth_year_two_digits: int
    sex: str
    serial: str


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text)


def _is_digits(text: str) -> bool:
    return _DIGITS.fullmatch(text) is not None


def _nik_date_possible(day: int, month: int, two_digit_year: int) -> bool:
    """Whether DD-MM-YY is a real date in the 1900s or the 2000s."""
    for century in (1900, 2000):
        try:
            date(century + two_digit_year, month, day)
        except ValueError:
            continue
        return True
    return False


def _province_known(nik: str) -> bool:
    return bool(numdb.get("id/loc").info(nik[:2])[0][1])


def validate_nik(nik: str) -> str:
    """The NIK, compact (16 digits; spaces, dots and dashes between them are dropped).

    Raises IdentityError("nik", ...) with a distinct message for an empty value, other
    characters than digits, a length other than 16, an impossible birth date (day
    1-31 for men, 41-71 for women) and an unknown province code.
    """
    compact = _compact(nik)
    if not compact:
        raise IdentityError("nik", NIK_REQUIRED)
    if not _is_digits(compact):
        raise IdentityError("nik", NIK_NOT_DIGITS)
    if len(compact) != NIK_LENGTH_DIGITS:
        raise IdentityError("nik", NIK_LENGTH, {"length": len(compact)})
    day_digits = int(compact[6:8])
    day = day_digits - FEMALE_DAY_OFFSET if day_digits > FEMALE_DAY_OFFSET else day_digits
    if not _nik_date_possible(day, int(compact[8:10]), int(compact[10:12])):
        raise IdentityError("nik", NIK_DATE, {"digits": compact[6:12]})
    if not _province_known(compact):
        raise IdentityError("nik", NIK_PROVINCE, {"province": compact[:2]})
    try:
        return str(stdnum_nik.validate(compact))
    except StdnumValidationError as exc:  # a rule of a newer python-stdnum
        raise IdentityError("nik", NIK_INVALID) from exc


def nik_facts(nik: str) -> NikFacts:
    """The facts in a NIK. Raises IdentityError as validate_nik does."""
    compact = validate_nik(nik)
    day_digits = int(compact[6:8])
    female = day_digits > FEMALE_DAY_OFFSET
    return NikFacts(
        province=compact[:2],
        regency=compact[2:4],
        district=compact[4:6],
        birth_day=day_digits - FEMALE_DAY_OFFSET if female else day_digits,
        birth_month=int(compact[8:10]),
        birth_year_two_digits=int(compact[10:12]),
        sex=FEMALE if female else MALE,
        serial=compact[12:],
    )


def nik_disagreements(nik: str, birth_date: date, sex: str) -> list[IdentityError]:
    """Where ``birth_date`` and ``sex`` (``"M"``/``"F"``) disagree with the NIK: an
    IdentityError for ``birth_date`` (day, month and the year's last two digits are
    compared, the NIK carrying no century) and/or one for ``sex``; empty when both agree.
    Raises IdentityError("nik", ...) for an invalid NIK."""
    facts = nik_facts(nik)
    errors: list[IdentityError] = []
    if (birth_date.day, birth_date.month, birth_date.year % 100) != (
        facts.birth_day,
        facts.birth_month,
        facts.birth_year_two_digits,
    ):
        nik_date = f"{facts.birth_day:02d}-{facts.birth_month:02d}-{facts.birth_year_two_digits:02d}"
        errors.append(IdentityError("birth_date", NIK_BIRTH_DATE_MISMATCH, {"nik_date": nik_date}))
    if sex != facts.sex:
        errors.append(IdentityError("sex", NIK_SEX_MISMATCH_FEMALE if facts.sex == FEMALE else NIK_SEX_MISMATCH_MALE))
    return errors


def nik_matches(nik: str, birth_date: date, sex: str) -> bool:
    """Whether ``birth_date`` and ``sex`` agree with the NIK's DDMMYY (day + 40 for
    women). Raises IdentityError for an invalid NIK."""
    return not nik_disagreements(nik, birth_date, sex)


def mask_nik(nik: str) -> str:
    """The NIK with all but its first 4 and last 4 digits hidden: ``3374********0001``.
    A value of 8 characters or fewer is hidden entirely."""
    if len(nik) <= 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def normalise_phone(text: str) -> str:
    """An Indonesian mobile number in E.164, ``+628...``.

    Accepts ``08...``, ``628...`` and ``+62 8...`` with spaces, dots or dashes between
    the digits; the number must have 10 to 13 digits in its domestic form (``08...``).
    Raises IdentityError("phone", ...) for anything else: other characters, another
    country, a landline (``024...``), a wrong length.
    """
    compact = _compact(text)
    if not compact:
        raise IdentityError("phone", PHONE_REQUIRED)
    international = compact.startswith("+")
    digits = compact[1:] if international else compact
    if not digits or not _is_digits(digits):
        raise IdentityError("phone", PHONE_FORMAT)
    if international or digits.startswith("62"):
        if not digits.startswith("62"):
            raise IdentityError("phone", PHONE_NOT_INDONESIAN)
        subscriber = digits[2:]
        if subscriber.startswith("0"):  # "+62 0812...": the trunk 0 does not belong after +62
            raise IdentityError("phone", PHONE_FORMAT)
    elif digits.startswith("0"):
        subscriber = digits[1:]
    else:
        raise IdentityError("phone", PHONE_FORMAT)
    if not subscriber.startswith("8"):
        raise IdentityError("phone", PHONE_NOT_MOBILE)
    domestic_length = len(subscriber) + 1
    if not PHONE_MIN_DIGITS <= domestic_length <= PHONE_MAX_DIGITS:
        raise IdentityError("phone", PHONE_LENGTH, {"length": domestic_length})
    return "+62" + subscriber


def validate_npwp(npwp: str) -> str:
    """The NPWP, compact (digits only): 16 digits (a NIK, or 0 and the old number) or
    the old 15-digit form, checked with python-stdnum. Raises IdentityError("npwp", ...)."""
    compact = _compact(npwp)
    if not _is_digits(compact):
        raise IdentityError("npwp", NPWP_NOT_DIGITS)
    if len(compact) not in (15, 16):
        raise IdentityError("npwp", NPWP_LENGTH, {"length": len(compact)})
    if len(compact) == NIK_LENGTH_DIGITS and not compact.startswith("0"):
        try:  # a person's NPWP is their NIK: hold it to the NIK's own rules
            validate_nik(compact)
        except IdentityError as exc:
            raise IdentityError("npwp", NPWP_NOT_A_NIK) from exc
    try:
        return str(stdnum_npwp.validate(compact))
    except InvalidChecksum as exc:
        raise IdentityError("npwp", NPWP_CHECKSUM) from exc
    except StdnumValidationError as exc:
        raise IdentityError("npwp", NPWP_INVALID) from exc


def validate_nib(nib: str) -> str:
    """The NIB, compact: exactly 13 digits (spaces, dots and dashes between them are
    dropped). Raises IdentityError("nib", ...)."""
    compact = _compact(nib)
    if not _is_digits(compact):
        raise IdentityError("nib", NIB_NOT_DIGITS)
    if len(compact) != NIB_LENGTH_DIGITS:
        raise IdentityError("nib", NIB_LENGTH, {"length": len(compact)})
    return compact
