"""The bank monthly report: the executing bank's report to the city for one month.

**Summary** (first page): the fund's roll-forward (opening outstanding + disbursed -
principal repaid - written off = closing outstanding), the interest and penalties
collected split into the bank's fee and the city's share, what is owed to the city and
what was transferred (when recorded), the fund available to lend (all from
:func:`reports.selectors.fund.fund_flows`, the rule the city's books use too); the
outstanding, count and provision by collectibility class (the bank's own provision
rates, ``CollectibilityClass`` of its kind); the arrears ageing; the month's
disbursements and repayments.

**The loans** (:func:`reports.selectors.bank_monthly.loan_rows`, which says which
loans and how each figure is counted): in CSV and XLSX one row per loan with every
column (the month's opening outstanding, disbursement, recovery, write-off and penalty
arrears besides the issue's); in the PDF (landscape A4) the issue's columns as two
lists, the loans' terms and the month's figures, both in the same order and keyed by
contract number, with their totals (one landscape row cannot hold 22 columns of
rupiah and dates legibly).

The summary's figures are the sums of the lists: closing outstanding by class and the
ageing are summed from the loans' month-end figures, and the roll-forward's flows equal
the list's columns (tests/reports/test_bank_monthly.py proves both, and that the
opening equals the previous month's closing).

**Rounding.** A class's provision is its outstanding x its rate / 100, rounded half up
to whole rupiah once per class (:func:`loans.money.div_round` via
:func:`loans.selectors.portfolio.percent_of`); the total provision is the sum of the
classes' provisions.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from banks.models import Bank
from loans.selectors.portfolio import percent_of
from reports.document import Block, Cell, Column, Document, DocumentMeta, Fact, Facts, Paragraph, Progress, Table
from reports.formats import long_date
from reports.kinds.base import ReportParams, ReportRefused
from reports.selectors import bank_monthly as selectors
from reports.selectors.fund import FundFlows, fund_flows

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan Bulanan Bank Pelaksana",
        "no_bank": "Pilih bank.",
        "no_period": "Pilih bulan laporan.",
        "not_closed": "Tutup buku hari terakhir bulan ini ({day}) belum dijalankan.",
        "fund": "Perputaran dana bergulir",
        "opening": "Baki debet awal bulan",
        "disbursed": "Pencairan",
        "principal_repaid": "Angsuran pokok kembali",
        "written_off": "Hapus buku",
        "closing": "Baki debet akhir bulan",
        "income": "Bunga, denda dan setoran ke kota",
        "interest_collected": "Bunga diterima",
        "penalty_collected": "Denda diterima",
        "fee_rate": "Imbal jasa bank (persen dari bunga)",
        "bank_fee": "Imbal jasa bank",
        "city_share": "Bagian pemerintah kota (bunga + denda - imbal jasa)",
        "recovered": "Pemulihan pokok hapus buku",
        "owed": "Kewajiban kepada kota (pokok kembali + pemulihan + bagian kota)",
        "transferred": "Telah disetor ke kas daerah",
        "not_recorded": "tidak dicatat dalam sistem",
        "available": "Dana tersedia untuk disalurkan",
        "by_class": "Baki debet dan penyisihan per kolektibilitas",
        "class": "Kol.",
        "class_name": "Kolektibilitas",
        "count": "Jumlah pinjaman",
        "outstanding": "Baki debet",
        "provision_percent": "Tarif PPAP",
        "provision": "PPAP",
        "ageing": "Umur tunggakan",
        "age": "Hari tunggak",
        "current": "Tidak menunggak",
        "over": "Lebih dari {days} hari",
        "days": "{low}-{high} hari",
        "activity": "Pencairan dan angsuran bulan ini",
        "disbursed_count": "Pinjaman dicairkan",
        "disbursed_amount": "Nilai pencairan",
        "repayment_count": "Pembayaran dibukukan",
        "repayment_amount": "Nilai pembayaran (pokok + bunga + denda)",
        "loans": "Daftar pinjaman",
        "loans_terms": "Daftar pinjaman: data kontrak",
        "loans_month": "Daftar pinjaman: angsuran, tunggakan dan baki debet bulan ini",
        "total": "Jumlah",
        "contract_number": "No. kontrak",
        "contract_date": "Tgl kontrak",
        "borrower": "Nama peminjam",
        "nik": "NIK",
        "business": "Usaha",
        "kecamatan": "Kecamatan",
        "principal": "Plafon",
        "tenor": "Tenor",
        "rate": "Bunga/th",
        "disbursed_on": "Tgl cair",
        "maturity": "Jatuh tempo",
        "status": "Status",
        "opening_outstanding": "Baki awal",
        "loan_disbursed": "Pencairan",
        "principal_due": "Pokok JT",
        "interest_due": "Bunga JT",
        "principal_paid": "Pokok bayar",
        "interest_paid": "Bunga bayar",
        "penalty_paid": "Denda bayar",
        "loan_recovered": "Pemulihan",
        "loan_written_off": "Hapus buku",
        "arrears_principal": "Tgk pokok",
        "arrears_interest": "Tgk bunga",
        "arrears_penalty": "Tgk denda",
        "days_past_due": "Hr tgk",
        "closing_outstanding": "Baki akhir",
        "collectibility": "Kol",
        "legend": (
            "JT: jatuh tempo pada bulan ini; bayar: dibayar pada bulan ini; Tgk: tunggakan dan Hr tgk: hari "
            "tunggakan per {day}; Baki: baki debet pokok; Kol: kolektibilitas per {day}; tenor dalam bulan; "
            "NIK disamarkan."
        ),
        "as_of": "Posisi akhir bulan menurut tutup buku {day}.",
        "active": "Aktif",
        "overdue": "Menunggak",
        "paid_off": "Lunas",
        "written_off_status": "Hapus buku",
    },
    "en": {
        "title": "Executing Bank Monthly Report",
        "no_bank": "Choose the bank.",
        "no_period": "Choose the report's month.",
        "not_closed": "The close of the month's last day ({day}) has not run yet.",
        "fund": "Revolving fund roll-forward",
        "opening": "Outstanding at the start of the month",
        "disbursed": "Disbursed",
        "principal_repaid": "Principal repaid",
        "written_off": "Written off",
        "closing": "Outstanding at the end of the month",
        "income": "Interest, penalties and what is owed to the city",
        "interest_collected": "Interest collected",
        "penalty_collected": "Penalties collected",
        "fee_rate": "Bank's servicing fee (percent of interest)",
        "bank_fee": "Bank's servicing fee",
        "city_share": "City's share (interest + penalties - fee)",
        "recovered": "Principal recovered on written-off loans",
        "owed": "Owed to the city (principal returned + recovered + city's share)",
        "transferred": "Transferred to the city treasury",
        "not_recorded": "not recorded in the system",
        "available": "Available to lend",
        "by_class": "Outstanding and provision by collectibility class",
        "class": "Class",
        "class_name": "Collectibility",
        "count": "Loans",
        "outstanding": "Outstanding",
        "provision_percent": "Provision rate",
        "provision": "Provision",
        "ageing": "Arrears ageing",
        "age": "Days past due",
        "current": "Not in arrears",
        "over": "Over {days} days",
        "days": "{low}-{high} days",
        "activity": "Disbursements and repayments of the month",
        "disbursed_count": "Loans disbursed",
        "disbursed_amount": "Amount disbursed",
        "repayment_count": "Repayments booked",
        "repayment_amount": "Amount repaid (principal + interest + penalties)",
        "loans": "Loans",
        "loans_terms": "Loans: contract terms",
        "loans_month": "Loans: installments, arrears and outstanding of the month",
        "total": "Total",
        "contract_number": "Contract no.",
        "contract_date": "Contract date",
        "borrower": "Borrower",
        "nik": "NIK",
        "business": "Business",
        "kecamatan": "Kecamatan",
        "principal": "Principal",
        "tenor": "Tenor",
        "rate": "Rate/yr",
        "disbursed_on": "Disbursed",
        "maturity": "Maturity",
        "status": "Status",
        "opening_outstanding": "Opening",
        "loan_disbursed": "Disbursed",
        "principal_due": "Princ. due",
        "interest_due": "Int. due",
        "principal_paid": "Princ. paid",
        "interest_paid": "Int. paid",
        "penalty_paid": "Pen. paid",
        "loan_recovered": "Recovered",
        "loan_written_off": "Written off",
        "arrears_principal": "Arr. princ.",
        "arrears_interest": "Arr. int.",
        "arrears_penalty": "Arr. pen.",
        "days_past_due": "DPD",
        "closing_outstanding": "Closing",
        "collectibility": "Cl.",
        "legend": (
            "due: falling due in the month; paid: paid in the month; Arr.: arrears and DPD: days past due as of "
            "{day}; Opening and Closing: outstanding principal; Cl.: collectibility class as of {day}; tenor in "
            "months; NIK masked."
        ),
        "as_of": "Month-end position by the close of {day}.",
        "active": "Active",
        "overdue": "Overdue",
        "paid_off": "Paid off",
        "written_off_status": "Written off",
    },
}

#: XLSX sheet names (unique, at most 31 characters).
SHEETS: dict[str, dict[str, str]] = {
    "id": {"loans": "Daftar pinjaman", "class": "Per kolektibilitas", "ageing": "Umur tunggakan"},
    "en": {"loans": "Loans", "class": "By class", "ageing": "Arrears ageing"},
}

#: Arrears ageing buckets: (first day, last day or None for open-ended). Loans open at
#: month end 0 days past due are the "not in arrears" row, so the buckets' totals are
#: the whole month-end outstanding.
AGEING: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 30),
    (31, 60),
    (61, 90),
    (91, 120),
    (121, 180),
    (181, None),
)


@dataclass(frozen=True)
class LoanColumn:
    """A column of the loan list: its label key, value kind, PDF width, and which of the
    PDF's two lists shows it (``terms``, ``month``, ``both`` as the key column, or none:
    the PDF keeps the issue's columns, CSV and XLSX have every one)."""

    key: str
    kind: str
    width: float
    pdf: str


