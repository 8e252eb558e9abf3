"""Who can appear in the audit trail as the one who acted: the programme's staff."""

from django.contrib.auth import get_user_model

from config.roles import Role

#: Roles whose members act on the programme's records (a borrower acts on nothing).
ACTING_ROLES = (Role.OFFICER, Role.BANK_STAFF, Role.MANAGER, Role.AUDITOR)


def actor_choices() -> list[tuple[int, str]]:
    """The staff users as ``(id, username)``, by username: one query. (A trail filter
    names them by id, so no name goes in an address.)"""
    users = (
        get_user_model()
        .objects.filter(groups__name__in=ACTING_ROLES)
        .distinct()
        .order_by("username")
        .values_list("id", "username")
    )
    return [(int(user_id), str(username)) for user_id, username in users]
