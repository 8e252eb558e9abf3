"""The API's token look-up reads the user, their roles, bank and borrower in one query,
and what it reads is what config/roles.py reads the slow way, for every kind of user."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from config.authentication import ExpiringTokenAuthentication
from config.roles import Role, bank_id_of, borrower_id_of, roles_of
from tests.factories import BankFactory, BorrowerFactory, UserFactory, bank_user

pytestmark = pytest.mark.django_db


def slow_way(user_id: int) -> tuple[frozenset[str], int | None, int | None, Any]:
    user = User.objects.get(pk=user_id)
    return roles_of(user), bank_id_of(user), borrower_id_of(user), user


def users() -> list[User]:
    bank = BankFactory.create(code="PASAR")
    BankFactory.create(code="JATENG")
    borrower_user = UserFactory.create(role=Role.BORROWER)
    BorrowerFactory.create(user=borrower_user)
    two_roles = UserFactory.create(role=Role.OFFICER)
    two_roles.groups.add(Group.objects.get(name=Role.AUDITOR), Group.objects.create(name="not-a-role"))
    return [
        bank_user(bank),
        borrower_user,
        two_roles,
        UserFactory.create(),  # no group at all
        UserFactory.create(role=Role.MANAGER, first_name="Dewi", email="dewi@example.id"),
    ]


def test_one_query_reads_what_the_roles_read_the_slow_way(django_assert_num_queries: Any) -> None:
    for user in users():
        key = Token.objects.create(user=user).key
        with django_assert_num_queries(1):
            found, token = ExpiringTokenAuthentication().authenticate_credentials(key)
            answer = (roles_of(found), bank_id_of(found), borrower_id_of(found))
        roles, bank_id, borrower_id, fresh = slow_way(user.pk)
        assert answer == (roles, bank_id, borrower_id)
        assert (token.key, token.user) == (key, found)
        assert token.created == Token.objects.get(key=key).created
        assert {f.attname: getattr(found, f.attname) for f in User._meta.concrete_fields} == {
            f.attname: getattr(fresh, f.attname) for f in User._meta.concrete_fields
        }
    assert roles_of(User.objects.get(groups__name=Role.OFFICER)) == {Role.OFFICER, Role.AUDITOR}


def test_an_unknown_token_and_an_inactive_user_are_refused() -> None:
    user = UserFactory.create(role=Role.MANAGER)
    key = Token.objects.create(user=user).key
    with translation.override("en"), pytest.raises(AuthenticationFailed, match="Invalid token"):
        ExpiringTokenAuthentication().authenticate_credentials("0" * 40)
    User.objects.filter(pk=user.pk).update(is_active=False)
    with translation.override("en"), pytest.raises(AuthenticationFailed, match="inactive"):
        ExpiringTokenAuthentication().authenticate_credentials(key)


def test_a_staff_member_moved_to_another_bank_reads_the_new_bank_at_once() -> None:
    from banks.models import Bank, BankStaff

    staff = bank_user(BankFactory.create(code="PASAR"))
    jateng = BankFactory.create(code="JATENG")
    key = Token.objects.create(user=staff).key
    found, _token = ExpiringTokenAuthentication().authenticate_credentials(key)
    assert bank_id_of(found) == Bank.objects.get(code="PASAR").pk
    BankStaff.objects.filter(user=staff).update(bank=jateng)
    found, _token = ExpiringTokenAuthentication().authenticate_credentials(key)
    assert bank_id_of(found) == jateng.pk
