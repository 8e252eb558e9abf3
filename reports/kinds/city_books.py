"""The city's books (per month, quarter or year; all banks and each bank, or one bank):
what the city's finance office posts and discloses for the revolving fund, held as a
long-term non-permanent investment (investasi jangka panjang non permanen - dana
bergulir).

For each section (all banks together, then each bank by code; only the bank asked for
when one is):

* **financing** (pembiayaan): principal returned, a financing receipt (instalments of
  principal plus recoveries on written-off loans), apart from the money lent out, a
  financing outflow, and the net;
* **revenue** (lain-lain PAD yang sah - hasil pengelolaan dana bergulir): interest and
  penalties collected less the banks' servicing fee (a percent of interest, per bank
  per month: see :mod:`reports.selectors.fund`), with what is owed to the city and what
  was transferred (when recorded);
* **the roll-forward** (mutasi dana bergulir): opening outstanding + lent - principal
  repaid - written off = closing outstanding;
* **the position**: what is owed to the city (principal returned and earnings), what
  was transferred (when recorded: no transfer is recorded in this system yet, so it
  says so) and the fund available to lend at the period's end;
* **the allowance** (penyisihan dana bergulir tidak tertagih) at the period's last
  closed day, by the city's allowance classes with their percent, and the net
  realizable value = outstanding - allowance (see :mod:`reports.selectors.city_books`).

Figures come from the selectors; this module only lays them out. Deductions are shown
as negative amounts so each table adds up as printed to its bold result row.
"""

from __future__ import annotations

