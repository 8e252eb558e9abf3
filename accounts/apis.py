"""Account APIs under ``users/``: the manager's staff (list, create, deactivate,
reactivate, reassign, revoke API tokens), an officer's activation code for a borrower,
activating with a code (public, limited like signing in), and everyone's own password.

A wrong role answers 403, a user who is not staff (or does not exist) 404.
"""

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.models import User
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.activation import activation_attempt
from accounts.models import StaffRole
from accounts.selectors import staff_bank_code, staff_list, staff_roles
from accounts.services import (
    activation_code_issue,
    password_change,
    staff_create,
    staff_deactivate,
    staff_reactivate,
    staff_reassign,
    staff_tokens_revoke,
)
from banks.models import Bank
from borrowers.selectors import borrower_visible
from config import api
from config.api import Pagination, paginated_response
from config.auth_apis import LoginThrottle
from config.errors import ApplicationError, ErrorSerializer
from config.roles import Role, require_role

USER_EXAMPLE = {
    "id": 12,
    "username": "dewi",
    "first_name": "Dewi",
    "last_name": "Lestari",
    "roles": ["bank_staff"],
    "bank": "PASAR",
    "is_active": True,
    "last_login": "2026-03-02T08:15:00+07:00",
    "date_joined": "2026-01-05T09:00:00+07:00",
}
CODE_EXAMPLE = {"username": "sri42", "code": "KM4Q-7XHT-AC", "expires_at": "2026-03-05T10:00:00+07:00"}

ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input: a message per field."),
    403: OpenApiResponse(ErrorSerializer, description="The user's role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such member of staff."),
}
ROLE_REFUSED = OpenApiExample(
    "Not the manager",
    value={"message": "You do not have permission to perform this action.", "errors": {}},
    response_only=True,
    status_codes=["403"],
)


class StaffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    roles = serializers.SerializerMethodField(help_text="The staff roles: officer, bank_staff, auditor, manager.")
    bank = serializers.SerializerMethodField(help_text="The bank's code (bank staff only).")
    is_active = serializers.BooleanField(help_text="False: deactivated, cannot sign in or use a token.")
    last_login = serializers.DateTimeField(allow_null=True)
    date_joined = serializers.DateTimeField()

    class Meta:
        ref_name = "StaffUser"

    def get_roles(self, user: User) -> list[str]:
        return staff_roles(user)

    def get_bank(self, user: User) -> str | None:
        return staff_bank_code(user)


class IssuedCodeSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="The username to sign in with.")
    code = serializers.CharField(help_text="The activation code: shown this once, never again.")
    expires_at = serializers.DateTimeField(help_text="The code works until then (72 hours).")

    class Meta:
        ref_name = "ActivationCode"


def _bank_named(code: str | None) -> Bank | None:
    if not code:
        return None
    bank = Bank.objects.filter(code=code).first()
    if bank is None:
        message = gettext("No such bank.")
        raise ApplicationError(message, {"bank": [message]})
    return bank


def _staff_for(request: Request, user_id: int) -> User:
    """The member of staff ``user_id``, for the manager only (403 for other roles, 404
    for a user who is not staff)."""
    require_role(request.user, Role.MANAGER)
    user = staff_list().filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


def _staff_answer(user: User, status: int = 200) -> Response:
    fresh = staff_list().get(pk=user.pk)  # roles and bank as they are now
    return Response(StaffSerializer(fresh).data, status=status)


def _bank_field() -> api.CharField:
    return api.CharField(
        max_length=16, required=False, allow_null=True, allow_blank=True, default=None, help_text="Bank staff only."
    )


class UserListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        username = api.CharField(max_length=150)
        role = serializers.ChoiceField(choices=StaffRole.choices)
        bank = _bank_field()
        password = api.CharField(
            max_length=128,
            required=False,
            allow_blank=True,
            default="",
            trim_whitespace=False,
            help_text="An initial password (Django's validators apply); leave it out for an activation code.",
        )
        first_name = api.CharField(max_length=150, required=False, allow_blank=True, default="")
        last_name = api.CharField(max_length=150, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "StaffCreate"

    class CreatedSerializer(StaffSerializer):
        activation = IssuedCodeSerializer(
            allow_null=True, help_text="The activation code when no password was given (shown this once)."
        )

        class Meta:
            ref_name = "StaffCreated"

    @extend_schema(
        operation_id="users_list",
        summary="The programme's staff (manager)",
        responses={200: StaffSerializer(many=True), 403: ERRORS[403], 404: ERRORS[404]},
        examples=[OpenApiExample("One page", value=USER_EXAMPLE, response_only=True, status_codes=["200"])],
        tags=["users"],
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, Role.MANAGER)
        return paginated_response(request=request, view=self, queryset=staff_list(), serializer_class=StaffSerializer)

    @extend_schema(
        operation_id="users_create",
        summary="Create a member of staff (manager)",
        description="With a password they sign in with it; without one the answer carries an activation "
        "code (shown once) with which they set their own at `users/activate/`.",
        request=InputSerializer,
        responses={201: CreatedSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        examples=[
            OpenApiExample(
                "Bank staff with a code",
                value={"username": "dewi", "role": "bank_staff", "bank": "PASAR"},
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={**USER_EXAMPLE, "last_login": None, "activation": {**CODE_EXAMPLE, "username": "dewi"}},
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Taken",
                value={"message": "This username is taken.", "errors": {"username": ["This username is taken."]}},
                response_only=True,
                status_codes=["400"],
            ),
            ROLE_REFUSED,
        ],
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Role.MANAGER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user, issued = staff_create(
            actor=request.user,
            username=data["username"],
            role=data["role"],
            bank=_bank_named(data["bank"]),
            password=data["password"],
            first_name=data["first_name"],
            last_name=data["last_name"],
        )
        answer = StaffSerializer(staff_list().get(pk=user.pk)).data
        answer["activation"] = IssuedCodeSerializer(issued).data if issued else None
        return Response(answer, status=201)


class UserDetailApi(APIView):
    @extend_schema(
        operation_id="users_retrieve",
        summary="A member of staff (manager)",
        responses={200: StaffSerializer, 403: ERRORS[403], 404: ERRORS[404]},
        examples=[OpenApiExample("Bank staff", value=USER_EXAMPLE, response_only=True, status_codes=["200"])],
        tags=["users"],
    )
    def get(self, request: Request, user_id: int) -> Response:
        return Response(StaffSerializer(_staff_for(request, user_id)).data)


class UserDeactivateApi(APIView):
    @extend_schema(
        operation_id="users_deactivate",
        summary="Deactivate a member of staff (manager)",
        description="They can no longer sign in, and their API token is revoked. Not one's own account.",
        request=None,
        responses={200: StaffSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Deactivated", value={**USER_EXAMPLE, "is_active": False}, response_only=True, status_codes=["200"]
            ),
            OpenApiExample(
                "Twice",
                value={
                    "message": "This account is already deactivated.",
                    "errors": {"user": ["This account is already deactivated."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["users"],
    )
    def post(self, request: Request, user_id: int) -> Response:
        user = staff_deactivate(actor=request.user, user=_staff_for(request, user_id))
        return _staff_answer(user)


class UserReactivateApi(APIView):
    @extend_schema(
        operation_id="users_reactivate",
        summary="Let a deactivated member of staff sign in again (manager)",
        request=None,
        responses={200: StaffSerializer, **ERRORS},
        examples=[OpenApiExample("Active again", value=USER_EXAMPLE, response_only=True, status_codes=["200"])],
        tags=["users"],
    )
    def post(self, request: Request, user_id: int) -> Response:
        user = staff_reactivate(actor=request.user, user=_staff_for(request, user_id))
        return _staff_answer(user)


class UserReassignApi(APIView):
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=StaffRole.choices)
        bank = _bank_field()

        class Meta:
            ref_name = "StaffReassign"

    @extend_schema(
        operation_id="users_reassign",
        summary="Give a member of staff another role, or move bank staff to another bank (manager)",
        description="The role replaces their staff roles; a change of role or bank revokes their API token.",
        request=InputSerializer,
        responses={200: StaffSerializer, **ERRORS},
        examples=[
            OpenApiExample("To Bank Jateng", value={"role": "bank_staff", "bank": "JATENG"}, request_only=True),
            OpenApiExample("Moved", value={**USER_EXAMPLE, "bank": "JATENG"}, response_only=True, status_codes=["200"]),
            OpenApiExample(
                "No bank",
                value={"message": "Bank staff need their bank.", "errors": {"bank": ["Bank staff need their bank."]}},
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["users"],
    )
    def post(self, request: Request, user_id: int) -> Response:
        user = _staff_for(request, user_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = staff_reassign(actor=request.user, user=user, role=data["role"], bank=_bank_named(data["bank"]))
        return _staff_answer(user)


class UserTokensRevokeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        revoked = serializers.BooleanField(help_text="Whether the user had a token.")

        class Meta:
            ref_name = "TokensRevoked"

    @extend_schema(
        operation_id="users_tokens_revoke",
        summary="Revoke a member of staff's API token (manager)",
        request=None,
        responses={200: OutputSerializer, 403: ERRORS[403], 404: ERRORS[404]},
        examples=[OpenApiExample("Revoked", value={"revoked": True}, response_only=True, status_codes=["200"])],
        tags=["users"],
    )
    def post(self, request: Request, user_id: int) -> Response:
        return Response({"revoked": staff_tokens_revoke(actor=request.user, user=_staff_for(request, user_id))})


class ActivationCodeApi(APIView):
    class InputSerializer(serializers.Serializer):
        borrower = api.BigIntegerField(help_text="The registered borrower's id.")

        class Meta:
            ref_name = "ActivationCodeRequest"

    @extend_schema(
        operation_id="users_activation_code_issue",
        summary="Give a borrower a login: an activation code (officer)",
        description="Makes the borrower's login when they have none. The code is valid 72 hours and shown "
        "only in this answer; issuing again replaces a code not yet used.",
        request=InputSerializer,
        responses={201: IssuedCodeSerializer, 400: ERRORS[400], 403: ERRORS[403]},
        examples=[
            OpenApiExample("Borrower 42", value={"borrower": 42}, request_only=True),
            OpenApiExample("Issued", value=CODE_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Unknown borrower",
                value={"message": "No such borrower.", "errors": {"borrower": ["No such borrower."]}},
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Role.OFFICER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        borrower = borrower_visible(user=request.user).filter(pk=serializer.validated_data["borrower"]).first()
        if borrower is None:
            message = gettext("No such borrower.")
            raise ApplicationError(message, {"borrower": [message]})
        issued = activation_code_issue(actor=request.user, borrower=borrower)
        return Response(IssuedCodeSerializer(issued).data, status=201)


class ActivateApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    class InputSerializer(serializers.Serializer):
        username = api.CharField(
            max_length=150, required=False, allow_blank=True, default="", help_text="May be left out: the code alone."
        )
        code = api.CharField(max_length=32, help_text="As given: dashes and case do not matter.")
        password = api.CharField(max_length=128, trim_whitespace=False, help_text="The new password.")

        class Meta:
            ref_name = "Activation"

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField(help_text="Sign in with this username and the new password.")

        class Meta:
            ref_name = "Activated"

    @extend_schema(
        operation_id="users_activate",
        summary="Set one's password with an activation code (public)",
        description="Limited like signing in: guesses per address, and a wrong code counts against the "
        "username given (429 while locked). A used or expired code is refused on `code`.",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: ERRORS[400],
            429: OpenApiResponse(ErrorSerializer, description="Too many attempts."),
        },
        examples=[
            OpenApiExample(
                "Activate", value={"username": "sri42", "code": "KM4Q-7XHT-AC", "password": "..."}, request_only=True
            ),
            OpenApiExample("Activated", value={"username": "sri42"}, response_only=True, status_codes=["200"]),
            OpenApiExample(
                "Expired",
                value={
                    "message": "This code has expired. Ask the city office for a new one.",
                    "errors": {"code": ["This code has expired. Ask the city office for a new one."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = activation_attempt(**serializer.validated_data)
        return Response({"username": user.username})


class PasswordChangeApi(APIView):
    class InputSerializer(serializers.Serializer):
        old_password = api.CharField(max_length=128, trim_whitespace=False)
        new_password = api.CharField(max_length=128, trim_whitespace=False)

        class Meta:
            ref_name = "PasswordChange"

    @extend_schema(
        operation_id="users_me_password_change",
        summary="Change one's own password",
        description="Django's password validators apply. Answers 204 with no body.",
        request=InputSerializer,
        responses={204: None, 400: ERRORS[400]},
        examples=[
            OpenApiExample("Change", value={"old_password": "...", "new_password": "..."}, request_only=True),
            OpenApiExample(
                "Too short",
                value={
                    "message": "This password is too short. It must contain at least 8 characters.",
                    "errors": {"new_password": ["This password is too short. It must contain at least 8 characters."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_change(user=request.user, **serializer.validated_data)
        if request.auth is None:  # a session: keep it signed in with the new password
            update_session_auth_hash(request._request, request.user)  # type: ignore[arg-type]
        return Response(status=204)
