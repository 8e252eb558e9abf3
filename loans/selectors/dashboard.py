"""The managers' dashboard: the programme at a glance, gathered from the existing
selectors in a bounded handful of aggregate queries (never a loop over loans).

* outstanding, PAR30 and NPL, in total and by kecamatan: :func:`portfolio` (the last
  close's columns; PAR30 and NPL by the rules of ``loans.collectibility``), one query;
* disbursed by month and NPL by month: :func:`reports.selectors.programme.monthly_quality`
  (loans' principal by ``disbursed_on``; NPL from the loans' snapshots at each month's
  last closed day);
* fund use per bank: the banks' fund counters (allocated, drawn, available by
  :func:`banks.fund.fund_available`);
* applications waiting in each stage of the workflow, with the longest waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Min, QuerySet

from banks.models import Bank
from banks.selectors import bank_visible
from loans.models import Application
from loans.selectors.applications import application_visible
from loans.selectors.portfolio import Portfolio, PortfolioFigures, portfolio
from reports.periods import Period, month_period
from reports.selectors.programme import STAGES, MonthQuality, monthly_quality, percent_2

#: How many months the charts cover, ending with the current one.
CHART_MONTHS = 12
#: How many of the longest-waiting applications the dashboard lists.
LONGEST_WAITS = 5


def months_ending(day: date, count: int = CHART_MONTHS) -> list[Period]:
    """The ``count`` calendar months ending with ``day``'s month, oldest first."""
    year, month = day.year, day.month
    months = []
    for _ in range(count):
        months.append(month_period(year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


@dataclass(frozen=True)
class StageWaiting:
    """Applications now in ``state`` (a stage of :data:`STAGES`): how many, and since
    when the one waiting longest has been there."""

    state: str
    label: str
    count: int
    oldest: datetime | None


@dataclass(frozen=True)
class Dashboard:
    today: date
    as_of: date | None  # the last closed business date the quality figures are from
    totals: PortfolioFigures
    by_kecamatan: list[PortfolioFigures]
    months: list[MonthQuality]  # CHART_MONTHS months ending this month, oldest first
    banks: list[Bank]
    stages: list[StageWaiting]
    longest: list[Application]

    @property
    def par30_percent(self) -> Decimal:
        """PAR30 as a percent with 2 places (the portfolio's ratio x 100)."""
        return percent_2(self.totals.par30)

    @property
    def npl_percent(self) -> Decimal:
        return percent_2(self.totals.npl)

    @property
    def disbursed_this_month(self) -> int:
        return self.months[-1].disbursed if self.months else 0

    @property
    def disbursed_this_year(self) -> int:
        """Principal disbursed from 1 January (the chart's months cover the whole year)."""
        return sum(month.disbursed for month in self.months if month.month.start.year == self.today.year)

    @property
    def waiting(self) -> int:
        return sum(stage.count for stage in self.stages)


def stages_waiting(*, user: Any) -> list[StageWaiting]:
    """The applications ``user`` may see now in each stage of the workflow (submitted to
    approved, in order), with the oldest entry into it: one grouped query."""
    rows = (
        application_visible(user=user)
        .filter(state__in=STAGES)
        .values("state")
        .annotate(count=Count("id"), oldest=Min("state_changed_at"))
        .order_by()
    )
    found: dict[str, dict[str, Any]] = {row["state"]: dict(row) for row in rows}
    labels = dict(Application.State.choices)
    empty: dict[str, Any] = {"count": 0, "oldest": None}
    return [
        StageWaiting(
            state=state,
            label=str(labels[state]),
            count=int(found.get(state, empty)["count"]),
            oldest=found.get(state, empty)["oldest"],
        )
        for state in STAGES
    ]


def longest_waiting(*, user: Any, limit: int = LONGEST_WAITS) -> QuerySet[Application]:
    """The ``limit`` applications ``user`` may see that have waited longest in their
    stage (submitted to approved), longest first, with their bank."""
    # Only the bank is shown: the visible set's other joins (borrower, business, terms...) are dropped.
    waiting = application_visible(user=user).select_related(None).select_related("bank")
    return (
        waiting.filter(state__in=STAGES)
        .only("id", "state", "state_changed_at", "bank__code")
        .order_by("state_changed_at", "id")[:limit]
    )


def dashboard(*, user: Any, today: date) -> Dashboard:
    """Everything the dashboard shows for ``user`` (the manager or the auditor: the
    whole programme) on business date ``today``."""
    quality: Portfolio = portfolio(user=user, by="kecamatan")
    return Dashboard(
        today=today,
        as_of=quality.as_of,
        totals=quality.totals,
        by_kecamatan=quality.groups,
        months=monthly_quality(months=months_ending(today)),
        banks=list(bank_visible(user=user).order_by("code")),
        stages=stages_waiting(user=user),
        longest=list(longest_waiting(user=user)),
    )
