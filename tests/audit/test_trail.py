"""Every service that changes state leaves its audit row.

``AUDITED`` lists the writing services; the walk calls each one and finds its row (actor,
action, subject, what changed). ``NOT_AUDITED`` lists every other public function of the
service modules, with the reason it writes no row of its own. A public function in a
service module that is in neither list fails :func:`test_every_service_function_is_classified`:
a new service is not finished until it is audited (or said why not).
"""

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection
from django.utils import timezone

import loans.services
import reports.services
from accounts import services as accounts
from audit.models import AuditEntry
from banks.models import Bank
from banks.services import allocation_create, bank_create, bank_staff_add, bank_update
from borrowers.services import borrower_create, borrower_login_create, borrower_update, business_create
from config.auth_services import login_lockout_record, token_issue, token_revoke
from config.clock import business_yesterday
from loans.collectibility import BPR, DEFAULT_TABLES, Grade
from loans.models import Application, CloseRun, Deferral, Loan
from loans.services import applications as workflow
from loans.services.close import close_business_date, close_fail, close_start
from loans.services.collectibility import collectibility_table_update
from loans.services.deferrals import deferral_approve, deferral_reject, deferral_request
from loans.services.products import product_create, product_terms_create, product_update
from loans.services.repayments import RepaymentRequest, repayment_post, repayment_reverse
from loans.services.schedules import loan_schedules_store
from loans.services.write_off import loan_write_off
from reports.models import AllowanceClass
from reports.services.allowance import allowance_class_create, allowance_class_delete, allowance_class_update
from reports.services.reports import ReportRequest, report_request
from tests.factories import ProductTermsFactory, UserFactory, synthetic_nik

pytestmark = pytest.mark.django_db

#: service -> (action, subject type) of the row it writes.
AUDITED: dict[str, tuple[str, str]] = {
    "accounts.services.activation_code_issue": ("activation_code_issue", "user"),
    "accounts.services.account_activate": ("account_activate", "user"),
    "accounts.services.password_change": ("password_change", "user"),
    "accounts.services.staff_create": ("staff_create", "user"),
    "accounts.services.staff_deactivate": ("staff_deactivate", "user"),
    "accounts.services.staff_reactivate": ("staff_reactivate", "user"),
    "accounts.services.staff_reassign": ("staff_reassign", "user"),
    "accounts.services.staff_tokens_revoke": ("staff_tokens_revoke", "user"),
    "banks.services.bank_create": ("bank_create", "bank"),
    "banks.services.bank_update": ("bank_update", "bank"),
    "banks.services.allocation_create": ("allocation_create", "allocation"),
    "banks.services.bank_staff_add": ("bank_staff_add", "user"),
    "borrowers.services.borrower_create": ("borrower_create", "borrower"),
    "borrowers.services.borrower_update": ("borrower_update", "borrower"),
    "borrowers.services.business_create": ("business_create", "business"),
    "borrowers.services.borrower_login_create": ("borrower_login_create", "user"),
    "config.auth_services.token_issue": ("token_issue", "user"),
    "config.auth_services.token_revoke": ("token_revoke", "user"),
    "config.auth_services.login_lockout_record": ("login_locked", "user"),
    "loans.services.products.product_create": ("product_create", "product"),
    "loans.services.products.product_terms_create": ("product_terms_create", "productterms"),
    "loans.services.products.product_update": ("product_update", "product"),
    "loans.services.collectibility.collectibility_table_update": (
        "collectibility_table_update",
        "collectibility_table",
    ),
    "loans.services.applications.application_create": ("create", "application"),
    "loans.services.applications.application_submit": ("submit", "application"),
    "loans.services.applications.application_field_verify": ("field_verify", "application"),
    "loans.services.applications.application_forward": ("forward", "application"),
    "loans.services.applications.application_credit_check": ("credit_check", "application"),
    "loans.services.applications.application_approve": ("approve", "application"),
    "loans.services.applications.applications_disburse": ("disburse", "application"),
    "loans.services.applications.application_reject": ("reject", "application"),
    "loans.services.applications.application_withdraw": ("withdraw", "application"),
    "loans.services.repayments.repayment_post": ("repayment_posted", "repayment"),
    "loans.services.repayments.repayment_reverse": ("repayment_reversed", "repayment"),
    "loans.services.deferrals.deferral_request": ("deferral_requested", "deferral"),
    "loans.services.deferrals.deferral_approve": ("deferral_approved", "deferral"),
    "loans.services.deferrals.deferral_reject": ("deferral_rejected", "deferral"),
    "loans.services.write_off.loan_write_off": ("loan_written_off", "loan"),
    "loans.services.close.runs.close_finish": ("close_finish", "closerun"),
    "loans.services.close.runs.close_fail": ("close_fail", "closerun"),
    "reports.services.reports.report_request": ("report_request", "report"),
    "reports.services.allowance.allowance_class_create": ("allowance_class_create", "allowanceclass"),
    "reports.services.allowance.allowance_class_update": ("allowance_class_update", "allowanceclass"),
    "reports.services.allowance.allowance_class_delete": ("allowance_class_delete", "allowanceclass"),
}