from banks.models import Bank
from config.clock import business_today
from reports.document import Block, Column, Document, DocumentMeta, Fact, Facts, Paragraph, Progress, Table
from reports.formats import long_date
from reports.kinds.base import ReportParams, ReportRefused
from reports.selectors.city_books import Allowance, allowance_by_bank, allowance_day, allowance_total
from reports.selectors.fund import FundFlows, flows_total, fund_flows_by_bank

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan Dana Bergulir untuk Pembukuan Pemerintah Kota",
        "no_period": "Pilih periode laporan.",
        "not_started": "Periode ini belum dimulai.",
        "no_close": "Belum ada tutup buku harian pada periode ini.",
        "no_bank": "Bank tidak ditemukan.",
        "all_banks": "Semua bank",
        "item": "Uraian",
        "amount": "Jumlah",
        "financing": "Pembiayaan",
        "principal_returned": "Penerimaan pembiayaan: pengembalian pokok dana bergulir",
        "principal_repaid": "   dari angsuran pokok",
        "recovered": "   dari pemulihan pinjaman yang dihapusbukukan",
        "disbursed": "Pengeluaran pembiayaan: penyaluran dana bergulir",
        "net_financing": "Pembiayaan neto",
        "revenue": "Lain-lain PAD yang sah: hasil pengelolaan dana bergulir",
        "interest": "Bunga diterima",
        "penalty": "Denda diterima",
        "bank_fee": "Dikurangi: imbal jasa bank pelaksana",
        "city_share": "Hasil pengelolaan dana bergulir",
        "owed": "Hak kota: pengembalian pokok dan hasil pengelolaan",
        "transferred": "Disetor ke kas daerah (tercatat)",
        "not_recorded": "tidak tercatat",
        "roll_forward": "Mutasi dana bergulir (baki debet)",
        "opening": "Saldo awal",
        "lent": "Ditambah: penyaluran",
        "repaid": "Dikurangi: pengembalian pokok",
        "written_off": "Dikurangi: penghapusbukuan",
        "closing": "Saldo akhir",
        "available": "Dana tersedia untuk disalurkan pada akhir periode",
        "position": "Hak kota dan dana tersedia",
        "allowance": "Penyisihan dana bergulir tidak tertagih per {day}",
        "allowance_none": "Penyisihan dana bergulir tidak tertagih",
        "quality": "Kualitas",
        "grades": "Kolektibilitas",
        "outstanding": "Baki debet",
        "percent": "Persentase",
        "allowance_amount": "Penyisihan",
        "unclassified": "Belum masuk kelas",
        "total": "Jumlah",
        "nrv_title": "Nilai bersih yang dapat direalisasikan",
        "nrv_outstanding": "Dana bergulir (baki debet)",
        "nrv_allowance": "Dikurangi: penyisihan dana bergulir tidak tertagih",
        "nrv": "Nilai bersih yang dapat direalisasikan",
        "note_fee": (
            "Imbal jasa bank: persentase imbal jasa tiap bank atas bunga yang diterima, dibulatkan ke rupiah "
            "terdekat (setengah ke atas) sekali per bank per bulan; denda tidak dibagi. Pengembalian pokok dan bunga "
            "dicatat menurut tanggal bayar; angsuran yang dibatalkan tidak dihitung."
        ),
        "note_allowance": (
            "Penyisihan: baki debet per kolektibilitas pada tutup buku {day} dikali persentase kelas, dibulatkan "
            "setengah ke atas sekali per kelas per bank; jumlah semua bank = jumlah penyisihan tiap bank. Pinjaman "
            "yang dihapusbukukan tidak lagi dihitung dalam baki debet."
        ),
        "note_transfer": "Setoran ke kas daerah belum dicatat dalam sistem ini.",
    },
    "en": {
        "title": "Revolving Fund Report for the City's Books",
        "no_period": "Choose the report's period.",
        "not_started": "This period has not started yet.",
        "no_close": "No nightly close has run in this period yet.",
        "no_bank": "No such bank.",
        "all_banks": "All banks",
        "item": "Item",
        "amount": "Amount",
        "financing": "Financing",
        "principal_returned": "Financing receipt: revolving-fund principal returned",
        "principal_repaid": "   from principal instalments",
        "recovered": "   from recoveries on written-off loans",
        "disbursed": "Financing outflow: revolving-fund lending",
        "net_financing": "Net financing",
        "revenue": "Other own-source revenue: revolving-fund earnings",
        "interest": "Interest collected",
        "penalty": "Penalties collected",
        "bank_fee": "Less: executing banks' fee",
        "city_share": "Revolving-fund earnings",
        "owed": "Owed to the city: principal returned and earnings",
        "transferred": "Transferred to the city treasury (recorded)",
        "not_recorded": "not recorded",
        "roll_forward": "Revolving fund roll-forward (outstanding principal)",
        "opening": "Opening balance",
        "lent": "Add: lent out",
        "repaid": "Less: principal repaid",
        "written_off": "Less: written off",
        "closing": "Closing balance",
        "available": "Available to lend at the period's end",
        "position": "Owed to the city and fund available",
        "allowance": "Allowance for uncollectible revolving-fund amounts as of {day}",
        "allowance_none": "Allowance for uncollectible revolving-fund amounts",
        "quality": "Quality",
        "grades": "Collectibility",
        "outstanding": "Outstanding",
        "percent": "Percent",
        "allowance_amount": "Allowance",
        "unclassified": "In no class",
        "total": "Total",
        "nrv_title": "Net realizable value",
        "nrv_outstanding": "Revolving fund (outstanding principal)",
        "nrv_allowance": "Less: allowance for uncollectible amounts",
        "nrv": "Net realizable value",
        "note_fee": (
            "Banks' fee: each bank's servicing fee percent of the interest collected, rounded to the nearest rupiah "
            "(halves up) once per bank per month; penalties are not shared. Principal and interest are counted by "
            "the date paid; reversed repayments are not counted."
        ),
        "note_allowance": (
            "Allowance: outstanding principal by collectibility at the close of {day} times the class's percent, "
            "rounded half up once per class per bank; all banks' allowance is the sum of the banks'. Written-off "
            "loans are no longer in the outstanding."
        ),
        "note_transfer": "Transfers to the city treasury are not recorded in this system.",
    },
}