LOAN_COLUMNS: tuple[LoanColumn, ...] = (
    LoanColumn("contract_number", "text", 1.65, "both"),  # "PASAR/KW/2026/0128" whole at 7 pt
    LoanColumn("contract_date", "date", 1.45, "terms"),
    LoanColumn("borrower", "text", 1.75, "terms"),
    LoanColumn("nik", "text", 1.55, "terms"),
    LoanColumn("business", "text", 1.45, "terms"),
    LoanColumn("kecamatan", "text", 1.45, "terms"),
    LoanColumn("principal", "rupiah", 1.35, "terms"),
    LoanColumn("tenor", "int", 0.5, "terms"),
    LoanColumn("rate", "percent", 0.75, "terms"),
    LoanColumn("disbursed_on", "date", 1.45, "terms"),
    LoanColumn("maturity", "date", 1.45, "terms"),
    LoanColumn("status", "text", 1.0, "terms"),
    LoanColumn("opening_outstanding", "rupiah", 1.35, ""),
    LoanColumn("loan_disbursed", "rupiah", 1.35, ""),
    LoanColumn("principal_due", "rupiah", 1.25, "month"),
    LoanColumn("interest_due", "rupiah", 1.15, "month"),
    LoanColumn("principal_paid", "rupiah", 1.25, "month"),
    LoanColumn("interest_paid", "rupiah", 1.15, "month"),
    LoanColumn("penalty_paid", "rupiah", 1.1, "month"),
    LoanColumn("loan_recovered", "rupiah", 1.2, ""),
    LoanColumn("loan_written_off", "rupiah", 1.3, ""),
    LoanColumn("arrears_principal", "rupiah", 1.25, "month"),
    LoanColumn("arrears_interest", "rupiah", 1.15, "month"),
    LoanColumn("arrears_penalty", "rupiah", 1.1, ""),
    LoanColumn("days_past_due", "int", 0.6, "month"),
    LoanColumn("closing_outstanding", "rupiah", 1.35, "month"),
    LoanColumn("collectibility", "int", 0.4, "month"),
)
#: Columns whose totals the lists carry (the rupiah ones).
SUMMED = frozenset(column.key for column in LOAN_COLUMNS if column.kind == "rupiah")


