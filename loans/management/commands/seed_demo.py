"""``python manage.py seed_demo``: a demo programme with history, for trying Wibawa out.

Creates the programme product (WIBAWA, 3% flat), the partner banks JATENG (commercial)
and PASAR (BPR) with yearly allocations, demo users (password ``wibawa-demo``),
borrowers with valid synthetic NIKs spread over Semarang's kecamatan, and ``--months``
months (default 24) of the programme's life up to yesterday: applications in every
state, loans disbursed month by month at both banks and repaid on time, late, early or
not at all, a deferral, a write-off with a recovery, and the nightly close of every
business date of the last ``--daily-months`` months (default 3) and of every month end
before (see :mod:`loans.management.demo_history`). Everything goes through the
services with the programme's clock set to the day it happens, so every step is
checked and audited like real work, and the figures (arrears, classes, snapshots,
fund days) are the ones the close would have made. Each month seeded prints a line.

Demo users are demo data: the command refuses to run unless DEBUG is on or
``--allow-production`` is given, and with ``--if-empty`` it does nothing when the
database already holds a product or a bank.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from banks.models import Bank
from banks.services import bank_create, bank_staff_add
from borrowers.models import Borrower, Region
from borrowers.services import borrower_create, borrower_login_create
from config.clock import business_date_fixed, business_today
from loans.management.demo_history import Cast, Counts, History, HistoryRun, moments_follow_business_date, plan_history
from loans.models import Application, Loan, Product
from loans.services.products import product_create

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
#: Months of history (to yesterday) and new applications a month, about, by default:
#: about 270 loans, 3,000 repayments and 730 nightly closes.
MONTHS = 24
PER_MONTH = 5
DAILY_MONTHS = 3


class Command(BaseCommand):
    help = (
        "Seed a demo programme with months of history: product, banks, users (password wibawa-demo), "
        "borrowers, applications, loans, repayments and the nightly close of every day."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if a product or bank exists.")
        parser.add_argument(
            "--allow-production", action="store_true", help="Run even with DEBUG off (demo users are insecure)."
        )
        parser.add_argument("--seed", type=int, default=2017, help="Random seed (default 2017).")
        parser.add_argument(
            "--months", type=int, default=MONTHS, help=f"Months of history up to yesterday (default {MONTHS})."
        )
        parser.add_argument(
            "--daily-months",
            type=int,
            default=DAILY_MONTHS,
            help=f"Close every business date of the last N months, only month ends before (default {DAILY_MONTHS}).",
        )
        parser.add_argument(
            "--per-month",
            type=int,
            default=PER_MONTH,
            help=f"New applications a month, about (default {PER_MONTH}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError("seed_demo creates demo users with a known password: run it with DEBUG=1 only.")
        if Product.objects.exists() or Bank.objects.exists():
            if options["if_empty"]:
                self.stdout.write("The database already holds a programme; demo data not seeded.")
                self._print_logins()
                return
            raise CommandError("The database already holds a programme; seed_demo only fills an empty one.")
        if options["months"] < 1 or options["per_month"] < 1:
            raise CommandError("--months and --per-month must be at least 1.")
        # Without a broker the schedule tasks run in-process: keep their log lines out of the way.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        rng = random.Random(options["seed"])  # noqa: S311 - reproducible demo data, not secrets
        clock = time.perf_counter()
        history = plan_history(
            rng,
            months=options["months"],
            end=business_today() - timedelta(days=1),
            per_month=options["per_month"],
            daily_months=options["daily_months"],
        )
        self.stdout.write(
            f"Seeding a demo programme: {options['months']} months of history "
            f"({history.start} to {history.end}), {len(history.plans)} applications..."
        )
        with moments_follow_business_date(), business_date_fixed(history.start):
            try:
                counts = self._seed(rng, history)
            except Exception:
                self.stderr.write(
                    f"Seeding stopped at {business_today()}: the database holds part of a programme. "
                    "Empty it (python manage.py flush) before seeding again."
                )
                raise
        self.stdout.write(
            f"Seeded: 1 product, 2 banks, {history.borrowers} borrowers, {counts.applications} applications "
            f"({Application.objects.filter(state='disbursed').count()} disbursed), {counts.repayments} repayments, "
            f"{counts.closes} business dates closed, in {time.perf_counter() - clock:.1f} s "
            f"({', '.join(f'{work} {seconds:.1f} s' for work, seconds in counts.seconds.items())})."
        )
        self._print_logins()

    def _print_logins(self) -> None:
        if not User.objects.filter(username="officer").exists():
            return
        self.stdout.write("\n  Demo logins (password: wibawa-demo):")
        for username, _role, description in LOGINS:
            self.stdout.write(f"    {username:<9} {description}")
        self.stdout.write("")

    def _seed(self, rng: random.Random, history: History) -> Counts:
        with transaction.atomic():
            cast, borrowers = self._cast(rng, history)
        run = HistoryRun(history, rng=rng, cast=cast, borrowers=borrowers, write=self.stdout.write)
        run.run()
        # The demo borrower login: a borrower paying a loan at PASAR on time.
        loan = (
            Loan.objects.filter(bank=cast.banks["PASAR"], status=Loan.Status.ACTIVE, days_past_due=0)
            .order_by("-disbursed_on", "-pk")
            .first()
        )
        if loan is not None:
            borrower_login_create(borrower=loan.borrower, username="borrower", password=DEMO_PASSWORD)
        return run.counts

    def _cast(self, rng: random.Random, history: History) -> tuple[Cast, list[Borrower]]:
        """The users, the product, the banks and the borrowers, on the first day."""
        users = {}
        password = make_password(DEMO_PASSWORD)  # hashed once: each hashing takes a good fraction of a second
        for username, role, _description in LOGINS:
            if role == "borrower":
                continue
            user = User.objects.create_user(username=username)
            user.password = password
            user.save(update_fields=["password"])
            if role != "bank_staff":
                user.groups.add(Group.objects.get(name=role))
            users[username] = user
        manager = users["manager"]
        # The demo's back office: staff, not superuser, with the permissions of the admin's
        # pages (users, bank staff, products, banks, allocations; the rest to read).
        manager.is_staff = True
        manager.save(update_fields=["is_staff"])
        manager.user_permissions.set(Permission.objects.filter(content_type__app_label__in=BACK_OFFICE_APPS))
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
        for username in ("jateng", "jateng2"):
            bank_staff_add(bank=jateng, user=users[username])
        for username in ("pasar", "pasar2"):
            bank_staff_add(bank=pasar, user=users[username])
        borrowers = self._borrowers(rng, users["officer"], history.borrowers, business_today())
        cast = Cast(
            officers=(users["officer"], users["officer2"]),
            manager=manager,
            staff={"JATENG": (users["jateng"], users["jateng2"]), "PASAR": (users["pasar"], users["pasar2"])},
            banks={"JATENG": jateng, "PASAR": pasar},
        )
        return cast, borrowers

    def _borrowers(self, rng: random.Random, officer: User, count: int, today: date) -> list[Borrower]:
        districts = list(Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"))
        villages: dict[str, list[Region]] = {}
        for village in Region.objects.filter(level=Region.Level.VILLAGE).order_by("code"):
            villages.setdefault(village.parent_id or "", []).append(village)
        borrowers = []
        for index in range(count):
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
