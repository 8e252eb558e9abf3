"""A small programme for workflow tests: the WIBAWA product, two funded banks, two
officers, two staff per bank, an auditor, a manager and a borrower with a business."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from banks.models import Bank
from borrowers.models import Borrower, Business
from loans.models import Application, ProductTerms
from loans.services import applications as services
from tests.factories import BusinessFactory, ProductTermsFactory, UserFactory, bank_user, funded_bank


@dataclass
class Programme:
    terms: ProductTerms
    pasar: Bank
    jateng: Bank
    officer: User
    officer2: User
    pasar_staff: User
    pasar_staff2: User
    jateng_staff: User
    auditor: User
    manager: User
    business: Business

    @property
    def borrower(self) -> Borrower:
        return self.business.borrower

    def draft(self, **overrides: Any) -> Application:
        values: dict[str, Any] = {
            "actor": self.officer,
            "borrower": self.borrower,
            "bank": self.pasar,
            "principal": 5_000_000,
            "tenor_months": 12,
            "collateral": False,
            "purpose": "Modal kerja",
        }
        values.update(overrides)
        return services.application_create(**values)

    def advance(self, application: Application, to_state: str) -> Application:
        """Move a draft along the happy path up to ``to_state`` with the right actors."""
        steps: list[tuple[str, Any]] = [
            ("submitted", lambda a: services.application_submit(actor=self.officer, application_id=a.pk)),
            (
                "field_verified",
                lambda a: services.application_field_verify(
                    actor=self.officer2, application_id=a.pk, visited_on=timezone.localdate(), notes="Usaha aktif"
                ),
            ),
            ("forwarded", lambda a: services.application_forward(actor=self.officer, application_id=a.pk)),
            (
                "credit_checked",
                lambda a: services.application_credit_check(
                    actor=self.staff_of(a, 0), application_id=a.pk, result="clean", notes="SLIK bersih"
                ),
            ),
            (
                "approved",
                lambda a: services.application_approve(
                    actor=self.staff_of(a, 1), application_id=a.pk, contract_number=f"KW-{a.pk}"
                ),
            ),
            (
                "disbursed",
                lambda a: services.application_disburse(
                    actor=self.staff_of(a, 0), application_id=a.pk, disbursed_on=timezone.localdate()
                ),
            ),
        ]
        order = ["draft", *(state for state, _step in steps)]
        for state, step in steps[order.index(application.state) :]:
            if application.state == to_state:
                break
            application = step(application)
            assert application.state == state
        return application

    def staff_of(self, application: Application, index: int) -> User:
        if application.bank_id == self.pasar.pk:
            return [self.pasar_staff, self.pasar_staff2][index]
        if index == 0:
            return self.jateng_staff
        return bank_user(self.jateng)


@pytest.fixture
def programme(db: Any) -> Programme:
    terms = ProductTermsFactory.create(valid_from=date(2017, 1, 1))
    pasar = funded_bank("PASAR", 500_000_000)
    jateng = funded_bank("JATENG", 500_000_000, kind=Bank.Kind.COMMERCIAL)
    business = BusinessFactory.create(started_on=timezone.localdate() - timedelta(days=5 * 365))
    return Programme(
        terms=terms,
        pasar=pasar,
        jateng=jateng,
        officer=UserFactory.create(username="officer", role="officer"),
        officer2=UserFactory.create(username="officer2", role="officer"),
        pasar_staff=bank_user(pasar, username="pasar"),
        pasar_staff2=bank_user(pasar, username="pasar2"),
        jateng_staff=bank_user(jateng, username="jateng"),
        auditor=UserFactory.create(username="auditor", role="auditor"),
        manager=UserFactory.create(username="manager", role="manager"),
        business=business,
    )
