"""What the borrower's papers share (the installment card, the receipt, the settlement
letter): the parties and the loan's terms as facts, the names of statuses, sectors and
channels in both languages, and the refusals (a :class:`PaperError` of the selectors
as a :class:`ReportRefused` in the paper's language). Pure layout: no query here."""

from __future__ import annotations

import re
from typing import Any

from borrowers.identity import mask_nik
from loans.models import Loan
from reports import formats
from reports.document import Fact, Facts
from reports.kinds.base import ReportParams, ReportRefused
from reports.selectors.papers import PaperError

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "parties": "Peminjam dan usaha",
        "name": "Nama peminjam",
        "nik": "NIK",
        "business": "Usaha",
        "sector": "Sektor usaha",
        "nib": "NIB",
        "loan": "Pinjaman",
        "bank": "Bank pelaksana",
        "contract": "Nomor kontrak",
        "disbursed_on": "Tanggal pencairan",
        "principal": "Pokok pinjaman",
        "tenor": "Jangka waktu",
        "months": "{months} bulan",
        "rate": "Suku bunga",
        "rate_text": "{percent} per tahun ({method})",
        "status": "Status pinjaman",
        "missing_loan": "Pinjaman tidak ditemukan.",
        "missing_repayment": "Pembayaran tidak ditemukan.",
        "not_paid_off": "Pinjaman ini belum lunas (status: {status}); surat keterangan lunas dibuat setelah pelunasan.",
        "left": "Pinjaman ini masih menyisakan pokok {principal}, bunga {interest} dan denda {penalty}.",
        "before_deferral": "Jadwal pinjaman ini diubah oleh penundaan sesudah tanggal itu; pilih tanggal sesudahnya.",
        "future": "Tanggal posisi tidak boleh sesudah hari ini ({today}).",
        "before_disbursement": "Pinjaman dicairkan pada {day}; pilih tanggal sesudahnya.",
        "pending": "Jadwal angsuran pinjaman ini masih dihitung; coba lagi sebentar.",
    },
    "en": {
        "parties": "Borrower and business",
        "name": "Borrower",
        "nik": "NIK (national identity number)",
        "business": "Business",
        "sector": "Sector",
        "nib": "NIB (business number)",
        "loan": "Loan",
        "bank": "Executing bank",
        "contract": "Contract number",
        "disbursed_on": "Disbursed on",
        "principal": "Principal",
        "tenor": "Tenor",
        "months": "{months} months",
        "rate": "Interest rate",
        "rate_text": "{percent} a year ({method})",
        "status": "Loan status",
        "missing_loan": "No such loan.",
        "missing_repayment": "No such repayment.",
        "not_paid_off": "This loan is not paid off (status: {status}); a settlement letter is made after the pay-off.",
        "left": "This loan still owes principal {principal}, interest {interest} and penalty {penalty}.",
        "before_deferral": "A deferral changed this loan's schedule after that date; choose a later date.",
        "future": "The statement's date cannot be after today ({today}).",
        "before_disbursement": "The loan was disbursed on {day}; choose a date after it.",
        "pending": "The loan's schedule is still being computed; try again in a moment.",
    },
}

STATUSES = {
    "id": {"active": "Aktif", "overdue": "Menunggak", "paid_off": "Lunas", "written_off": "Hapus buku"},
    "en": {"active": "Active", "overdue": "Overdue", "paid_off": "Paid off", "written_off": "Written off"},
}
METHODS = {
    "id": {"flat": "bunga flat", "annuity": "anuitas", "equal_principal": "efektif, pokok tetap"},
    "en": {"flat": "flat", "annuity": "annuity", "equal_principal": "declining balance, equal principal"},
}
SECTORS = {
    "id": {
        "trade": "Perdagangan", "services": "Jasa", "food": "Kuliner", "manufacturing": "Industri pengolahan",
        "craft": "Kerajinan", "agriculture": "Pertanian dan perikanan", "other": "Lainnya",
    },
    "en": {
        "trade": "Trade", "services": "Services", "food": "Food and drink", "manufacturing": "Manufacturing",
        "craft": "Crafts", "agriculture": "Agriculture and fisheries", "other": "Other",
    },
}  # fmt: skip
CHANNELS = {
    "id": {"teller": "Teller", "transfer": "Transfer", "auto_debit": "Autodebet"},
    "en": {"teller": "Teller", "transfer": "Transfer", "auto_debit": "Auto-debit"},
}


def language_of(params: ReportParams) -> str:
    return params.language if params.language in LABELS else "id"


def refused(error: PaperError, language: str) -> ReportRefused:
    """``error`` as the 400 naming its field, in ``language``; rupiah and dates shown
    as the papers show them."""
    labels = LABELS[language]
    values: dict[str, Any] = {}
    for name, value in error.values.items():
        if name == "status":
            value = STATUSES[language].get(str(value), value)
        elif isinstance(value, int):
            value = formats.rupiah(value, language)
        values[name] = value
    key = f"missing_{error.field}" if error.reason == "missing" else error.reason
    return ReportRefused(labels[key].format(**values), field=error.field)


def parties(loan: Loan, language: str) -> Facts:
    """The borrower (name, NIK masked) and the business."""
    labels = LABELS[language]
    business = loan.application.business
    items = [
        Fact(labels["name"], loan.borrower.name),
        Fact(labels["nik"], mask_nik(loan.borrower.nik)),
        Fact(labels["business"], business.name),
        Fact(labels["sector"], SECTORS[language].get(business.sector, business.sector)),
    ]
    if business.nib:
        items.append(Fact(labels["nib"], business.nib))
    return Facts(labels["parties"], tuple(items))


def terms(loan: Loan, language: str, *more: Fact) -> Facts:
    """The loan: bank, contract, disbursement, principal, tenor, rate, then ``more``."""
    labels = LABELS[language]
    rate = labels["rate_text"].format(
        percent=formats.percent(loan.annual_rate, language), method=METHODS[language].get(loan.method, loan.method)
    )
    return Facts(
        labels["loan"],
        (
            Fact(labels["bank"], loan.bank.name),
            Fact(labels["contract"], loan.contract_number),
            Fact(labels["disbursed_on"], loan.disbursed_on, "date"),
            Fact(labels["principal"], loan.principal, "rupiah"),
            Fact(labels["tenor"], labels["months"].format(months=loan.tenor_months)),
            Fact(labels["rate"], rate),
            *more,
        ),
    )


def status_name(status: str, language: str) -> str:
    return STATUSES[language].get(status, status)


def person(user: Any) -> str:
    """A clerk as a reader knows them: the full name, else the user name."""
    if user is None:
        return "-"
    return (user.get_full_name() or user.username).strip()


def slug(*parts: str) -> str:
    """A file-name-safe slug of ``parts`` ("KW/2026/001" -> "KW-2026-001")."""
    return "-".join(re.sub(r"[^A-Za-z0-9]+", "-", part).strip("-") for part in parts if part)
