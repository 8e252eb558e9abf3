"""The programme report (per month, quarter or year, for the city): applications by
bank, kecamatan, sector and sex; rejection reasons; how long applications waited at each
stage against the period before; fund use per bank; PAR30 and NPL by month; repeat
borrowers; and the charts (disbursed by month, outstanding by kecamatan, PAR30 and NPL).

Figures come from :mod:`reports.selectors.programme`; this module only lays them out.
"""

from __future__ import annotations

from decimal import Decimal

from config.clock import business_today
from reports.document import (
    Block,
    Chart,
    Column,
    Document,
    DocumentMeta,
    Fact,
    Facts,
    Paragraph,
    Progress,
    Series,
    Table,
)
from reports.formats import long_date, month_label
from reports.kinds.base import ReportParams, ReportRefused
from reports.periods import Period
from reports.selectors import programme as selectors

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan Program Kredit Wibawa",
        "no_period": "Pilih periode laporan.",
        "not_started": "Periode ini belum dimulai.",
        "summary": "Ringkasan",
        "received": "Diterima",
        "approved": "Disetujui",
        "rejected": "Ditolak",
        "withdrawn": "Dibatalkan",
        "disbursed": "Dicairkan",
        "disbursed_amount": "Nilai dicairkan",
        "by_bank": "Permohonan per bank",
        "by_kecamatan": "Permohonan per kecamatan",
        "by_sector": "Permohonan per sektor usaha",
        "by_sex": "Permohonan per jenis kelamin",
        "bank": "Bank",
        "kecamatan": "Kecamatan",
        "sector": "Sektor",
        "sex": "Jenis kelamin",
        "total": "Jumlah",
        "reasons": "Alasan penolakan",
        "reason": "Alasan",
        "count": "Banyaknya",
        "no_reason": "(tanpa alasan)",
        "stages": "Lama tunggu per tahap (hari)",
        "stage": "Tahap",
        "median": "Median",
        "p90": "Persentil 90",
        "apps": "Permohonan",
        "previous": "periode sebelumnya",
        "fund": "Penggunaan dana per bank",
        "allocated": "Alokasi",
        "repaid": "Pokok kembali",
        "outstanding": "Baki debet",
        "available": "Dana tersedia",
        "fund_note": "Baki debet dan dana tersedia per {day}.",
        "no_close": "Belum ada tutup buku harian pada periode ini.",
        "quality": "Kualitas kredit per bulan",
        "month": "Bulan",
        "as_of": "Per tanggal",
        "par30": "PAR30",
        "npl": "NPL",
        "repeat": "Peminjam ulang",
        "repeat_count": "Peminjam ulang (setelah pinjaman sebelumnya lunas)",
        "borrowers": "Peminjam dengan pencairan pada periode ini",
        "repeat_share": "Porsi peminjam ulang",
        "outstanding_kecamatan": "Baki debet per kecamatan",
        "loans": "Pinjaman",
        "chart_disbursed": "Pencairan per bulan",
        "chart_outstanding": "Baki debet per kecamatan",
        "chart_quality": "PAR30 dan NPL per bulan",
        "submitted": "Diajukan -> diverifikasi lapangan",
        "field_verified": "Diverifikasi lapangan -> diteruskan ke bank",
        "forwarded": "Diteruskan -> dicek SLIK",
        "credit_checked": "Dicek SLIK -> disetujui",
        "stage_approved": "Disetujui -> dicairkan",
    },
    "en": {
        "title": "Kredit Wibawa Programme Report",
        "no_period": "Choose the report's period.",
        "not_started": "This period has not started yet.",
        "summary": "Summary",
        "received": "Received",
        "approved": "Approved",
        "rejected": "Rejected",
        "withdrawn": "Withdrawn",
        "disbursed": "Disbursed",
        "disbursed_amount": "Amount disbursed",
        "by_bank": "Applications by bank",
        "by_kecamatan": "Applications by kecamatan",
        "by_sector": "Applications by business sector",
        "by_sex": "Applications by sex",
        "bank": "Bank",
        "kecamatan": "Kecamatan",
        "sector": "Sector",
        "sex": "Sex",
        "total": "Total",
        "reasons": "Rejection reasons",
        "reason": "Reason",
        "count": "Count",
        "no_reason": "(no reason given)",
        "stages": "Waiting time per stage (days)",
        "stage": "Stage",
        "median": "Median",
        "p90": "90th percentile",
        "apps": "Applications",
        "previous": "previous period",
        "fund": "Fund use by bank",
        "allocated": "Allocated",
        "repaid": "Principal repaid",
        "outstanding": "Outstanding",
        "available": "Available",
        "fund_note": "Outstanding and available as of {day}.",
        "no_close": "No nightly close has run in this period yet.",
        "quality": "Portfolio quality by month",
        "month": "Month",
        "as_of": "As of",
        "par30": "PAR30",
        "npl": "NPL",
        "repeat": "Repeat borrowers",
        "repeat_count": "Repeat borrowers (after an earlier loan was paid off)",
        "borrowers": "Borrowers with a disbursement in the period",
        "repeat_share": "Share of repeat borrowers",
        "outstanding_kecamatan": "Outstanding by kecamatan",
        "loans": "Loans",
        "chart_disbursed": "Disbursed by month",
        "chart_outstanding": "Outstanding by kecamatan",
        "chart_quality": "PAR30 and NPL by month",
        "submitted": "Submitted -> field verified",
        "field_verified": "Field verified -> forwarded to the bank",
        "forwarded": "Forwarded -> credit checked",
        "credit_checked": "Credit checked -> approved",
        "stage_approved": "Approved -> disbursed",
    },
}