def check(params: ReportParams) -> None:
    """Refuse a report without a bank or a month, or for a month whose last day the
    nightly close has not closed yet (its snapshot and fund day are what the report's
    month-end figures are)."""
    labels = LABELS.get(params.language, LABELS["id"])
    if params.bank_id is None:
        raise ReportRefused(labels["no_bank"], field="bank")
    if params.period is None or params.period.kind != "month":
        raise ReportRefused(labels["no_period"], field="period")
    if not selectors.month_closed(bank_id=params.bank_id, period=params.period):
        day = long_date(params.period.end, params.language if params.language in LABELS else "id")
        raise ReportRefused(labels["not_closed"].format(day=day), field="period")


@dataclass
class Tally:
    """What the summary sums from the loan list: by class, [count, outstanding] of the
    loans open at month end; by ageing bucket (:data:`AGEING`), [count, outstanding,
    arrears of principal, arrears of interest]; how many loans were disbursed."""

    by_class: dict[int, list[int]]
    by_age: list[list[int]]
    disbursed_count: int


def tally(rows: Sequence[Sequence[Any]]) -> Tally:
    """Sum the month-end figures of ``rows`` (tuples of the selector's columns) by class
    and by ageing bucket. One pass over five columns."""
    column = selectors.COLUMN
    by_class = {grade: [0, 0] for grade in range(1, 6)}
    by_age = [[0, 0, 0, 0] for _ in AGEING]
    picked = operator.itemgetter(
        column["collectibility"],
        column["days_past_due"],
        column["closing_outstanding"],
        column["arrears_principal"],
        column["arrears_interest"],
    )
    for grade, days, outstanding, arrears_principal, arrears_interest in map(picked, rows):
        if grade is None:
            continue
        of_class = by_class[grade]
        of_class[0] += 1
        of_class[1] += outstanding
        age = by_age[bucket(days)]
        age[0] += 1
        age[1] += outstanding
        age[2] += arrears_principal
        age[3] += arrears_interest
    disbursed = column["disbursed"]
    return Tally(by_class, by_age, sum(1 for row in rows if row[disbursed]))


