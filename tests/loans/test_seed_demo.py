"""The demo programme `make run` seeds: every step through the services."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from banks.models import Bank
from loans.models import Application, Loan, Repayment

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_programme_with_loans_and_repayments() -> None:
    call_command("seed_demo", "--allow-production", stdout=StringIO())
    assert Bank.objects.count() == 2
    assert Application.objects.count() == 48
    disbursed = Loan.objects.count()
    assert disbursed == Application.objects.filter(state="disbursed").count() > 0
    assert not Loan.objects.filter(schedule_status="pending").exists()
    repayments = list(Repayment.objects.all())
    assert len(repayments) == 6
    for repayment in repayments:
        assert sum(a.amount for a in repayment.allocations.all()) == repayment.amount
    bank_repaid = sum(Bank.objects.values_list("principal_repaid", flat=True))
    assert bank_repaid == sum(loan.principal - loan.outstanding_principal for loan in Loan.objects.all()) > 0


def test_seed_demo_refuses_a_database_that_holds_a_programme() -> None:
    call_command("seed_demo", "--allow-production", stdout=StringIO())
    with pytest.raises(CommandError, match="already holds"):
        call_command("seed_demo", "--allow-production", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", "--allow-production", "--if-empty", stdout=out)
    assert "not seeded" in out.getvalue()


def test_the_demo_manager_opens_the_back_office() -> None:
    call_command("seed_demo", "--allow-production", stdout=StringIO())
    manager = Client()
    assert manager.login(username="manager", password="wibawa-demo")
    assert manager.get("/admin/").status_code == 200
    for page in ("auth/user/", "banks/bank/", "banks/bankstaff/", "banks/bankstaff/add/", "loans/product/"):
        assert manager.get(f"/admin/{page}").status_code == 200, page
    assert manager.get("/admin/audit/auditentry/").status_code == 200
    assert manager.get("/admin/audit/auditentry/add/").status_code == 403  # the audit trail stays read-only
    user = User.objects.get(username="manager")
    assert user.is_staff
    assert not user.is_superuser
    officer = Client()
    assert officer.login(username="officer", password="wibawa-demo")
    assert officer.get("/admin/").status_code == 302  # not staff: sent to the admin's login page
