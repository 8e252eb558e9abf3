"""The demo programme's history: ``months`` months of applications, disbursements,
repayments, a deferral, a write-off with its recovery and the nightly close of every
business date, all through the services, with the programme's clock moved forward day
by day so every rule applies as it would have.

**The plan** (:func:`plan_history`, no database, from a seeded ``random.Random``):
every application with its borrower, bank, principal and tenor, the date of each step
of its way (created, submitted, visited, forwarded, credit-checked, approved, disbursed,
or ended rejected or withdrawn) and, for a loan, how its borrower pays:

* ``on_time``: each installment on its due date or up to 5 days before (most loans);
* ``ahead``: every other month, two installments at once, on the first one's due date
  or up to 5 days before;
* ``late``: each installment 5 to 25 days after its due date (class 2 at the
  commercial bank while unpaid, still class 1 at the BPR, whose Lancar allows 30 days);
* ``catch_up``: misses two installments, then pays all three on the third one's date;
* ``stop``: pays on time until one due date and nothing after, the date chosen so that
  the days past due at the end fall in a class's range (:data:`STOP_TARGETS`: every
  class 2 to 5 at both banks);
* ``early``: pays a few installments, then the pay-off amount;
* ``deferral``: one loan whose bank asks for a 3-month deferral of principal and
  interest, which the city office approves; it pays its new schedule on time;
* ``write_off``: one loan that stops after two installments, is written off by the
  manager once in class 5 and later brings a recovery.

Borrowers who paid a loan off on time come back for a second one (repeat borrowers,
up to twice the first principal, the programme's rule). The last weeks hold
applications waiting in every state.

**The run** (:class:`HistoryRun`): for each business date D from the first day of the
first month to yesterday, with ``business_today()`` = D, in one transaction: the
application steps of D (one service call each), the disbursements of D (one
``applications_disburse`` batch per bank, then the vectorised schedule store for the
batch), the repayments dated D (``repayment_post``), the deferral and write-off steps;
then, with ``business_today()`` = D + 1, the nightly close of D (``close_business_date``,
what the nightly task runs: the loans' figures, a snapshot per loan and a fund day per
bank) for every date of the last ``daily_months`` months and for every month end before
(every date of 24 months would be 730 closes, most of the seed's time; the figures of a
date do not depend on which dates before it were closed, as the product charges no
penalty). Moments (audit rows, workflow times, allocations) follow the business date
too (:func:`moments_follow_business_date`), so an application submitted in March 2025
says so.
"""

from __future__ import annotations

import calendar
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from banks.models import Bank
from banks.services import allocation_create
from borrowers.models import Borrower
from config.clock import BUSINESS_TIME_ZONE, business_today, business_today_set
from loans.dates import add_months, due_dates
from loans.models import Deferral, Installment, Loan, Repayment
from loans.services import applications as workflow
from loans.services.close import close_business_date
from loans.services.deferrals import deferral_approve, deferral_request
from loans.services.repayments import RepaymentRequest, loan_payoff_quote, repayment_post
from loans.services.schedules import loan_schedules_store
from loans.services.write_off import loan_write_off

