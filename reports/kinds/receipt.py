"""The receipt (kwitansi) of one repayment: its number, date, amount (in figures and in
words), the loan's contract and borrower, what it paid of which installments (penalty,
interest, principal), the principal left after it, the bank and the clerk who booked
it. A reversed repayment's receipt says so in a box at the top, with who reversed it,
when and why, and shows what the repayment had paid before it was undone.

Figures come from :func:`reports.selectors.papers.repayment_receipt`; this module only
lays them out.
"""

from __future__ import annotations

from datetime import datetime

from config.clock import BUSINESS_TIME_ZONE, business_date_of
from loans.models import Repayment
from reports import formats
from reports.document import Block, Cell, Column, Document, DocumentMeta, Fact, Facts, Paragraph, Progress, Table
from reports.kinds.base import ReportParams
from reports.kinds.paper import CHANNELS, language_of, parties, person, refused, slug
from reports.selectors.papers import PaperError, repayment_receipt

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Kwitansi Pembayaran Angsuran",
        "receipt": "Kwitansi",
        "number": "Nomor kwitansi",
        "paid_on": "Tanggal bayar",
        "amount": "Jumlah dibayar",
        "in_words": "Terbilang",
        "channel": "Saluran",
        "reference": "Referensi bank",
        "booked_at": "Dibukukan",
        "contract": "Nomor kontrak",
        "reversed": (
            "DIBATALKAN. Pembayaran ini dibatalkan pada {day} oleh {who}. Alasan: {reason}. "
            "Kwitansi ini tidak berlaku sebagai bukti pembayaran."
        ),
        "payoff": "Pembayaran ini melunasi seluruh pinjaman.",
        "split": "Rincian pembayaran",
        "split_reversed": "Rincian pembayaran (dibatalkan)",
        "installment": "Angsuran ke",
        "due_date": "Jatuh tempo",
        "penalty": "Denda",
        "interest": "Bunga",
        "principal": "Pokok",
        "total": "Jumlah",
        "after": "Sesudah pembayaran ini",
        "after_reversed": "Sesudah pembatalan",
        "outstanding": "Sisa pokok pinjaman",
        "waived": "Bunga dihapus karena pelunasan",
        "received": "Diterima oleh",
        "bank": "Bank",
        "clerk": "Petugas",
        "reversed_by": "Dibatalkan oleh",
        "reversed_at": "Dibatalkan pada",
        "reason": "Alasan pembatalan",
        "none": "Pembayaran ini tidak membayar angsuran apa pun.",
    },
    "en": {
        "title": "Repayment Receipt",
        "receipt": "Receipt",
        "number": "Receipt number",
        "paid_on": "Paid on",
        "amount": "Amount paid",
        "in_words": "In words",
        "channel": "Channel",
        "reference": "Bank reference",
        "booked_at": "Booked",
        "contract": "Contract number",
        "reversed": (
            "REVERSED. This repayment was reversed on {day} by {who}. Reason: {reason}. "
            "This receipt is no longer proof of payment."
        ),
        "payoff": "This repayment paid the loan off.",
        "split": "What it paid",
        "split_reversed": "What it paid (reversed)",
        "installment": "Installment",
        "due_date": "Due",
        "penalty": "Penalty",
        "interest": "Interest",
        "principal": "Principal",
        "total": "Total",
        "after": "After this repayment",
        "after_reversed": "After the reversal",
        "outstanding": "Principal outstanding",
        "waived": "Interest waived by the pay-off",
        "received": "Received by",
        "bank": "Bank",
        "clerk": "Clerk",
        "reversed_by": "Reversed by",
        "reversed_at": "Reversed on",
        "reason": "Reason for the reversal",
        "none": "This repayment paid no installment.",
    },
}

