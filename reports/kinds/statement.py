"""The installment card (kartu angsuran): one loan as of a date (today by default).
The borrower and business, the loan's terms, the position on that date (principal
left, arrears of principal, interest and penalty, days past due, the pay-off amount),
every installment with what was paid of it and when, and the repayments.

Figures come from :func:`reports.selectors.papers.loan_card` (the loans' own rules;
see there for what "as of a date" counts); this module only lays them out. The card
of today shows the arrears of the loan API and the pay-off amount of
``GET loans/{id}/payoff/``.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from config.clock import business_today
from loans.arrears import loan_status
from loans.models import Loan, Repayment
from reports import formats
from reports.document import Block, Cell, Column, Document, DocumentMeta, Fact, Facts, Paragraph, Progress, Table
from reports.kinds.base import ReportParams
from reports.kinds.paper import CHANNELS, language_of, parties, refused, slug, status_name, terms
from reports.kinds.paper import LABELS as PAPER_LABELS
from reports.selectors.papers import Card, CardRow, PaperError, loan_card, paper_loan

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Kartu Angsuran",
        "period": "Posisi per {day}",
        "paid_off": "Pinjaman ini telah LUNAS pada {day}.",
        "maturity": "Angsuran terakhir jatuh tempo",
        "position": "Posisi per {day}",
        "outstanding": "Sisa pokok pinjaman",
        "arrears_principal": "Tunggakan pokok",
        "arrears_interest": "Tunggakan bunga",
        "arrears_penalty": "Denda belum dibayar",
        "arrears_total": "Jumlah tunggakan",
        "days_past_due": "Hari keterlambatan",
        "days": "{days} hari",
        "payoff": "Jumlah untuk melunasi per {day}",
        "payoff_text": "{amount} (pokok {principal}, bunga {interest}, denda {penalty})",
        "installments": "Angsuran",
        "number": "Ke",
        "due_date": "Jatuh tempo",
        "principal": "Pokok",
        "interest": "Bunga",
        "principal_paid": "Pokok dibayar",
        "interest_paid": "Bunga dibayar",
        "penalty": "Denda",
        "penalty_paid": "Denda dibayar",
        "left": "Sisa",
        "paid_on": "Tanggal bayar",
        "note": "Status",
        "settled": "Lunas",
        "partly": "Sebagian",
        "overdue": "Tertunggak",
        "total": "Jumlah",
        "repayments": "Riwayat pembayaran",
        "reference": "Referensi",
        "channel": "Saluran",
        "amount": "Jumlah",
        "state": "Status",
        "booked": "Dibukukan",
        "reversed": "Dibatalkan",
        "no_repayments": "Belum ada pembayaran sampai tanggal ini.",
        "penalty_later": "Denda termasuk yang dibebankan tutup buku sampai {day}.",
        "waived": "Bunga angsuran sesudah tanggal pelunasan dihapus: {amount}.",
        "notes": (
            "Tanggal bayar: tanggal angsuran lunas (pokok dan bunga), atau tanggal pembayaran terakhir bila baru "
            "dibayar sebagian. Denda dihitung oleh tutup buku harian bank. Jumlah pelunasan berlaku untuk "
            "pembayaran pada tanggal posisi."
        ),
    },
    "en": {
        "title": "Installment Card",
        "period": "As of {day}",
        "paid_off": "This loan was PAID OFF on {day}.",
        "maturity": "Last installment due",
        "position": "Position as of {day}",
        "outstanding": "Principal outstanding",
        "arrears_principal": "Principal in arrears",
        "arrears_interest": "Interest in arrears",
        "arrears_penalty": "Penalties unpaid",
        "arrears_total": "Total arrears",
        "days_past_due": "Days past due",
        "days": "{days} days",
        "payoff": "Pay-off amount on {day}",
        "payoff_text": "{amount} (principal {principal}, interest {interest}, penalty {penalty})",
        "installments": "Installments",
        "number": "No.",
        "due_date": "Due",
        "principal": "Principal",
        "interest": "Interest",
        "principal_paid": "Principal paid",
        "interest_paid": "Interest paid",
        "penalty": "Penalty",
        "penalty_paid": "Penalty paid",
        "left": "Left",
        "paid_on": "Paid on",
        "note": "Status",
        "settled": "Paid",
        "partly": "Part paid",
        "overdue": "Overdue",
        "total": "Total",
        "repayments": "Repayments",
        "reference": "Reference",
        "channel": "Channel",
        "amount": "Amount",
        "state": "Status",
        "booked": "Booked",
        "reversed": "Reversed",
        "no_repayments": "No repayment up to this date.",
        "penalty_later": "Penalties include those the close charged up to {day}.",
        "waived": "Interest of the installments after the pay-off date was waived: {amount}.",
        "notes": (
            "Paid on: the date the installment was paid in full (principal and interest), or of the last payment "
            "when it is partly paid. Penalties are charged by the bank's nightly close. The pay-off amount holds "
            "for a payment on the statement's date."
        ),
    },
}


def _as_of(params: ReportParams) -> date:
    return params.as_of or business_today()


def _checked(params: ReportParams, language: str) -> tuple[Loan, date]:
    """The loan and the card's date, or ReportRefused: no loan, a schedule still being
    stored, a date after today or before the disbursement."""
    if params.loan_id is None:
        raise refused(PaperError("loan", "missing"), language)
    try:
        loan = paper_loan(params.loan_id)
    except PaperError as error:
        raise refused(error, language) from error
    as_of = _as_of(params)
    if loan.schedule_status != Loan.ScheduleStatus.READY:
        raise refused(PaperError("loan", "pending"), language)
    if as_of > business_today():
        raise refused(PaperError("as_of", "future", today=formats.long_date(business_today(), language)), language)
    if as_of < loan.disbursed_on:
        raise refused(
            PaperError("as_of", "before_disbursement", day=formats.long_date(loan.disbursed_on, language)), language
        )
    return loan, as_of


def check(params: ReportParams) -> None:
    """Refuse a card without a loan, for a loan whose schedule is still being stored,
    for a date after today or before the disbursement, or before a deferral that later
    repayments were booked under (ReportRefused naming ``loan`` or ``as_of``)."""
    language = language_of(params)
    loan, as_of = _checked(params, language)
    later = Repayment.objects.filter(loan=loan, status=Repayment.Status.BOOKED, paid_on__gt=as_of)
    if later.exclude(schedule_version=loan.schedule_version).exists():
        raise refused(PaperError("as_of", "before_deferral"), language)


def _row_note(row: CardRow, as_of: date, labels: dict[str, str]) -> str:
    if row.paid_on is not None:
        return labels["settled"]
    if row.due_date <= as_of:
        return labels["overdue"]
    if row.principal_paid or row.interest_paid:
        return labels["partly"]
    return ""


def _status_on(card: Card) -> str:
    """The loan's status on the card's date, by :func:`loans.arrears.loan_status`."""
    loan = card.loan
    if loan.written_off_on is not None and loan.written_off_on <= card.as_of:
        return Loan.Status.WRITTEN_OFF
    return loan_status(settled=card.paid_off_on is not None, days_past_due=card.arrears.days_past_due)


def build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document:
    """The installment card of ``params.loan_id`` as of ``params.as_of`` (today when
    not given) in ``params.language``."""
    language = language_of(params)
    labels = LABELS[language]
    loan, as_of = _checked(params, language)
    try:
        card = loan_card(loan=loan, as_of=as_of)
    except PaperError as error:
        raise refused(error, language) from error
    progress(0, len(card.rows))
    day = formats.long_date(as_of, language)
    money = partial(formats.rupiah, language=language)

    blocks: list[Block] = []
    if card.paid_off_on is not None:
        paid_off = labels["paid_off"].format(day=formats.long_date(card.paid_off_on, language))
        blocks.append(Paragraph(paid_off, "emphasis"))
    blocks.append(parties(loan, language))
    blocks.append(
        terms(
            loan,
            language,
            Fact(labels["maturity"], card.rows[-1].due_date if card.rows else None, "date"),
            Fact(PAPER_LABELS[language]["status"], status_name(_status_on(card), language)),
        )
    )
    arrears, payoff = card.arrears, card.payoff
    blocks.append(
        Facts(
            labels["position"].format(day=day),
            (
                Fact(labels["outstanding"], card.outstanding_principal, "rupiah"),
                Fact(labels["arrears_principal"], arrears.principal, "rupiah"),
                Fact(labels["arrears_interest"], arrears.interest, "rupiah"),
                Fact(labels["arrears_penalty"], arrears.penalty, "rupiah"),
                Fact(labels["arrears_total"], arrears.total, "rupiah"),
                Fact(labels["days_past_due"], labels["days"].format(days=arrears.days_past_due)),
                Fact(
                    labels["payoff"].format(day=day),
                    labels["payoff_text"].format(
                        amount=money(payoff.amount),
                        principal=money(payoff.principal),
                        interest=money(payoff.interest),
                        penalty=money(payoff.penalty),
                    ),
                ),
            ),
        )
    )
    rows: list[list[Cell]] = [
        [
            row.number,
            row.due_date,
            row.principal,
            row.interest,
            row.principal_paid,
            row.interest_paid,
            row.penalty,
            row.penalty_paid,
            row.left,
            row.paid_on or row.last_paid_on,
            _row_note(row, as_of, labels),
        ]
        for row in card.rows
    ]
    sums = [
        sum(getattr(row, name) for row in card.rows)
        for name in ("principal", "interest", "principal_paid", "interest_paid", "penalty", "penalty_paid", "left")
    ]
    blocks.append(
        Table(
            labels["installments"],
            (
                Column(labels["number"], "int", 0.35),
                Column(labels["due_date"], "date", 1.25),
                Column(labels["principal"], "rupiah", 1.0),
                Column(labels["interest"], "rupiah", 0.85),
                Column(labels["principal_paid"], "rupiah", 1.1),
                Column(labels["interest_paid"], "rupiah", 1.05),
                Column(labels["penalty"], "rupiah", 0.8),
                Column(labels["penalty_paid"], "rupiah", 1.05),
                Column(labels["left"], "rupiah", 1.0),
                Column(labels["paid_on"], "date", 1.25),
                Column(labels["note"], "text", 0.95),
            ),
            rows,
            totals=[None, labels["total"], *sums, None, None],
            sheet=labels["installments"],
        )
    )
    if card.penalty_through is not None and card.penalty_through > as_of:
        later = formats.long_date(card.penalty_through, language)
        blocks.append(Paragraph(labels["penalty_later"].format(day=later), "note"))
    waived = sum(row.interest_waived for row in card.rows)
    if waived:
        blocks.append(Paragraph(labels["waived"].format(amount=money(waived)), "note"))
    repayment_rows: list[list[Cell]] = [
        [
            repayment.paid_on,
            repayment.reference,
            CHANNELS[language].get(repayment.channel, repayment.channel),
            repayment.amount,
            labels["reversed"] if repayment.status == Repayment.Status.REVERSED else labels["booked"],
        ]
        for repayment in card.repayments
    ]
    blocks.append(
        Table(
            labels["repayments"],
            (
                Column(labels["paid_on"], "date", 1.3),
                Column(labels["reference"], "text", 1.6),
                Column(labels["channel"], "text", 1.0),
                Column(labels["amount"], "rupiah", 1.2),
                Column(labels["state"], "text", 1.0),
            ),
            repayment_rows,
            totals=[
                labels["total"],
                None,
                None,
                sum(r.amount for r in card.repayments if r.status == Repayment.Status.BOOKED),
                None,
            ],
            sheet=labels["repayments"],
        )
    )
    if not repayment_rows:
        blocks.append(Paragraph(labels["no_repayments"], "note"))
    blocks.append(Paragraph(labels["notes"], "note"))
    progress(len(card.rows), len(card.rows))
    return Document(
        kind=params.kind,
        title=labels["title"],
        period_label=labels["period"].format(day=day),
        meta=meta,
        blocks=tuple(blocks),
        slug=slug(loan.contract_number, as_of.isoformat()),
        extra={"loan": loan.pk, "as_of": as_of.isoformat(), "payoff": payoff.amount},
    )
