"""The pure identity checks: NIK, NPWP, NIB, phone numbers and NIK masking."""

import ast
import pickle
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from borrowers import identity
from borrowers.identity import (
    IdentityError,
    mask_nik,
    nik_disagreements,
    nik_facts,
    nik_matches,
    normalise_phone,
    validate_nib,
    validate_nik,
    validate_npwp,
)

# 3374 (Kota Semarang) 01, born 17-08-1985, a woman (17 + 40 = 57), serial 0001.
WOMAN_NIK = "3374015708850001"
# The same date, a man.
MAN_NIK = "3374011708850002"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WOMAN_NIK, WOMAN_NIK),
        (MAN_NIK, MAN_NIK),
        ("3374 0157 0885 0001", WOMAN_NIK),
        ("3374.0157.0885-0001", WOMAN_NIK),
        ("3374017101000001", "3374017101000001"),  # a woman born 31-01-..00 (71 = 31 + 40)
    ],
)
def test_validate_nik_accepts_valid_numbers_and_drops_separators(text: str, expected: str) -> None:
    assert validate_nik(text) == expected


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("", identity.NIK_REQUIRED),
        ("   ", identity.NIK_REQUIRED),
        ("337401570885000", identity.NIK_LENGTH),  # 15 digits
        ("33740157088500011", identity.NIK_LENGTH),  # 17 digits
        ("33740157088500A1", identity.NIK_NOT_DIGITS),
        ("3374O15708850001", identity.NIK_NOT_DIGITS),  # a letter O for a zero
        ("".join(chr(0xFF10 + int(digit)) for digit in WOMAN_NIK), identity.NIK_NOT_DIGITS),  # full-width digits
        ("3374013202850001", identity.NIK_DATE),  # day 32
        ("3374010013850001", identity.NIK_DATE),  # day 00
        ("3374014008850001", identity.NIK_DATE),  # day 40: neither a man's nor a woman's
        ("3374017208850001", identity.NIK_DATE),  # day 72 = a woman's 32nd
        ("3374018108850001", identity.NIK_DATE),  # day 81: stdnum alone would read the 1st
        ("3374011713850001", identity.NIK_DATE),  # month 13
        ("3374013002850001", identity.NIK_DATE),  # 30 February
        ("3374012902010001", identity.NIK_DATE),  # 29 February 1901 and 2001: neither a leap year
        ("9974015708850001", identity.NIK_PROVINCE),
        ("0074015708850001", identity.NIK_PROVINCE),
    ],
)
def test_validate_nik_refuses_each_fault_with_its_own_message(text: str, template: str) -> None:
    with pytest.raises(IdentityError) as caught:
        validate_nik(text)
    assert caught.value.field == "nik"
    assert caught.value.template == template


def test_nik_messages_are_distinct() -> None:
    templates = [
        identity.NIK_REQUIRED,
        identity.NIK_NOT_DIGITS,
        identity.NIK_LENGTH,
        identity.NIK_DATE,
        identity.NIK_PROVINCE,
        identity.NIK_INVALID,
    ]
    assert len(set(templates)) == len(templates)


def test_nik_error_message_is_filled_in() -> None:
    with pytest.raises(IdentityError) as caught:
        validate_nik("337401570885000")
    assert caught.value.message == "A NIK has 16 digits; this one has 15."
    assert str(caught.value) == "nik: A NIK has 16 digits; this one has 15."


def test_leap_day_is_possible_in_one_of_the_two_centuries() -> None:
    assert validate_nik("3374012902000001") == "3374012902000001"  # 29-02-2000


def test_nik_facts() -> None:
    facts = nik_facts(WOMAN_NIK)
    assert (facts.province, facts.regency, facts.district) == ("33", "74", "01")
    assert (facts.birth_day, facts.birth_month, facts.birth_year_two_digits) == (17, 8, 85)
    assert facts.sex == "F"
    assert facts.serial == "0001"
    assert nik_facts(MAN_NIK).sex == "M"


@pytest.mark.parametrize(
    ("nik", "birth_date", "sex", "fields"),
    [
        (WOMAN_NIK, date(1985, 8, 17), "F", []),
        (WOMAN_NIK, date(2085, 8, 17), "F", []),  # the NIK carries no century
        (MAN_NIK, date(1985, 8, 17), "M", []),
        (WOMAN_NIK, date(1985, 8, 18), "F", ["birth_date"]),
        (WOMAN_NIK, date(1985, 9, 17), "F", ["birth_date"]),
        (WOMAN_NIK, date(1986, 8, 17), "F", ["birth_date"]),
        (WOMAN_NIK, date(1995, 8, 17), "F", ["birth_date"]),  # only the last two year digits are known
        (WOMAN_NIK, date(1985, 8, 17), "M", ["sex"]),
        (MAN_NIK, date(1985, 8, 17), "F", ["sex"]),
        (MAN_NIK, date(1985, 8, 27), "F", ["birth_date", "sex"]),
    ],
)
def test_birth_date_and_sex_must_agree_with_the_nik(nik: str, birth_date: date, sex: str, fields: list[str]) -> None:
    disagreements = nik_disagreements(nik, birth_date, sex)
    assert [error.field for error in disagreements] == fields
    assert nik_matches(nik, birth_date, sex) is (not fields)


def test_disagreement_messages_name_what_the_nik_says() -> None:
    birth_error, sex_error = nik_disagreements(WOMAN_NIK, date(1985, 8, 18), "M")
    assert birth_error.message == "The birth date does not agree with the NIK, which gives 17-08-85 (DD-MM-YY)."
    assert sex_error.template == identity.NIK_SEX_MISMATCH_FEMALE
    assert nik_disagreements(MAN_NIK, date(1985, 8, 17), "F")[0].template == identity.NIK_SEX_MISMATCH_MALE