#: Public functions of the service modules that write no row of their own, and why.
NOT_AUDITED: dict[str, str] = {
    "accounts.services.code_normalized": "pure",
    "banks.services.bank_fund_draw": "part of a disbursement, which is audited",
    "banks.services.bank_fund_repaid": "part of a repayment or reversal, which is audited",
    "banks.services.bank_code_errors": "a read: checks a bank code, writes nothing",
    "borrowers.services.borrower_read_log": "a read, logged in BorrowerReadLog",
    "borrowers.services.programme_region_code": "a read",
    "loans.services.applications.application_disburse": "a batch of one of applications_disburse (audited)",
    "loans.services.applications.application_field_verify_second_person": "a check (maker-checker), writes nothing",
    "loans.services.applications.application_run_checks": "part of create, submit and approve (no save of its own)",
    "loans.services.applications.application_approve_refusal": "a read: the approval's maker-checker rule",
    "loans.services.repayments.repayment_reverse_refusal": "a read: the reversal's maker-checker rule",
    "loans.services.deferrals.deferral_decide_refusal": "a read: the decision's maker-checker rule",
    "loans.services.close.runs.close_dates_due": "a read",
    "loans.services.close.rules.close_rules": "a read",
    "loans.services.close.runs.close_running_now": "a read",
    "loans.services.close.runs.close_status": "a read",
    "loans.services.close.runs.close_start": "a run's start: the run is audited when it finishes or fails",
    "loans.services.close.runs.close_chunk": "a part of a run: the run is audited when it finishes or fails",
    "loans.services.close.runs.close_business_date": "start, chunks and close_finish/close_fail (audited)",
    "loans.services.close.runs.close_catch_up": "close_business_date per date (audited)",
    "loans.services.close.runs.loans_close_recompute": "part of a backdated repayment or reversal, which is audited",
    "loans.services.close.runs.loan_close_recompute": "part of a backdated repayment or reversal, which is audited",
    "loans.services.deferrals.calendar_mover": "pure",
    "loans.services.deferrals.deferred_rows": "pure",
    "loans.services.deferrals.month_offset": "pure",
    "loans.services.common.current_installments": "a read",
    "loans.services.common.loan_lock": "a row lock, part of the service that takes it (audited)",
    "loans.services.common.require_open": "a check",
    "loans.services.common.require_schedule_ready": "a check",
    "loans.services.close.fund_days.fund_days": "a read: the close's finish stores them (audited)",
    "loans.services.close.sql.close_loans": "a part of a run: the run is audited when it finishes or fails",
    "loans.services.repayments.loan_payoff_quote": "a read",
    "loans.services.repayments.owed_of": "pure",
    "loans.services.repayments.repayment_body": "pure",
    "loans.services.repayments.repayment_fields": "pure",
    "loans.services.schedules.loan_schedule_pending_exists": "a read",
    "loans.services.schedules.loan_schedules_store": (
        "a system job deriving the schedule from the disbursed loan's terms (the disbursement is audited); "
        "a row per loan would double the writes of a 100,000-loan batch for no new fact"
    ),
    "loans.services.schedules.loan_schedules_store_pending": "loan_schedules_store for the loans left pending",
    "reports.services.reports.report_make": "a system job making the asked-for document (the request is audited)",
    "reports.services.reports.reports_sweep": "a system job handing a dead worker's document to the next one",
    "reports.services.reports.reports_monthly": "report_request for each monthly document (audited)",
    "reports.services.reports.papers_after_repayment": (
        "part of a repayment or reversal, which is audited; the receipt is derived from it"
    ),
    "reports.services.reports.report_params": "pure",
    "reports.services.reports.request_key": "pure",
    "reports.services.reports.verify_url": "pure",
}


def service_modules() -> list[str]:
    """Every module whose public functions are services: each app's ``services`` and
    every module of the ``loans.services`` package and its subpackages."""
    package = [
        module.name
        for services in (loans.services, reports.services)
        for module in pkgutil.walk_packages(services.__path__, f"{services.__name__}.")
    ]
    return ["accounts.services", "banks.services", "borrowers.services", "config.auth_services", *package]


