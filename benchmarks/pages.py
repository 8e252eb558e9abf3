"""The web pages' server time on PostgreSQL with the demo history, and the borrower
page's weight over the wire.

Set up (not timed): ``seed_demo`` (the demo programme with ``--months`` months of
history, 24 by default: about 270 loans, 3,000 repayments and the nightly closes) in a
scratch database, then VACUUM ANALYZE.

Timed, in this process through Django's whole stack (``django.test.Client``, every
middleware, the session saved on each request as in production), DEBUG off: each page
of :data:`PAGES` opened ``--runs`` times by its demo user (signed in once), after one
warm-up request; printed are the fastest, the median, the 95th percentile and the
slowest, the median CPU time of this process (Python's own work, without PostgreSQL's),
the queries the page runs and its HTML's size. A page that answers 404 (its area is not
on this branch yet) is skipped and said so. Target (issue 10): every page's p95 under
150 ms.

Weighed: :data:`WEIGHED` (the borrower's page; the home page while that is missing) as
a phone loads it the first time: its HTML and every stylesheet and script it names,
each gzip-compressed (level 6, as a web server in front would). Target: under 100 KB.

    .venv/bin/python benchmarks/pages.py [--months 24] [--runs 50] [--reuse]
        [--database postgres://postgres@127.0.0.1:5432/wibawa_bench_pages]

The database named by --database is dropped and created again (unless --reuse finds the
demo programme there): never point it at real data.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import demo_programme  # noqa: E402


class Page(NamedTuple):
    url: str
    user: str | None  # a demo user (seed_demo's LOGINS), None: a stranger
    htmx: bool = False  # asked by htmx (the fragment only)


#: The pages measured, each as its demo user would open it. Add a page here. A ``{name}``
#: in a URL is an object of the demo programme, found by :func:`demo_ids`.
PAGES = [
    Page("/", None),
    Page("/login/", None),
    Page("/activate/", None),
    Page("/simulator/", None),
    Page("/simulator/?principal=25000000&tenor_months=36&method=annuity", None, htmx=True),
    Page("/me/", "borrower"),
    Page("/me/loans/{borrower_loan}/", "borrower"),
    Page("/office/", "officer"),
    Page("/office/applications/{office_application}/", "officer"),
    Page("/office/borrowers/", "officer"),
    Page("/office/borrowers/{borrower}/", "officer"),
    Page("/office/borrowers/new/", "officer"),
    Page("/office/borrowers/{borrower}/applications/new/", "officer"),
    Page("/bank/", "pasar"),
    Page("/bank/applications/{bank_application}/", "pasar"),
    Page("/bank/loans/", "pasar"),
    Page("/bank/loans/{bank_loan}/", "pasar"),
    Page("/bank/deferrals/", "pasar"),
    Page("/bank/reports/", "pasar"),
    Page("/manage/", "manager"),
    Page("/manage/products/", "manager"),
    Page("/manage/banks/", "manager"),
    Page("/manage/collectibility/", "manager"),
    Page("/manage/staff/", "manager"),
    Page("/manage/staff/{staff}/", "manager"),
    Page("/audit/", "auditor"),
    Page("/account/password/", "officer"),
]
#: The page weighed over the wire, and the one weighed while it answers 404.
WEIGHED = Page("/me/", "borrower")
WEIGHED_INSTEAD = Page("/", None)
TARGET_P95_MS = 150.0
TARGET_WEIGHT_KB = 100.0

ASSETS = re.compile(r'<(?:link[^>]*\srel="stylesheet"[^>]*\shref|script[^>]*\ssrc)="([^"]+)"')


def demo_ids() -> dict[str, int]:
    """The demo programme's objects the detail pages show: the demo borrower's loan, the
    PASAR loan with the most repayments, an application waiting at the office and one at
    PASAR, a borrower with a loan, and the staff member officer2."""
    from django.contrib.auth.models import User
    from django.db.models import Count

    from loans.models import Application, Loan

    borrower_loan = Loan.objects.filter(borrower__user__username="borrower").order_by("-pk").first()
    bank_loan = Loan.objects.filter(bank__code="PASAR").annotate(n=Count("repayments")).order_by("-n", "pk").first()
    office = Application.objects.filter(state__in=["submitted", "field_verified"]).order_by("state_changed_at").first()
    bank = Application.objects.filter(bank__code="PASAR", state__in=["forwarded", "credit_checked", "approved"])
    bank_application = bank.order_by("state_changed_at").first()
    found = {
        "borrower_loan": borrower_loan,
        "bank_loan": bank_loan,
        "office_application": office,
        "bank_application": bank_application,
    }
    missing = [name for name, thing in found.items() if thing is None]
    if missing:
        raise SystemExit(f"the demo programme has no {', '.join(missing)}: seed it again")
    ids = {name: int(thing.pk) for name, thing in found.items() if thing is not None}
    ids["borrower"] = int(bank_loan.borrower_id) if bank_loan else 0
    ids["staff"] = int(User.objects.get(username="officer2").pk)
    return ids


def label(page: Page) -> str:
    return page.url + (" (htmx)" if page.htmx else "")


def client_for(user: str | None, clients: dict[str | None, Any]) -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    if user not in clients:
        client = Client(raise_request_exception=False)  # a page failing is said, not fatal
        if user is not None:
            client.force_login(User.objects.get(username=user))
        clients[user] = client
    return clients[user]


def get(client: Any, page: Page) -> Any:
    headers = {"HTTP_HX_REQUEST": "true"} if page.htmx else {}
    return client.get(page.url, secure=True, **headers)


def body(answer: Any) -> bytes:
    if getattr(answer, "streaming", False):
        return b"".join(answer.streaming_content)
    return bytes(answer.content)


def measure(page: Page, runs: int, clients: dict[str | None, Any]) -> dict[str, Any] | str:
    """The page's figures, or why it was skipped."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(page.user, clients)
    with CaptureQueriesContext(connection) as queries:
        answer = get(client, page)  # the warm-up: templates compiled, caches filled
    count = len(queries.captured_queries)  # now: the next request clears the connection's log
    if answer.status_code != 200:
        where = f" to {answer['Location']}" if answer.has_header("Location") else ""
        verdict = "skipped (not on this branch)" if answer.status_code == 404 else "NOT measured"
        return f"answers {answer.status_code}{where}: {verdict}"
    size = len(body(answer))
    times, cpu = [], []
    for _run in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = get(client, page)
        body(answer)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        if answer.status_code != 200:
            raise SystemExit(f"{page.url} answered {answer.status_code} on a later run")
    times.sort()
    return {
        "best": times[0],
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
        "max": times[-1],
        "cpu": statistics.median(cpu),
        "queries": count,
        "size": size,
    }


