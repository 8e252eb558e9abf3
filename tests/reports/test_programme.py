"""The programme report (reports/kinds/programme.py): applications by bank, kecamatan,
sector and sex summing to the totals, rejection reasons, stage waits against a hand
computation, fund use from the fund days, PAR30 and NPL equal to the portfolio API's at
the same close, repeat borrowers, charts equal to the tables, check() and the labels.

Applications move through the workflow services (tests/loans/conftest.py ``programme``)
today; loans are disbursed in the past through the disbursement service, paid through
the repayment service and closed at month ends by the close service, the clock set by
``business_date_fixed``. Stage waits need moments in the past, which the services stamp
with the real time, so those applications' workflow events are written as the services
write them (AuditEntry rows, append-only)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from audit.models import AuditEntry
from banks.models import Bank
from borrowers.models import Business, Region
from config.clock import BUSINESS_TIME_ZONE, business_date_fixed
from loans.models import Application, FundDay, Loan
from loans.selectors.portfolio import portfolio
from loans.services import applications as services
from loans.services.applications import application_disburse
from loans.services.close import close_business_date
from loans.services.repayments import RepaymentRequest, loan_payoff_quote, repayment_post
from loans.services.schedules import loan_schedules_store
from reports.document import Chart, DocumentMeta, Facts, Table, no_progress
from reports.kinds import ReportParams, ReportRefused
from reports.kinds import programme as kind
from reports.periods import parse_period
from reports.selectors import programme as selectors
from reports.selectors.programme import percentile
from tests.factories import ApplicationFactory, BorrowerFactory, BusinessFactory, bank_user
from tests.loans import conftest as loans_conftest
from tests.loans.conftest import Programme

pytestmark = pytest.mark.django_db
#: The small programme of the workflow tests (two funded banks, officers, staff).
programme = loans_conftest.programme
_references = itertools.count(1)
_contracts = itertools.count(1)


def meta(language: str = "id") -> DocumentMeta:
    return DocumentMeta(
        number="WBW/LP/2026/1",
        verify_code="x",
        verify_url="https://example.test/v/x",
        made_at=timezone.now(),
        language=language,  # type: ignore[arg-type]
    )


def make(period: str, language: str = "id") -> Any:
    params = ReportParams(kind="programme", period=parse_period(period), language=language)
    return kind.build(params, meta(language), no_progress)


def table(document: Any, title: str) -> Table:
    return next(block for block in document.blocks if isinstance(block, Table) and block.title == title)


def chart(document: Any, title: str) -> Chart:
    return next(block for block in document.blocks if isinstance(block, Chart) and block.title == title)


def kelurahan_pair() -> tuple[Region, Region]:
    """Two kelurahan of the city in different kecamatan."""
    first = Region.objects.get(code="33.74.01.1001")
    other = Region.objects.filter(level=first.level, code__startswith="33.74.").exclude(parent=first.parent).first()
    assert other is not None
    return first, other


def business(sex: str, sector: str, kelurahan: Region) -> Business:
    borrower = BorrowerFactory.create(sex=sex, kelurahan=kelurahan)
    return BusinessFactory.create(borrower=borrower, sector=sector, started_on=date(2018, 1, 1))


# --- the pure percentile ------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], "0.5") is None
    assert percentile([7], "0.9") == Decimal(7)
    assert percentile([1, 2, 4], "0.5") == Decimal(2)
    assert percentile([1, 2, 4], "0.9") == Decimal("3.6")  # rank 1.8: 2 + 0.8 x (4 - 2)
    assert percentile([5, 1, 4, 2], "0.5") == Decimal(3)  # sorted 1 2 4 5: (2 + 4) / 2
    assert percentile([5, 1, 4, 2], "0.9") == Decimal("4.7")  # rank 2.7: 4 + 0.7 x 1
    assert percentile([Decimal("0.5"), Decimal("1.5")], "0.9") == Decimal("1.4")


# --- check() --------------------------------------------------------------------------


def test_check_refuses_no_period_and_a_period_not_started() -> None:
    with business_date_fixed(date(2026, 6, 15)):
        kind.check(ReportParams(kind="programme", period=parse_period("2026-06")))
        kind.check(ReportParams(kind="programme", period=parse_period("2026")))
        with pytest.raises(ReportRefused) as refused:
            kind.check(ReportParams(kind="programme", period=parse_period("2026-07")))
        assert refused.value.errors == {"period": ["Periode ini belum dimulai."]}
        with pytest.raises(ReportRefused) as refused:
            kind.check(ReportParams(kind="programme", period=parse_period("2026-Q3"), language="en"))
        assert refused.value.errors == {"period": ["This period has not started yet."]}
        with pytest.raises(ReportRefused) as refused:
            kind.check(ReportParams(kind="programme"))
        assert "period" in refused.value.errors


# --- applications -----------------------------------------------------------------------


def test_application_counts_by_group_sum_to_the_totals_and_reasons_are_listed(programme: Programme) -> None:
    here, there = kelurahan_pair()
    Sector = Business.Sector
    cases = [
        # (sex, sector, kelurahan, bank, how it ends)
        ("F", Sector.TRADE, here, programme.pasar, "disbursed"),
        ("M", Sector.FOOD, there, programme.jateng, "disbursed"),
        ("F", Sector.FOOD, there, programme.pasar, "approved"),
        ("M", Sector.CRAFT, here, programme.pasar, "rejected_office"),
        ("F", Sector.TRADE, here, programme.jateng, "rejected_bank"),
        ("M", Sector.TRADE, there, programme.jateng, "rejected_bank"),
        ("F", Sector.SERVICES, here, programme.pasar, "withdrawn"),
        ("F", Sector.SERVICES, there, programme.pasar, "submitted"),
    ]
    for sex, sector, kelurahan, bank, outcome in cases:
        owned = business(sex, sector, kelurahan)
        application = programme.draft(borrower=owned.borrower, business=owned, bank=bank)
        if outcome in ("disbursed", "approved", "submitted"):
            programme.advance(application, outcome)
        elif outcome == "rejected_office":
            programme.advance(application, "submitted")
            services.application_reject(
                actor=programme.officer, application_id=application.pk, reason="Usaha tidak aktif"
            )
        elif outcome == "rejected_bank":
            application = programme.advance(application, "forwarded")
            services.application_reject(
                actor=programme.staff_of(application, 0), application_id=application.pk, reason="SLIK bermasalah"
            )
        else:
            programme.advance(application, "submitted")
            services.application_withdraw(actor=programme.officer, application_id=application.pk, reason="Batal")

    today = timezone.localdate()
    document = make(f"{today:%Y-%m}")
    principal = sum(Loan.objects.values_list("principal", flat=True))
    expected_totals = ["Jumlah", 8, 3, 3, 1, 2, principal]
    for title in ("Permohonan per bank", "Permohonan per kecamatan", "Permohonan per sektor usaha"):
        by = table(document, title)
        assert list(by.totals or []) == expected_totals
        for index in range(1, 7):
            assert sum(row[index] for row in by.rows) == expected_totals[index]  # type: ignore[misc]
    by_sex = table(document, "Permohonan per jenis kelamin")
    assert list(by_sex.totals or []) == expected_totals
    assert {row[0]: row[1] for row in by_sex.rows} == {"Perempuan": 5, "Laki-laki": 3}
    by_bank = table(document, "Permohonan per bank")
    assert [(row[0], row[1], row[3], row[5]) for row in by_bank.rows] == [
        (programme.jateng.name, 3, 2, 1),
        (programme.pasar.name, 5, 1, 1),
    ]
    by_kecamatan = table(document, "Permohonan per kecamatan")
    assert {row[0] for row in by_kecamatan.rows} == {here.parent.name, there.parent.name}  # type: ignore[union-attr]
    reasons = table(document, "Alasan penolakan")
    assert [list(row) for row in reasons.rows] == [["SLIK bermasalah", 2], ["Usaha tidak aktif", 1]]
    assert list(reasons.totals or []) == ["Jumlah", 3]
    summary = next(block for block in document.blocks if isinstance(block, Facts))
    assert [fact.value for fact in summary.items] == expected_totals[1:]


# --- stage waits --------------------------------------------------------------------------


def at(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=BUSINESS_TIME_ZONE)


def trail(application: Application, moves: list[tuple[str, datetime]]) -> None:
    """The workflow events of ``application`` as the services write them."""
    previous = "draft"
    for state, moment in moves:
        AuditEntry.objects.create(
            at=moment,
            action=state,
            subject_type="application",
            subject_id=str(application.pk),
            from_state=previous,
            to_state=state,
            application=application,
        )
        previous = state


def test_stage_waits_median_and_p90_against_a_hand_computation(programme: Programme) -> None:
    new = lambda: ApplicationFactory.create(bank=programme.pasar, terms=programme.terms)  # noqa: E731
    # A: 1 day submitted, 2.5 field verified, 0.5 forwarded, 2 credit checked, 2 approved.
    trail(
        new(),
        [
            ("submitted", at("2026-03-02", 8)),
            ("field_verified", at("2026-03-03", 8)),
            ("forwarded", at("2026-03-05", 20)),
            ("credit_checked", at("2026-03-06", 8)),
            ("approved", at("2026-03-08", 8)),
            ("disbursed", at("2026-03-10", 8)),
        ],
    )
    # B: 4 days submitted, 1 field verified, 1.5 forwarded, then still credit checked.
    trail(
        new(),
        [
            ("submitted", at("2026-03-01", 8)),
            ("field_verified", at("2026-03-05", 8)),
            ("forwarded", at("2026-03-06", 8)),
            ("credit_checked", at("2026-03-07", 20)),
        ],
    )
    # C: 2 days submitted, then rejected after 3 days in field verified.
    trail(
        new(),
        [
            ("submitted", at("2026-03-01", 8)),
            ("field_verified", at("2026-03-03", 8)),
            ("rejected", at("2026-03-06", 8)),
        ],
    )
    # D (February): 10 days submitted. E: submitted in February, left it in March (5 days).
    trail(new(), [("submitted", at("2026-02-01", 8)), ("field_verified", at("2026-02-11", 8))])
    trail(new(), [("submitted", at("2026-02-26", 8)), ("field_verified", at("2026-03-03", 8))])

    figures = {row.stage: row for row in selectors.stage_figures(selectors.stage_waits(period=parse_period("2026-03")))}
    # submitted: 1, 4, 2, 5 -> median (2 + 4) / 2 = 3; p90 rank 2.7 -> 4 + 0.7 = 4.7
    assert (figures["submitted"].count, figures["submitted"].median, figures["submitted"].p90) == (
        4,
        Decimal("3.00"),
        Decimal("4.70"),
    )
    # field verified: 2.5, 1, 3 -> median 2.5; p90 rank 1.8 -> 2.5 + 0.8 x 0.5 = 2.9
    assert (figures["field_verified"].median, figures["field_verified"].p90) == (Decimal("2.50"), Decimal("2.90"))
    # forwarded: 0.5, 1.5 -> median 1; p90 rank 0.9 -> 0.5 + 0.9 = 1.4
    assert (figures["forwarded"].median, figures["forwarded"].p90) == (Decimal("1.00"), Decimal("1.40"))
    assert (figures["credit_checked"].count, figures["credit_checked"].median) == (1, Decimal("2.00"))
    assert (figures["approved"].count, figures["approved"].p90) == (1, Decimal("2.00"))
    before = {row.stage: row for row in selectors.stage_figures(selectors.stage_waits(period=parse_period("2026-02")))}
    assert (before["submitted"].count, before["submitted"].median, before["submitted"].p90) == (
        1,
        Decimal("10.00"),
        Decimal("10.00"),
    )
    assert before["forwarded"].count == 0
    assert before["forwarded"].median is None

    with business_date_fixed(date(2026, 4, 1)):
        document = make("2026-03", "en")
    stages = table(document, "Waiting time per stage (days)")
    assert list(stages.rows[0]) == ["Submitted -> field verified", 4, "3.00", "4.70", 1, "10.00", "10.00"]
    assert list(stages.rows[2])[:4] == ["Forwarded -> credit checked", 2, "1.00", "1.40"]


# --- a history: loans, closes, fund, PAR30 and NPL ------------------------------------------


def disburse(owned: Business, bank: Bank, terms: Any, principal: int, on: date, tenor: int = 12) -> Loan:
    """Disbursed through the disbursement service, as tests/factories.py serviced_loan does,
    for a given borrower and business."""
    application = ApplicationFactory.create(
        business=owned,
        borrower=owned.borrower,
        bank=bank,
        terms=terms,
        principal=principal,
        tenor_months=tenor,
        state=Application.State.APPROVED,
        contract_number=f"KW-P{next(_contracts)}",
    )
    username = f"disburser-{bank.code.lower()}"
    staff = User.objects.filter(username=username).first() or bank_user(bank, username=username)
    application_disburse(actor=staff, application_id=application.pk, disbursed_on=on)
    loan = Loan.objects.get(application=application)
    loan_schedules_store(loan_ids=[loan.pk])
    loan.refresh_from_db()
    return loan


def pay(loan: Loan, amount: int, on: date) -> None:
    staff = User.objects.get(username=f"disburser-{loan.bank.code.lower()}")
    with business_date_fixed(on):
        repayment_post(
            actor=staff, loan_id=loan.pk, request=RepaymentRequest(amount, on, "teller", f"P{next(_references)}")
        )


def pay_due(loan: Loan, through: date) -> None:
    """Pay each installment of ``loan`` falling due up to ``through`` on its due date."""
    for row in loan.installments.filter(due_date__lte=through, paid_on__isnull=True).order_by("number"):
        pay(loan, row.installment, row.due_date)


def close(day: date) -> None:
    with business_date_fixed(day + timedelta(days=1)):
        close_business_date(business_date=day)


MONTH_ENDS = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


@pytest.fixture
def history(programme: Programme) -> dict[str, Any]:
    here, there = kelurahan_pair()
    Sector = Business.Sector
    a = business("F", Sector.TRADE, here)
    b = business("M", Sector.FOOD, there)
    c = business("F", Sector.SERVICES, there)
    d = business("M", Sector.CRAFT, here)
    terms = programme.terms
    with business_date_fixed(date(2026, 1, 10)):
        on_time = disburse(a, programme.pasar, terms, 12_000_000, date(2026, 1, 10))
        never = disburse(b, programme.jateng, terms, 6_000_000, date(2026, 1, 10))
        first = disburse(d, programme.pasar, terms, 3_000_000, date(2026, 1, 10), tenor=6)
    close(MONTH_ENDS[0])
    with business_date_fixed(date(2026, 2, 5)):
        stops = disburse(c, programme.pasar, terms, 4_000_000, date(2026, 2, 5))
    pay_due(on_time, MONTH_ENDS[1])
    # d pays the first loan off on 20 February and borrows again on 1 March.
    pay(first, loan_payoff_quote(loan=first, on=date(2026, 2, 20)).amount, date(2026, 2, 20))
    close(MONTH_ENDS[1])
    with business_date_fixed(date(2026, 3, 1)):
        again = disburse(d, programme.pasar, terms, 5_000_000, date(2026, 3, 1))
    pay_due(on_time, MONTH_ENDS[2])
    pay_due(stops, date(2026, 3, 5))
    pay_due(again, MONTH_ENDS[2])
    close(MONTH_ENDS[2])
    pay_due(on_time, MONTH_ENDS[3])
    pay_due(again, MONTH_ENDS[3])
    close(MONTH_ENDS[3])
    return {"loans": [on_time, never, first, stops, again], "here": here, "there": there}


def test_par30_and_npl_by_month_equal_the_portfolio_at_the_same_close(
    programme: Programme, history: dict[str, Any], api_client: Any
) -> None:
    with business_date_fixed(date(2026, 5, 2)):
        document = make("2026-Q1")
        april = make("2026-04")
    quality = table(document, "Kualitas kredit per bulan")
    assert [row[1] for row in quality.rows] == MONTH_ENDS[:3]
    # The portfolio API reads the loans' columns of the last close (30 April).
    figures = portfolio(user=programme.manager).totals
    last = table(april, "Kualitas kredit per bulan").rows[-1]
    assert last[1] == date(2026, 4, 30)
    assert last[3] == figures.outstanding
    assert last[4] == (figures.par30 * 100).quantize(Decimal("0.01"))
    assert last[5] == (figures.npl * 100).quantize(Decimal("0.01"))
    assert isinstance(last[4], Decimal)
    assert last[4] > 0  # the loan never paid is 79 days past due
    api_client.force_authenticate(programme.manager)
    body = api_client.get("/api/v1/portfolio/").json()
    assert body["as_of"] == "2026-04-30"
    assert body["totals"]["outstanding"] == last[3]
    assert Decimal(body["totals"]["par30"]) * 100 == last[4]
    assert Decimal(body["totals"]["npl"]) * 100 == last[5]
    by_kecamatan_now = api_client.get("/api/v1/portfolio/", {"by": "kecamatan"}).json()["groups"]
    april_kecamatan = table(april, "Baki debet per kecamatan")
    assert [row[2] for row in april_kecamatan.rows] == [group["outstanding"] for group in by_kecamatan_now]
    # Hand check of 31 March: the never-paid loan (6,000,000) is 49 days past due; the
    # stopped one (first due 5 March, paid) is current.
    march = quality.rows[2]
    outstanding = march[3]
    assert isinstance(outstanding, int)
    never = history["loans"][1]
    assert never.principal == 6_000_000
    assert march[4] == (Decimal(6_000_000 * 100) / outstanding).quantize(Decimal("0.01"))

    # charts equal the tables
    disbursed_chart = chart(document, "Pencairan per bulan")
    assert disbursed_chart.series[0].values == tuple(row[2] for row in quality.rows)
    assert disbursed_chart.series[0].values == (21_000_000, 4_000_000, 5_000_000)
    quality_chart = chart(document, "PAR30 dan NPL per bulan")
    assert quality_chart.kind == "line"
    assert quality_chart.value_kind == "percent"
    assert quality_chart.series[0].values == tuple(row[4] for row in quality.rows)
    assert quality_chart.series[1].values == tuple(row[5] for row in quality.rows)
    by_kecamatan = table(document, "Baki debet per kecamatan")
    outstanding_chart = chart(document, "Baki debet per kecamatan")
    assert outstanding_chart.series[0].values == tuple(row[2] for row in by_kecamatan.rows)
    assert outstanding_chart.categories == tuple(row[0] for row in by_kecamatan.rows)
    assert (by_kecamatan.totals or [])[2] == outstanding
    assert {row[0] for row in by_kecamatan.rows} == {history["here"].parent.name, history["there"].parent.name}


def test_fund_use_comes_from_the_fund_days_of_the_last_closed_day(
    programme: Programme, history: dict[str, Any]
) -> None:
    with business_date_fixed(date(2026, 5, 2)):
        document = make("2026-Q1")
    fund = table(document, "Penggunaan dana per bank")
    rows = {row[0].split(" - ")[0]: row for row in fund.rows}  # type: ignore[union-attr]
    for bank in (programme.pasar, programme.jateng):
        day = FundDay.objects.get(bank=bank, business_date=date(2026, 3, 31))
        assert rows[bank.code][4] == day.outstanding_principal
        assert rows[bank.code][5] == day.available
    assert rows["PASAR"][1] == 500_000_000
    assert rows["PASAR"][2] == 12_000_000 + 3_000_000 + 4_000_000 + 5_000_000
    assert rows["JATENG"][2] == 6_000_000
    assert rows["JATENG"][3] == 0
    for index in range(1, 6):
        assert (fund.totals or [])[index] == sum(row[index] for row in fund.rows)  # type: ignore[misc]


def test_repeat_borrowers_count_and_share(programme: Programme, history: dict[str, Any]) -> None:
    with business_date_fixed(date(2026, 5, 2)):
        q1 = make("2026-Q1", "en")
        january = make("2026-01")
    facts = next(block for block in q1.blocks if isinstance(block, Facts) and block.title == "Repeat borrowers")
    assert [fact.value for fact in facts.items] == [1, 4, Decimal("25.00")]
    facts = next(block for block in january.blocks if isinstance(block, Facts) and block.title == "Peminjam ulang")
    assert [fact.value for fact in facts.items] == [0, 3, Decimal("0.00")]


def test_a_year_shows_the_twelve_months_before_and_english_labels(programme: Programme) -> None:
    with business_date_fixed(date(2026, 5, 2)):
        document = make("2026", "en")
    assert document.title == "Kredit Wibawa Programme Report"
    assert document.period_label == "2026"
    titles = [block.title for block in document.blocks if isinstance(block, Table | Chart | Facts)]
    assert "Applications by bank" in titles
    assert "Rejection reasons" in titles
    assert "Fund use by bank" in titles
    quality = table(document, "Portfolio quality by month")
    assert len(quality.rows) == 24
    assert quality.rows[0][0] == "January 2025"
    assert quality.rows[-1][0] == "December 2026"
    assert all(row[1] is None for row in quality.rows)  # no close has run


def test_a_year_is_a_bounded_number_of_grouped_queries_with_unique_sheets(
    programme: Programme, history: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    with business_date_fixed(date(2026, 5, 2)), django_assert_max_num_queries(QUERIES_AT_MOST):
        document = make("2026")
    sheets = [block.sheet for block in document.tables()]
    assert len(set(sheets)) == len(sheets)
    assert all(0 < len(sheet) <= 31 for sheet in sheets)
    assert document.landscape
    assert document.slug == "2026"


#: Grouped queries of a year's report with its trend (none per loan or per month).
QUERIES_AT_MOST = 23