_ID_UNITS = ["", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas"]
_ID_SCALES = [(10**12, "triliun"), (10**9, "miliar"), (10**6, "juta")]
_EN_UNITS = [
    "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]  # fmt: skip
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand")]


def _words_id(n: int) -> str:
    if n < 12:
        return _ID_UNITS[n]
    if n < 20:
        return f"{_ID_UNITS[n - 10]} belas"
    if n < 100:
        return f"{_ID_UNITS[n // 10]} puluh {_words_id(n % 10)}".strip()
    if n < 200:
        return f"seratus {_words_id(n - 100)}".strip()
    if n < 1000:
        return f"{_ID_UNITS[n // 100]} ratus {_words_id(n % 100)}".strip()
    if n < 2000:
        return f"seribu {_words_id(n - 1000)}".strip()
    if n < 10**6:
        return f"{_words_id(n // 1000)} ribu {_words_id(n % 1000)}".strip()
    for scale, name in _ID_SCALES:
        if n >= scale:
            return f"{_words_id(n // scale)} {name} {_words_id(n % scale)}".strip()
    raise AssertionError(n)  # pragma: no cover - every n >= 10**6 meets a scale


def _words_en(n: int) -> str:
    if n < 20:
        return _EN_UNITS[n]
    if n < 100:
        return f"{_EN_TENS[n // 10]}-{_EN_UNITS[n % 10]}" if n % 10 else _EN_TENS[n // 10]
    if n < 1000:
        return f"{_EN_UNITS[n // 100]} hundred {_words_en(n % 100)}".strip()
    for scale, name in _EN_SCALES:
        if n >= scale:
            return f"{_words_en(n // scale)} {name} {_words_en(n % scale)}".strip()
    raise AssertionError(n)  # pragma: no cover - every n >= 1000 meets a scale


def amount_in_words(amount: int, language: str = "id") -> str:
    """Whole rupiah in words, as a kwitansi writes them (terbilang): 1_250_500 is
    "Satu juta dua ratus lima puluh ribu lima ratus rupiah" (id), "One million two
    hundred fifty thousand five hundred rupiah" (en). 0 is "Nol rupiah" / "Zero rupiah"."""
    if amount < 0:
        raise ValueError("a receipt's amount is not negative")
    words = (_words_id(amount) if language == "id" else _words_en(amount)) or ("nol" if language == "id" else "zero")
    return f"{words[0].upper()}{words[1:]} rupiah"


def _moment(moment: datetime, language: str) -> str:
    return formats.timestamp(moment.astimezone(BUSINESS_TIME_ZONE), language)


def check(params: ReportParams) -> None:
    """Refuse a receipt without a repayment, or for one that does not exist
    (ReportRefused naming ``repayment``)."""
    language = language_of(params)
    if params.repayment_id is None or not Repayment.objects.filter(pk=params.repayment_id).exists():
        raise refused(PaperError("repayment", "missing"), language)


def build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document:
    """The receipt of ``params.repayment_id`` in ``params.language``."""
    language = language_of(params)
    labels = LABELS[language]
    if params.repayment_id is None:
        raise refused(PaperError("repayment", "missing"), language)
    try:
        receipt = repayment_receipt(repayment_id=params.repayment_id)
    except PaperError as error:
        raise refused(error, language) from error
    repayment, loan = receipt.repayment, receipt.repayment.loan
    reversed_ = repayment.status == Repayment.Status.REVERSED
    progress(0, len(receipt.lines))

    blocks: list[Block] = []
    if reversed_ and repayment.reversed_at is not None:
        text = labels["reversed"].format(
            day=formats.long_date(business_date_of(repayment.reversed_at), language),
            who=person(repayment.reversed_by),
            reason=repayment.reversal_reason or "-",
        )
        blocks.append(Paragraph(text, "emphasis"))
    elif repayment.payoff:
        blocks.append(Paragraph(labels["payoff"], "emphasis"))
    blocks.append(
        Facts(
            labels["receipt"],
            (
                Fact(labels["number"], meta.number),
                Fact(labels["paid_on"], repayment.paid_on, "date"),
                Fact(labels["amount"], repayment.amount, "rupiah"),
                Fact(labels["in_words"], amount_in_words(repayment.amount, language)),
                Fact(labels["channel"], CHANNELS[language].get(repayment.channel, repayment.channel)),
                Fact(labels["reference"], repayment.reference),
                Fact(labels["booked_at"], _moment(repayment.created_at, language)),
                Fact(labels["contract"], loan.contract_number),
            ),
        )
    )
    blocks.append(parties(loan, language))
    lines: list[list[Cell]] = [
        [line.number, line.due_date, line.penalty, line.interest, line.principal, line.total] for line in receipt.lines
    ]
    blocks.append(
        Table(
            labels["split_reversed" if reversed_ else "split"],
            (
                Column(labels["installment"], "int", 0.8),
                Column(labels["due_date"], "date", 1.4),
                Column(labels["penalty"], "rupiah", 1.1),
                Column(labels["interest"], "rupiah", 1.1),
                Column(labels["principal"], "rupiah", 1.2),
                Column(labels["total"], "rupiah", 1.2),
            ),
            lines,
            totals=[
                labels["total"],
                None,
                sum(line.penalty for line in receipt.lines),
                sum(line.interest for line in receipt.lines),
                sum(line.principal for line in receipt.lines),
                sum(line.total for line in receipt.lines),
            ],
            sheet=labels["split"],
        )
    )
    if not lines:
        blocks.append(Paragraph(labels["none"], "note"))
    after = [Fact(labels["outstanding"], receipt.outstanding_principal, "rupiah")]
    if repayment.payoff and repayment.interest_waived:
        after.append(Fact(labels["waived"], repayment.interest_waived, "rupiah"))
    blocks.append(Facts(labels["after_reversed" if reversed_ else "after"], tuple(after)))
    received = [Fact(labels["bank"], loan.bank.name), Fact(labels["clerk"], person(repayment.created_by))]
    if reversed_ and repayment.reversed_at is not None:
        received += [
            Fact(labels["reversed_by"], person(repayment.reversed_by)),
            Fact(labels["reversed_at"], _moment(repayment.reversed_at, language)),
            Fact(labels["reason"], repayment.reversal_reason),
        ]
    blocks.append(Facts(labels["received"], tuple(received)))
    progress(len(lines), len(lines))
    return Document(
        kind=params.kind,
        title=labels["title"],
        period_label=formats.long_date(repayment.paid_on, language),
        meta=meta,
        blocks=tuple(blocks),
        slug=slug(loan.contract_number, repayment.reference),
        extra={"repayment": repayment.pk, "status": repayment.status, "amount": repayment.amount},
    )
