"""factory_boy factories for the whole suite. Users get their role with ``role=``."""

import itertools
from datetime import date
from typing import Any

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from banks.models import Allocation, Bank, BankStaff
from borrowers.models import Borrower, Business, Region
from loans.collectibility import DEFAULT_TABLES
from loans.models import Application, CollectibilityClass, Loan, Product, ProductTerms

DEMO_KELURAHAN = "33.74.01.1001"  # Miroto, Semarang Tengah


def synthetic_nik(birth_date: date, sex: str, serial: int, district: str = "01") -> str:
    """A NIK that python-stdnum accepts: Kota Semarang (3374), a district, the birth date
    as DDMMYY (day + 40 for women) and a 4-digit serial."""
    day = birth_date.day + (40 if sex == "F" else 0)
    return f"3374{district}{day:02d}{birth_date:%m%y}{serial % 10000:04d}"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass-for-tests")

    @factory.post_generation
    def role(self: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))


class BankFactory(factory.django.DjangoModelFactory[Bank]):
    class Meta:
        model = Bank
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BANK{n}")
    name = factory.LazyAttribute(lambda o: f"Bank {o.code}")
    kind = Bank.Kind.BPR
    allocated = 0


class AllocationFactory(factory.django.DjangoModelFactory[Allocation]):
    class Meta:
        model = Allocation

    bank = factory.SubFactory(BankFactory)
    year = 2026
    amount = 1_000_000_000


def funded_bank(code: str, amount: int = 1_000_000_000, kind: str = Bank.Kind.BPR) -> Bank:
    """A bank with one allocation of ``amount`` and its counter kept in step."""
    bank = BankFactory.create(code=code, kind=kind)
    AllocationFactory.create(bank=bank, amount=amount)
    Bank.objects.filter(pk=bank.pk).update(allocated=amount)
    bank.refresh_from_db()
    return bank


def bank_user(bank: Bank, **kwargs: Any) -> User:
    user = UserFactory.create(role="bank_staff", **kwargs)
    BankStaff.objects.create(user=user, bank=bank)
    return user


class BorrowerFactory(factory.django.DjangoModelFactory[Borrower]):
    class Meta:
        model = Borrower

    name = factory.Sequence(lambda n: f"Borrower {n}")
    birth_date = date(1985, 8, 17)
    sex = "F"
    nik = factory.LazyAttributeSequence(lambda o, n: synthetic_nik(o.birth_date, o.sex, n + 1))
    phone = factory.Sequence(lambda n: f"+62812{n:07d}")
    address = "Jl. Pemuda 1"
    kelurahan = factory.LazyFunction(lambda: Region.objects.get(code=DEMO_KELURAHAN))


class BusinessFactory(factory.django.DjangoModelFactory[Business]):
    class Meta:
        model = Business

    borrower = factory.SubFactory(BorrowerFactory)
    name = factory.Sequence(lambda n: f"Warung {n}")
    sector = Business.Sector.TRADE
    nib = factory.Sequence(lambda n: f"{9120000000000 + n}")
    started_on = date(2018, 1, 1)
    monthly_revenue = 15_000_000
    workers = 2


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = "WIBAWA"
    name = "Kredit Wibawa"


class ProductTermsFactory(factory.django.DjangoModelFactory[ProductTerms]):
    class Meta:
        model = ProductTerms

    product = factory.SubFactory(ProductFactory)
    version = 1
    annual_rate = "3"
    method = "flat"
    ceiling_without_collateral = 5_000_000
    ceiling_with_collateral = 50_000_000
    allowed_tenors = [6, 12, 18, 24, 36]
    valid_from = date(2017, 1, 1)


class ApplicationFactory(factory.django.DjangoModelFactory[Application]):
    """An application in ``draft``; move it on with the services."""

    class Meta:
        model = Application

    business = factory.SubFactory(BusinessFactory)
    borrower = factory.SelfAttribute("business.borrower")
    bank = factory.SubFactory(BankFactory)
    terms = factory.SubFactory(ProductTermsFactory)
    product = factory.SelfAttribute("terms.product")
    principal = 5_000_000
    tenor_months = 12
    collateral = False
    purpose = "Modal kerja"
    state_changed_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory, role="officer")


