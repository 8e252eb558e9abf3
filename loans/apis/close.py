"""The nightly close: its state (last closed business date, the running close, the
recent runs) and, for the programme manager, a catch-up on demand."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Subject, audit_record
from config.clock import business_yesterday
from config.errors import ApplicationError, ConflictSerializer, ErrorSerializer
from config.roles import Role, require_role
from loans.services.close import CloseRunning, close_running_now, close_status


class BrokerUnavailable(ApplicationError):
    """The broker could not take the close (503): nothing was started; try again later."""

    status_code = 503


READERS = (Role.OFFICER, Role.MANAGER, Role.AUDITOR, Role.BANK_STAFF)

RUN_EXAMPLE = {
    "business_date": "2026-11-26",
    "status": "done",
    "loans": 1312,
    "started_at": "2026-11-27T00:30:00.412000+07:00",
    "finished_at": "2026-11-27T00:30:01.907000+07:00",
    "seconds": 1.495,
}
STATE_EXAMPLE: dict[str, Any] = {"last_closed": "2026-11-26", "running": None, "recent": [RUN_EXAMPLE]}
RUNNING_EXAMPLE: dict[str, Any] = {
    "last_closed": "2026-11-25",
    "running": {
        "business_date": "2026-11-26",
        "started_at": "2026-11-27T00:30:00.412000+07:00",
        "chunks": 4,
        "chunks_done": 1,
    },
    "recent": [
        {**RUN_EXAMPLE, "status": "running", "loans": 25000, "finished_at": None, "seconds": None},
        {
            **RUN_EXAMPLE,
            "business_date": "2026-11-25",
            "started_at": "2026-11-26T00:30:00.388000+07:00",
            "finished_at": "2026-11-26T00:30:01.802000+07:00",
            "seconds": 1.414,
        },
    ],
}


class CloseRunningSerializer(serializers.Serializer):
    business_date = serializers.DateField()
    started_at = serializers.DateTimeField()
    chunks = serializers.IntegerField(help_text="Chunks of loans the close is cut into.")
    chunks_done = serializers.IntegerField()

    class Meta:
        ref_name = "CloseRunning"


class CloseRunSerializer(serializers.Serializer):
    business_date = serializers.DateField()
    status = serializers.ChoiceField(choices=["running", "done", "failed"])
    loans = serializers.IntegerField(help_text="Loans closed so far.")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.FloatField(allow_null=True, help_text="How long it ran; null while running.")

    class Meta:
        ref_name = "CloseRun"


class CloseStateSerializer(serializers.Serializer):
    last_closed = serializers.DateField(allow_null=True, help_text="The last closed business date (null: never).")
    running = CloseRunningSerializer(allow_null=True, help_text="The close running now, if any.")
    recent = CloseRunSerializer(many=True, help_text="The last 10 runs, newest first.")

    class Meta:
        ref_name = "CloseState"


class CloseApi(APIView):
    class InputSerializer(serializers.Serializer):
        until = serializers.DateField(
            required=False, help_text="Close every date up to this one (default: yesterday in Asia/Jakarta)."
        )

        class Meta:
            ref_name = "CloseCatchUp"

    @extend_schema(
        operation_id="close_retrieve",
        summary="The nightly close's state",
        description="The last closed business date, the close running now and the last 10 runs. Programme staff "
        "and bank staff.",
        responses={
            200: CloseStateSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Borrowers may not read it."),
        },
        examples=[
            OpenApiExample("Closed last night", value=STATE_EXAMPLE, response_only=True, status_codes=["200"]),
            OpenApiExample("A close running", value=RUNNING_EXAMPLE, response_only=True, status_codes=["200"]),
        ],
        tags=["close"],
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, *READERS)
        return Response(CloseStateSerializer(close_status()).data)

    @extend_schema(
        operation_id="close_catch_up",
        summary="Close the business dates not closed yet (manager)",
        description="Closes, one after the other, every date after the last closed one up to `until` (default: "
        "yesterday in Asia/Jakarta; only `until` when nothing was ever closed), in the background. Answers 202 "
        "with the close's state; 409 while a close is running; 400 for a date that is not over yet.",
        request=InputSerializer,
        responses={
            202: CloseStateSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A date after yesterday."),
            403: OpenApiResponse(ErrorSerializer, description="Only the manager may start a close."),
            409: OpenApiResponse(ConflictSerializer, description="A close is running."),
            503: OpenApiResponse(ErrorSerializer, description="The task queue (broker) is down: nothing started."),
        },
        examples=[
            OpenApiExample("Up to a date", value={"until": "2026-11-26"}, request_only=True),
            OpenApiExample("Started", value=RUNNING_EXAMPLE, response_only=True, status_codes=["202"]),
            OpenApiExample(
                "Not over yet",
                value={
                    "message": "Only a business date that is over can be closed (up to 2026-11-26).",
                    "errors": {"until": ["Only a business date that is over can be closed (up to 2026-11-26)."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["close"],
    )
    def post(self, request: Request) -> Response:
        from tasks.base import task_send
        from tasks.close import close_catch_up_task  # tasks import the services, not the APIs

        require_role(request.user, Role.MANAGER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        yesterday = business_yesterday()
        until: date = serializer.validated_data.get("until", yesterday)
        if until > yesterday:
            message = _("Only a business date that is over can be closed (up to %(date)s).") % {
                "date": yesterday.isoformat()
            }
            raise ApplicationError(message, {"until": [message]})
        running = close_running_now()
        if running is not None:
            raise CloseRunning(running)
        # Sent first, then audited: a request the broker could not take (503) started
        # nothing and leaves no row saying it did.
        if task_send(close_catch_up_task, until.isoformat()) is None:
            raise BrokerUnavailable(_("The task queue is unavailable; the close was not started. Try again later."))
        audit_record(
            actor=request.user,
            action="close_request",
            subject=Subject("close", until.isoformat(), f"close up to {until.isoformat()}"),
            after={"until": until},
        )
        return Response(CloseStateSerializer(close_status()).data, status=202)
