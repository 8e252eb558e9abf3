"""Account writes: activation codes (a borrower's first password, or a new member of
staff's), activating with one, the manager's staff management (create, deactivate,
reactivate, reassign, revoke API tokens) and everyone's own password change.

Every write is audited; no password and no code is ever recorded (only a keyed hash of a
code is stored, and only in :class:`ActivationCode`). Refusals are ApplicationError (400)
with a message per field.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token

from accounts.models import ActivationCode, StaffRole
from audit.services import audit_record
from banks.models import Bank, BankStaff
from banks.services import bank_staff_add
from borrowers.models import Borrower
from borrowers.services import borrower_login_create
from config.errors import ApplicationError
from config.roles import UserLike

#: How long an activation code may be used after it is issued.
ACTIVATION_CODE_VALIDITY: Final = timedelta(hours=72)
#: Letters and digits that cannot be mistaken for each other when read out or typed
#: on a phone (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
CODE_ALPHABET: Final = "ACDEFGHJKMNPQRTUVWXY34679"
#: Characters of a code: 25**10 (about 2**46) codes, guessed only at the sign-in's pace.
CODE_LENGTH: Final = 10


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """What an officer hands over, once: the username to sign in with, the code
    (grouped for reading out, e.g. ``KM4Q-7XHT-AC``) and when it stops working."""

    username: str
    code: str
    expires_at: datetime


def code_normalized(code: str) -> str:
    """A code as typed (any case, spaces or dashes) in its stored form."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _digest(code: str) -> str:
    """The keyed hash (HMAC-SHA256 with the project's secret) a code is stored and looked
    up by: deterministic, so the code alone finds its account, and useless without the key."""
    return salted_hmac("wibawa.activation-code", code_normalized(code), algorithm="sha256").hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _grouped(code: str) -> str:
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


def _field_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, {field: [message]})


def _password_checked(field: str, password: str, user: User | None) -> None:
    """Django's password validators, their messages under ``field``."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        messages = [str(message) for message in exc.messages]
        raise ApplicationError(
            messages[0] if len(messages) == 1 else gettext("Invalid input."), {field: messages}
        ) from exc


def _code_issue(*, user: User, actor: UserLike) -> IssuedCode:
    """Replace ``user``'s activation code by a new one (the caller audits)."""
    now = timezone.now()
    code = _new_code()
    ActivationCode.objects.update_or_create(
        user=user,
        defaults={
            "code_digest": _digest(code),
            "issued_by": actor if getattr(actor, "pk", None) else None,
            "issued_at": now,
            "expires_at": now + ACTIVATION_CODE_VALIDITY,
            "used_at": None,
        },
    )
    return IssuedCode(username=user.username, code=_grouped(code), expires_at=now + ACTIVATION_CODE_VALIDITY)


def _borrower_username(borrower: Borrower) -> str:
    """A username the borrower can remember: their first name and record number
    (``sri42``), made unique with a suffix if taken."""
    first = slugify(borrower.name.split()[0] if borrower.name.split() else "").replace("-", "")[:20]
    base = f"{first or 'peminjam'}{borrower.pk}"
    username, suffix = base, 1
    while User.objects.filter(username__iexact=username).exists():
        suffix += 1
        username = f"{base}-{suffix}"
    return username