#: XLSX sheet names (unique, at most 31 characters).
SHEETS: dict[str, dict[str, str]] = {
    "id": {
        "bank": "Per bank",
        "kecamatan": "Per kecamatan",
        "sector": "Per sektor",
        "sex": "Per jenis kelamin",
        "reasons": "Alasan penolakan",
        "stages": "Lama tunggu",
        "fund": "Dana per bank",
        "quality": "PAR30 dan NPL",
        "outstanding": "Baki debet per kecamatan",
    },
    "en": {
        "bank": "By bank",
        "kecamatan": "By kecamatan",
        "sector": "By sector",
        "sex": "By sex",
        "reasons": "Rejection reasons",
        "stages": "Waiting times",
        "fund": "Fund by bank",
        "quality": "PAR30 and NPL",
        "outstanding": "Outstanding by kecamatan",
    },
}

STAGE_LABEL_KEYS = {
    "submitted": "submitted",
    "field_verified": "field_verified",
    "forwarded": "forwarded",
    "credit_checked": "credit_checked",
    "approved": "stage_approved",
}
GROUP_TITLES = {"bank": "by_bank", "kecamatan": "by_kecamatan", "sector": "by_sector", "sex": "by_sex"}
#: Months before a year-long period shown in the PAR30/NPL trend (none for shorter ones).
TREND_MONTHS_BEFORE_YEAR = 12


def check(params: ReportParams) -> None:
    """Refuse a report without a period or for a period that has not started."""
    labels = LABELS.get(params.language, LABELS["id"])
    if params.period is None:
        raise ReportRefused(labels["no_period"], field="period")
    if params.period.start > business_today():
        raise ReportRefused(labels["not_started"], field="period")


def _counts_table(by: str, period: Period, labels: dict[str, str], language: str) -> Table:
    rows = selectors.application_counts(period=period, by=by)
    columns = (
        Column(labels[by], "text", 2.0),
        Column(labels["received"], "int"),
        Column(labels["approved"], "int"),
        Column(labels["rejected"], "int"),
        Column(labels["withdrawn"], "int"),
        Column(labels["disbursed"], "int"),
        Column(labels["disbursed_amount"], "rupiah", 1.6),
    )
    body = [[row.name or "-", *(getattr(row, name) for name in selectors.COUNT_FIELDS)] for row in rows]
    totals = [labels["total"], *(sum(getattr(row, name) for row in rows) for name in selectors.COUNT_FIELDS)]
    return Table(labels[GROUP_TITLES[by]], columns, body, totals=totals, sheet=SHEETS[language][by])


def _stages_table(period: Period, labels: dict[str, str], language: str) -> Table:
    now = selectors.stage_figures(selectors.stage_waits(period=period))
    before = selectors.stage_figures(selectors.stage_waits(period=period.previous()))
    previous = f"{period.previous().label(language)}"
    columns = (
        Column(labels["stage"], "text", 2.4),
        Column(labels["apps"], "int"),
        Column(labels["median"], "text"),
        Column(labels["p90"], "text"),
        Column(f"{labels['apps']} ({previous})", "int"),
        Column(f"{labels['median']} ({previous})", "text"),
        Column(f"{labels['p90']} ({previous})", "text"),
    )
    rows = [
        [
            labels[STAGE_LABEL_KEYS[this.stage]],
            this.count,
            _days(this.median, language),
            _days(this.p90, language),
            that.count,
            _days(that.median, language),
            _days(that.p90, language),
        ]
        for this, that in zip(now, before, strict=True)
    ]
    return Table(labels["stages"], columns, rows, sheet=SHEETS[language]["stages"])


def _days(value: Decimal | None, language: str) -> str | None:
    if value is None:
        return None
    text = f"{value:.2f}"
    return text.replace(".", ",") if language == "id" else text


