"""The settlement letter (surat keterangan lunas) of a paid-off loan: the executing
bank states that the borrower paid the loan with its contract number off on the
pay-off date and that no principal, interest, penalty or fee remains, with what was
paid in all and the interest a pay-off waived. Banks need it to update the credit
bureau (SLIK OJK) and release collateral.

Only a loan paid off with nothing left gets one: :func:`check` refuses any other
(ReportRefused naming ``loan``), at the request and again when the worker makes it (a
pay-off reversed in between). Figures come from
:func:`reports.selectors.papers.loan_settlement`.
"""

from __future__ import annotations

from functools import partial

from reports import formats
from reports.document import Block, Document, DocumentMeta, Fact, Facts, Paragraph, Progress
from reports.kinds.base import ReportParams
from reports.kinds.paper import language_of, parties, refused, slug, terms
from reports.selectors.papers import PaperError, loan_settlement, paper_loan, require_settled

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Surat Keterangan Lunas",
        "period": "Lunas {day}",
        "opening": (
            "{bank}, bank pelaksana Kredit Wibawa Pemerintah Kota Semarang, dengan ini menerangkan bahwa "
            "peminjam berikut:"
        ),
        "paid_off_on": "Tanggal lunas",
        "statement": (
            "Peminjam tersebut telah MELUNASI pinjaman dengan nomor kontrak {contract} pada {day}. Tidak ada lagi "
            "sisa pokok, bunga, denda maupun biaya atas pinjaman ini."
        ),
        "details": "Rincian pelunasan",
        "principal_paid": "Pokok dibayar",
        "interest_paid": "Bunga dibayar",
        "penalty_paid": "Denda dibayar",
        "interest_waived": "Bunga dihapus karena pelunasan dipercepat",
        "payoff": "Pembayaran pelunasan",
        "payoff_text": "{amount} pada {day} (referensi {reference})",
        "left_principal": "Sisa pokok",
        "left_interest": "Sisa bunga",
        "left_penalty": "Sisa denda",
        "left_fee": "Sisa biaya",
        "purpose": (
            "Surat keterangan ini diberikan untuk pemutakhiran data debitur pada Sistem Layanan Informasi "
            "Keuangan (SLIK) OJK dan, bila ada, pengembalian agunan."
        ),
        "signed": "Semarang, {day}",
        "authentic": (
            "Surat ini dibuat secara elektronik dan sah tanpa tanda tangan. Keasliannya dapat diperiksa dengan "
            "memindai kode QR atau membuka {url}."
        ),
    },
    "en": {
        "title": "Loan Settlement Letter",
        "period": "Paid off {day}",
        "opening": (
            "{bank}, executing bank of the City of Semarang's Kredit Wibawa programme, hereby states that the "
            "following borrower:"
        ),
        "paid_off_on": "Paid off on",
        "statement": (
            "The borrower has PAID OFF the loan with contract number {contract} on {day}. No principal, interest, "
            "penalty or fee remains on this loan."
        ),
        "details": "Pay-off details",
        "principal_paid": "Principal paid",
        "interest_paid": "Interest paid",
        "penalty_paid": "Penalties paid",
        "interest_waived": "Interest waived by the early pay-off",
        "payoff": "Pay-off payment",
        "payoff_text": "{amount} on {day} (reference {reference})",
        "left_principal": "Principal left",
        "left_interest": "Interest left",
        "left_penalty": "Penalty left",
        "left_fee": "Fees left",
        "purpose": (
            "This letter is given to update the borrower's record in the credit bureau (SLIK OJK) and, where "
            "there is any, to release collateral."
        ),
        "signed": "Semarang, {day}",
        "authentic": (
            "This letter is made electronically and is valid without a signature. Check it is authentic by "
            "scanning the QR code or opening {url}."
        ),
    },
}


def check(params: ReportParams) -> None:
    """Refuse a letter for a loan that is not paid off, or that still owes principal,
    interest or penalty (ReportRefused naming ``loan``)."""
    language = language_of(params)
    try:
        if params.loan_id is None:
            raise PaperError("loan", "missing")
        require_settled(paper_loan(params.loan_id))
    except PaperError as error:
        raise refused(error, language) from error


def build(params: ReportParams, meta: DocumentMeta, progress: Progress) -> Document:
    """The settlement letter of ``params.loan_id`` in ``params.language``."""
    language = language_of(params)
    labels = LABELS[language]
    try:
        if params.loan_id is None:
            raise PaperError("loan", "missing")
        loan = paper_loan(params.loan_id)
        require_settled(loan)
        settlement = loan_settlement(loan=loan)
    except PaperError as error:
        raise refused(error, language) from error
    progress(0, 1)
    day = formats.long_date(settlement.paid_off_on, language)
    money = partial(formats.rupiah, language=language)
    details = [
        Fact(labels["principal_paid"], settlement.principal_paid, "rupiah"),
        Fact(labels["interest_paid"], settlement.interest_paid, "rupiah"),
        Fact(labels["penalty_paid"], settlement.penalty_paid, "rupiah"),
    ]
    if settlement.interest_waived:
        details.append(Fact(labels["interest_waived"], settlement.interest_waived, "rupiah"))
    if settlement.payoff is not None:
        payoff = settlement.payoff
        details.append(
            Fact(
                labels["payoff"],
                labels["payoff_text"].format(
                    amount=money(payoff.amount),
                    day=formats.long_date(payoff.paid_on, language),
                    reference=payoff.reference,
                ),
            )
        )
    details += [Fact(labels[name], 0, "rupiah") for name in ("left_principal", "left_interest", "left_penalty")]
    details.append(Fact(labels["left_fee"], 0, "rupiah"))
    blocks: list[Block] = [
        Paragraph(labels["opening"].format(bank=loan.bank.name)),
        parties(loan, language),
        terms(loan, language, Fact(labels["paid_off_on"], settlement.paid_off_on, "date")),
        Paragraph(labels["statement"].format(contract=loan.contract_number, day=day), "emphasis"),
        Facts(labels["details"], tuple(details)),
        Paragraph(labels["purpose"]),
        Paragraph(labels["signed"].format(day=formats.long_date(meta.made_at.date(), language))),
        Paragraph(loan.bank.name),
        Paragraph(labels["authentic"].format(url=meta.verify_url), "note"),
    ]
    progress(1, 1)
    return Document(
        kind=params.kind,
        title=labels["title"],
        period_label=labels["period"].format(day=day),
        meta=meta,
        blocks=tuple(blocks),
        slug=slug(loan.contract_number),
        extra={"loan": loan.pk, "paid_off_on": settlement.paid_off_on.isoformat()},
    )
