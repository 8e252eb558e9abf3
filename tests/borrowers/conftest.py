"""People and data for the borrower tests: a user per role, two banks and a valid
borrower registration body."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from banks.models import Bank
from borrowers.models import Borrower, Business
from loans.models import Application, ProductTerms
from tests.factories import (
    ApplicationFactory,
    BankFactory,
    BorrowerFactory,
    BusinessFactory,
    ProductTermsFactory,
    UserFactory,
    bank_user,
)

#: Kota Semarang 33.74, district 05, a woman born 17-08-1985 (17 + 40 = 57), serial 0001.
#: (BorrowerFactory's NIKs use district 01, so this one never collides with them.)
NEW_NIK = "3374055708850001"


def registration(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST borrowers/`` body; ``business`` overrides merge into the business."""
    business = {
        "name": "Warung Bu Sri",
        "sector": "food",
        "nib": "9120001234567",
        "started_on": "2019-03-01",
        "monthly_revenue": 15_000_000,
    }
    business.update(overrides.pop("business", {}))
    body: dict[str, Any] = {
        "nik": NEW_NIK,
        "name": "Sri Wahyuni",
        "birth_date": "1985-08-17",
        "sex": "F",
        "phone": "0812-3456-7890",
        "address": "Jl. Pemuda 12 RT 03 RW 01",
        "kelurahan": "33.74.01.1001",
        "business": business,
    }
    body.update(overrides)
    return body


@dataclass
class People:
    officer: User
    auditor: User
    manager: User
    nobody: User
    jateng: Bank
    pasar: Bank
    jateng_staff: User
    pasar_staff: User
    terms: ProductTerms

    def application(self, business: Business, bank: Bank, *, forwarded: bool) -> Application:
        """An application of ``business`` at ``bank``, forwarded to it or still a draft."""
        if forwarded:
            return ApplicationFactory.create(
                business=business,
                bank=bank,
                terms=self.terms,
                created_by=self.officer,
                state=Application.State.FORWARDED,
                forwarded_at=timezone.now(),
            )
        return ApplicationFactory.create(business=business, bank=bank, terms=self.terms, created_by=self.officer)


@pytest.fixture
def people(db: None) -> People:
    jateng = BankFactory.create(code="JATENG", kind=Bank.Kind.COMMERCIAL)
    pasar = BankFactory.create(code="PASAR")
    return People(
        officer=UserFactory.create(role="officer"),
        auditor=UserFactory.create(role="auditor"),
        manager=UserFactory.create(role="manager"),
        nobody=UserFactory.create(),
        jateng=jateng,
        pasar=pasar,
        jateng_staff=bank_user(jateng),
        pasar_staff=bank_user(pasar),
        terms=ProductTermsFactory.create(),
    )


@pytest.fixture
def make_business(db: None) -> Callable[..., Business]:
    def make(**borrower_fields: Any) -> Business:
        return BusinessFactory.create(borrower=BorrowerFactory.create(**borrower_fields))

    return make


@pytest.fixture
def borrower(make_business: Callable[..., Business]) -> Borrower:
    return make_business().borrower
