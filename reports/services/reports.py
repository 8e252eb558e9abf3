"""Asking for a document and making it.

* :func:`report_request` (the API, beat) checks what the kind needs and who may ask,
  returns an identical finished (or queued, or running) report when there is one, else
  stores a ``queued`` report and sends its task after the commit.
* :func:`report_make` (the worker) claims the report, builds the document (its kind's
  ``build``), renders it, stores the file in the reports storage with its SHA-256 and
  marks it ``done``; an error marks it ``failed`` with the error.
* :func:`reports_sweep` (beat, every minute) gives a report whose worker died (no
  heartbeat for ``REPORT_STALE_SECONDS``) to the next worker, fails one that did so
  ``REPORT_MAX_ATTEMPTS`` times or ran past ``REPORT_TIME_LIMIT``, and sends again a
  queued one whose message was lost.
* :func:`papers_after_repayment` (inside the repayment's transaction): the receipt of a
  booked or reversed repayment and the settlement letter of a pay-off, queued with it.

A worker holds a report only while its heartbeat is fresh: :func:`report_make` writes
its result only if no later attempt has taken the report over, so a worker that was
thought dead and comes back changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied

from audit.services import audit_record
from banks.models import Bank
from banks.selectors import bank_visible
from config.clock import business_today
from config.errors import ApplicationError, ItemsNotFound
from config.prepared import prepared_insert, prepared_update
from config.roles import Role, reads_all, require_role, roles_of
from loans.models import Loan, Repayment
from loans.selectors.applications import loan_visible
from reports.document import DocumentMeta
from reports.kinds import KINDS, ReportParams, kind_module
from reports.models import Report
from reports.periods import FIRST_YEAR, LAST_YEAR, PeriodError, parse_period
from reports.render import render

logger = logging.getLogger(__name__)

#: The fields a request may name besides ``kind``, ``format``, ``language`` and ``refresh``.
KIND_FIELDS = ("bank", "period", "loan", "repayment", "as_of")
#: Who issues the documents that are not a bank's own.
PROGRAMME_ISSUER = "Dinas Koperasi dan Usaha Mikro Kota Semarang"
#: The borrower's papers (a borrower may ask for these, of their own loans).
PAPERS = frozenset({"borrower_statement", "receipt", "settlement_letter"})
#: A queued report's message is sent again when no worker took it for this long.
REQUEUE_SECONDS = 600
EXTENSIONS = {"pdf": "pdf", "csv": "csv", "xlsx": "xlsx"}


@dataclass(frozen=True)
class ReportRequest:
    """What was asked for, as parsed (types checked by the API's serializer)."""

    kind: str
    format: str = "pdf"
    language: str = "id"
    bank: str | None = None
    period: str | None = None
    loan: int | None = None
    repayment: int | None = None
    as_of: date | None = None
    refresh: bool = False


def verify_url(code: str) -> str:
    """The public address that answers for the document with verification ``code``."""
    return f"{settings.PUBLIC_BASE_URL}/api/v1/documents/verify/{code}/"


def _field_errors(request: ReportRequest) -> dict[str, list[str]]:
    spec = KINDS[request.kind]
    errors: dict[str, list[str]] = {}
    for name in KIND_FIELDS:
        given = getattr(request, name) is not None
        words = {"kind": request.kind, "field": name}
        if name in spec.required and not given:
            errors[name] = [_("A %(kind)s report needs %(field)s.") % words]
        elif given and name not in spec.required + spec.optional:
            errors[name] = [_("A %(kind)s report takes no %(field)s.") % words]
    return errors


def _period_message(error: PeriodError) -> str:
    """The rule ``error`` breaks, in the user's language."""
    if error.reason == "year":
        return _("The year must be between %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}
    if error.reason == "month":
        return _("The month must be 01 to 12.")
    return _("Use a month (2026-10), a quarter (2026-Q3) or a year (2026).")


def _period_kinds(kinds: tuple[str, ...]) -> str:
    names = {"month": _("a month"), "quarter": _("a quarter"), "year": _("a year")}
    return _(" or ").join(str(names[kind]) for kind in kinds)


def _may_ask(user: Any, kind: str) -> None:
    """403 unless ``user``'s role may ask for a ``kind`` report at all: the city office,
    auditors and the manager any; bank staff their bank's monthly report and city books
    and the papers of their bank's loans; borrowers the papers of their own loans.
    (Whose objects they are is checked by the look-ups: another's is not found.)"""
    if reads_all(user):
        return
    roles = roles_of(user)
    if Role.BANK_STAFF in roles and kind in {"bank_monthly", "city_books", *PAPERS}:
        return
    if Role.BORROWER in roles and kind in PAPERS:
        return
    require_role(user, Role.OFFICER, Role.AUDITOR, Role.MANAGER)


def _resolve(*, actor: Any, request: ReportRequest) -> tuple[ReportParams, dict[str, Any]]:
    """The checked parameters, and the objects the report belongs to (bank, loan,
    repayment; the borrower is the loan's). Objects the actor may not see are not found
    (404)."""
    errors = _field_errors(request)
    period = None
    if request.period is not None and "period" not in errors:
        try:
            period = parse_period(request.period)
        except PeriodError as exc:
            errors["period"] = [_period_message(exc)]
        else:
            allowed = KINDS[request.kind].periods
            if period.kind not in allowed:
                errors["period"] = [
                    _("A %(kind)s report covers %(periods)s (e.g. 2026-10).")
                    % {"kind": request.kind, "periods": _period_kinds(allowed)}
                ]
    if errors:
        raise ApplicationError(_("The request does not fit this kind of report."), errors=errors)

    _may_ask(actor, request.kind)
    if request.kind == "city_books" and request.bank is None and not reads_all(actor):
        raise PermissionDenied(_("Bank staff ask for the city's books of their own bank (give bank)."))
    owners: dict[str, Any] = {"bank": None, "loan": None, "repayment": None}
    bank_id: int | None = None
    if request.bank is not None:
        bank = bank_visible(user=actor).filter(code=request.bank).first()
        if bank is None:
            raise ItemsNotFound(
                _("No such bank."), errors={"bank": [_("No bank %(code)s among yours.") % {"code": request.bank}]}
            )
        owners["bank"], bank_id = bank, bank.pk
    loan_id = request.loan
    if request.repayment is not None:
        repayment = (
            Repayment.objects.filter(pk=request.repayment, loan__in=loan_visible(user=actor))
            .select_related("loan")
            .first()
        )
        if repayment is None:
            raise ItemsNotFound(_("No such repayment."), errors={"repayment": [_("No such repayment among yours.")]})
        owners["repayment"], loan_id = repayment, repayment.loan_id
    if loan_id is not None:
        loan = loan_visible(user=actor).filter(pk=loan_id).first()
        if loan is None:
            raise ItemsNotFound(_("No such loan."), errors={"loan": [_("No such loan among yours.")]})
        owners["loan"] = loan
        owners["bank"] = owners["bank"] or loan.bank
    as_of = request.as_of
    if as_of is None and "as_of" in KINDS[request.kind].optional:
        as_of = business_today()
    params = ReportParams(
        kind=request.kind,
        format=request.format,
        language=request.language,
        bank_id=bank_id,
        period=period,
        loan_id=request.loan,
        repayment_id=request.repayment,
        as_of=as_of,
    )
    check = getattr(kind_module(request.kind), "check", None)
    if check is not None:
        check(params)
    return params, owners


def request_key(params: ReportParams) -> str:
    """What makes two requests the same document."""
    period = params.period.code if params.period else ""
    as_of = params.as_of.isoformat() if params.as_of else ""
    return (
        f"{params.kind}|{params.format}|{params.language}|b{params.bank_id or ''}|p{period}"
        f"|l{params.loan_id or ''}|r{params.repayment_id or ''}|a{as_of}"
    )


def _new_report(*, params: ReportParams, owners: dict[str, Any], actor: Any, at: datetime) -> Report:
    """A queued report for ``params`` (numbered), its task sent after the commit. It
    belongs to the ``owners`` given (bank, loan, repayment) and to the loan's borrower."""
    bank, loan = owners.get("bank"), owners.get("loan")
    report = Report(
        kind=params.kind,
        format=params.format,
        language=params.language,
        bank=bank,
        borrower_id=loan.borrower_id if loan is not None else None,
        loan=loan,
        repayment=owners.get("repayment"),
        period=params.period.code if params.period else "",
        as_of=params.as_of,
        request_key=request_key(params),
        verify_code=secrets.token_urlsafe(24),
        issuer=bank.name if bank is not None and params.kind != "city_books" else PROGRAMME_ISSUER,
        period_label=params.period.label(params.language) if params.period else "",
        requested_by=actor if getattr(actor, "pk", None) else None,
        created_at=at,
        heartbeat_at=at,
    )
    prepared_insert([report])
    report.number = f"WBW/{KINDS[params.kind].prefix}/{at.year}/{report.pk:06d}"
    prepared_update(report, ("number",))
    transaction.on_commit(lambda: _send(report.pk))
    return report


def _send(report_id: int) -> None:
    from tasks.base import task_send
    from tasks.reports import report_make_task

    task_send(report_make_task, report_id)


@transaction.atomic
def report_request(*, actor: Any, request: ReportRequest) -> tuple[Report, bool]:
    """Ask for a document. Returns ``(report, created)``: an identical report already
    done, queued or running is returned as it is (``created`` False) unless
    ``request.refresh``; otherwise a new ``queued`` report, made by a worker.

    Raises ApplicationError (400, naming the field) for a field the kind does not take
    or lacks, a bad period, or a document its kind cannot make (its ``check``);
    ItemsNotFound (404) for a bank, loan or repayment the actor may not see;
    PermissionDenied (403) for a kind the actor's role may not ask for."""
    params, owners = _resolve(actor=actor, request=request)
    if not request.refresh:
        existing = (
            Report.objects.filter(
                request_key=request_key(params),
                status__in=[Report.Status.QUEUED, Report.Status.RUNNING, Report.Status.DONE],
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if existing is not None:
            return existing, False
    report = _new_report(params=params, owners=owners, actor=actor, at=timezone.now())
    audit_record(
        actor=actor,
        action="report_request",
        subject=report,
        after={"kind": report.kind, "format": report.format, "request": report.request_key},
        loan=report.loan_id,
    )
    return report, True


def papers_after_repayment(*, repayment: Repayment, loan: Loan, paid_off: bool) -> list[Report]:
    """Inside the transaction that booked or reversed ``repayment`` of ``loan``: queue
    its receipt (a reversed one's says so) and, when the booking paid the loan off
    (``paid_off``), the settlement letter, in Indonesian. Nothing when
    REPORTS_AUTO_PAPERS is off. The documents are made by a worker after the commit, so
    a booking is never slowed by a PDF; queued with it, they are never lost."""
    if not settings.REPORTS_AUTO_PAPERS:
        return []
    owners = {"bank": loan.bank, "loan": loan, "repayment": repayment}
    at = timezone.now()
    made = [
        _new_report(params=ReportParams(kind="receipt", repayment_id=repayment.pk), owners=owners, actor=None, at=at)
    ]
    if paid_off:
        made.append(
            _new_report(
                params=ReportParams(kind="settlement_letter", loan_id=loan.pk),
                owners={**owners, "repayment": None},
                actor=None,
                at=at,
            )
        )
    return made


def report_params(report: Report) -> ReportParams:
    """The parameters ``report`` was asked with."""
    return ReportParams(
        kind=report.kind,
        format=report.format,
        language=report.language,
        bank_id=report.bank_id if report.kind in ("bank_monthly", "city_books") else None,
        period=parse_period(report.period) if report.period else None,
        loan_id=report.loan_id if report.kind in ("borrower_statement", "settlement_letter") else None,
        repayment_id=report.repayment_id,
        as_of=report.as_of,
    )


def _claim(report_id: int, now: datetime) -> int | None:
    """Take report ``report_id`` for this worker: a queued one, or a running one whose
    worker went quiet. Returns the attempt number held, or None when another worker
    holds it or it is finished."""
    stale = now - timedelta(seconds=settings.REPORT_STALE_SECONDS)
    with transaction.atomic():
        taken = Report.objects.filter(
            Q(status=Report.Status.QUEUED) | Q(status=Report.Status.RUNNING, heartbeat_at__lt=stale), pk=report_id
        ).update(status=Report.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1, error="")
        if not taken:
            return None
        attempt: int = Report.objects.values_list("attempts", flat=True).get(pk=report_id)
    return attempt


class _Heartbeat:
    """While a document is made: every few seconds, the report's heartbeat and its
    progress (rows done of rows in all), written from a thread of its own so a long
    query or page layout never looks like a dead worker."""

    def __init__(self, report_id: int, attempt: int) -> None:
        self.report_id, self.attempt = report_id, attempt
        self.done, self.total = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"report-{report_id}-heartbeat", daemon=True)
        self.interval = max(1.0, min(10.0, settings.REPORT_STALE_SECONDS / 6))

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = min(done, total), total

    def __enter__(self) -> _Heartbeat:
        # Inside a transaction (a task run eagerly in a test or a request) another
        # connection could not see the report, nor write while SQLite's lock is held.
        self.running = not connection.in_atomic_block
        if self.running:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.running:
            self._thread.join()

    def _beat(self) -> None:
        Report.objects.filter(pk=self.report_id, attempts=self.attempt, status=Report.Status.RUNNING).update(
            heartbeat_at=timezone.now(), progress_done=self.done, progress_total=self.total
        )

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self._beat()
                except Exception:  # a blink of the database: the next beat tries again
                    logger.warning("report %s: heartbeat not written", self.report_id, exc_info=True)
        finally:
            connection.close()


def report_make(*, report_id: int) -> Report | None:
    """Make report ``report_id`` (a worker's task): claim it, build, render and store the
    document, mark it done with its SHA-256 and size. A report that is finished or held
    by a live worker is left alone (returns None). An error marks it failed with the
    error (the caller re-raises nothing: a failed document is asked for again); a
    database or broker error that may pass releases the report to the queue and
    propagates, for the task's retry."""
    from tasks.base import TRANSIENT_ERRORS

    now = timezone.now()
    attempt = _claim(report_id, now)
    if attempt is None:
        return None
    report = Report.objects.get(pk=report_id)
    if attempt > settings.REPORT_MAX_ATTEMPTS:
        _finish(report_id, attempt, status=Report.Status.FAILED, error=_gave_up(attempt - 1))
        return Report.objects.get(pk=report_id)
    meta = DocumentMeta(
        number=report.number or str(report.pk),
        verify_code=report.verify_code,
        verify_url=verify_url(report.verify_code),
        made_at=timezone.localtime(now),
        language=report.language,  # type: ignore[arg-type]
        issuer=report.issuer,
    )
    try:
        with _Heartbeat(report_id, attempt) as heartbeat:
            params = report_params(report)
            document = kind_module(report.kind).build(params, meta, heartbeat.progress)
            content = render(document, report.format, heartbeat.progress)
    except TRANSIENT_ERRORS:
        Report.objects.filter(pk=report_id, attempts=attempt).update(status=Report.Status.QUEUED)
        raise
    except SoftTimeLimitExceeded:
        logger.error("report %s (%s) stopped at its time limit", report_id, report.kind)
        _finish(report_id, attempt, status=Report.Status.FAILED, error=_past_time_limit())
        return Report.objects.get(pk=report_id)
    except Exception as exc:
        logger.exception("report %s (%s) failed", report_id, report.kind)
        message = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
        _finish(report_id, attempt, status=Report.Status.FAILED, error=message[:2000])
        return Report.objects.get(pk=report_id)
    name = f"{report.kind}-{document.slug or report.pk}.{EXTENSIONS[report.format]}"
    stored = report.file.storage.save(f"reports/{now:%Y/%m}/{report.pk}-{name}", ContentFile(content))
    rows = document.row_count()
    kept = _finish(
        report_id,
        attempt,
        status=Report.Status.DONE,
        file=stored,
        file_name=name,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        title=document.title[:300],
        period_label=document.period_label[:100],
        made_at=now,
        progress_done=rows,
        progress_total=rows,
    )
    if not kept:  # another attempt took the report over while this one was thought dead
        report.file.storage.delete(stored)
    return Report.objects.get(pk=report_id)


def _finish(report_id: int, attempt: int, **fields: Any) -> bool:
    """Record the outcome of attempt ``attempt``, unless a later attempt holds the
    report. Returns whether it was recorded."""
    with transaction.atomic():
        return bool(
            Report.objects.filter(pk=report_id, attempts=attempt, status=Report.Status.RUNNING).update(
                finished_at=timezone.now(), **fields
            )
        )


def _past_time_limit() -> str:
    return f"Still running after its time limit ({settings.REPORT_TIME_LIMIT} s); ask for the report again."


def _gave_up(attempts: int) -> str:
    return f"The worker making it stopped {attempts} times; ask for the report again."


def reports_sweep() -> dict[str, int]:
    """Beat: a running report whose worker went quiet is queued again for the next
    worker (failed after REPORT_MAX_ATTEMPTS tries), one running past REPORT_TIME_LIMIT
    is failed, and a queued one no worker took for REQUEUE_SECONDS is sent again.
    Returns how many of each."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.REPORT_STALE_SECONDS)
    overdue = now - timedelta(seconds=settings.REPORT_TIME_LIMIT + settings.REPORT_STALE_SECONDS)
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    with transaction.atomic():
        counts["failed"] += Report.objects.filter(status=Report.Status.RUNNING, started_at__lt=overdue).update(
            status=Report.Status.FAILED,
            finished_at=now,
            error=_past_time_limit(),
        )
        quiet = Report.objects.filter(status=Report.Status.RUNNING, heartbeat_at__lt=stale)
        for report_id, attempts in quiet.filter(attempts__gte=settings.REPORT_MAX_ATTEMPTS).values_list(
            "pk", "attempts"
        ):
            counts["failed"] += Report.objects.filter(pk=report_id, status=Report.Status.RUNNING).update(
                status=Report.Status.FAILED, finished_at=now, error=_gave_up(attempts)
            )
        requeue = list(quiet.values_list("pk", flat=True))
        counts["requeued"] = Report.objects.filter(pk__in=requeue, status=Report.Status.RUNNING).update(
            status=Report.Status.QUEUED, heartbeat_at=now
        )
        lost = list(
            Report.objects.filter(
                status=Report.Status.QUEUED, heartbeat_at__lt=now - timedelta(seconds=REQUEUE_SECONDS)
            ).values_list("pk", flat=True)
        )
        Report.objects.filter(pk__in=lost).update(heartbeat_at=now)
        counts["resent"] = len(lost)
        for report_id in [*requeue, *lost]:
            transaction.on_commit(partial(_send, report_id))
    return counts


def reports_monthly(*, month: str | None = None) -> list[Report]:
    """Beat, on the 1st at 02:00 Asia/Jakarta: for the month before (or ``month``),
    every active bank's monthly report and the city's books, in PDF and XLSX, each
    queued for the workers (fanned out: one task each). Already made ones are kept."""
    if month is None:
        first = business_today().replace(day=1)
        last_month = first - timedelta(days=1)
        month = f"{last_month:%Y-%m}"
    requests = [
        ReportRequest(kind="bank_monthly", bank=code, period=month, format=fmt)
        for code in Bank.objects.filter(active=True).order_by("code").values_list("code", flat=True)
        for fmt in ("pdf", "xlsx")
    ]
    requests += [ReportRequest(kind="city_books", period=month, format=fmt) for fmt in ("pdf", "xlsx")]
    made = []
    for request in requests:
        try:
            report, _created = report_request(actor=_SYSTEM, request=request)
        except ApplicationError as exc:
            logger.warning("monthly %s %s not queued: %s %s", request.kind, request.bank or "", exc.message, exc.errors)
            continue
        made.append(report)
    return made


class _System:
    """The actor of beat's requests: reads everything, is nobody."""

    pk = None
    is_authenticated = True
    username = "system"
    _wibawa_roles = frozenset({Role.MANAGER})


_SYSTEM = _System()