#: Short sheet names (XLSX: unique, at most 31 characters) per table, with the section's code.
SHEETS: dict[str, dict[str, str]] = {
    "id": {"financing": "Pembiayaan", "revenue": "Hasil", "roll_forward": "Mutasi", "allowance": "Penyisihan"},
    "en": {"financing": "Financing", "revenue": "Earnings", "roll_forward": "Roll-forward", "allowance": "Allowance"},
}
ALL = {"id": "SEMUA", "en": "ALL"}


def _labels(params: ReportParams) -> dict[str, str]:
    return LABELS.get(params.language, LABELS["id"])


def check(params: ReportParams) -> None:
    """Refuse a report without a period, for a period that has not started, or for one
    in which no nightly close has run (the allowance needs the loans' classes at a
    closed day); all refusals name ``period``."""
    labels = _labels(params)
    if params.period is None:
        raise ReportRefused(labels["no_period"], field="period")
    if params.period.start > business_today():
        raise ReportRefused(labels["not_started"], field="period")
    if allowance_day(params.period) is None:
        raise ReportRefused(labels["no_close"], field="period")


def _amounts(
    title: str, rows: list[tuple[str, int]], total: tuple[str, int], labels: dict[str, str], sheet: str
) -> Table:
    """Line items with their result as the (bold) totals row."""
    return Table(
        title,
        (Column(labels["item"], "text", 3.2), Column(labels["amount"], "rupiah", 1.3)),
        [[label, value] for label, value in rows],
        totals=list(total),
        sheet=sheet,
    )


def _financing(flows: FundFlows, labels: dict[str, str], prefix: str, sheet: str) -> Table:
    return _amounts(
        f"{prefix}{labels['financing']}",
        [
            (labels["principal_returned"], flows.principal_returned),
            (labels["principal_repaid"], flows.principal_repaid),
            (labels["recovered"], flows.recovered),
            (labels["disbursed"], -flows.disbursed),
        ],
        (labels["net_financing"], flows.principal_returned - flows.disbursed),
        labels,
        sheet,
    )


def _revenue(flows: FundFlows, labels: dict[str, str], prefix: str, sheet: str) -> Table:
    return _amounts(
        f"{prefix}{labels['revenue']}",
        [
            (labels["interest"], flows.interest_collected),
            (labels["penalty"], flows.penalty_collected),
            (labels["bank_fee"], -flows.bank_fee),
        ],
        (labels["city_share"], flows.city_share),
        labels,
        sheet,
    )


def _roll_forward(flows: FundFlows, labels: dict[str, str], prefix: str, sheet: str) -> Table:
    return _amounts(
        f"{prefix}{labels['roll_forward']}",
        [
            (labels["opening"], flows.opening_outstanding),
            (labels["lent"], flows.disbursed),
            (labels["repaid"], -flows.principal_repaid),
            (labels["written_off"], -flows.written_off),
        ],
        (labels["closing"], flows.closing_outstanding),
        labels,
        sheet,
    )


def _position(flows: FundFlows, labels: dict[str, str], prefix: str) -> Facts:
    transferred: int | str = labels["not_recorded"] if flows.transferred is None else flows.transferred
    return Facts(
        f"{prefix}{labels['position']}",
        (
            Fact(labels["owed"], flows.owed_to_city, "rupiah"),
            Fact(labels["transferred"], transferred, "rupiah"),
            Fact(labels["available"], flows.available, "rupiah"),
        ),
    )


def _grades(grades: tuple[int, ...]) -> str:
    return str(grades[0]) if len(grades) == 1 else f"{grades[0]}-{grades[-1]}"


