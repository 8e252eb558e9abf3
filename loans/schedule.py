"""The schedule engine: one loan's repayment schedule, exact to the rupiah.

Pure Python, no Django: every amount is a whole rupiah ``int`` and every fraction an
exact ratio of integers, rounded once by :mod:`loans.money`. No float decides a rupiah.

Definitions (the API docs repeat them):

* P: principal in rupiah (1 to 10^12); R: annual rate in percent (0 to 100, 4 decimals);
  n: tenor in months (1 to 120); g: grace months (interest only, 0 <= g < n); k = n - g.
* i = R / 100 / 12 exactly (every period is one month, 30/360).
* rnd(x): x to a whole rupiah by ``interest_rounding`` (half_up or half_even).
* rnd_m(x): x to a multiple of the rounding unit m (1, 10, 100, 500, 1000) by
  ``installment_rounding`` (up = the smallest multiple >= x, half_up, half_even).
* Grace installments 1..g: principal 0, interest rnd(P * i).
* flat: interest I = rnd(P * i) every month; regular installment A = rnd_m(P / k + I),
  principal A - I; the last installment's principal is the remaining balance, its amount
  that balance + I.
* annuity: A = rnd_m(P * i / (1 - (1 + i)^-k)), or rnd_m(P / k) when i = 0, computed as an
  exact ratio of integers; interest = rnd(balance * i), principal = A - interest; the last
  installment's principal is the remaining balance, its amount that balance + interest.
* equal_principal: principal rnd_m(P / k), the last takes the remainder; interest
  rnd(balance * i); amount = principal + interest.

The principals always sum exactly to P. A loan whose rounding would give a regular
installment no principal or a negative one, or pay the loan off before its last
installment, is refused with :class:`ScheduleError`, never returned wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any, Final, Literal

import numpy as np

from loans import money
from loans.dates import add_months, due_dates

Method = Literal["flat", "annuity", "equal_principal"]
FLAT: Final = "flat"
ANNUITY: Final = "annuity"
EQUAL_PRINCIPAL: Final = "equal_principal"
METHODS: Final = (FLAT, ANNUITY, EQUAL_PRINCIPAL)

#: Kredit Wibawa's rate: 3% a year (0.25% a month); the simulator's default.
PROGRAMME_ANNUAL_RATE: Final = "3"
MAX_PRINCIPAL: Final = 10**12
MAX_TENOR_MONTHS: Final = 120
#: A first due date may be at most this many months after the disbursement.
MAX_FIRST_DUE_MONTHS: Final = 2
#: Disbursement dates the engine accepts: wide enough for any real loan, narrow enough
#: that every due date (10 years on, moved to a business day) is an ordinary date.
EARLIEST_DISBURSEMENT: Final = date(1900, 1, 1)
LATEST_DISBURSEMENT: Final = date(2199, 12, 31)


def gettext_noop(text: str) -> str:
    """Marks a message for translation (``manage.py makemessages`` finds it) without
    importing Django: the API translates ScheduleError.template when it answers."""
    return text


MUST_BE_DATE = gettext_noop("Must be a date (YYYY-MM-DD).")
MUST_BE_ONE_OF = gettext_noop("Must be one of: {choices}.")
PRINCIPAL_RANGE = gettext_noop("Must be a whole number of rupiah from 1 to {maximum}.")
RATE_RANGE = gettext_noop("Must be a number of percent from 0 to 100 with at most 4 decimals.")
TENOR_RANGE = gettext_noop("Must be a whole number of months from 1 to {maximum}.")
GRACE_RANGE = gettext_noop("Must be a whole number from 0 to one less than tenor_months.")
DATE_RANGE = gettext_noop("Must be a date from {earliest} to {latest}.")
FIRST_DUE_AFTER = gettext_noop("Must be after the disbursement date.")
FIRST_DUE_WITHIN = gettext_noop("Must be at most {months} months after the disbursement date.")
UNKNOWN_TERMS = gettext_noop("Unknown or missing terms: {detail}.")
#: Refusals of terms whose rounding cannot give a correct schedule, by ``code``.
NO_PRINCIPAL: Final = "no_principal"
EARLY_PAYOFF: Final = "early_payoff"
ROUNDING_TOO_COARSE = {
    NO_PRINCIPAL: gettext_noop(
        "A rounding unit of {unit} rupiah is too coarse for this loan: a regular installment would repay "
        "no principal, or a negative one."
    ),
    EARLY_PAYOFF: gettext_noop(
        "A rounding unit of {unit} rupiah is too coarse for this loan: it would be paid off before its "
        "last installment."
    ),
}
PRINCIPAL_TOO_SMALL = {
    NO_PRINCIPAL: gettext_noop("Too small for this tenor and rate: a regular installment would repay no principal."),
    EARLY_PAYOFF: gettext_noop("Too small for this tenor: the loan would be paid off before its last installment."),
}


class ScheduleError(ValueError):
    """Terms that cannot give a correct schedule. ``field`` names the input at fault;
    ``message`` is ``template`` (English, translatable) filled with ``params``; ``code``
    says why (``invalid``, ``no_principal``, ``early_payoff``). Its args are exactly its
    constructor's, so it survives pickling and Celery's JSON result backend."""

    def __init__(
        self, field: str, template: str, code: str = "invalid", params: Mapping[str, object] | None = None
    ) -> None:
        self.field = field
        self.template = template
        self.code = code
        self.params = dict(params or {})
        self.message = template.format(**self.params)
        super().__init__(field, template, code, self.params)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """The inputs of a schedule, validated on construction (raises ScheduleError).

    ``annual_rate`` is in percent a year (Decimal or decimal string, never float);
    ``rounding`` is the installment rounding unit in rupiah.
    """

    principal: int
    annual_rate: Decimal | str
    tenor_months: int
    disbursement_date: date
    method: Method = FLAT
    grace_months: int = 0
    rounding: int = 1
    interest_rounding: money.RoundingMode = money.HALF_UP
    installment_rounding: money.RoundingMode = money.UP
    first_due_date: date | None = None
    business_days: bool = False
    rate_units: int = field(init=False, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoanTerms:
        """Terms from JSON-shaped data: dates as ISO strings (raises ScheduleError)."""
        values = dict(data)
        for name in ("disbursement_date", "first_due_date"):
            if isinstance(values.get(name), str):
                try:
                    values[name] = date.fromisoformat(values[name])
                except ValueError as exc:
                    raise ScheduleError(name, MUST_BE_DATE) from exc
        try:
            return cls(**values)
        except TypeError as exc:
            raise ScheduleError("non_field_errors", UNKNOWN_TERMS, params={"detail": str(exc)}) from exc

    def __post_init__(self) -> None:
        principal = self.principal
        if isinstance(principal, bool) or not isinstance(principal, int) or not 1 <= principal <= MAX_PRINCIPAL:
            raise ScheduleError("principal", PRINCIPAL_RANGE, params={"maximum": MAX_PRINCIPAL})
        try:
            rate_units = money.parse_annual_rate(self.annual_rate)
        except (TypeError, ValueError) as exc:
            raise ScheduleError("annual_rate", RATE_RANGE) from exc
        object.__setattr__(self, "rate_units", rate_units)
        tenor = self.tenor_months
        if isinstance(tenor, bool) or not isinstance(tenor, int) or not 1 <= tenor <= MAX_TENOR_MONTHS:
            raise ScheduleError("tenor_months", TENOR_RANGE, params={"maximum": MAX_TENOR_MONTHS})
        if self.method not in METHODS:
            raise ScheduleError("method", MUST_BE_ONE_OF, params={"choices": ", ".join(METHODS)})
        grace = self.grace_months
        if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace < tenor:
            raise ScheduleError("grace_months", GRACE_RANGE)
        if self.rounding not in money.ROUNDING_UNITS or isinstance(self.rounding, bool):
            raise ScheduleError(
                "rounding", MUST_BE_ONE_OF, params={"choices": ", ".join(map(str, money.ROUNDING_UNITS))}
            )
        if self.interest_rounding not in money.INTEREST_ROUNDING_MODES:
            raise ScheduleError(
                "interest_rounding", MUST_BE_ONE_OF, params={"choices": ", ".join(money.INTEREST_ROUNDING_MODES)}
            )
        if self.installment_rounding not in money.INSTALLMENT_ROUNDING_MODES:
            raise ScheduleError(
                "installment_rounding", MUST_BE_ONE_OF, params={"choices": ", ".join(money.INSTALLMENT_ROUNDING_MODES)}
            )
        if not isinstance(self.disbursement_date, date):
            raise ScheduleError("disbursement_date", MUST_BE_DATE)
        if not EARLIEST_DISBURSEMENT <= self.disbursement_date <= LATEST_DISBURSEMENT:
            raise ScheduleError(
                "disbursement_date",
                DATE_RANGE,
                params={"earliest": EARLIEST_DISBURSEMENT.isoformat(), "latest": LATEST_DISBURSEMENT.isoformat()},
            )
        first_due = self.first_due_date
        if first_due is not None:
            if not isinstance(first_due, date):
                raise ScheduleError("first_due_date", MUST_BE_DATE)
            if first_due <= self.disbursement_date:
                raise ScheduleError("first_due_date", FIRST_DUE_AFTER)
            if first_due > add_months(self.disbursement_date, MAX_FIRST_DUE_MONTHS):
                raise ScheduleError("first_due_date", FIRST_DUE_WITHIN, params={"months": MAX_FIRST_DUE_MONTHS})


@dataclass(frozen=True, slots=True)
class Schedule:
    """A loan's schedule held as columns (index t is installment t + 1)."""

    terms: LoanTerms
    due_dates: tuple[date, ...]
    principal: tuple[int, ...]
    interest: tuple[int, ...]
    installment: tuple[int, ...]
    balance: tuple[int, ...]

    @property
    def total_principal(self) -> int:
        return sum(self.principal)

    @property
    def total_interest(self) -> int:
        return sum(self.interest)

    @property
    def total_payment(self) -> int:
        return sum(self.installment)


