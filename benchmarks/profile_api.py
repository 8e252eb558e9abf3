"""Where one API request's time goes, in one process: the requests of ``benchmarks/api.py``
sent through Django's test client with the server's environment there
(``server_environment``: the production settings), on the demo programme
``benchmarks/api.py`` seeded (run it once first: seeding here would need tasks in this
process, and then each post would make its receipt here too).

For each run (``read``, ``post``, ``list``): the CPU time a request costs this process
(the database's own time is not in it), the queries it sends, and, with ``--profile``,
the functions that took the most (cProfile, cumulative). Nothing is asserted: a tool for
finding the cost, with ``benchmarks/api.py`` the measure under load.

    .venv/bin/python benchmarks/profile_api.py [--requests 300] [--only read]
        [--profile] [--top 30] [--sort cumulative] [--callers PATTERN] [--sql]
        [--database postgres://postgres@127.0.0.1:5432/wibawa_bench_api]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api import server_environment  # noqa: E402
from benchmarks.common import seeded  # noqa: E402

RUNS = ("read", "post", "list")


def recorder(into: list[str]) -> Any:
    """A database execute wrapper that notes each query's SQL in ``into``."""

    def note(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        into.append(sql)
        return execute(sql, params, many, context)

    return note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="Requests a run, after a tenth of that of warm-up.")
    parser.add_argument("--only", choices=RUNS, action="append")
    parser.add_argument("--profile", action="store_true", help="Print cProfile's top functions a run.")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", help="cProfile's order: cumulative, tottime...")
    parser.add_argument("--callers", help="Also print who called the functions matching this pattern.")
    parser.add_argument("--sql", action="store_true", help="Print the queries of one request a run.")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench_api")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Broker and cache; emptied.")
    args = parser.parse_args()

    if not seeded(args.database):
        raise SystemExit(f"no demo programme in {args.database}: run benchmarks/api.py once first")
    scratch = Path(tempfile.mkdtemp(prefix="wibawa-profile-api-"))
    (scratch / "metrics").mkdir()
    os.environ.update({**server_environment(args, scratch), "ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()

    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from benchmarks.api import BANK_LOGIN, flush_redis, open_loans
    from config.clock import business_today

    flush_redis(args.redis)
    loans = open_loans()
    if not loans:
        raise SystemExit("no open loan: run benchmarks/api.py first (it seeds the database)")
    from django.contrib.auth import get_user_model

    token, _created = Token.objects.get_or_create(user=get_user_model().objects.get(username=BANK_LOGIN[0]))
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="testserver")
    paid_on = business_today().isoformat()
    counter = iter(range(10**9))

    def send(run: str) -> Any:
        n = next(counter)
        loan = loans[n % len(loans)]
        if run == "read":
            answer = client.get(f"/api/v1/loans/{loan}/")
        elif run == "list":
            answer = client.get("/api/v1/applications/")
        else:
            key = f"profile-{uuid.uuid4().hex}"
            answer = client.post(
                f"/api/v1/loans/{loan}/repayments/",
                {"amount": 1000, "paid_on": paid_on, "channel": "transfer", "reference": key},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=key,
            )
        if answer.status_code not in (200, 201):
            raise SystemExit(f"{run}: {answer.status_code} {answer.content[:300]!r}")
        return answer

    print(f"{'run':<6}{'cpu/request':>12}{'wall/request':>14}{'queries':>9}")
    for run in RUNS:
        if args.only and run not in args.only:
            continue
        for _ in range(max(args.requests // 10, 5)):
            send(run)
        captured: list[str] = []
        with connection.execute_wrapper(recorder(captured)):  # survives the request's reset_queries
            send(run)
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(args.requests):
            send(run)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"{run:<6}{cpu * 1000 / args.requests:>10.2f}ms{wall * 1000 / args.requests:>12.2f}ms{len(captured):>9}",
            flush=True,
        )
        if args.sql:
            kinds = Counter(sql.split(" ", 1)[0] for sql in captured)
            print("  " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
            for sql in captured:
                print("   ", sql[:220])
        if profiler:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
            stats.print_stats(args.top)
            if args.callers:
                stats.print_callers(args.callers)
            print(out.getvalue())
    flush_redis(args.redis)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
