"""``python manage.py seed_demo``: a demo programme for trying Wibawa out.

Creates the programme product (WIBAWA, 3% flat), the partner banks JATENG (commercial)
and PASAR (BPR) with allocations, demo users (password ``wibawa-demo``), four dozen
borrowers with valid synthetic NIKs spread over Semarang's kecamatan, and applications
in every state, some of them disbursed, all through the services (so every step is
checked and audited like real work).

Demo users are demo data: the command refuses to run unless DEBUG is on or
``--allow-production`` is given, and with ``--if-empty`` it does nothing when the
database already holds a product or a bank.
"""

from __future__ import annotations

import logging
import random
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from banks.models import Bank
from banks.services import allocation_create, bank_create, bank_staff_add
from borrowers.models import Borrower, Region
from borrowers.services import borrower_create, borrower_login_create
from config.clock import business_today
from loans.models import Application, Installment, Loan, Product
from loans.services import applications as workflow
from loans.services.products import product_create
from loans.services.repayments import RepaymentRequest, repayment_post
from loans.services.schedules import loan_schedules_store_pending

DEMO_PASSWORD = "wibawa-demo"  # noqa: S105 - demo data only, refused without DEBUG
LOGINS = [
    ("officer", "officer", "city office (Dinas Koperasi dan Usaha Mikro)"),
    ("officer2", "officer", "city office, a second officer (maker-checker)"),
    ("jateng", "bank_staff", "Bank Jateng staff"),
    ("jateng2", "bank_staff", "Bank Jateng staff, a second approver"),
    ("pasar", "bank_staff", "BPR Bank Pasar staff"),
    ("pasar2", "bank_staff", "BPR Bank Pasar staff, a second approver"),
    ("manager", "manager", "programme manager, also the back office (Django admin at /admin/)"),
    ("auditor", "auditor", "auditor (read-only)"),
    ("borrower", "borrower", "a borrower with a disbursed loan at PASAR"),
]
#: The apps whose models the back office (the Django admin) shows: user accounts and
#: tokens, and the programme's own. The admin pages keep the ledgers and the audit trail
#: read-only whatever the permissions.
BACK_OFFICE_APPS = ("auth", "authtoken", "borrowers", "banks", "loans", "audit")
FIRST_NAMES = {
    "F": ["Siti", "Sri", "Dewi", "Rina", "Wulan", "Lestari", "Ani", "Yuni", "Endang", "Tri", "Nur", "Ratna"],
    "M": ["Budi", "Agus", "Joko", "Slamet", "Hadi", "Eko", "Bambang", "Yusuf", "Rudi", "Wahyu", "Andi", "Teguh"],
}
LAST_NAMES = ["Santoso", "Wibowo", "Rahayu", "Setiawan", "Purnomo", "Lestari", "Hidayat", "Susanti", "Prasetyo"]
BUSINESSES = [
    ("trade", "Toko kelontong"),
    ("trade", "Warung sembako"),
    ("trade", "Kios pulsa"),
    ("food", "Warung makan"),
    ("food", "Bandeng presto"),
    ("food", "Lumpia"),
    ("services", "Penjahit"),
    ("services", "Bengkel motor"),
    ("craft", "Batik Semarangan"),
    ("manufacturing", "Tahu tempe"),
]
#: How many demo applications end in each state (the rest of the 48 are disbursed).
STATE_COUNTS = {
    "draft": 4,
    "submitted": 5,
    "field_verified": 4,
    "forwarded": 5,
    "credit_checked": 4,
    "approved": 4,
    "rejected": 3,
    "withdrawn": 2,
}
BORROWERS = 48