def build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document:
    """The programme report for ``params.period`` in ``params.language``."""
    check(params)
    period = params.period
    if period is None:  # check() refused it already
        raise ReportRefused(LABELS["id"]["no_period"], field="period")
    language = params.language if params.language in LABELS else "id"
    labels = LABELS[language]
    steps = 9
    progress(0, steps)

    blocks: list[Block] = []
    counts = {by: _counts_table(by, period, labels, language) for by in ("bank", "kecamatan", "sector", "sex")}
    progress(1, steps)
    totals = counts["bank"].totals or []
    blocks.append(
        Facts(
            labels["summary"],
            tuple(
                Fact(labels[name], value, "rupiah" if name == "disbursed_amount" else "int")
                for name, value in zip(selectors.COUNT_FIELDS, totals[1:], strict=True)
            ),
        )
    )
    blocks.extend(counts.values())

    reasons = selectors.rejection_reasons(period=period)
    blocks.append(
        Table(
            labels["reasons"],
            (Column(labels["reason"], "text", 4.0), Column(labels["count"], "int")),
            [[reason or labels["no_reason"], count] for reason, count in reasons],
            totals=[labels["total"], sum(count for _reason, count in reasons)],
            sheet=SHEETS[language]["reasons"],
        )
    )
    progress(2, steps)

    blocks.append(_stages_table(period, labels, language))
    progress(3, steps)

    day, funds = selectors.fund_use(period=period)
    fund_fields = ("allocated", "disbursed", "repaid", "outstanding", "available")
    blocks.append(
        Table(
            labels["fund"],
            (Column(labels["bank"], "text", 2.0), *(Column(labels[name], "rupiah", 1.5) for name in fund_fields)),
            [[f"{fund.bank} - {fund.name}", *(getattr(fund, name) for name in fund_fields)] for fund in funds],
            totals=[labels["total"], *(sum(getattr(fund, name) for fund in funds) for name in fund_fields)],
            sheet=SHEETS[language]["fund"],
        )
    )
    blocks.append(
        Paragraph(labels["fund_note"].format(day=long_date(day, language)) if day else labels["no_close"], "note")
    )
    progress(4, steps)

    months = period.months()
    quality = selectors.monthly_quality(months=months)
    trend: list[selectors.MonthQuality] = []
    if period.kind == "year":
        trend = selectors.monthly_quality(months=period.previous().months()[-TREND_MONTHS_BEFORE_YEAR:])
    progress(5, steps)
    blocks.append(
        Table(
            labels["quality"],
            (
                Column(labels["month"], "text", 1.4),
                Column(labels["as_of"], "date", 1.4),
                Column(labels["disbursed"], "rupiah", 1.5),
                Column(labels["outstanding"], "rupiah", 1.5),
                Column(labels["par30"], "percent"),
                Column(labels["npl"], "percent"),
            ),
            [
                [_month(row.month, language), row.as_of, row.disbursed, row.outstanding, row.par30, row.npl]
                for row in [*trend, *quality]
            ],
            sheet=SHEETS[language]["quality"],
        )
    )

    repeat, everyone = selectors.repeat_borrowers(period=period)
    blocks.append(
        Facts(
            labels["repeat"],
            (
                Fact(labels["repeat_count"], repeat, "int"),
                Fact(labels["borrowers"], everyone, "int"),
                Fact(labels["repeat_share"], selectors.share(repeat, everyone), "percent"),
            ),
        )
    )
    progress(6, steps)

    by_kecamatan = selectors.outstanding_by_kecamatan(day=day)
    blocks.append(
        Table(
            labels["outstanding_kecamatan"],
            (
                Column(labels["kecamatan"], "text", 2.0),
                Column(labels["loans"], "int"),
                Column(labels["outstanding"], "rupiah", 1.5),
            ),
            [[name or code or "-", loans, amount] for code, name, loans, amount in by_kecamatan],
            totals=[labels["total"], sum(row[2] for row in by_kecamatan), sum(row[3] for row in by_kecamatan)],
            sheet=SHEETS[language]["outstanding"],
        )
    )
    progress(7, steps)

    blocks.append(
        Chart(
            labels["chart_disbursed"],
            "bar",
            tuple(_month(row.month, language) for row in quality),
            (Series(labels["disbursed"], tuple(row.disbursed for row in quality)),),
            "rupiah",
        )
    )
    blocks.append(
        Chart(
            labels["chart_outstanding"],
            "bar",
            tuple(name or code or "-" for code, name, _loans, _amount in by_kecamatan),
            (Series(labels["outstanding"], tuple(amount for *_rest, amount in by_kecamatan)),),
            "rupiah",
        )
    )
    shown = [*trend, *quality]
    blocks.append(
        Chart(
            labels["chart_quality"],
            "line",
            tuple(_month(row.month, language) for row in shown),
            (
                Series(labels["par30"], tuple(row.par30 for row in shown)),
                Series(labels["npl"], tuple(row.npl for row in shown)),
            ),
            "percent",
        )
    )
    progress(steps, steps)

    return Document(
        kind="programme",
        title=labels["title"],
        period_label=period.label(language),
        meta=meta,
        blocks=tuple(blocks),
        landscape=True,
        slug=period.code,
        extra={"as_of": day.isoformat() if day else None},
    )


def _month(month: Period, language: str) -> str:
    return month_label(month.start.year, month.start.month, language)