def loan_for(application: Application, **overrides: Any) -> Loan:
    """A disbursed loan (schedule ``pending``) for ``application``, with the terms of the
    application's product version copied in as disbursement does; ``overrides`` set any
    Loan field (e.g. ``method``, ``grace_months``, ``rounding``). Leaves the
    application's own state alone: for tests of what happens after disbursement."""
    terms = application.terms
    principal = overrides.pop("principal", application.principal)
    values: dict[str, Any] = {
        "application": application,
        "borrower": application.borrower,
        "bank": application.bank,
        "terms": terms,
        "contract_number": application.contract_number or f"KW-{application.pk}",
        "principal": principal,
        "annual_rate": terms.annual_rate,
        "method": terms.method,
        "tenor_months": application.tenor_months,
        "grace_months": terms.grace_months,
        "rounding": terms.rounding,
        "interest_rounding": terms.interest_rounding,
        "installment_rounding": terms.installment_rounding,
        "business_days": terms.business_days,
        "disbursed_on": date(2026, 1, 31),
        "outstanding_principal": principal,
    }
    values.update(overrides)
    return Loan.objects.create(**values)


#: Contract numbers of the applications serviced_loan approves.
_contract_numbers = itertools.count(1)


def serviced_loan(
    *,
    bank: Bank | None = None,
    terms: ProductTerms | None = None,
    principal: int = 5_000_000,
    tenor_months: int = 12,
    disbursed_on: date = date(2026, 1, 31),
    **overrides: Any,
) -> Loan:
    """A disbursed loan with its schedule stored (``ready``), as loan servicing sees it,
    made by the services: an application of ``principal`` over ``tenor_months`` at
    ``bank`` (a funded BPR by default) under ``terms`` (3% flat by default), paid out on
    ``disbursed_on`` by the bank's staff (``application_disburse``: the loan, the bank's
    ``disbursed`` counter, the event) and its schedule stored (``loan_schedules_store``).

    Only the application is made ``approved`` by hand (its workflow is tested in
    tests/loans/test_applications.py), without an approval date so that any past
    ``disbursed_on`` is accepted. ``overrides`` set other Loan fields by hand before the
    schedule is stored, for the edge states a test needs (a loan already overdue)."""
    from loans.services.applications import application_disburse
    from loans.services.schedules import loan_schedules_store

    bank = bank or funded_bank(f"B{Bank.objects.count() + 1}")
    terms = terms or ProductTerms.objects.filter(product__code="WIBAWA").order_by("version").first()
    terms = terms or ProductTermsFactory.create()
    application = ApplicationFactory.create(
        bank=bank,
        terms=terms,
        principal=principal,
        tenor_months=tenor_months,
        state=Application.State.APPROVED,
        contract_number=f"KW-S{next(_contract_numbers)}",
    )
    username = f"disburser-{bank.code.lower()}"
    staff = User.objects.filter(username=username).first() or bank_user(bank, username=username)
    application = application_disburse(actor=staff, application_id=application.pk, disbursed_on=disbursed_on)
    loan = Loan.objects.get(application=application)
    if overrides:
        Loan.objects.filter(pk=loan.pk).update(**overrides)
    loan_schedules_store(loan_ids=[loan.pk])
    loan.refresh_from_db()
    return loan


def restore_reference_data() -> None:
    """Put back what the migrations load (the role groups and the region master data)
    when an earlier transactional test's flush removed it. Idempotent; for
    ``django_db(transaction=True)`` tests, which run on a flushed database."""
    from borrowers.regions import DEFAULT_FILE, load_regions, read_regions
    from config.roles import Role

    for role in Role.values:
        Group.objects.get_or_create(name=role)
    if not Region.objects.filter(code=DEMO_KELURAHAN).exists():
        load_regions(Region, read_regions(DEFAULT_FILE))
    if not CollectibilityClass.objects.exists():
        CollectibilityClass.objects.bulk_create(
            CollectibilityClass(
                bank_kind=kind, grade=g.grade, name=g.name, min_days=g.min_days, provision_percent=g.provision_percent
            )
            for kind, rows in DEFAULT_TABLES.items()
            for g in rows
        )
    from reports.allowance import DEFAULT_ALLOWANCE
    from reports.models import AllowanceClass

    if not AllowanceClass.objects.exists():
        AllowanceClass.objects.bulk_create(
            AllowanceClass(
                position=row.position,
                name=row.name,
                grade_from=row.grade_from,
                grade_to=row.grade_to,
                percent=row.percent,
            )
            for row in DEFAULT_ALLOWANCE
        )