def bucket(days_past_due: int) -> int:
    """The index in :data:`AGEING` of a loan ``days_past_due`` late."""
    for index, (_low, high) in enumerate(AGEING):
        if high is None or days_past_due <= high:
            return index
    return len(AGEING) - 1


def _age_label(low: int, high: int | None, labels: dict[str, str]) -> str:
    if high == 0:
        return labels["current"]
    if high is None:
        return labels["over"].format(days=low - 1)
    return labels["days"].format(low=low, high=high)


def _totals(rows: Sequence[Sequence[Any]], columns: Sequence[LoanColumn], label: str) -> list[Cell]:
    """The list's totals row: the sum of every rupiah column, the label in the first."""
    sums: list[Cell] = [label]
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    for values, column in zip(by_column[1:], columns[1:], strict=True):
        sums.append(sum(values) if column.key in SUMMED else None)
    return sums


def _flow_facts(flows: FundFlows, bank: Bank, labels: dict[str, str]) -> tuple[Facts, Facts]:
    fund = Facts(
        labels["fund"],
        (
            Fact(labels["opening"], flows.opening_outstanding, "rupiah"),
            Fact(labels["disbursed"], flows.disbursed, "rupiah"),
            Fact(labels["principal_repaid"], flows.principal_repaid, "rupiah"),
            Fact(labels["written_off"], flows.written_off, "rupiah"),
            Fact(labels["closing"], flows.closing_outstanding, "rupiah"),
        ),
    )
    income = Facts(
        labels["income"],
        (
            Fact(labels["interest_collected"], flows.interest_collected, "rupiah"),
            Fact(labels["penalty_collected"], flows.penalty_collected, "rupiah"),
            Fact(labels["fee_rate"], Decimal(bank.servicing_fee_percent), "percent"),
            Fact(labels["bank_fee"], flows.bank_fee, "rupiah"),
            Fact(labels["city_share"], flows.city_share, "rupiah"),
            Fact(labels["recovered"], flows.recovered, "rupiah"),
            Fact(labels["owed"], flows.owed_to_city, "rupiah"),
            Fact(
                labels["transferred"],
                flows.transferred if flows.transferred is not None else labels["not_recorded"],
                "rupiah" if flows.transferred is not None else "text",
            ),
            Fact(labels["available"], flows.available, "rupiah"),
        ),
    )
    return fund, income