def _too_coarse(terms: LoanTerms, code: str) -> ScheduleError:
    """The refusal for terms whose rounding breaks the schedule (``code`` says how):
    blamed on the rounding unit, or on the principal when the unit is already 1."""
    if terms.rounding == 1:
        return ScheduleError("principal", PRINCIPAL_TOO_SMALL[code], code)
    return ScheduleError("rounding", ROUNDING_TOO_COARSE[code], code, {"unit": terms.rounding})


def annuity_factor(rate_units: int, periods: int) -> tuple[int, int]:
    """i / (1 - (1 + i)^-k) as an exact ratio (numerator, denominator) of integers, with
    i = rate_units / D: r * (D + r)^k / (D * ((D + r)^k - D^k)); 1 / k when the rate is 0."""
    if rate_units == 0:
        return 1, periods
    denominator = money.MONTHLY_RATE_DENOMINATOR
    growth = (denominator + rate_units) ** periods
    return rate_units * growth, denominator * (growth - denominator**periods)


def annuity_installment(principal: int, rate_units: int, periods: int, unit: int, mode: money.RoundingMode) -> int:
    """A = rnd_m(P * i / (1 - (1 + i)^-k)), or rnd_m(P / k) when the rate is 0, exactly."""
    numerator, denominator = annuity_factor(rate_units, periods)
    return money.round_to_unit(principal * numerator, denominator, unit, mode)