def weigh(page: Page, clients: dict[str | None, Any]) -> tuple[Page, list[tuple[str, int, int]]] | None:
    """Each file of ``page``'s first load: (path, bytes, gzip-compressed bytes)."""
    client = client_for(page.user, clients)
    answer = get(client, page)
    if answer.status_code != 200:
        return None
    html = body(answer)
    files = [(page.url, html)]
    for url in ASSETS.findall(html.decode()):
        asset = client.get(url, secure=True)
        if asset.status_code != 200:
            raise SystemExit(f"{url}, named by {page.url}, answered {asset.status_code}")
        files.append((url, body(asset)))
    return page, [(url, len(data), len(gzip.compress(data, compresslevel=6, mtime=0))) for url, data in files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=24, help="Months of demo history (seed_demo --months).")
    parser.add_argument("--runs", type=int, default=50, help="Requests timed per page.")
    parser.add_argument("--reuse", action="store_true", help="Keep the demo programme if the database has one.")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench_pages")
    args = parser.parse_args()

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": args.database,
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "testserver",
            # The demo's tasks (documents) run in this process while seeding; pages send none.
            "CELERY_TASK_ALWAYS_EAGER": "1",
        }
    )
    demo_programme(database=args.database, months=args.months, reuse=args.reuse)
    from loans.models import Loan, Repayment

    print(
        f"demo programme: {Loan.objects.count():,} loans, {Repayment.objects.count():,} repayments; "
        f"{args.runs} requests a page, DEBUG off, in process (django.test.Client)\n",
        flush=True,
    )
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 404s are said below
    clients: dict[str | None, Any] = {}
    ids = demo_ids()
    pages = [page._replace(url=page.url.format(**ids)) for page in PAGES]
    width = max(len(label(page)) for page in pages) + 2
    print(f"{'page':<{width}}{'user':<10}{'best':>9}{'p50':>9}{'p95':>9}{'max':>9}{'cpu':>9}{'queries':>9}{'html':>9}")
    over = []
    for page in pages:
        result = measure(page, args.runs, clients)
        if isinstance(result, str):
            if "NOT" in result:
                over.append(label(page))
            print(f"{label(page):<{width}}{page.user or '-':<10}  {result}", flush=True)
            continue
        if result["p95"] * 1000 >= TARGET_P95_MS:
            over.append(label(page))
        print(
            f"{label(page):<{width}}{page.user or '-':<10}"
            + "".join(f"{result[key] * 1000:>7.1f}ms" for key in ("best", "p50", "p95", "max", "cpu"))
            + f"{result['queries']:>9}{result['size']:>9,}",
            flush=True,
        )
    print(f"\np95 under {TARGET_P95_MS:.0f} ms: " + ("every page measured" if not over else f"NOT {', '.join(over)}"))

    weighed = weigh(WEIGHED, clients)
    if weighed is None:
        print(f"\n{WEIGHED.url} answers 404 here: weighing {WEIGHED_INSTEAD.url} instead")
        weighed = weigh(WEIGHED_INSTEAD, clients)
        if weighed is None:
            raise SystemExit(f"{WEIGHED_INSTEAD.url} did not answer 200")
    page, files = weighed
    print(f"\n{page.url} ({page.user or 'a stranger'}) on first load, gzip level 6:")
    for url, raw, packed in files:
        print(f"  {url:<40}{raw:>10,} B{packed:>10,} B gzip")
    total = sum(packed for _url, _raw, packed in files)
    print(
        f"  {'total':<40}{sum(raw for _url, raw, _packed in files):>10,} B{total:>10,} B gzip "
        f"({total / 1024:.1f} KB; target under {TARGET_WEIGHT_KB:.0f} KB)"
    )


if __name__ == "__main__":
    main()