def test_nik_matches_refuses_an_invalid_nik() -> None:
    with pytest.raises(IdentityError):
        nik_matches("337401570885000", date(1985, 8, 17), "F")


@pytest.mark.parametrize(
    ("nik", "masked"),
    [
        ("3374015708850001", "3374********0001"),
        ("123456789", "1234*6789"),
        ("12345678", "********"),
        ("", ""),
    ],
)
def test_mask_nik(nik: str, masked: str) -> None:
    assert mask_nik(nik) == masked


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_masking_keeps_only_the_first_and_last_four_digits(nik: str) -> None:
    masked = mask_nik(nik)
    assert len(masked) == 16
    assert masked[:4] == nik[:4]
    assert masked[-4:] == nik[-4:]
    assert masked[4:12] == "*" * 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("0812.3456.7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("+62-812-3456-7890", "+6281234567890"),
        ("  0857 1111 2222 ", "+6285711112222"),
        ("0812345678", "+62812345678"),  # 10 digits, the shortest
        ("0812345678901", "+62812345678901"),  # 13 digits, the longest
    ],
)
def test_normalise_phone_accepts_indonesian_mobile_numbers(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("", identity.PHONE_REQUIRED),
        ("0812-3456-789O", identity.PHONE_FORMAT),
        ("(0812) 3456 7890", identity.PHONE_FORMAT),
        ("81234567890", identity.PHONE_FORMAT),  # no 0 or 62 in front
        ("+62 0812 3456 7890", identity.PHONE_FORMAT),
        ("+", identity.PHONE_FORMAT),
        ("+1 555 123 4567", identity.PHONE_NOT_INDONESIAN),
        ("+60 12 345 6789", identity.PHONE_NOT_INDONESIAN),
        ("024 3512345", identity.PHONE_NOT_MOBILE),  # a Semarang landline
        ("+62 24 3512345", identity.PHONE_NOT_MOBILE),
        ("081234567", identity.PHONE_LENGTH),  # 9 digits
        ("08123456789012", identity.PHONE_LENGTH),  # 14 digits
    ],
)
def test_normalise_phone_refuses_others(text: str, template: str) -> None:
    with pytest.raises(IdentityError) as caught:
        normalise_phone(text)
    assert caught.value.field == "phone"
    assert caught.value.template == template


_SEPARATOR = st.sampled_from(["", "", " ", "-", "."])


@st.composite
def written_mobile_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A mobile number as someone might write it, and its E.164 form."""
    subscriber = "8" + draw(st.text(alphabet="0123456789", min_size=8, max_size=11))
    prefix = draw(st.sampled_from(["0", "62", "+62", "+62 ", "62-"]))
    written = prefix
    for digit in subscriber:
        written += draw(_SEPARATOR) + digit
    return written, "+62" + subscriber


@given(written_mobile_numbers())
def test_any_written_form_normalises_to_e164(case: tuple[str, str]) -> None:
    written, e164 = case
    assert normalise_phone(written) == e164


@given(written_mobile_numbers())
def test_normalising_is_idempotent(case: tuple[str, str]) -> None:
    once = normalise_phone(case[0])
    assert normalise_phone(once) == once
    assert normalise_phone("0" + once[3:]) == once  # back to the domestic form and again


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01.312.166.0-091.000", "013121660091000"),  # the old 15-digit form
        ("013121660091000", "013121660091000"),
        ("0013121660091000", "0013121660091000"),  # 16 digits: 0 and the old number
        (WOMAN_NIK, WOMAN_NIK),  # 16 digits: a person's NIK
    ],
)
def test_validate_npwp_accepts_and_compacts(text: str, expected: str) -> None:
    assert validate_npwp(text) == expected


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("01.312.166.0-091.00A", identity.NPWP_NOT_DIGITS),
        ("12345", identity.NPWP_LENGTH),
        ("01312166009100012", identity.NPWP_LENGTH),
        ("013121661091000", identity.NPWP_CHECKSUM),
        ("0013121661091000", identity.NPWP_CHECKSUM),
        ("3374019908850001", identity.NPWP_NOT_A_NIK),  # a "NIK" with day 99
        ("9974015708850001", identity.NPWP_NOT_A_NIK),
    ],
)
def test_validate_npwp_refuses(text: str, template: str) -> None:
    with pytest.raises(IdentityError) as caught:
        validate_npwp(text)
    assert caught.value.field == "npwp"
    assert caught.value.template == template


@pytest.mark.parametrize(
    ("text", "expected"), [("9120001234567", "9120001234567"), (" 9120 0012 34567 ", "9120001234567")]
)
def test_validate_nib_accepts_13_digits(text: str, expected: str) -> None:
    assert validate_nib(text) == expected


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("912000123456", identity.NIB_LENGTH),
        ("91200012345678", identity.NIB_LENGTH),
        ("", identity.NIB_LENGTH),
        ("912000123456X", identity.NIB_NOT_DIGITS),
    ],
)
def test_validate_nib_refuses(text: str, template: str) -> None:
    with pytest.raises(IdentityError) as caught:
        validate_nib(text)
    assert caught.value.field == "nib"
    assert caught.value.template == template


def test_identity_error_survives_pickling() -> None:
    error = IdentityError("nik", identity.NIK_LENGTH, {"length": 15})
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.field, copy.message) == ("nik", error.message)


def test_identity_module_does_not_import_django() -> None:
    tree = ast.parse(Path(identity.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("django", "rest_framework")}