def _check_regular_principal(terms: LoanTerms, regular: int, periods: int) -> None:
    if periods > 1 and regular <= 0:
        raise _too_coarse(terms, NO_PRINCIPAL)
    if regular * (periods - 1) >= terms.principal:
        raise _too_coarse(terms, EARLY_PAYOFF)


def _annuity_rows(terms: LoanTerms, full_interest: int, periods: int) -> tuple[list[int], list[int]]:
    rate = terms.rate_units
    denominator = money.MONTHLY_RATE_DENOMINATOR
    round_interest = money.rounder(terms.interest_rounding)
    amount = annuity_installment(terms.principal, rate, periods, terms.rounding, terms.installment_rounding)
    principals = [0] * terms.grace_months
    interests = [full_interest] * terms.grace_months
    balance = terms.principal
    for _ in range(periods - 1):
        interest = round_interest(balance * rate, denominator)
        part = amount - interest
        if part <= 0:
            raise _too_coarse(terms, NO_PRINCIPAL)
        balance -= part
        if balance <= 0:
            raise _too_coarse(terms, EARLY_PAYOFF)
        principals.append(part)
        interests.append(interest)
    principals.append(balance)
    interests.append(round_interest(balance * rate, denominator))
    return principals, interests


def build_schedule(terms: LoanTerms) -> Schedule:
    """The schedule for ``terms`` by the rules in this module's docstring.

    Raises ScheduleError when the rounding is too coarse for the loan (see module doc).
    """
    principal = terms.principal
    rate = terms.rate_units
    denominator = money.MONTHLY_RATE_DENOMINATOR
    grace = terms.grace_months
    periods = terms.tenor_months - grace
    interest_mode = terms.interest_rounding
    full_interest = money.div_round(principal * rate, denominator, interest_mode)

    if terms.method == ANNUITY:
        principals, interests = _annuity_rows(terms, full_interest, periods)
    else:
        if terms.method == FLAT:
            amount = money.round_to_unit(
                principal + full_interest * periods, periods, terms.rounding, terms.installment_rounding
            )
            regular = amount - full_interest
        else:
            regular = money.round_to_unit(principal, periods, terms.rounding, terms.installment_rounding)
        _check_regular_principal(terms, regular, periods)
        principals = [0] * grace + [regular] * (periods - 1) + [principal - regular * (periods - 1)]
        if terms.method == FLAT:
            interests = [full_interest] * terms.tenor_months
        else:
            round_interest = money.rounder(interest_mode)
            interests = [full_interest] * grace + [
                round_interest((principal - t * regular) * rate, denominator) for t in range(periods)
            ]

    return Schedule(
        terms=terms,
        due_dates=due_dates(terms.disbursement_date, terms.first_due_date, terms.tenor_months, terms.business_days),
        principal=tuple(principals),
        interest=tuple(interests),
        installment=tuple(map(int.__add__, principals, interests)),
        balance=tuple(principal - paid for paid in accumulate(principals)),
    )


