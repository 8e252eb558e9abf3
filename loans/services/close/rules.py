"""What a close applies besides the ledger: the collectibility tables and the penalty
rules of the products that charge one, loaded once per run (two small queries)."""

from __future__ import annotations

from dataclasses import dataclass

from loans.models import CollectibilityClass, ProductTerms
from loans.penalty import percent_units


@dataclass(frozen=True)
class PenaltyRule:
    """A product version's penalty: ``rate_units`` (1/10,000 percent a day), the grace
    in days and the cap in 1/10,000 percent of the installment (None: no cap)."""

    terms_id: int
    rate_units: int
    grace_days: int
    cap_units: int | None


@dataclass(frozen=True)
class CloseRules:
    """What a close applies besides the ledger: the collectibility tables as
    ``(bank_kind, grade, min_days)`` rows and the penalty rules."""

    grades: tuple[tuple[str, int, int], ...]
    penalties: tuple[PenaltyRule, ...]


def close_rules() -> CloseRules:
    """Load the collectibility tables and the penalty rules (two small queries)."""
    grades = tuple(
        CollectibilityClass.objects.order_by("bank_kind", "-grade").values_list("bank_kind", "grade", "min_days")
    )
    penalties = tuple(
        PenaltyRule(
            terms_id=terms_id,
            rate_units=percent_units(rate),
            grace_days=grace,
            cap_units=None if cap is None else percent_units(cap),
        )
        for terms_id, rate, grace, cap in ProductTerms.objects.filter(penalty_percent_per_day__gt=0)
        .order_by("pk")
        .values_list("pk", "penalty_percent_per_day", "penalty_grace_days", "penalty_cap_percent")
    )
    return CloseRules(grades=grades, penalties=penalties)
