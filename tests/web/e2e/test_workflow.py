"""The programme's whole flow in a real browser, each person in a browser context of their
own, through the pages only: an officer registers a borrower, gives them a login and
submits an application; a second officer records the field visit and forwards it; the
bank's staff check, approve (a second person) and disburse; the borrower activates the
login on a phone and sees the schedule the worker stored; a repayment posted at the bank
shows on the borrower's page; a manager reads the dashboard and deactivates an account,
which then cannot sign in. Each page: a screenshot, axe-core's rules, no console error."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, expect

from config.clock import business_today
from config.roles import Role
from tests.factories import DEMO_KELURAHAN, ProductTermsFactory, UserFactory, bank_user, funded_bank, synthetic_nik
from tests.web.e2e.browser import E2E, check_a11y, shoot, sign_in

pytestmark = E2E

PASSWORD = "pass-for-tests"
#: The kecamatan of the demo kelurahan (Semarang Tengah).
KECAMATAN = DEMO_KELURAHAN.rsplit(".", 1)[0]
#: How long the worker may take to store the schedule (s).
SCHEDULE_WAIT = 60


def id_in_path(page: Page, pattern: str) -> int:
    found = re.fullmatch(pattern, urlsplit(page.url).path)
    assert found, f"{page.url} is not {pattern}"
    return int(found.group(1))


def reload_until_visible(page: Page, text: str, *, seconds: float = SCHEDULE_WAIT) -> None:
    """Reload ``page`` until ``text`` shows (what the worker stores appears on a reload)."""
    deadline = time.monotonic() + seconds
    while not page.get_by_text(text, exact=True).count():
        assert time.monotonic() < deadline, f"{text!r} did not show on {page.url} within {seconds} s"
        page.wait_for_timeout(500)
        page.reload()


def test_from_registration_to_a_repayment_and_a_deactivated_account(
    desktop: BrowserContext, phone: BrowserContext, new_context: Callable[..., BrowserContext]
) -> None:
    # What the programme has before day one: the terms in force, a funded bank, its people.
    ProductTermsFactory.create(valid_from=date(2017, 1, 1))
    bank = funded_bank("BPRSMG")
    for username in ("petugas1", "petugas2"):
        UserFactory.create(username=username, role=Role.OFFICER)
    bank_user(bank, username="bank1")
    bank_user(bank, username="bank2")
    UserFactory.create(username="manajer", role=Role.MANAGER)

    # 1. An officer registers the borrower, gives her a login and submits an application.
    office = desktop.new_page()
    sign_in(office, "petugas1", PASSWORD, next="/office/borrowers/new/")
    expect(office.locator("h1")).to_have_text("Daftarkan peminjam")
    nik = synthetic_nik(date(1985, 8, 17), "F", 7)
    with office.expect_response(lambda answer: urlsplit(answer.url).path == "/office/borrowers/nik/"):
        office.get_by_label("NIK").fill(nik)
    office.get_by_label("Nama (sesuai KTP)").fill("Sri Wahyuni")
    office.get_by_label("Tanggal lahir").fill("1985-08-17")
    office.get_by_label("Jenis kelamin").select_option("F")
    office.get_by_label("Nomor HP").fill("081234567890")
    office.get_by_label("Alamat (sesuai KTP)").fill("Jl. Pemuda 12")
    with office.expect_response(lambda answer: urlsplit(answer.url).path == "/office/kelurahan/"):
        office.get_by_label("Kecamatan").select_option(KECAMATAN)
    office.get_by_label("Kelurahan").select_option(DEMO_KELURAHAN)
    office.get_by_label("Nama usaha").fill("Warung Sri")
    office.get_by_label("Sektor").select_option("trade")
    office.get_by_label("NIB", exact=True).fill("9120000000777")
    office.get_by_label("Usaha berjalan sejak").fill("2018-01-01")
    office.get_by_label("Omzet per bulan (rupiah)").fill("15000000")
    office.get_by_label("Pekerja (termasuk pemilik)").fill("2")
    shoot(office, "flow-borrower-new")
    check_a11y(office)
    with office.expect_navigation():
        office.get_by_role("button", name="Daftarkan").click()
    borrower_id = id_in_path(office, r"/office/borrowers/(\d+)/")
    expect(office.locator("h1")).to_have_text("Sri Wahyuni")
    shoot(office, "flow-borrower")
    check_a11y(office)

    with office.expect_navigation():
        office.get_by_role("button", name="Beri akun").click()
    expect(office.locator("h1")).to_have_text("Kode aktivasi")
    facts = office.locator("dl.code-facts dd")
    username, code = facts.nth(0).inner_text().strip(), facts.nth(1).inner_text().strip()
    assert re.fullmatch(r"[\w.@+-]+", username), username
    assert len(code) >= 8, code
    shoot(office, "flow-activation-code")
    check_a11y(office)

    office.goto(f"/office/borrowers/{borrower_id}/")
    expect(office.get_by_role("button", name="Beri akun")).to_have_count(0)
    with office.expect_navigation():
        office.get_by_role("link", name="Pengajuan baru").click()
    office.get_by_label("Bank").select_option(bank.code)
    office.get_by_label("Jumlah (rupiah)").fill("4800000")
    office.get_by_label("Jangka waktu (bulan)").select_option("12")
    office.get_by_label("Tujuan").fill("Modal kerja warung")
    shoot(office, "flow-application-new")
    check_a11y(office)
    with office.expect_navigation():
        office.get_by_role("button", name="Buat dan ajukan").click()
    application_id = id_in_path(office, r"/office/applications/(\d+)/")
    # The officer who submitted may not verify: the page says so and offers no button.
    expect(office.locator("#second-person")).to_contain_text("petugas kedua")
    expect(office.get_by_role("button", name="Catat kunjungan")).to_have_count(0)
    shoot(office, "flow-application-submitted")
    check_a11y(office)

    # 2. A second officer records the field visit and forwards the application.
    office2 = new_context("desktop").new_page()
    sign_in(office2, "petugas2", PASSWORD, next=f"/office/applications/{application_id}/")
    expect(office2.get_by_label("Tanggal kunjungan")).to_have_value(business_today().isoformat())
    office2.get_by_label("Hasil kunjungan").fill("Warung ramai, stok cukup.")
    shoot(office2, "flow-field-visit")
    check_a11y(office2)
    with office2.expect_navigation():
        office2.get_by_role("button", name="Catat kunjungan").click()
    with office2.expect_navigation():
        office2.get_by_role("button", name=f"Teruskan ke {bank.code}").click()
    expect(office2.locator(".lead .badge")).to_have_text(re.compile("diteruskan", re.IGNORECASE))
    shoot(office2, "flow-application-forwarded")
    check_a11y(office2)

    # 3. Bank staff check the credit; a second one approves; the loan is disbursed.
    teller = new_context("desktop").new_page()
    sign_in(teller, "bank1", PASSWORD, next=f"/bank/applications/{application_id}/")
    teller.get_by_label("Hasil SLIK").select_option("clean")
    shoot(teller, "flow-bank-application")
    check_a11y(teller)
    with teller.expect_navigation():
        teller.get_by_role("button", name="Catat pemeriksaan kredit").click()
    expect(teller.locator("#approve-refusal")).to_be_visible()
    expect(teller.get_by_role("button", name="Setujui")).to_have_count(0)
    shoot(teller, "flow-bank-second-person")
    check_a11y(teller)

    approver = new_context("desktop").new_page()
    sign_in(approver, "bank2", PASSWORD, next=f"/bank/applications/{application_id}/")
    approver.get_by_label("Nomor akad").fill("KW-BPRSMG-0001")
    with approver.expect_navigation():
        approver.get_by_role("button", name="Setujui").click()
    disbursed_on = approver.get_by_label("Tanggal pencairan")
    expect(disbursed_on).to_have_value(business_today().isoformat())  # business today, as the service wants
    with approver.expect_navigation():
        approver.get_by_role("button", name="Cairkan").click()
    with approver.expect_navigation():
        approver.get_by_role("link", name="KW-BPRSMG-0001").click()
    loan_id = id_in_path(approver, r"/bank/loans/(\d+)/")

    # 4. The borrower activates her login on her phone and sees her schedule.
    me = phone.new_page()
    me.goto("/activate/")
    shoot(me, "flow-activate")
    check_a11y(me)
    me.get_by_label("Nama pengguna").fill(username)
    me.get_by_label("Kode aktivasi").fill(code)
    me.get_by_label(re.compile(r"^Kata sandi baru")).fill("warung-sri-2026")
    me.get_by_label("Ulangi kata sandi baru").fill("warung-sri-2026")
    with me.expect_navigation():
        me.get_by_role("button", name="Tetapkan kata sandi saya").click()
    assert urlsplit(me.url).path == "/me/"
    expect(me.locator("h1")).to_have_text("Pinjaman saya")
    reload_until_visible(me, "Jadwal angsuran")
    # 4.800.000 over 12 months, flat 3% a year: 400.000 principal and 12.000 interest a month.
    expect(me.locator("table.schedule tbody tr")).to_have_count(12)
    expect(me.locator("table.schedule tbody tr").first).to_contain_text("Rp412.000")
    expect(me.locator("main")).to_contain_text("Rp4.800.000")
    shoot(me, "flow-borrower-schedule")
    check_a11y(me)

    # 5. The bank posts a repayment; the borrower's page shows it.
    reload_until_visible(approver, "Bukukan pembayaran")
    approver.get_by_label("Jumlah (rupiah)").fill("412000")
    approver.get_by_label("Referensi bank").fill("TLR-0001")
    with approver.expect_navigation():
        approver.get_by_role("button", name="Bukukan pembayaran").click()
    assert urlsplit(approver.url).path == f"/bank/loans/{loan_id}/"
    expect(approver.locator("ul.repayments")).to_contain_text("TLR-0001")
    expect(approver.locator("ul.repayments")).to_contain_text("Rp412.000")
    shoot(approver, "flow-bank-loan")
    check_a11y(approver)

    me.reload()
    expect(me.locator("ul.payments")).to_contain_text("Rp412.000")
    # 412.000 is the first installment: 12.000 interest and 400.000 principal.
    expect(me.locator("dl.facts dt:text-is('Sisa pokok pinjaman') + dd")).to_have_text("Rp4.400.000")
    expect(me.locator("dl.facts dt:text-is('Angsuran sudah dibayar') + dd")).to_have_text("1 dari 12")
    expect(me.locator("table.schedule tbody tr").first).to_contain_text("Dibayar")
    shoot(me, "flow-borrower-repaid")
    check_a11y(me)

    # 6. A manager reads the dashboard and deactivates the second bank staff's account.
    manager = new_context("desktop").new_page()
    sign_in(manager, "manajer", PASSWORD, next="/manage/")
    expect(manager.locator("h1")).to_have_text("Dasbor")
    shoot(manager, "flow-dashboard")
    check_a11y(manager)
    manager.goto("/manage/staff/")
    shoot(manager, "flow-staff")
    check_a11y(manager)
    with manager.expect_navigation():
        manager.get_by_role("link", name="bank2", exact=True).click()
    with manager.expect_navigation():
        manager.get_by_role("button", name="Nonaktifkan bank2").click()
    expect(manager.locator("main")).to_contain_text("dinonaktifkan")
    shoot(manager, "flow-staff-deactivated")
    check_a11y(manager)

    gone = new_context("desktop").new_page()
    sign_in(gone, "bank2", PASSWORD, succeed=False)
    assert urlsplit(gone.url).path == "/login/"
    password = gone.locator(".field", has=gone.locator("#id_password"))
    expect(password.locator(".error")).to_have_text("Nama pengguna atau kata sandi salah.")
    shoot(gone, "flow-deactivated-sign-in")
    check_a11y(gone)