def build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document:
    """The bank monthly report of ``params.bank_id`` for the month ``params.period``."""
    check(params)
    period, bank_id = params.period, params.bank_id
    if period is None or bank_id is None:  # check() refused them already
        raise ReportRefused(LABELS["id"]["no_period"], field="period")
    bank = Bank.objects.get(pk=bank_id)
    language = params.language if params.language in LABELS else "id"
    labels = LABELS[language]
    status_labels = {
        "active": labels["active"],
        "overdue": labels["overdue"],
        "paid_off": labels["paid_off"],
        "written_off": labels["written_off_status"],
    }

    total = selectors.loan_count(bank_id=bank.pk, period=period)
    progress(0, total)
    rows: list[tuple[Any, ...]] = []
    for row in selectors.loan_rows(bank_id=bank.pk, period=period, status_labels=status_labels):
        rows.append(row)
        if len(rows) % selectors.BATCH == 0:
            progress(len(rows), max(total, len(rows)))
    progress(len(rows), len(rows))
    summed = tally(rows)

    flows = fund_flows(period=period, bank_id=bank.pk)
    repayments = selectors.month_repayments(bank_id=bank.pk, period=period)
    day = long_date(period.end, language)

    fund, income = _flow_facts(flows, bank, labels)
    blocks: list[Block] = [fund, Paragraph(labels["as_of"].format(day=day), "note")]
    blocks.append(
        Facts(
            labels["activity"],
            (
                Fact(labels["disbursed_count"], summed.disbursed_count, "int"),
                Fact(labels["disbursed_amount"], flows.disbursed, "rupiah"),
                Fact(labels["repayment_count"], repayments.count, "int"),
                Fact(labels["repayment_amount"], repayments.amount, "rupiah"),
            ),
        )
    )
    blocks.append(income)
    blocks.append(_class_table(bank, summed, labels, language))
    blocks.append(_ageing_table(summed, labels, language))
    blocks.extend(_loan_tables(rows, params.format, labels, language))
    blocks.append(Paragraph(labels["legend"].format(day=day), "note"))

    return Document(
        kind="bank_monthly",
        title=labels["title"],
        period_label=period.label(language),  # the bank is the issuer, shown beside it
        meta=meta,
        blocks=tuple(blocks),
        landscape=True,
        slug=f"{bank.code}-{period.code}",
        extra={"bank": bank.code, "loans": len(rows)},
    )


def _class_table(bank: Bank, summed: Tally, labels: dict[str, str], language: str) -> Table:
    body: list[list[Cell]] = []
    for row in selectors.class_table(bank=bank):
        count, outstanding = summed.by_class.get(row.grade, [0, 0])
        provision = percent_of(outstanding, row.provision_percent)
        body.append([row.grade, row.name, count, outstanding, row.provision_percent, provision])
    return Table(
        labels["by_class"],
        (
            Column(labels["class"], "int", 0.5),
            Column(labels["class_name"], "text", 2.2),
            Column(labels["count"], "int", 1.0),
            Column(labels["outstanding"], "rupiah", 1.6),
            Column(labels["provision_percent"], "percent", 1.0),
            Column(labels["provision"], "rupiah", 1.6),
        ),
        body,
        totals=[labels["total"], None, _sum(body, 2), _sum(body, 3), None, _sum(body, 5)],
        sheet=SHEETS[language]["class"],
    )


def _ageing_table(summed: Tally, labels: dict[str, str], language: str) -> Table:
    body: list[list[Cell]] = [
        [_age_label(low, high, labels), *figures] for (low, high), figures in zip(AGEING, summed.by_age, strict=True)
    ]
    return Table(
        labels["ageing"],
        (
            Column(labels["age"], "text", 2.0),
            Column(labels["count"], "int", 1.0),
            Column(labels["outstanding"], "rupiah", 1.6),
            Column(labels["arrears_principal"], "rupiah", 1.6),
            Column(labels["arrears_interest"], "rupiah", 1.6),
        ),
        body,
        totals=[labels["total"], *(sum(_int(r[index]) for r in body) for index in range(1, 5))],
        sheet=SHEETS[language]["ageing"],
    )


def _sum(rows: Sequence[Sequence[Cell]], index: int) -> int:
    return sum(_int(row[index]) for row in rows)


def _int(value: Cell) -> int:
    return int(value) if isinstance(value, int | Decimal) else 0


def _loan_tables(rows: list[tuple[Any, ...]], format: str, labels: dict[str, str], language: str) -> list[Block]:
    """One list with every column (CSV, XLSX); in the PDF two lists, the terms and the
    month's figures, each with the contract number first."""
    if format != "pdf":
        columns = tuple(Column(labels[c.key], c.kind, c.width) for c in LOAN_COLUMNS)  # type: ignore[arg-type]
        return [
            Table(
                labels["loans"],
                columns,
                rows,
                totals=_totals(rows, LOAN_COLUMNS, labels["total"]),
                sheet=SHEETS[language]["loans"],
            )
        ]
    tables: list[Block] = []
    for part, title in (("terms", "loans_terms"), ("month", "loans_month")):
        indexes = [index for index, column in enumerate(LOAN_COLUMNS) if column.pdf in ("both", part)]
        chosen = [LOAN_COLUMNS[index] for index in indexes]
        part_rows: list[Any] = list(map(operator.itemgetter(*indexes), rows))
        tables.append(
            Table(
                labels[title],
                tuple(Column(labels[c.key], c.kind, c.width) for c in chosen),  # type: ignore[arg-type]
                part_rows,
                totals=_totals(part_rows, chosen, labels["total"]),
            )
        )
    return tables