#: (class, fewest, most days past due at the end) of the loans that stop paying, one
#: of each at each bank. Class 2 is 31-90 days at a BPR and 1-90 at a commercial bank,
#: 3 is 91-120, 4 is 121-180, 5 over 180 at both.
STOP_TARGETS: tuple[tuple[int, int, int], ...] = (
    (2, 40, 75),
    (2, 50, 85),
    (3, 93, 118),
    (4, 125, 175),
    (5, 190, 260),
    (5, 280, 480),
)
#: Shares of the new applications the bank or the office rejects and the applicant withdraws.
REJECTED_SHARE = 0.07
WITHDRAWN_SHARE = 0.04
#: Shares of the disbursed loans paying late every month, catching up once, paying off
#: early, or paying two installments at a time ahead (the rest pay on time, apart from
#: the stopped ones, the deferral and the write-off).
LATE_SHARE = 0.06
CATCH_UP_SHARE = 0.05
EARLY_SHARE = 0.06
AHEAD_SHARE = 0.3
#: A borrower whose loan is paid off applies again with this probability.
REPEAT_SHARE = 0.35
#: The applications waiting at the end, by the state they wait in.
PIPELINE = {"draft": 2, "submitted": 3, "field_verified": 3, "forwarded": 3, "credit_checked": 3, "approved": 3}
#: The steps of an application's way in order, each with the fewest and most days after
#: the step before.
STEPS: tuple[tuple[str, int, int], ...] = (
    ("submit", 0, 2),
    ("field_verify", 2, 7),
    ("forward", 1, 4),
    ("credit_check", 2, 10),
    ("approve", 1, 5),
    ("disburse", 1, 6),
)
#: The last step of an application that waits in each state (None: not even submitted).
LAST_STEP = {
    "draft": None,
    "submitted": "submit",
    "field_verified": "field_verify",
    "forwarded": "forward",
    "credit_checked": "credit_check",
    "approved": "approve",
}
REJECTIONS = {
    "field_verify": ("officer", "Usaha belum berjalan di alamat yang didaftarkan."),
    "credit_check": ("bank", "Ada tunggakan di bank lain (SLIK OJK)."),
}
BANK_SHARE = {"PASAR": 0.6, "JATENG": 0.4}
#: Allocations (rupiah): the first year's and each later January's, per bank.
ALLOCATION_FIRST = {"JATENG": 400_000_000, "PASAR": 600_000_000}
ALLOCATION_YEARLY = {"JATENG": 200_000_000, "PASAR": 300_000_000}
#: The deferral: months, and the write-off: days after the first missed due date (then
#: the next month's first day), the recovery's days after the write-off and its share of
#: the principal written off.
DEFERRAL_MONTHS = 3
WRITE_OFF_AFTER_DAYS = 195
RECOVERY_AFTER_DAYS = 45
RECOVERY_PERCENT = 30


def first_of_month_before(day: date, months: int) -> date:
    """The first day of the month ``months`` months before ``day``'s month."""
    return add_months(day.replace(day=1), -months)


@dataclass
class Plan:
    """One application and, when it is disbursed, how its loan is paid."""

    number: int
    borrower: int
    bank: str
    principal: int
    tenor: int
    collateral: bool
    steps: list[tuple[date, str]]
    behaviour: str = "on_time"
    late_days: int = 0
    stop_due: date | None = None
    #: ``early``: installments paid before the pay-off; ``catch_up``: the first one missed.
    index: int = 0
    repeat_of: int | None = None

    @property
    def disbursed_on(self) -> date | None:
        return next((day for day, step in self.steps if step == "disburse"), None)

    @property
    def created_on(self) -> date:
        return self.steps[0][0]

    def due_dates(self) -> tuple[date, ...]:
        """The due dates its loan will have (the schedule engine's, for WIBAWA's terms)."""
        disbursed = self.disbursed_on
        return due_dates(disbursed, None, self.tenor, False) if disbursed else ()

    def paid_off_on(self) -> date | None:
        """The latest day an on-time or early loan is paid off (None for the others)."""
        dues = self.due_dates()
        if not dues:
            return None
        if self.behaviour in ("on_time", "ahead"):
            return dues[-1]
        if self.behaviour == "early":
            return dues[self.index - 1] + timedelta(days=10)
        return None


@dataclass
class History:
    """The plan: business dates ``start`` to ``end`` (the last one closed), every one
    of them closed from ``daily_from`` on, only month ends before."""

    start: date
    end: date
    daily_from: date
    plans: list[Plan]
    borrowers: int

    def closes_on(self, day: date) -> bool:
        """Whether the run closes ``day``: every day from ``daily_from``, else month ends."""
        return day >= self.daily_from or (day + timedelta(days=1)).day == 1 or day == self.end


def _terms(rng: random.Random, collateral: bool) -> tuple[int, int]:
    if collateral:
        return rng.choice([10, 15, 20, 25, 30, 40, 50]) * 1_000_000, rng.choice([12, 18, 24, 36])
    return rng.choice([2, 3, 3, 4, 5, 5]) * 1_000_000, rng.choice([6, 6, 12, 12, 18])


