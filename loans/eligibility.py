"""The programme's eligibility checks, run at submission and again at approval.

Pure Python, no Django: the service gathers the facts (:class:`Facts`), this module
judges them. Each check gives a named result (pass or fail) with a message template and
its parameters, stored on the application and rendered in the reader's language.

The rules (from the product version's terms):

* ``resident``: the KTP address's kelurahan lies in the programme's region (code
  prefix, Kota Semarang is 33.74). Residence is by address, never by the NIK's prefix.
* ``age``: the applicant is at least ``min_age_years`` old on the check date.
* ``business_age``: the business started at least ``min_business_age_months`` months
  before the check date (a cooperative: founded that long ago).
* ``cooperative_health``: a cooperative is rated healthy (sehat or cukup sehat); only
  for cooperatives.
* ``principal``: the principal is at most the ceiling for the collateral chosen. A
  repeat borrower whose last loan was paid off and never more than 30 days late may
  borrow up to ``repeat_multiplier`` times that loan, within the ceiling; a repeat
  borrower who was later than that may borrow at most the last loan's principal.
* ``tenor``: the tenor is one the product allows.
* ``single_active_loan``: no other active programme loan for this NIK, at any bank (a
  written-off loan counts: it is still owed).
* ``fund``: the bank's fund (allocations + principal repaid - disbursed) covers the
  principal. Only indicative here; disbursement checks it again under a lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from loans.dates import add_months

HEALTHY_COOPERATIVE_RATINGS = frozenset({"sehat", "cukup_sehat"})
#: A previous loan counts as repaid on time when no installment was ever later than this.
ON_TIME_MAX_DAYS_PAST_DUE = 30


def gettext_noop(text: str) -> str:
    """Marks a message for translation (rendered later, in the reader's language)."""
    return text


RESIDENT_OK = gettext_noop("The KTP address is in {region} ({kelurahan}).")
RESIDENT_FAIL = gettext_noop("The KTP address ({kelurahan}) is outside the programme's region {region}.")
AGE_OK = gettext_noop("The applicant is {age} years old (at least {minimum}).")
AGE_FAIL = gettext_noop("The applicant is {age} years old; the minimum is {minimum}.")
BUSINESS_OK = gettext_noop("The business has run {months} months (at least {minimum}).")
BUSINESS_FAIL = gettext_noop("The business has run {months} months; the minimum is {minimum}.")
COOPERATIVE_OK = gettext_noop("The cooperative is rated {rating}.")
COOPERATIVE_FAIL = gettext_noop("The cooperative is rated {rating}; it must be rated healthy.")
PRINCIPAL_OK = gettext_noop("Rp{principal} is within the limit of Rp{limit} ({basis}).")
PRINCIPAL_FAIL = gettext_noop("Rp{principal} is above the limit of Rp{limit} ({basis}).")
TENOR_OK = gettext_noop("A tenor of {tenor} months is allowed.")
TENOR_FAIL = gettext_noop("A tenor of {tenor} months is not allowed; allowed: {allowed}.")
SINGLE_OK = gettext_noop("No other active programme loan for this NIK.")
SINGLE_FAIL = gettext_noop("This NIK already has an active programme loan ({contract}).")
FUND_OK = gettext_noop("The bank's fund has Rp{available} available.")
FUND_FAIL = gettext_noop("The bank's fund has only Rp{available} available.")

BASIS_WITHOUT_COLLATERAL = gettext_noop("ceiling without collateral")
BASIS_WITH_COLLATERAL = gettext_noop("ceiling with collateral")
BASIS_REPEAT_ON_TIME = gettext_noop("{multiplier} x the last loan, repaid on time")
BASIS_REPEAT_LATE = gettext_noop("the last loan, which was repaid late")


@dataclass(frozen=True, slots=True)
class Rules:
    """The product version's rules the checks apply."""

    region_code: str
    min_age_years: int
    min_business_age_months: int
    ceiling_without_collateral: int
    ceiling_with_collateral: int
    allowed_tenors: tuple[int, ...]
    repeat_multiplier: int


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about the application on the check date."""

    on: date
    kelurahan_code: str
    kelurahan_name: str
    birth_date: date
    business_started_on: date
    is_cooperative: bool
    cooperative_rating: str
    principal: int
    collateral: bool
    tenor_months: int
    #: The contract number of another open (or written-off) programme loan of this NIK.
    open_loan_contract: str | None
    #: The principal of the borrower's last paid-off loan, and its worst lateness.
    last_loan_principal: int | None = None
    last_loan_max_days_past_due: int = 0
    fund_available: int = 0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "template": self.template, "params": self.params}


def full_years(born: date, on: date) -> int:
    """Age in whole years on ``on`` (a 29 February birthday counts on 1 March)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def full_months(start: date, on: date) -> int:
    """Whole months from ``start`` to ``on`` (0 if ``on`` is earlier)."""
    months = (on.year - start.year) * 12 + on.month - start.month
    while months > 0 and add_months(start, months) > on:
        months -= 1
    return max(months, 0)


def principal_limit(rules: Rules, facts: Facts) -> tuple[int, str, dict[str, Any]]:
    """The most this applicant may borrow, and why (a message template and params)."""
    if facts.collateral:
        ceiling, basis = rules.ceiling_with_collateral, BASIS_WITH_COLLATERAL
    else:
        ceiling, basis = rules.ceiling_without_collateral, BASIS_WITHOUT_COLLATERAL
    if facts.last_loan_principal is None:
        return ceiling, basis, {}
    if facts.last_loan_max_days_past_due <= ON_TIME_MAX_DAYS_PAST_DUE:
        repeat_limit = rules.repeat_multiplier * facts.last_loan_principal
        if repeat_limit < ceiling:
            return repeat_limit, BASIS_REPEAT_ON_TIME, {"multiplier": rules.repeat_multiplier}
        return ceiling, basis, {}
    if facts.last_loan_principal < ceiling:
        return facts.last_loan_principal, BASIS_REPEAT_LATE, {}
    return ceiling, basis, {}


def run_checks(rules: Rules, facts: Facts) -> list[Check]:
    """Every check's result, in a fixed order."""
    checks: list[Check] = []
    region = {"region": rules.region_code, "kelurahan": f"{facts.kelurahan_code} {facts.kelurahan_name}"}
    resident = facts.kelurahan_code.startswith(rules.region_code + ".")
    checks.append(Check("resident", resident, RESIDENT_OK if resident else RESIDENT_FAIL, region))

    age = full_years(facts.birth_date, facts.on)
    old_enough = age >= rules.min_age_years
    checks.append(
        Check("age", old_enough, AGE_OK if old_enough else AGE_FAIL, {"age": age, "minimum": rules.min_age_years})
    )

    months = full_months(facts.business_started_on, facts.on)
    seasoned = months >= rules.min_business_age_months
    checks.append(
        Check(
            "business_age",
            seasoned,
            BUSINESS_OK if seasoned else BUSINESS_FAIL,
            {"months": months, "minimum": rules.min_business_age_months},
        )
    )
    if facts.is_cooperative:
        healthy = facts.cooperative_rating in HEALTHY_COOPERATIVE_RATINGS
        checks.append(
            Check(
                "cooperative_health",
                healthy,
                COOPERATIVE_OK if healthy else COOPERATIVE_FAIL,
                {"rating": facts.cooperative_rating or "-"},
            )
        )

    limit, basis, basis_params = principal_limit(rules, facts)
    within = 0 < facts.principal <= limit
    checks.append(
        Check(
            "principal",
            within,
            PRINCIPAL_OK if within else PRINCIPAL_FAIL,
            {"principal": facts.principal, "limit": limit, "basis": basis, "basis_params": basis_params},
        )
    )

    allowed = facts.tenor_months in rules.allowed_tenors
    checks.append(
        Check(
            "tenor",
            allowed,
            TENOR_OK if allowed else TENOR_FAIL,
            {"tenor": facts.tenor_months, "allowed": ", ".join(map(str, rules.allowed_tenors))},
        )
    )

    single = facts.open_loan_contract is None
    checks.append(
        Check(
            "single_active_loan", single, SINGLE_OK if single else SINGLE_FAIL, {"contract": facts.open_loan_contract}
        )
    )

    funded = facts.fund_available >= facts.principal
    checks.append(Check("fund", funded, FUND_OK if funded else FUND_FAIL, {"available": facts.fund_available}))
    return checks