def public_functions() -> set[str]:
    names = set()
    for module_name in service_modules():
        module = importlib.import_module(module_name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module_name and not name.startswith("_"):
                names.add(f"{module_name}.{name}")
    return names


def test_every_service_function_is_classified() -> None:
    functions = public_functions()
    assert functions - AUDITED.keys() - NOT_AUDITED.keys() == set(), "audit it, or say in NOT_AUDITED why not"
    assert (AUDITED.keys() | NOT_AUDITED.keys()) - functions == set(), "listed but gone"
    assert AUDITED.keys() & NOT_AUDITED.keys() == set()


class Walk:
    """Calls services and checks the audit row each leaves."""

    def __init__(self) -> None:
        self.walked: set[str] = set()

    def __call__(self, service: Callable[..., Any], actor: User | None, /, **kwargs: Any) -> Any:
        last = last_id()
        result = service(**kwargs)
        self.check(f"{service.__module__}.{service.__name__}", actor, since=last)
        return result

    def check(self, name: str, actor: User | None, *, since: int) -> None:
        """The rows ``name`` wrote after row ``since``."""
        action, subject_type = AUDITED[name]
        rows = list(AuditEntry.objects.filter(pk__gt=since, action=action).order_by("id"))
        assert rows, f"{name} left no {action} row"
        for row in rows:
            assert row.subject_type == subject_type, name
            assert row.subject_id, name
            assert row.actor_id == (actor.pk if actor else None), name
            assert row.before or row.after, f"{name}: nothing recorded of what changed"
            assert row.at is not None
        self.walked.add(name)


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_every_writing_service_leaves_its_audit_row() -> None:
    walk = Walk()
    ProductTermsFactory.create(valid_from=date(2017, 1, 1))
    manager, officer, officer2 = (UserFactory.create(role=role) for role in ("manager", "officer", "officer"))
    staff, staff2 = UserFactory.create(), UserFactory.create()
    today = timezone.localdate()

    # The programme's set-up: banks, staff, money, products, tables.
    bank = walk(bank_create, manager, actor=manager, code="AUDIT", name="BPR Audit", kind="bpr")
    walk(bank_update, manager, actor=manager, bank=bank, servicing_fee_percent="2.5", backdate_limit_days=14)
    row = AuditEntry.objects.get(action="bank_update")
    assert (row.before, row.after) == (
        {"servicing_fee_percent": "0.00", "backdate_limit_days": 31},
        {"servicing_fee_percent": "2.5", "backdate_limit_days": 14},
    )
    walk(allocation_create, manager, actor=manager, bank=bank, year=today.year, amount=100_000_000)
    walk(bank_staff_add, manager, actor=manager, bank=bank, user=staff)
    walk(bank_staff_add, manager, actor=manager, bank=bank, user=staff2)
    terms = {"annual_rate": "3", "ceiling_without_collateral": 5_000_000, "ceiling_with_collateral": 50_000_000}
    terms |= {"allowed_tenors": [6, 12], "valid_from": date(2017, 1, 1)}
    product = walk(product_create, manager, actor=manager, code="AUDITP", name="Produk Audit", terms=terms)
    walk(product_terms_create, manager, actor=manager, product=product, **{**terms, "valid_from": date(2018, 1, 1)})
    walk(product_update, manager, actor=manager, product=product, active=False)
    table = [Grade(*row) for row in DEFAULT_TABLES[BPR]]
    table[3] = table[3]._replace(min_days=table[3].min_days + 30)
    walk(collectibility_table_update, manager, actor=manager, bank_kind=BPR, rows=table)
    # The city's allowance table: macet re-made at 90%, lancar raised to 1%.
    walk(allowance_class_delete, manager, actor=manager, allowance_class=AllowanceClass.objects.get(position=4))
    walk(
        allowance_class_create, manager, actor=manager, position=4, name="Macet", grade_from=5, grade_to=5, percent="90"
    )
    lancar = AllowanceClass.objects.get(position=1)
    walk(allowance_class_update, manager, actor=manager, allowance_class=lancar, percent="1")

    # A borrower, their business and login.
    business: dict[str, Any] = {"name": "Warung Sri", "sector": "food", "nib": "9120001234567"}
    business |= {"started_on": date(2015, 1, 1), "monthly_revenue": 5_000_000}
    borrower = walk(
        borrower_create,
        officer,
        actor=officer,
        nik=synthetic_nik(date(1985, 8, 17), "F", 1),
        name="Sri Wahyuni",
        birth_date=date(1985, 8, 17),
        sex="F",
        phone="081234567890",
        address="Jl. Pemuda 12",
        kelurahan_code="33.74.01.1001",
        business=business,
    )
    walk(borrower_update, officer, actor=officer, borrower=borrower, phone="081298765432")
    walk(business_create, officer, actor=officer, borrower=borrower, **{**business, "nib": "9120001234568"})
    login = walk(borrower_login_create, officer, actor=officer, borrower=borrower, username="sri", password="x-1")
    walk(token_issue, login, user=login)
    walk(token_revoke, login, user=login)
    walk(login_lockout_record, None, username="sri", failures=10, locked_until=timezone.now())

    # Accounts: the borrower's activation code and password, the manager's staff.
    issued = walk(accounts.activation_code_issue, officer, actor=officer, borrower=borrower)
    walk(accounts.account_activate, login, username="sri", code=issued.code, password="Kebun-Mangga-2026")
    login.refresh_from_db()
    walk(accounts.password_change, login, user=login, old_password="Kebun-Mangga-2026", new_password="Pasar-Johar-77")
    member, _code = walk(accounts.staff_create, manager, actor=manager, username="dewi", role="auditor")
    walk(accounts.staff_deactivate, manager, actor=manager, user=member)
    walk(accounts.staff_reactivate, manager, actor=manager, user=member)
    walk(accounts.staff_reassign, manager, actor=manager, user=member, role="bank_staff", bank=bank)
    walk(accounts.staff_tokens_revoke, manager, actor=manager, user=member)

    # The application workflow to a loan, and two that end without one.
    def draft() -> Application:
        return walk(
            workflow.application_create,
            officer,
            actor=officer,
            borrower=borrower,
            bank=bank,
            principal=5_000_000,
            tenor_months=12,
            collateral=False,
        )

    application = draft()
    walk(workflow.application_submit, officer, actor=officer, application_id=application.pk)
    walk(
        workflow.application_field_verify,
        officer2,
        actor=officer2,
        application_id=application.pk,
        visited_on=today,
        notes="ok",
    )
    walk(workflow.application_forward, officer, actor=officer, application_id=application.pk)
    walk(workflow.application_credit_check, staff, actor=staff, application_id=application.pk, result="clean")
    walk(workflow.application_approve, staff2, actor=staff2, application_id=application.pk, contract_number="A-1")
    disbursement = workflow.Disbursement(application.pk, today)
    walk(workflow.applications_disburse, staff, actor=staff, disbursements=[disbursement])
    withdrawn, rejected = draft(), draft()
    walk(workflow.application_withdraw, officer, actor=officer, application_id=withdrawn.pk, reason="Batal")
    walk(workflow.application_reject, officer, actor=officer, application_id=rejected.pk, reason="Tidak layak")

    # Servicing the loan.
    loan = Loan.objects.get(application=application)
    loan_schedules_store(loan_ids=[loan.pk])
    request = RepaymentRequest(amount=100_000, paid_on=today, channel="teller", reference="R-1")
    repayment, _replay = walk(repayment_post, staff, actor=staff, loan_id=loan.pk, request=request)
    walk(repayment_reverse, staff2, actor=staff2, repayment_id=repayment.pk, reason="Salah ketik")
    asked = walk(
        deferral_request,
        officer,
        actor=officer,
        loan_id=loan.pk,
        months=3,
        mode="principal_and_interest",
        reason="Banjir",
    )
    walk(deferral_reject, staff, actor=staff, deferral_id=asked.pk, note="Belum perlu")
    asked = walk(
        deferral_request,
        officer,
        actor=officer,
        loan_id=loan.pk,
        months=3,
        mode="principal_and_interest",
        reason="Banjir",
    )
    walk(deferral_approve, staff, actor=staff, deferral_id=asked.pk)
    assert Deferral.objects.get(pk=asked.pk).state == Deferral.State.APPROVED
    Loan.objects.filter(pk=loan.pk).update(collectibility=5)  # as the nightly close would class it
    walk(loan_write_off, manager, actor=manager, loan_id=loan.pk, reason="Macet", on=today)

    # The nightly close (a system job: no actor).
    yesterday = business_yesterday()
    last = last_id()
    close_business_date(business_date=yesterday)
    walk.check("loans.services.close.runs.close_finish", None, since=last)
    plan = close_start(business_date=yesterday - timedelta(days=1))
    walk(close_fail, None, run_id=plan.run_id, error="broken")
    assert CloseRun.objects.get(pk=plan.run_id).status == CloseRun.Status.FAILED

    # Documents: asking for one (the worker's making it is a system job).
    walk(
        report_request,
        manager,
        actor=manager,
        request=ReportRequest(kind="programme", period=str(today.year - 1)),
    )

    assert walk.walked == set(AUDITED), "every audited service is walked"
    # The loan's history is one query on the loan: every step from disbursement on.
    history = list(AuditEntry.objects.filter(loan=loan).order_by("at", "id").values_list("action", flat=True))
    assert history == [
        "disburse",
        "repayment_posted",
        "repayment_reversed",
        "deferral_requested",
        "deferral_rejected",
        "deferral_requested",
        "deferral_approved",
        "loan_written_off",
    ]
    assert Bank.objects.get(pk=bank.pk).backdate_limit_days == 14


def test_personal_numbers_are_masked_and_passwords_never_stored() -> None:
    officer = UserFactory.create(role="officer")
    nik = synthetic_nik(date(1985, 8, 17), "F", 2)
    borrower = borrower_create(
        actor=officer,
        nik=nik,
        name="Sri",
        birth_date=date(1985, 8, 17),
        sex="F",
        phone="081234567890",
        address="Jl. Pemuda 12",
        kelurahan_code="33.74.01.1001",
        npwp=nik,
        business={"name": "Warung", "sector": "food", "nib": "9120001234567", "started_on": date(2015, 1, 1)}
        | {"monthly_revenue": 1_000_000},
    )
    borrower_login_create(borrower=borrower, username="sri", password="secret-pass-1", actor=officer)
    created = AuditEntry.objects.get(action="borrower_create")
    assert created.after["nik"] == nik[:4] + "********" + nik[-4:]
    assert created.after["npwp"] == created.after["nik"]
    assert created.after["phone"] == "+628" + "*" * 6 + "7890"
    assert created.after["name"] == "Sri"
    everything = str(list(AuditEntry.objects.values_list("before", "after", "note", "subject_label")))
    assert nik not in everything
    assert "secret-pass-1" not in everything
    assert "081234567890" not in everything
    assert "+6281234567890" not in everything


def test_an_update_records_only_what_changed() -> None:
    manager = UserFactory.create(role="manager")
    bank = bank_create(actor=manager, code="AUD", name="BPR Audit", kind="bpr")
    bank_update(actor=manager, bank=bank, name="BPR Audit", backdate_limit_days=9)
    row = AuditEntry.objects.get(action="bank_update")
    assert (row.before, row.after) == ({"backdate_limit_days": 31}, {"backdate_limit_days": 9})
    assert (row.subject_type, row.subject_id, row.subject_label, row.actor) == ("bank", str(bank.pk), "AUD", manager)
    bank_update(actor=manager, bank=bank, name="BPR Audit")  # nothing changes: no row
    assert AuditEntry.objects.filter(action="bank_update").count() == 1


@pytest.mark.postgres
def test_the_trail_refuses_update_and_delete_in_postgres() -> None:
    bank_create(actor=UserFactory.create(role="manager"), code="AUD", name="BPR Audit", kind="bpr")
    entry = AuditEntry.objects.get()
    with pytest.raises(DatabaseError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(note="changed")
    assert connection.vendor == "postgresql"


def test_a_product_edited_in_the_admin_is_audited(admin_client: Any, admin_user: User) -> None:
    product = product_create(
        actor=admin_user,
        code="AUDITP",
        name="Produk Audit",
        terms={"annual_rate": "3", "ceiling_without_collateral": 5_000_000, "ceiling_with_collateral": 50_000_000}
        | {"allowed_tenors": [12], "valid_from": date(2017, 1, 1)},
    )
    form = {"name": "Produk Audit Baru", "active": "on"}
    form |= {"terms-TOTAL_FORMS": "0", "terms-INITIAL_FORMS": "0", "terms-MIN_NUM_FORMS": "0"}
    answer = admin_client.post(f"/admin/loans/product/{product.pk}/change/", form | {"terms-MAX_NUM_FORMS": "0"})
    assert answer.status_code == 302, answer.content[:500]
    row = AuditEntry.objects.get(action="product_update")
    assert (row.actor, row.before, row.after) == (admin_user, {"name": "Produk Audit"}, {"name": "Produk Audit Baru"})


def test_a_close_started_by_hand_is_audited(api_client: Any) -> None:
    manager = UserFactory.create(role="manager")
    api_client.force_authenticate(manager)
    assert api_client.post("/api/v1/close/", {}, format="json").status_code == 202
    request = AuditEntry.objects.get(action="close_request")
    yesterday = business_yesterday().isoformat()
    assert (request.actor, request.subject_type, request.subject_id, request.after) == (
        manager,
        "close",
        yesterday,
        {"until": yesterday},
    )
    # The run it started is audited too, as the system's.
    assert AuditEntry.objects.filter(action="close_finish", actor=None).count() == 1