def _way(rng: random.Random, created: date, last_step: str | None) -> list[tuple[date, str]]:
    """The steps of an application created on ``created`` up to ``last_step`` (all of
    them, to the disbursement, when it is ``"disburse"``)."""
    steps = [(created, "create")]
    if last_step is None:
        return steps
    day = created
    for step, fewest, most in STEPS:
        day += timedelta(days=rng.randint(fewest, most))
        steps.append((day, step))
        if step == last_step:
            break
    return steps


def _bank(rng: random.Random) -> str:
    return "PASAR" if rng.random() < BANK_SHARE["PASAR"] else "JATENG"


def plan_history(rng: random.Random, *, months: int, end: date, per_month: int, daily_months: int) -> History:
    """The plan of ``months`` months of history up to ``end`` (the last business date
    the run closes), about ``per_month`` new applications a month, every date of the
    last ``daily_months`` months closed (the month ends before)."""
    start = first_of_month_before(end + timedelta(days=1), months)
    daily_from = max(first_of_month_before(end + timedelta(days=1), daily_months), start)
    plans: list[Plan] = []

    def add(bank: str, collateral: bool, steps: list[tuple[date, str]]) -> None:
        principal, tenor = _terms(rng, collateral)
        plans.append(Plan(len(plans) + 1, len(plans), bank, principal, tenor, collateral, steps))

    month = start
    while month <= end:
        days = calendar.monthrange(month.year, month.month)[1]
        for _ in range(max(per_month + rng.randint(-2, 2), 1)):
            created = month + timedelta(days=rng.randrange(days))
            if created > end - timedelta(days=28):
                continue  # the last weeks are the pipeline's
            roll = rng.random()
            if len(plans) < len(BANK_SHARE):  # the first loans: one at each bank, however short the history
                add(sorted(BANK_SHARE)[len(plans)], False, _way(rng, created, "disburse"))
                continue
            if roll < REJECTED_SHARE:
                at = rng.choice(list(REJECTIONS))
                steps = _way(rng, created, at)
                steps.append((steps[-1][0] + timedelta(days=rng.randint(1, 5)), f"reject_{at}"))
            elif roll < REJECTED_SHARE + WITHDRAWN_SHARE:
                steps = _way(rng, created, "submit")
                steps.append((steps[-1][0] + timedelta(days=rng.randint(1, 10)), "withdraw"))
            else:
                steps = _way(rng, created, "disburse")
            add(_bank(rng), rng.random() < 0.2, steps)
        month = add_months(month, 1)
    for state, count in PIPELINE.items():
        for _ in range(count):
            created = end - timedelta(days=rng.randint(12, 20))
            steps = [(min(day, end), step) for day, step in _way(rng, created, LAST_STEP[state])]
            add(_bank(rng), rng.random() < 0.2, steps)
    history = History(start=start, end=end, daily_from=daily_from, plans=plans, borrowers=0)
    _assign_behaviours(rng, history)
    _assign_repeats(rng, history)
    return history