def _allowance(allowance: Allowance, labels: dict[str, str], language: str, prefix: str, sheet: str) -> list[Block]:
    title = (
        labels["allowance"].format(day=long_date(allowance.day, language))
        if allowance.day
        else labels["allowance_none"]
    )
    table = Table(
        f"{prefix}{title}",
        (
            Column(labels["quality"], "text", 1.8),
            Column(labels["grades"], "text", 1.1),
            Column(labels["outstanding"], "rupiah", 1.5),
            Column(labels["percent"], "percent", 0.9),
            Column(labels["allowance_amount"], "rupiah", 1.5),
        ),
        [
            [
                line.row.name if line.row else labels["unclassified"],
                _grades(line.grades),
                line.outstanding,
                line.percent,
                line.allowance,
            ]
            for line in allowance.lines
        ],
        totals=[labels["total"], None, allowance.outstanding, None, allowance.allowance],
        sheet=sheet,
    )
    nrv = Facts(
        f"{prefix}{labels['nrv_title']}",
        (
            Fact(labels["nrv_outstanding"], allowance.outstanding, "rupiah"),
            Fact(labels["nrv_allowance"], -allowance.allowance, "rupiah"),
            Fact(labels["nrv"], allowance.net_realizable_value, "rupiah"),
        ),
    )
    return [table, nrv]


def build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document:
    """The city's books for ``params.period`` (all banks and each bank, or the bank
    ``params.bank_id``) in ``params.language``."""
    check(params)
    period = params.period
    if period is None:  # check() refused it already
        raise ReportRefused(LABELS["id"]["no_period"], field="period")
    language = params.language if params.language in LABELS else "id"
    labels = LABELS[language]
    banks = Bank.objects.order_by("code")
    if params.bank_id is not None:
        banks = banks.filter(pk=params.bank_id)
    bank_list = list(banks)
    if params.bank_id is not None and not bank_list:
        raise ReportRefused(labels["no_bank"], field="bank")
    ids = [bank.pk for bank in bank_list]
    steps = 2 + len(bank_list)
    progress(0, steps)
    flows = fund_flows_by_bank(period=period, bank_ids=ids)
    day = allowance_day(period)
    allowances = allowance_by_bank(day=day, bank_ids=ids)
    progress(1, steps)

    sections: list[tuple[str, str, FundFlows, Allowance]] = []
    if params.bank_id is None:
        sections.append(
            (
                labels["all_banks"],
                ALL[language],
                flows_total(flows.values(), start=period.start, end=period.end),
                allowance_total(allowances.values(), day=day),
            )
        )
    sections.extend(
        (f"{bank.name} ({bank.code})", bank.code, flows[bank.pk], allowances[bank.pk]) for bank in bank_list
    )

    blocks: list[Block] = []
    sheets = SHEETS[language]
    for index, (name, code, section_flows, section_allowance) in enumerate(sections):
        prefix = f"{name} - "
        blocks.append(Paragraph(name, "emphasis"))
        blocks.append(_financing(section_flows, labels, prefix, f"{code} {sheets['financing']}"))
        blocks.append(_revenue(section_flows, labels, prefix, f"{code} {sheets['revenue']}"))
        blocks.append(_roll_forward(section_flows, labels, prefix, f"{code} {sheets['roll_forward']}"))
        blocks.append(_position(section_flows, labels, prefix))
        blocks.extend(_allowance(section_allowance, labels, language, prefix, f"{code} {sheets['allowance']}"))
        progress(index + 1, steps)
    blocks.append(Paragraph(labels["note_fee"], "note"))
    if day is not None:
        blocks.append(Paragraph(labels["note_allowance"].format(day=long_date(day, language)), "note"))
    if all(section_flows.transferred is None for _n, _c, section_flows, _a in sections):
        blocks.append(Paragraph(labels["note_transfer"], "note"))
    progress(steps, steps)

    slug = period.code if params.bank_id is None else f"{bank_list[0].code}-{period.code}"
    return Document(
        kind="city_books",
        title=labels["title"],
        period_label=period.label(language),
        meta=meta,
        blocks=tuple(blocks),
        slug=slug,
        extra={"as_of": day.isoformat() if day else None},
    )
