"""A NIK as it is typed: whether it is valid (and what it says), or which registered
borrower already has it. Read for the registration page's live check; the service
(``borrower_create``) decides again when the form is sent."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from borrowers import identity
from borrowers.models import Borrower
from borrowers.selectors import borrower_visible
from config.roles import UserLike


@dataclass(frozen=True, slots=True)
class NikState:
    """``valid``: the NIK passes the identity rules; ``message``: the reason it does not,
    or what it says (birth date, sex) in the active language; ``existing``: the borrower
    already registered with it, when ``user`` may see them (a duplicate NIK)."""

    nik: str
    valid: bool
    message: str
    existing: Borrower | None = None


def borrower_by_nik(*, user: UserLike, nik: str) -> Borrower | None:
    """The borrower registered with ``nik`` (compact), among those ``user`` may see."""
    return borrower_visible(user=user).filter(nik=nik).first()


def nik_state(*, user: UserLike, nik: str) -> NikState:
    """The state of a typed NIK: invalid with the rule's reason, already registered
    (the borrower, when ``user`` may see them), or valid with its birth date and sex."""
    try:
        facts = identity.nik_facts(nik)
    except identity.IdentityError as exc:
        return NikState(nik=nik, valid=False, message=gettext(exc.template).format(**exc.params))
    compact = identity.validate_nik(nik)
    existing = borrower_by_nik(user=user, nik=compact)
    if existing is not None:
        return NikState(
            nik=compact,
            valid=False,
            message=gettext("A borrower with this NIK is already registered."),
            existing=existing,
        )
    born = f"{facts.birth_day:02d}-{facts.birth_month:02d}-{facts.birth_year_two_digits:02d}"
    template = (
        gettext("A valid NIK: a woman born on {born} (DD-MM-YY).")
        if facts.sex == identity.FEMALE
        else gettext("A valid NIK: a man born on {born} (DD-MM-YY).")
    )
    return NikState(nik=compact, valid=True, message=template.format(born=born))