class Command(BaseCommand):
    help = "Seed a demo programme: product, banks, users (password wibawa-demo), borrowers and applications."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if a product or bank exists.")
        parser.add_argument(
            "--allow-production", action="store_true", help="Run even with DEBUG off (demo users are insecure)."
        )
        parser.add_argument("--seed", type=int, default=2017, help="Random seed (default 2017).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError("seed_demo creates demo users with a known password: run it with DEBUG=1 only.")
        if Product.objects.exists() or Bank.objects.exists():
            if options["if_empty"]:
                self.stdout.write("The database already holds a programme; demo data not seeded.")
                self._print_logins()
                return
            raise CommandError("The database already holds a programme; seed_demo only fills an empty one.")
        # Without a broker the schedule tasks run in-process: keep their log lines out of the way.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        self._seed(random.Random(options["seed"]))  # noqa: S311 - reproducible demo data, not secrets
        self._print_logins()

    def _print_logins(self) -> None:
        if not User.objects.filter(username="officer").exists():
            return
        self.stdout.write("\n  Demo logins (password: wibawa-demo):")
        for username, _role, description in LOGINS:
            self.stdout.write(f"    {username:<9} {description}")
        self.stdout.write("")

    @transaction.atomic
    def _seed(self, rng: random.Random) -> None:
        users = {}
        for username, role, _description in LOGINS:
            if role == "borrower":
                continue
            user = User.objects.create_user(username=username, password=DEMO_PASSWORD)
            if role != "bank_staff":
                user.groups.add(Group.objects.get(name=role))
            users[username] = user
        manager = users["manager"]
        # The demo's back office: staff, not superuser, with the permissions of the admin's
        # pages (users, bank staff, products, banks, allocations; the rest to read).
        manager.is_staff = True
        manager.save(update_fields=["is_staff"])
        manager.user_permissions.set(Permission.objects.filter(content_type__app_label__in=BACK_OFFICE_APPS))
        today = business_today()
        product_create(
            actor=manager,
            code="WIBAWA",
            name="Kredit Wibawa",
            terms={
                "annual_rate": "3",
                "method": "flat",
                "ceiling_without_collateral": 5_000_000,
                "ceiling_with_collateral": 50_000_000,
                "allowed_tenors": [6, 12, 18, 24, 36],
                "valid_from": date(2017, 1, 1),
            },
        )
        jateng = bank_create(actor=manager, code="JATENG", name="Bank Jateng", kind=Bank.Kind.COMMERCIAL)
        pasar = bank_create(actor=manager, code="PASAR", name="BPR Bank Pasar Kota Semarang", kind=Bank.Kind.BPR)
        allocation_create(actor=manager, bank=jateng, year=today.year, amount=3_000_000_000, note="APBD")
        allocation_create(actor=manager, bank=pasar, year=today.year, amount=5_000_000_000, note="APBD")
        for username in ("jateng", "jateng2"):
            bank_staff_add(bank=jateng, user=users[username])
        for username in ("pasar", "pasar2"):
            bank_staff_add(bank=pasar, user=users[username])

        borrowers = self._borrowers(rng, users["officer"], today)
        states = [state for state, count in STATE_COUNTS.items() for _ in range(count)]
        states += ["disbursed"] * (len(borrowers) - len(states))
        rng.shuffle(states)
        # The demo borrower login: the first borrower, with a loan disbursed at PASAR.
        states[states.index("disbursed")], states[0] = states[0], "disbursed"
        banks = {"JATENG": jateng, "PASAR": pasar}
        staff = {"JATENG": (users["jateng"], users["jateng2"]), "PASAR": (users["pasar"], users["pasar2"])}
        for index, (borrower, state) in enumerate(zip(borrowers, states, strict=True)):
            code = "PASAR" if index == 0 or rng.random() < 0.7 else "JATENG"
            collateral = rng.random() < 0.2
            principal = (
                rng.choice([10, 20, 25, 30, 40, 50]) * 1_000_000 if collateral else rng.choice([2, 3, 4, 5]) * 1_000_000
            )
            self._application(
                borrower=borrower,
                bank=banks[code],
                staff=staff[code],
                officers=(users["officer"], users["officer2"]),
                state=state,
                principal=principal,
                tenor=rng.choice([12, 18, 24, 36]) if collateral else rng.choice([6, 12, 18, 24]),
                collateral=collateral,
                number=index + 1,
                today=today,
            )
        borrower_login_create(borrower=borrowers[0], username="borrower", password=DEMO_PASSWORD)
        self._repayments(staff, today)
        self.stdout.write(
            f"Seeded: 1 product, 2 banks, {len(borrowers)} borrowers, "
            f"{Application.objects.count()} applications "
            f"({Application.objects.filter(state='disbursed').count()} disbursed)."
        )

    def _repayments(self, staff: dict[str, tuple[User, User]], today: date) -> None:
        """Some borrowers pay their first installment ahead, on the day (the demo's
        loans are all disbursed today), through the repayment service. Schedules a
        worker has not stored yet are stored here first."""
        loan_schedules_store_pending()
        for loan in Loan.objects.select_related("bank").order_by("pk")[:6]:
            first = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number")[0]
            repayment_post(
                actor=staff[loan.bank.code][0],
                loan_id=loan.pk,
                request=RepaymentRequest(
                    amount=first.installment, paid_on=today, channel="transfer", reference=f"DEMO-{loan.pk:04d}"
                ),
            )

    def _borrowers(self, rng: random.Random, officer: User, today: date) -> list[Borrower]:
        districts = list(Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"))
        villages: dict[str, list[Region]] = {}
        for village in Region.objects.filter(level=Region.Level.VILLAGE).order_by("code"):
            villages.setdefault(village.parent_id or "", []).append(village)
        borrowers = []
        for index in range(BORROWERS):
            district = districts[index % len(districts)]
            kelurahan = rng.choice(villages[district.code])
            sex = rng.choice("MF")
            born = date(rng.randint(1962, 2000), rng.randint(1, 12), rng.randint(1, 28))
            day = born.day + (40 if sex == "F" else 0)
            nik = f"3374{district.code[-2:]}{day:02d}{born:%m%y}{index + 1:04d}"
            sector, kind = rng.choice(BUSINESSES)
            name = f"{rng.choice(FIRST_NAMES[sex])} {rng.choice(LAST_NAMES)}"
            borrowers.append(
                borrower_create(
                    actor=officer,
                    nik=nik,
                    name=name,
                    birth_date=born,
                    sex=sex,
                    phone=f"+62812{rng.randint(1000000, 99999999)}",
                    address=f"Jl. {kelurahan.name} No. {rng.randint(1, 120)}",
                    kelurahan_code=kelurahan.code,
                    business={
                        "name": f"{kind} {name.split()[0]}",
                        "sector": sector,
                        "nib": f"{rng.randint(10**12, 10**13 - 1)}",
                        "started_on": today - timedelta(days=rng.randint(3 * 365, 15 * 365)),
                        "monthly_revenue": rng.randint(30, 400) * 100_000,
                        "workers": rng.randint(1, 6),
                    },
                )
            )
        return borrowers

    def _application(
        self,
        *,
        borrower: Borrower,
        bank: Bank,
        staff: tuple[User, User],
        officers: tuple[User, User],
        state: str,
        principal: int,
        tenor: int,
        collateral: bool,
        number: int,
        today: date,
    ) -> None:
        officer, officer2 = officers
        application = workflow.application_create(
            actor=officer,
            borrower=borrower,
            bank=bank,
            principal=principal,
            tenor_months=tenor,
            collateral=collateral,
            purpose="Modal kerja",
        )
        pk = application.pk
        path = [
            ("submitted", lambda: workflow.application_submit(actor=officer, application_id=pk)),
            (
                "field_verified",
                lambda: workflow.application_field_verify(
                    actor=officer2, application_id=pk, visited_on=today, notes="Usaha berjalan, stok cukup."
                ),
            ),
            ("forwarded", lambda: workflow.application_forward(actor=officer, application_id=pk)),
            (
                "credit_checked",
                lambda: workflow.application_credit_check(
                    actor=staff[0], application_id=pk, result="clean", notes="SLIK bersih"
                ),
            ),
            (
                "approved",
                lambda: workflow.application_approve(
                    actor=staff[1], application_id=pk, contract_number=f"{bank.code}/KW/{today.year}/{number:04d}"
                ),
            ),
            ("disbursed", lambda: workflow.application_disburse(actor=staff[0], application_id=pk, disbursed_on=today)),
        ]
        target = {"rejected": "forwarded", "withdrawn": "submitted"}.get(state, state)
        for step_state, step in path:
            if application.state == target:
                break
            application = step()
            if application.state != step_state:
                raise CommandError(f"application {pk} is {application.state}, expected {step_state}")
        if state == "rejected":
            workflow.application_reject(actor=staff[0], application_id=pk, reason="Ada tunggakan di bank lain (SLIK).")
        elif state == "withdrawn":
            workflow.application_withdraw(actor=officer, application_id=pk, reason="Pemohon membatalkan.")
