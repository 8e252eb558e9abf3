"""Account services: activation codes (once, 72 hours, hashed), activating, staff
management, one's own password; each audited, no password or code recorded."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.db import connection
from django.utils import translation
from rest_framework.authtoken.models import Token

from accounts.models import ActivationCode
from accounts.services import (
    ACTIVATION_CODE_VALIDITY,
    account_activate,
    activation_code_issue,
    code_normalized,
    password_change,
    staff_create,
    staff_deactivate,
    staff_reactivate,
    staff_reassign,
    staff_tokens_revoke,
)
from audit.models import AuditEntry
from banks.models import BankStaff
from config.errors import ApplicationError
from config.roles import Role, roles_of
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Kebun-Mangga-2026"


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


@contextmanager
def freeze_time(moment: str) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=datetime.fromisoformat(moment)):
        yield


def test_a_code_makes_the_borrowers_login_and_is_stored_only_as_a_hash(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    officer = UserFactory.create(role="officer")
    borrower = BorrowerFactory.create(name="Sri Wahyuni")
    issued = activation_code_issue(actor=officer, borrower=borrower)
    borrower.refresh_from_db()
    user = borrower.user
    assert user is not None
    assert issued.username == user.username == f"sri{borrower.pk}"
    assert roles_of(user) == {Role.BORROWER}
    assert not user.has_usable_password()
    stored = ActivationCode.objects.get(user=user)
    plain = code_normalized(issued.code)
    assert len(plain) == 10
    assert plain not in stored.code_digest
    assert issued.code not in stored.code_digest
    assert stored.expires_at - stored.issued_at == ACTIVATION_CODE_VALIDITY == timedelta(hours=72)
    # Nowhere in the database's audit rows, nor in the log.
    everything = str(list(AuditEntry.objects.values_list("before", "after", "note", "subject_label")))
    assert plain not in everything
    assert issued.code not in everything
    assert plain not in caplog.text
    assert issued.code not in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT code_digest FROM accounts_activationcode")
        assert all(plain not in row[0] for row in cursor.fetchall())
    row = AuditEntry.objects.get(action="activation_code_issue")
    assert (row.actor, row.subject_id, row.after["new_login"]) == (officer, str(user.pk), True)


def test_issuing_again_replaces_the_code() -> None:
    officer = UserFactory.create(role="officer")
    borrower = BorrowerFactory.create()
    first = activation_code_issue(actor=officer, borrower=borrower)
    second = activation_code_issue(actor=officer, borrower=borrower)
    assert first.username == second.username
    assert ActivationCode.objects.count() == 1
    with pytest.raises(ApplicationError) as refused:
        account_activate(username=first.username, code=first.code, password=NEW_PASSWORD)
    assert "code" in refused.value.errors
    account_activate(username="", code=second.code.lower().replace("-", " "), password=NEW_PASSWORD)
    assert authenticate(username=second.username, password=NEW_PASSWORD) is not None


def test_a_code_works_just_under_72_hours_and_not_after() -> None:
    officer = UserFactory.create(role="officer")
    with freeze_time("2026-03-01 10:00:00+07:00"):
        issued = activation_code_issue(actor=officer, borrower=BorrowerFactory.create())
        other = activation_code_issue(actor=officer, borrower=BorrowerFactory.create())
    with freeze_time("2026-03-04 09:59:59+07:00"):
        account_activate(username=issued.username, code=issued.code, password=NEW_PASSWORD)
    with freeze_time("2026-03-04 10:00:00+07:00"), pytest.raises(ApplicationError) as refused:
        account_activate(username=other.username, code=other.code, password=NEW_PASSWORD)
    assert refused.value.errors == {"code": ["This code has expired. Ask the city office for a new one."]}
    assert not User.objects.get(username=other.username).has_usable_password()


def test_a_used_code_is_refused_with_a_clear_message() -> None:
    issued = activation_code_issue(actor=UserFactory.create(role="officer"), borrower=BorrowerFactory.create())
    account_activate(username=issued.username, code=issued.code, password=NEW_PASSWORD)
    with pytest.raises(ApplicationError) as refused:
        account_activate(username=issued.username, code=issued.code, password="Another-Pass-99")
    assert "already used" in refused.value.errors["code"][0]
    assert authenticate(username=issued.username, password=NEW_PASSWORD) is not None


def test_the_code_must_belong_to_the_username_given() -> None:
    issued = activation_code_issue(actor=UserFactory.create(role="officer"), borrower=BorrowerFactory.create())
    with pytest.raises(ApplicationError) as refused:
        account_activate(username="somebody", code=issued.code, password=NEW_PASSWORD)
    assert "not valid" in refused.value.errors["code"][0]


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short1", "too short"), ("12345678901", "entirely numeric"), ("password123", "too common")],
)
def test_password_validators_apply(password: str, fragment: str) -> None:
    issued = activation_code_issue(actor=UserFactory.create(role="officer"), borrower=BorrowerFactory.create())
    with pytest.raises(ApplicationError) as refused:
        account_activate(username=issued.username, code=issued.code, password=password)
    assert fragment in " ".join(refused.value.errors["password"])
    assert ActivationCode.objects.get().used_at is None  # the code is still good


def test_staff_create_with_a_password_or_a_code() -> None:
    manager = UserFactory.create(role="manager")
    bank = funded_bank("PASAR")
    user, issued = staff_create(actor=manager, username="dewi", role="bank_staff", bank=bank, password=NEW_PASSWORD)
    assert issued is None
    assert BankStaff.objects.get(user=user).bank == bank
    assert authenticate(username="dewi", password=NEW_PASSWORD) == user
    auditor, code = staff_create(actor=manager, username="budi", role="auditor")
    assert code is not None
    assert not auditor.has_usable_password()
    account_activate(username="budi", code=code.code, password=NEW_PASSWORD)
    assert authenticate(username="budi", password=NEW_PASSWORD) == auditor
    assert AuditEntry.objects.filter(action="staff_create").count() == 2
    assert NEW_PASSWORD not in str(list(AuditEntry.objects.values_list("before", "after")))


def test_staff_create_refusals() -> None:
    manager = UserFactory.create(role="manager")
    UserFactory.create(username="dewi")
    cases = [
        ({"username": "DEWI", "role": "officer"}, "username"),
        ({"username": "bad name!", "role": "officer"}, "username"),
        ({"username": "rina", "role": "bank_staff"}, "bank"),
        ({"username": "rina", "role": "officer", "password": "123"}, "password"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ApplicationError) as refused:
            staff_create(actor=manager, **kwargs)  # type: ignore[arg-type]
        assert field in refused.value.errors, kwargs
    assert not User.objects.filter(username="rina").exists()


def test_a_deactivated_member_cannot_sign_in_and_loses_the_token() -> None:
    manager = UserFactory.create(role="manager")
    staff = UserFactory.create(role="officer")
    Token.objects.create(user=staff)
    staff_deactivate(actor=manager, user=staff)
    assert authenticate(username=staff.username, password="pass-for-tests") is None
    assert not Token.objects.filter(user=staff).exists()
    with pytest.raises(ApplicationError):
        staff_deactivate(actor=manager, user=staff)
    staff_reactivate(actor=manager, user=staff)
    assert authenticate(username=staff.username, password="pass-for-tests") == staff
    with pytest.raises(ApplicationError):
        staff_deactivate(actor=manager, user=manager)  # not oneself
    rows = AuditEntry.objects.filter(subject_id=str(staff.pk)).values_list("action", "actor")
    assert list(rows.order_by("id")) == [("staff_deactivate", manager.pk), ("staff_reactivate", manager.pk)]


def test_reassign_moves_bank_staff_and_changes_roles() -> None:
    manager = UserFactory.create(role="manager")
    pasar, jateng = funded_bank("PASAR"), funded_bank("JATENG")
    staff = bank_user(pasar)
    Token.objects.create(user=staff)
    staff_reassign(actor=manager, user=staff, role="bank_staff", bank=jateng)
    assert BankStaff.objects.get(user=staff).bank == jateng
    assert not Token.objects.filter(user=staff).exists()
    staff_reassign(actor=manager, user=staff, role="auditor")
    staff = User.objects.get(pk=staff.pk)
    assert roles_of(staff) == {Role.AUDITOR}
    assert not BankStaff.objects.filter(user=staff).exists()
    with pytest.raises(ApplicationError) as refused:
        staff_reassign(actor=manager, user=staff, role="officer", bank=pasar)
    assert "bank" in refused.value.errors
    row = AuditEntry.objects.filter(action="staff_reassign").order_by("id").last()
    assert row is not None
    assert (row.before, row.after) == (
        {"roles": ["bank_staff"], "bank": "JATENG"},
        {"roles": ["auditor"], "bank": None},
    )


def test_tokens_revoke_is_audited_as_the_manager() -> None:
    manager = UserFactory.create(role="manager")
    staff = UserFactory.create(role="officer")
    Token.objects.create(user=staff)
    assert staff_tokens_revoke(actor=manager, user=staff) is True
    assert staff_tokens_revoke(actor=manager, user=staff) is False
    assert AuditEntry.objects.filter(action="staff_tokens_revoke", actor=manager).count() == 2


def test_password_change_needs_the_current_password_and_a_good_new_one() -> None:
    user = UserFactory.create(role="officer")
    with pytest.raises(ApplicationError) as refused:
        password_change(user=user, old_password="wrong", new_password=NEW_PASSWORD)
    assert "old_password" in refused.value.errors
    with pytest.raises(ApplicationError) as refused:
        password_change(user=user, old_password="pass-for-tests", new_password="abc")
    assert "new_password" in refused.value.errors
    password_change(user=user, old_password="pass-for-tests", new_password=NEW_PASSWORD)
    assert authenticate(username=user.username, password=NEW_PASSWORD) == user
    row = AuditEntry.objects.get(action="password_change")
    assert NEW_PASSWORD not in str(row.after)
    assert "pass-for-tests" not in str(row.after)