@transaction.atomic
def activation_code_issue(*, actor: UserLike, borrower: Borrower) -> IssuedCode:
    """Give ``borrower`` a login, or a new way in: an activation code valid 72 hours,
    with which they set their own password (:func:`account_activate`). The borrower's
    user is made first if they have none (role borrower, no usable password until
    activated). Issuing again replaces the code not yet used. Audited (never the code)."""
    locked = Borrower.objects.select_for_update(of=("self",)).select_related("user").get(pk=borrower.pk)
    user = locked.user
    created = user is None
    if user is None:
        user = borrower_login_create(
            borrower=locked, username=_borrower_username(locked), password=secrets.token_urlsafe(32), actor=actor
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
    replaced = ActivationCode.objects.filter(user=user, used_at__isnull=True).exists()
    issued = _code_issue(user=user, actor=actor)
    audit_record(
        actor=actor,
        action="activation_code_issue",
        subject=user,
        after={
            "activation_code": "issued",
            "expires_at": issued.expires_at.isoformat(timespec="seconds"),
            "borrower": locked.pk,
            "new_login": created,
            "replaced_unused_code": replaced,
        },
    )
    borrower.user = user
    return issued


def _invalid_code() -> ApplicationError:
    return _field_error("code", gettext("This code is not valid. Check it, or ask the city office for a new one."))


@transaction.atomic
def account_activate(*, username: str, code: str, password: str) -> User:
    """Set the password of the user ``code`` was issued to (``username``, when given,
    must name that user) and spend the code. Refused (ApplicationError on ``code``) for
    an unknown, used or expired code, a deactivated login, or (on ``password``) a
    password Django's validators refuse. Audited, the user the actor."""
    entry = ActivationCode.objects.select_for_update().select_related("user").filter(code_digest=_digest(code)).first()
    if entry is None or (username.strip() and entry.user.username.lower() != username.strip().lower()):
        raise _invalid_code()
    if entry.used_at is not None:
        raise _field_error(
            "code", gettext("This code was already used. Sign in with your password, or ask for a new code.")
        )
    if entry.expires_at <= timezone.now():
        raise _field_error("code", gettext("This code has expired. Ask the city office for a new one."))
    user = entry.user
    if not user.is_active:
        raise _field_error("code", gettext("This login is deactivated."))
    _password_checked("password", password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    entry.used_at = timezone.now()
    entry.save(update_fields=["used_at"])
    audit_record(
        actor=user,
        action="account_activate",
        subject=user,
        before={"activation_code": "issued"},
        after={"activation_code": "used", "password_set": True},
    )
    return user


@transaction.atomic
def password_change(*, user: Any, old_password: str, new_password: str) -> None:
    """Change ``user``'s own password: the current one must be right (``old_password``)
    and the new one pass Django's validators (``new_password``). Audited."""
    if not user.check_password(old_password):
        raise _field_error("old_password", gettext("Your current password is not right."))
    _password_checked("new_password", new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(actor=user, action="password_change", subject=user, after={"password_changed": True})


def _staff_roles(user: User) -> list[str]:
    names = set(user.groups.values_list("name", flat=True))
    return [role for role in StaffRole.values if role in names]


def _bank_code(user: User) -> str | None:
    return BankStaff.objects.filter(user=user).values_list("bank__code", flat=True).first()


def _forget_cached_roles(user: User) -> None:
    for cached in ("_wibawa_roles", "_wibawa_bank_id"):
        user.__dict__.pop(cached, None)


def _bank_checked(role: str, bank: Bank | None) -> None:
    if role == StaffRole.BANK_STAFF and bank is None:
        raise _field_error("bank", gettext("Bank staff need their bank."))
    if role != StaffRole.BANK_STAFF and bank is not None:
        raise _field_error("bank", gettext("Only bank staff work for a bank."))


def _not_self(actor: UserLike, user: User) -> None:
    if getattr(actor, "pk", None) == user.pk:
        raise _field_error("user", gettext("You cannot change your own account here."))


@transaction.atomic
def staff_create(
    *,
    actor: UserLike,
    username: str,
    role: str,
    bank: Bank | None = None,
    password: str = "",
    first_name: str = "",
    last_name: str = "",
) -> tuple[User, IssuedCode | None]:
    """Create a member of staff with one role (bank staff with their bank). With a
    ``password`` (held to the validators) they sign in with it; without one they get an
    activation code (returned, shown once) to set their own. Audited."""
    username = username.strip()
    errors: dict[str, list[str]] = {}
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        errors["username"] = [str(message) for message in exc.messages]
    if not username:
        errors["username"] = [gettext("Give a username.")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [gettext("This username is taken.")]
    if errors:
        raise ApplicationError(errors["username"][0], errors)
    _bank_checked(role, bank)
    user = User(username=username, first_name=first_name.strip(), last_name=last_name.strip())
    if password:
        _password_checked("password", password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=role))
    audit_record(
        actor=actor,
        action="staff_create",
        subject=user,
        after={"username": username, "role": role, "bank": bank.code if bank else None, "password_set": bool(password)},
    )
    if bank is not None:
        bank_staff_add(bank=bank, user=user, actor=actor)
    issued = None if password else _code_issue(user=user, actor=actor)
    return user, issued


@transaction.atomic
def staff_deactivate(*, actor: UserLike, user: User) -> User:
    """Stop ``user`` signing in (sessions and API tokens refused at once; the token is
    deleted too). Not oneself; not twice. Audited."""
    _not_self(actor, user)
    if not user.is_active:
        raise _field_error("user", gettext("This account is already deactivated."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    tokens, _by_model = Token.objects.filter(user=user).delete()
    audit_record(
        actor=actor,
        action="staff_deactivate",
        subject=user,
        before={"is_active": True},
        after={"is_active": False, "api_token": "revoked" if tokens else "none"},
    )
    return user


@transaction.atomic
def staff_reactivate(*, actor: UserLike, user: User) -> User:
    """Let a deactivated ``user`` sign in again (with their password; API tokens are
    issued anew). Audited."""
    _not_self(actor, user)
    if user.is_active:
        raise _field_error("user", gettext("This account is active already."))
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor, action="staff_reactivate", subject=user, before={"is_active": False}, after={"is_active": True}
    )
    return user


@transaction.atomic
def staff_reassign(*, actor: UserLike, user: User, role: str, bank: Bank | None = None) -> User:
    """Give ``user`` the one staff ``role`` (replacing their staff roles), bank staff
    with their ``bank`` (moving them when they worked for another). Leaving bank staff
    ends their bank; their API token is revoked when role or bank changes (a bank's
    system must not keep another bank's view). Audited."""
    _not_self(actor, user)
    _bank_checked(role, bank)
    before = {"roles": _staff_roles(user), "bank": _bank_code(user)}
    staff_groups = Group.objects.filter(name__in=StaffRole.values)
    user.groups.remove(*staff_groups.exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
    staff = BankStaff.objects.filter(user=user).first()
    if bank is None and staff is not None:
        staff.delete()
    elif bank is not None and staff is not None and staff.bank_id != bank.pk:
        staff.bank = bank
        staff.save(update_fields=["bank"])
    elif bank is not None and staff is None:
        BankStaff.objects.create(user=user, bank=bank)
    _forget_cached_roles(user)
    after = {"roles": [role], "bank": bank.code if bank else None}
    if after != before:
        Token.objects.filter(user=user).delete()
    audit_record(actor=actor, action="staff_reassign", subject=user, before=before, after=after)
    return user


@transaction.atomic
def staff_tokens_revoke(*, actor: UserLike, user: User) -> bool:
    """Delete ``user``'s API token (their systems must log in again). Audited as done by
    ``actor`` whether or not there was one. Returns whether there was one."""
    deleted, _by_model = Token.objects.filter(user=user).delete()
    audit_record(
        actor=actor,
        action="staff_tokens_revoke",
        subject=user,
        before={"api_token": "issued" if deleted else "none"},
        after={"api_token": "revoked" if deleted else "none"},
    )
    return bool(deleted)
