"""The fund flows (reports/selectors/fund.py) over nine months of history made through
the services (tests/reports/fund_history.py): the roll-forward ties to the rupiah every
month, each month opens where the one before closed, the closing outstanding is what the
close's snapshots (and fund days) hold, every flow equals a count of the ledger done
here by hand in Python, a quarter and a year are the sums of their months, all banks the
sum of the banks, the fee split is exact, and a year is a handful of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db.models import Sum

from banks.models import Bank
from loans.models import FundDay, Loan, LoanSnapshot, Repayment, RepaymentAllocation
from reports.periods import Period, parse_period
from reports.selectors.fund import FundFlows, flows_total, fund_flows, fund_flows_by_bank, servicing_fee
from tests.loans.conftest import Programme
from tests.reports.fund_history import FEES, MONTHS, WRITTEN_OFF_ON, YEAR, History, make_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(programme: Programme) -> History:
    return make_history(programme, programme.manager)


class Ledger:
    """The ledger counted by hand: every loan and every active allocation in Python."""

    def __init__(self) -> None:
        self.loans = list(Loan.objects.all())
        self.allocations = [
            (a.repayment.bank_id, a.repayment.loan_id, a.repayment.paid_on, a.component, a.amount)
            for a in RepaymentAllocation.objects.filter(
                undone_at__isnull=True, repayment__status=Repayment.Status.BOOKED
            ).select_related("repayment")
        ]
        self.by_loan = {loan.pk: loan for loan in self.loans}

    def paid(self, loan: Loan, through: date) -> int:
        return sum(
            amount
            for _bank, loan_id, paid_on, component, amount in self.allocations
            if loan_id == loan.pk and component == "principal" and paid_on <= through
        )

    def outstanding(self, bank_id: int, day: date) -> int:
        total = 0
        for loan in self.loans:
            if loan.bank_id != bank_id or loan.disbursed_on > day:
                continue
            if loan.written_off_on is not None and loan.written_off_on <= day:
                continue
            total += loan.principal - self.paid(loan, day)
        return total

    def flows(self, bank_id: int, period: Period) -> dict[str, int]:
        def inside(day: date) -> bool:
            return period.start <= day <= period.end

        got: dict[str, int] = defaultdict(int)
        for loan in self.loans:
            if loan.bank_id == bank_id and inside(loan.disbursed_on):
                got["disbursed"] += loan.principal
            if loan.bank_id == bank_id and loan.written_off_on and inside(loan.written_off_on):
                got["written_off"] += loan.principal - self.paid(loan, loan.written_off_on)
        for bank, loan_id, paid_on, component, amount in self.allocations:
            if bank != bank_id or not inside(paid_on):
                continue
            written_off_on = self.by_loan[loan_id].written_off_on
            if component == "principal":
                recovery = written_off_on is not None and paid_on > written_off_on
                got["recovered" if recovery else "principal_repaid"] += amount
            else:
                got[f"{component}_collected"] += amount
        return dict(got)


def half_up_percent(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_fee_is_rounded_once_per_month_and_summed() -> None:
    # 15 x 10% = 1.5 -> 2, 25 x 10% = 2.5 -> 3: 5 (the total 40 x 10% would be 4).
    assert servicing_fee(interest_by_month=[15, 25], percent=Decimal("10")) == 5
    assert servicing_fee(interest_by_month=[], percent=Decimal("10")) == 0
    assert servicing_fee(interest_by_month=[1_000_001], percent=Decimal("7.5")) == 75_000  # 75,000.075
    with pytest.raises(ValueError, match="percent"):
        servicing_fee(interest_by_month=[100], percent=Decimal("2.555"))


def test_each_month_rolls_forward_and_opens_where_the_last_closed(history: History) -> None:
    ledger = Ledger()
    for bank in [*history.banks, None]:
        bank_id = None if bank is None else bank.pk
        previous: FundFlows | None = None
        for month in MONTHS:
            flows = fund_flows(period=month, bank_id=bank_id)
            assert (flows.start, flows.end) == (month.start, month.end)
            assert (
                flows.opening_outstanding + flows.disbursed - flows.principal_repaid - flows.written_off
                == flows.closing_outstanding
            )
            assert flows.rolls_forward
            if previous is not None:
                assert flows.opening_outstanding == previous.closing_outstanding
            else:
                assert flows.opening_outstanding == 0
            snapshots = LoanSnapshot.objects.filter(business_date=month.end)
            fund_days = FundDay.objects.filter(business_date=month.end)
            if bank is not None:
                snapshots = snapshots.filter(bank_id=bank.pk)
                fund_days = fund_days.filter(bank=bank)
                assert flows.closing_outstanding == ledger.outstanding(bank.pk, month.end)
            snapshot_total = snapshots.aggregate(total=Sum("outstanding_principal"))["total"] or 0
            assert flows.closing_outstanding == snapshot_total
            # 31 March's fund day included: made before the repayment of 30 March was
            # booked on 3 April, and made again by the close's recompute.
            assert flows.closing_outstanding == sum(day.outstanding_principal for day in fund_days)
            assert flows.available == sum(day.available for day in fund_days)
            previous = flows
    # The last close is 30 September: the loans' own columns agree too.
    open_loans = Loan.objects.filter(status__in=Loan.OPEN_STATUSES)
    assert previous is not None
    assert previous.closing_outstanding == open_loans.aggregate(total=Sum("outstanding_principal"))["total"]
    assert previous.closing_outstanding > 0


def test_every_flow_equals_a_hand_count_of_the_ledger(history: History) -> None:
    ledger = Ledger()
    seen: dict[str, int] = defaultdict(int)
    for bank in history.banks:
        for month in MONTHS:
            flows = fund_flows(period=month, bank_id=bank.pk)
            expected = ledger.flows(bank.pk, month)
            for name in (
                "disbursed",
                "principal_repaid",
                "written_off",
                "recovered",
                "interest_collected",
                "penalty_collected",
            ):
                assert getattr(flows, name) == expected.get(name, 0), (bank.code, month.code, name)
                seen[name] += getattr(flows, name)
            assert flows.transferred is None
    # The history has every kind of flow in it.
    assert all(seen[name] > 0 for name in ("written_off", "recovered", "penalty_collected"))


def test_a_backdated_repayment_counts_in_its_month_and_a_reversed_one_nowhere(history: History) -> None:
    def principal_of(repayment: Repayment) -> int:
        return sum(
            a.amount
            for a in RepaymentAllocation.objects.filter(repayment=repayment, undone_at__isnull=True)
            if a.component == "principal"
        )

    jateng, pasar = history.jateng, history.pasar
    assert history.backdated.paid_on == date(YEAR, 3, 30)
    backdated_principal = principal_of(history.backdated)
    assert backdated_principal > 0
    march = fund_flows(period=MONTHS[2], bank_id=jateng.pk)
    # Without it March would have repaid only the installments due in March.
    installments = Loan.objects.get(pk=history.loans["jateng_on_time"].pk).installments.filter(
        due_date__gte=MONTHS[2].start, due_date__lte=MONTHS[2].end, schedule_version=1
    )
    never_paid = 0  # the never-paid loan pays nothing
    assert march.principal_repaid == sum(row.principal for row in installments) + backdated_principal + never_paid
    # The reversed 700,000 of 20 April counts nowhere: April repaid only what fell due.
    assert history.reversed.status == Repayment.Status.REVERSED
    assert not RepaymentAllocation.objects.filter(repayment=history.reversed, undone_at__isnull=True).exists()
    april = fund_flows(period=MONTHS[3], bank_id=pasar.pk)
    booked = RepaymentAllocation.objects.filter(
        undone_at__isnull=True,
        repayment__status=Repayment.Status.BOOKED,
        repayment__bank=pasar,
        repayment__paid_on__gte=MONTHS[3].start,
        repayment__paid_on__lte=MONTHS[3].end,
        component="principal",
    ).aggregate(total=Sum("amount"))["total"]
    assert april.principal_repaid == booked
    everything = RepaymentAllocation.objects.filter(
        repayment__bank=pasar,
        repayment__paid_on__gte=MONTHS[3].start,
        repayment__paid_on__lte=MONTHS[3].end,
        component="principal",
    ).aggregate(total=Sum("amount"))["total"]
    assert everything > april.principal_repaid  # the undone rows are still there


def test_the_write_off_leaves_the_outstanding_and_the_recovery_stays_out(history: History) -> None:
    never = history.loans["never"]
    assert (never.status, never.written_off_on) == (Loan.Status.WRITTEN_OFF, WRITTEN_OFF_ON)
    august = fund_flows(period=MONTHS[7], bank_id=history.jateng.pk)
    september = fund_flows(period=MONTHS[8], bank_id=history.jateng.pk)
    assert august.written_off == 0
    assert september.written_off == never.written_off_principal == 6_000_000
    recovered = RepaymentAllocation.objects.filter(repayment=history.recovery, undone_at__isnull=True)
    by_component: dict[str, int] = defaultdict(int)
    for row in recovered:
        by_component[row.component] += row.amount
    assert september.recovered == by_component.get("principal", 0) > 0
    # The recovery's principal is back in the fund but not in the roll-forward.
    assert september.principal_returned == september.principal_repaid + september.recovered
    assert september.closing_outstanding == august.closing_outstanding - september.principal_repaid - 6_000_000
    assert september.interest_collected >= by_component.get("interest", 0)
    assert not LoanSnapshot.objects.filter(loan=never, business_date=MONTHS[8].end).exists()


def test_the_fee_is_the_banks_percent_of_each_months_interest_and_the_rest_is_the_citys(history: History) -> None:
    ledger = Ledger()
    for bank in history.banks:
        for quarter in ("Q1", "Q2", "Q3"):
            period = parse_period(f"{YEAR}-{quarter}")
            fee = sum(
                half_up_percent(ledger.flows(bank.pk, month).get("interest_collected", 0), FEES[bank.code])
                for month in period.months()
            )
            flows = fund_flows(period=period, bank_id=bank.pk)
            assert flows.bank_fee == fee > 0
            assert flows.city_share == flows.interest_collected + flows.penalty_collected - fee
            assert flows.owed_to_city == flows.principal_repaid + flows.recovered + flows.city_share
    # Penalties are not shared: a month with penalties and no interest change would show it.
    late = fund_flows(period=MONTHS[2], bank_id=history.pasar.pk)
    assert late.penalty_collected > 0
    assert late.bank_fee == half_up_percent(late.interest_collected, FEES["PASAR"])


def test_a_quarter_and_the_year_are_the_sums_of_their_months(history: History) -> None:
    summed = (
        "disbursed",
        "principal_repaid",
        "written_off",
        "interest_collected",
        "penalty_collected",
        "bank_fee",
        "city_share",
        "recovered",
    )
    for bank_id in [*(bank.pk for bank in history.banks), None]:
        for code in (f"{YEAR}-Q1", f"{YEAR}-Q2", f"{YEAR}-Q3", str(YEAR)):
            period = parse_period(code)
            whole = fund_flows(period=period, bank_id=bank_id)
            months = [fund_flows(period=month, bank_id=bank_id) for month in period.months()]
            for name in summed:
                assert getattr(whole, name) == sum(getattr(month, name) for month in months), (code, name)
            assert whole.opening_outstanding == months[0].opening_outstanding
            assert whole.closing_outstanding == months[-1].closing_outstanding
            assert whole.available == months[-1].available
            assert whole.rolls_forward


def test_all_banks_are_the_sum_of_the_banks(history: History) -> None:
    for code in (MONTHS[2].code, MONTHS[8].code, f"{YEAR}-Q2", str(YEAR)):
        period = parse_period(code)
        everyone = fund_flows(period=period)
        by_bank = fund_flows_by_bank(period=period)
        assert list(by_bank) == [bank.pk for bank in history.banks]
        assert everyone == flows_total(by_bank.values(), start=period.start, end=period.end)
        for name in ("opening_outstanding", "disbursed", "principal_repaid", "closing_outstanding", "bank_fee"):
            assert getattr(everyone, name) == sum(getattr(flows, name) for flows in by_bank.values())
        assert by_bank[history.pasar.pk] == fund_flows(period=period, bank_id=history.pasar.pk)
    # Both banks lend: neither is empty.
    year = fund_flows_by_bank(period=parse_period(str(YEAR)))
    assert all(flows.disbursed > 0 for flows in year.values())


def test_before_the_history_everything_is_zero_and_the_fund_is_whole(history: History) -> None:
    flows = fund_flows(period=parse_period("2025-12"), bank_id=history.pasar.pk)
    amounts = {name: getattr(flows, name) for name in ("opening_outstanding", "disbursed", "closing_outstanding")}
    assert amounts == dict.fromkeys(amounts, 0)
    assert flows.available == 500_000_000
    # A day before the allocation was made nothing was available.
    assert fund_flows(period=parse_period("2025-11"), bank_id=history.pasar.pk).available == 0
    assert date(2025, 12, 1) - timedelta(days=1) == parse_period("2025-11").end


def test_an_unknown_bank_is_refused(history: History) -> None:
    with pytest.raises(Bank.DoesNotExist):
        fund_flows(period=MONTHS[0], bank_id=999_999)


def test_a_year_is_a_handful_of_queries(history: History, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(4):
        fund_flows(period=parse_period(str(YEAR)))