def months_between(start: date, end: date) -> float:
    """Calendar months from ``start`` to ``end`` (end >= start), the part month as the
    fraction of its days: 15 Jan -> 15 Mar is 2.0, 15 Jan -> 1 Mar is 1 + 14/28."""
    whole = 0
    while add_months(start, whole + 1) <= end:
        whole += 1
    month_start, month_end = add_months(start, whole), add_months(start, whole + 1)
    return whole + (end - month_start).days / (month_end - month_start).days


def effective_annual_rate(schedule: Schedule) -> Decimal:
    """The declining-balance annual rate the schedule amounts to, in percent with two
    decimals (Indonesia's *suku bunga efektif*): 12 x the monthly internal rate of return
    of the cash flows: -P at disbursement, installment j paid j months later, or, with a
    first due date, months_between(disbursement, first due date) + j - 1 months later.
    (Business-day shifts of a few days are not counted: the amounts do not change.)

    Informational, never used for money, so it is solved in floats (Newton's method;
    ``numpy_financial.irr`` gives the same figure, tested, but takes milliseconds at 120
    months) and rounded half-up to 0.01 once at the end.
    """
    terms = schedule.terms
    flows = np.array(schedule.installment, dtype=np.float64)
    principal = float(terms.principal)
    if flows.sum() <= principal:
        return Decimal("0.00")
    first = 1.0 if terms.first_due_date is None else months_between(terms.disbursement_date, terms.first_due_date)
    periods = first + np.arange(flows.size, dtype=np.float64)
    rate = 0.0  # left of the root: Newton then converges monotonically (NPV is convex)
    for _ in range(100):
        discount = (1.0 + rate) ** -periods
        value = flows @ discount - principal
        slope = -(flows * periods) @ (discount / (1.0 + rate))
        step = value / slope
        rate = float(rate - step)
        if abs(step) < 1e-13:
            break
    return Decimal(repr(rate * 1200)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