def _assign_behaviours(rng: random.Random, history: History) -> None:
    end = history.end
    loans = [plan for plan in history.plans if plan.disbursed_on and plan.disbursed_on <= end]
    free = list(loans)

    def take(plan: Plan, behaviour: str) -> None:
        plan.behaviour = behaviour
        free.remove(plan)

    # The write-off: class 5 (over 180 days) with room for the recovery before the end.
    candidates = [
        p
        for p in free
        if p.tenor >= 12 and _written_off_on(p.due_dates()[2]) + timedelta(days=RECOVERY_AFTER_DAYS + 15) <= end
    ]
    if candidates:
        plan = rng.choice(candidates)
        take(plan, "write_off")
        plan.stop_due = plan.due_dates()[2]
    # The deferral: asked before the fourth installment, still running at the end.
    candidates = [p for p in free if p.tenor >= 12 and p.due_dates()[3] + timedelta(days=60) <= end]
    candidates = [p for p in candidates if p.due_dates()[-1] > end] or candidates
    if candidates:
        take(rng.choice(candidates), "deferral")
    # The loans that stop paying: one per class range and bank.
    for bank in ("JATENG", "PASAR"):
        for _grade, fewest, most in STOP_TARGETS:
            options = [
                (p, due) for p in free if p.bank == bank for due in p.due_dates() if fewest <= (end - due).days <= most
            ]
            if options:
                plan, due = rng.choice(options)
                take(plan, "stop")
                plan.stop_due = due
    for plan in list(free):
        roll = rng.random()
        tenor = plan.tenor
        if roll < LATE_SHARE:
            take(plan, "late")
            plan.late_days = rng.randint(5, 25)
        elif roll < LATE_SHARE + CATCH_UP_SHARE:
            take(plan, "catch_up")
            plan.index = rng.randint(0, tenor - 3)
        elif roll < LATE_SHARE + CATCH_UP_SHARE + EARLY_SHARE:
            take(plan, "early")
            plan.index = rng.randint(2, max(tenor // 2, 2))
        elif roll < LATE_SHARE + CATCH_UP_SHARE + EARLY_SHARE + AHEAD_SHARE:
            take(plan, "ahead")


def _written_off_on(first_missed: date) -> date:
    """The day the write-off loan is written off: the first day of the month after
    ``WRITE_OFF_AFTER_DAYS`` days past its first missed due date, so the close before
    (a month end is always closed) found it in class 5."""
    day = first_missed + timedelta(days=WRITE_OFF_AFTER_DAYS)
    return add_months(day.replace(day=1), 1)


def _assign_repeats(rng: random.Random, history: History) -> None:
    """Some applications are a second loan of a borrower whose last loan was paid off
    (on time or early) at least a week before; the others get borrowers of their own."""
    latest: dict[int, Plan] = {}  # a borrower's first application's number -> their latest
    first_of: dict[int, int] = {}  # an application's number -> its borrower's first one's
    for plan in sorted(history.plans, key=lambda p: (p.created_on, p.number)):
        sources = [
            earlier
            for earlier in latest.values()
            if (paid_off := earlier.paid_off_on()) is not None
            and paid_off + timedelta(days=7) <= plan.created_on
            and earlier.disbursed_on is not None
            and earlier.disbursed_on <= history.end
        ]
        if sources and rng.random() < REPEAT_SHARE:
            earlier = rng.choice(sources)
            plan.repeat_of = earlier.number
            plan.principal = min(plan.principal, 2 * earlier.principal)
            first_of[plan.number] = first_of[earlier.number]
        else:
            first_of[plan.number] = plan.number
        latest[first_of[plan.number]] = plan
    # Borrowers numbered in the order of their first application.
    numbers: dict[int, int] = {}
    for plan in history.plans:
        plan.borrower = numbers.setdefault(first_of[plan.number], len(numbers))
    history.borrowers = len(numbers)


#: The tables the history fills, whose planner statistics are renewed as they grow.
GROWING_TABLES = (
    "loans_application",
    "loans_loan",
    "loans_installment",
    "loans_repayment",
    "loans_repaymentallocation",
    "loans_loansnapshot",
    "loans_fundday",
    "loans_closerun",
    "audit_auditentry",
)


def _analyze() -> None:
    """On PostgreSQL, renew the planner's statistics of the tables the seed fills, once a
    month of history. Autovacuum analyses a table only a while after it grew (and never
    inside a test's transaction): without this the planner kept taking the tables for
    empty and chose plans that grow with the square of the rows (the close of a date
    late in the history took 0.5 s instead of 0.05 s)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(GROWING_TABLES)}")


# --- moments --------------------------------------------------------------------------------


@contextmanager
def moments_follow_business_date() -> Iterator[None]:
    """Within the block Django's ``timezone.now()`` (audit rows, workflow moments,
    ``auto_now_add``) is the business date's morning, 08:00 Asia/Jakarta plus the real
    time spent since that date was reached (so moments keep their order), never later
    than the real moment. Only for seeding a history: every service takes its dates
    from ``business_today()`` and its moments from ``timezone.now()``."""
    real_now: Callable[[], datetime] = timezone.now
    reached: dict[date, float] = {}

    def now() -> datetime:
        day = business_today()
        started = reached.setdefault(day, time.monotonic())
        morning = datetime.combine(day, clock_time(8), tzinfo=BUSINESS_TIME_ZONE)
        return min(morning + timedelta(seconds=time.monotonic() - started), real_now())

    timezone.now = now
    try:
        yield
    finally:
        timezone.now = real_now


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Cast:
    """Who does what in the demo."""

    officers: tuple[User, User]
    manager: User
    staff: dict[str, tuple[User, User]]
    banks: dict[str, Bank]


@dataclass(order=True)
class Event:
    """A loan event on a day: a repayment (``through`` a due date, the ``payoff`` or a
    ``recovery``) or a ``defer`` / ``approve_deferral`` / ``write_off`` step."""

    loan_id: int
    kind: str = field(compare=False)
    due: date | None = field(default=None, compare=False)
    generation: int = field(default=0, compare=False)
    deferral_id: int = field(default=0, compare=False)


@dataclass
class Counts:
    """What the run did, and the seconds it spent on each kind of work."""

    applications: int = 0
    loans: int = 0
    repayments: int = 0
    closes: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def timed(self, work: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[work] += time.perf_counter() - started


class HistoryRun:
    """Runs a :class:`History` through the services (see the module's docstring)."""

    def __init__(
        self,
        history: History,
        *,
        rng: random.Random,
        cast: Cast,
        borrowers: list[Borrower],
        write: Callable[[str], None],
    ) -> None:
        self.history = history
        self.rng = rng
        self.cast = cast
        self.borrowers = borrowers
        self.write = write
        self.steps: dict[date, list[tuple[Plan, str]]] = defaultdict(list)
        for plan in history.plans:
            for day, step in plan.steps:
                self.steps[day].append((plan, step))
        self.events: dict[date, list[Event]] = defaultdict(list)
        self.application_ids: dict[int, int] = {}
        self.plan_of_loan: dict[int, Plan] = {}
        self.generation: dict[int, int] = defaultdict(int)
        self.counts = Counts()

    def run(self) -> None:
        """Run the history, a transaction per business date (the close in its own, as
        the nightly task runs it). Raises what a service raises: the dates before stay."""
        history = self.history
        clock = time.perf_counter()
        months = (history.end.year - history.start.year) * 12 + history.end.month - history.start.month + 1
        month_number = 1
        close_log = logging.getLogger("loans.services.close.runs")
        close_level = close_log.level
        close_log.setLevel(logging.WARNING)  # one line a night is too many for a seed
        papers = settings.REPORTS_AUTO_PAPERS
        settings.REPORTS_AUTO_PAPERS = False  # no receipt per historical repayment
        try:
            day = history.start
            while day <= history.end:
                business_today_set(day)
                # A transaction a day, as the services' work would commit: one transaction
                # for the whole seed would hold thousands of savepoints, and PostgreSQL
                # slows every statement once a transaction has more than 64 of them.
                with transaction.atomic():
                    if day == history.start or (day.month == 1 and day.day == 2):
                        self._allocate(day, first=day == history.start)
                    with self.counts.timed("applications"):
                        self._application_steps(day)
                    with self.counts.timed("loan events"):
                        self._loan_events(day)
                following = day + timedelta(days=1)
                if history.closes_on(day):
                    business_today_set(following)
                    with self.counts.timed("closes"):
                        close_business_date(business_date=day)
                    self.counts.closes += 1
                if following.month != day.month or day == history.end:
                    _analyze()
                    self.write(
                        f"  month {month_number}/{months} ({day:%Y-%m}): {self.counts.applications} applications, "
                        f"{self.counts.loans} loans, {self.counts.repayments} repayments, "
                        f"closed through {day} [{time.perf_counter() - clock:.1f} s]"
                    )
                    month_number += 1
                day = following
        finally:
            settings.REPORTS_AUTO_PAPERS = papers
            close_log.setLevel(close_level)

    # --- funds and applications ---

    def _allocate(self, day: date, *, first: bool) -> None:
        amounts = ALLOCATION_FIRST if first else ALLOCATION_YEARLY
        for code, amount in amounts.items():
            allocation_create(
                actor=self.cast.manager,
                bank=self.cast.banks[code],
                year=day.year,
                amount=amount,
                note=f"APBD {day.year}",
            )

    def _application_steps(self, day: date) -> None:
        disbursements: dict[str, list[tuple[Plan, int]]] = defaultdict(list)
        for plan, step in self.steps.pop(day, []):
            if step == "disburse":
                disbursements[plan.bank].append((plan, self.application_ids[plan.number]))
            else:
                self._step(plan, step, day)
        for code, items in sorted(disbursements.items()):
            self._disburse(code, items, day)

    def _step(self, plan: Plan, step: str, day: date) -> None:
        officer, officer2 = self.cast.officers
        staff = self.cast.staff[plan.bank]
        if step == "create":
            application = workflow.application_create(
                actor=officer,
                borrower=self.borrowers[plan.borrower],
                bank=self.cast.banks[plan.bank],
                principal=plan.principal,
                tenor_months=plan.tenor,
                collateral=plan.collateral,
                purpose="Modal kerja" if plan.repeat_of is None else "Modal kerja (pinjaman kedua)",
            )
            self.application_ids[plan.number] = application.pk
            self.counts.applications += 1
            return
        pk = self.application_ids[plan.number]
        if step == "submit":
            workflow.application_submit(actor=officer, application_id=pk)
        elif step == "field_verify":
            workflow.application_field_verify(
                actor=officer2, application_id=pk, visited_on=day, notes="Usaha berjalan, stok cukup."
            )
        elif step == "forward":
            workflow.application_forward(actor=officer, application_id=pk)
        elif step == "credit_check":
            workflow.application_credit_check(actor=staff[0], application_id=pk, result="clean", notes="SLIK bersih")
        elif step == "approve":
            workflow.application_approve(
                actor=staff[1], application_id=pk, contract_number=f"{plan.bank}/KW/{day.year}/{plan.number:04d}"
            )
        elif step.startswith("reject_"):
            side, reason = REJECTIONS[step.removeprefix("reject_")]
            workflow.application_reject(
                actor=officer if side == "officer" else staff[0], application_id=pk, reason=reason
            )
        elif step == "withdraw":
            workflow.application_withdraw(actor=officer, application_id=pk, reason="Pemohon membatalkan.")
        else:  # pragma: no cover - the plan makes only the steps above
            raise CommandError(f"unknown step {step}")

    def _disburse(self, code: str, items: list[tuple[Plan, int]], day: date) -> None:
        applications = workflow.applications_disburse(
            actor=self.cast.staff[code][0],
            disbursements=[workflow.Disbursement(pk, day) for _, pk in items],
        )
        loan_ids = {application.pk: application.loan.pk for application in applications}
        loan_schedules_store(loan_ids=list(loan_ids.values()))
        dues: dict[int, list[date]] = defaultdict(list)
        for loan_id, due in (
            Installment.objects.filter(loan_id__in=loan_ids.values(), schedule_version=1)
            .order_by("loan_id", "number")
            .values_list("loan_id", "due_date")
        ):
            dues[loan_id].append(due)
        for plan, pk in items:
            loan_id = loan_ids[pk]
            self.plan_of_loan[loan_id] = plan
            self._plan_payments(plan, loan_id, dues[loan_id], day)
        self.counts.loans += len(items)

    # --- loans ---

    def _plan_payments(self, plan: Plan, loan_id: int, dues: list[date], disbursed_on: date) -> None:
        """Put the loan's events on their days, from its behaviour (``dues``: the due
        dates of its current schedule still to pay)."""
        rng = self.rng
        generation = self.generation[loan_id]

        def pay(day: date, due: date) -> None:
            self.events[max(day, disbursed_on)].append(Event(loan_id, "through", due, generation))

        behaviour = plan.behaviour
        for index, due in enumerate(dues):
            if behaviour == "late":
                pay(due + timedelta(days=plan.late_days + rng.randint(-3, 3)), due)
            elif behaviour in ("stop", "write_off") and plan.stop_due is not None and due >= plan.stop_due:
                break
            elif behaviour == "catch_up" and index in (plan.index, plan.index + 1):
                continue
            elif behaviour == "ahead" and index % 2 == 0:
                pay(due - timedelta(days=rng.randint(0, 5)), dues[min(index + 1, len(dues) - 1)])
            elif behaviour == "ahead":
                continue
            elif behaviour == "catch_up" and index == plan.index + 2:
                pay(due + timedelta(days=rng.randint(0, 4)), due)
            elif behaviour == "early" and index == plan.index:
                self.events[dues[index - 1] + timedelta(days=10)].append(Event(loan_id, "payoff", None, generation))
                break
            elif behaviour == "deferral" and index == 3:
                self.events[due - timedelta(days=10)].append(Event(loan_id, "defer", None, generation))
                break
            else:
                pay(due - timedelta(days=rng.randint(0, 5)), due)
        if behaviour == "write_off" and plan.stop_due is not None:
            written_off = _written_off_on(plan.stop_due)
            self.events[written_off].append(Event(loan_id, "write_off", None, generation))
            self.events[written_off + timedelta(days=RECOVERY_AFTER_DAYS)].append(
                Event(loan_id, "recovery", None, generation)
            )

    def _loan_events(self, day: date) -> None:
        for event in sorted(self.events.pop(day, [])):
            if event.generation != self.generation[event.loan_id]:
                continue  # planned before the loan's schedule changed
            plan = self.plan_of_loan[event.loan_id]
            staff = self.cast.staff[plan.bank]
            if event.kind == "through":
                amount = self._owed_through(event.loan_id, event.due)
                if event.due is not None and event.due > day:  # paying ahead: at most the pay-off amount
                    loan = Loan.objects.select_related("terms").get(pk=event.loan_id)
                    amount = min(amount, loan_payoff_quote(loan=loan, on=day).amount)
                self._pay(event.loan_id, amount, day, staff[0])
            elif event.kind == "payoff":
                loan = Loan.objects.select_related("terms").get(pk=event.loan_id)
                self._pay(event.loan_id, loan_payoff_quote(loan=loan, on=day).amount, day, staff[0])
            elif event.kind == "recovery":
                written_off = Loan.objects.get(pk=event.loan_id).written_off_principal
                # A share of what was written off, rounded down to the thousand rupiah.
                self._pay(event.loan_id, written_off * RECOVERY_PERCENT // 100 // 1000 * 1000, day, staff[0])
            elif event.kind == "defer":
                deferral = deferral_request(
                    actor=staff[0],
                    loan_id=event.loan_id,
                    months=DEFERRAL_MONTHS,
                    mode=Deferral.Mode.PRINCIPAL_AND_INTEREST,
                    reason="Kios terdampak banjir; usaha tutup sementara.",
                )
                self.events[day + timedelta(days=2)].append(
                    Event(event.loan_id, "approve_deferral", None, event.generation, deferral.pk)
                )
            elif event.kind == "approve_deferral":
                deferral_approve(actor=self.cast.officers[0], deferral_id=event.deferral_id, note="Disetujui dinas.")
                self.generation[event.loan_id] += 1
                loan = Loan.objects.get(pk=event.loan_id)
                dues = list(
                    Installment.objects.filter(
                        loan_id=loan.pk, schedule_version=loan.schedule_version, paid_on__isnull=True
                    )
                    .order_by("number")
                    .values_list("due_date", flat=True)
                )
                on_time = Plan(plan.number, plan.borrower, plan.bank, plan.principal, plan.tenor, plan.collateral, [])
                self._plan_payments(on_time, loan.pk, dues, day)
            elif event.kind == "write_off":
                loan_write_off(
                    actor=self.cast.manager,
                    loan_id=event.loan_id,
                    reason="Macet lebih dari 180 hari; usaha tutup.",
                    on=day,
                )

    def _owed_through(self, loan_id: int, due: date | None) -> int:
        """What the loan's current schedule still owes on installments due by ``due``."""
        owed = Installment.objects.filter(
            loan_id=loan_id, schedule_version=F("loan__schedule_version"), paid_on__isnull=True, due_date__lte=due
        ).aggregate(
            owed=Sum(
                F("principal")
                - F("principal_paid")
                + F("interest")
                - F("interest_paid")
                - F("interest_waived")
                + F("penalty")
                - F("penalty_paid")
            )
        )["owed"]
        return int(owed or 0)

    def _pay(self, loan_id: int, amount: int, day: date, clerk: User) -> None:
        if amount <= 0:
            return
        self.counts.repayments += 1
        repayment_post(
            actor=clerk,
            loan_id=loan_id,
            request=RepaymentRequest(
                amount=amount,
                paid_on=day,
                channel=self.rng.choice(Repayment.Channel.values),
                reference=f"DEMO-{loan_id:05d}-{self.counts.repayments:06d}",
            ),
        )
