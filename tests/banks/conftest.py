"""Two partner banks and one user of every kind, for the bank tests."""

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User

from banks.models import Bank
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank


@dataclass
class People:
    pasar: Bank
    jateng: Bank
    officer: User
    auditor: User
    manager: User
    pasar_staff: User
    jateng_staff: User
    borrower: User
    nobody: User  # logged in, no role

    def by_name(self, name: str) -> User | None:
        """``anonymous`` is None (not logged in)."""
        return None if name == "anonymous" else getattr(self, name)


@pytest.fixture
def people(db: Any) -> People:
    pasar = funded_bank("PASAR", 1_000_000_000)
    jateng = funded_bank("JATENG", 2_000_000_000, kind=Bank.Kind.COMMERCIAL)
    borrower = UserFactory.create(username="borrower", role="borrower")
    BorrowerFactory.create(user=borrower)
    return People(
        pasar=pasar,
        jateng=jateng,
        officer=UserFactory.create(username="officer", role="officer"),
        auditor=UserFactory.create(username="auditor", role="auditor"),
        manager=UserFactory.create(username="manager", role="manager"),
        pasar_staff=bank_user(pasar, username="pasar"),
        jateng_staff=bank_user(jateng, username="jateng"),
        borrower=borrower,
        nobody=UserFactory.create(username="nobody"),
    )
