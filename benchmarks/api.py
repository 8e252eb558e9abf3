"""The API under the production settings: gunicorn on PostgreSQL with the demo history,
16 clients at once.

Set up (not timed): ``seed_demo`` (``--months`` months of history, 24 by default) in a
scratch database, then VACUUM ANALYZE and CHECKPOINT; the Redis database ``--redis`` (the broker, on a
queue of its own, and the cache) emptied. Then gunicorn serves the app with the
production settings: DEBUG off, a SECRET_KEY, Celery on the Redis broker (no worker
takes the receipts the repayments queue: they wait in the benchmark's queue), the cache
on Redis, Prometheus in multiprocess mode, JSON logs at WARNING, an access log; only
the redirect to HTTPS is off (plain HTTP on the loopback) and the throttles are lifted
(none guards these endpoints; the token is asked for once).

Timed, with wrk (Debian package ``wrk``; ``benchmarks/api.lua``) at ``--clients``
connections for ``--duration`` seconds each, after a warm-up, as the PASAR bank's system
with its token (``POST auth/token/``), over the bank's open loans:

* ``read``: ``GET /api/v1/loans/{id}/``;
* ``post``: ``POST /api/v1/loans/{id}/repayments/`` of 1,000 rupiah dated today, each with
  a new Idempotency-Key and reference (the loans' row locks serialise posts to one loan);
* ``list``: ``GET /api/v1/applications/`` (the bank's, first page of 50);
* ``mix``: 70% read, 20% list, 10% post.

Printed: p50, p99 and the slowest latency, requests/s, the CPU time a request cost the
gunicorn workers ("web"), the database's server processes ("db") and wrk, how much of
the machine's CPU stayed idle (the rest went to other processes), and the answers by status. Then,
the server stopped, the ledger is checked: no 5xx and no socket error, every post answered
201 booked once (the repayments carrying the run's keys, counted in the database, lie
between the 201s received and the posts sent: wrk stops without reading the answers in
flight), every repayment's allocations add up to it, every loan's outstanding principal
and its bank's counters agree with the allocations. Targets (issue 12): loan read p99
under 30 ms, repayment post p99 under 60 ms, at least 500 requests/s mixed.

    .venv/bin/python benchmarks/api.py [--months 24] [--reuse] [--duration 10]
        [--clients 16] [--workers 2] [--threads 1] [--port 8797]
        [--database postgres://postgres@127.0.0.1:5432/wibawa_bench_api]
        [--redis redis://127.0.0.1:6379/14]

The database named by --database is dropped and created again (unless --reuse finds the
demo programme there), and the Redis database --redis is emptied (FLUSHDB) before and
after: never point them at real data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import demo_programme  # noqa: E402

BANK = "PASAR"
BANK_LOGIN = ("pasar", "wibawa-demo")  # seed_demo's demo staff of PASAR
QUEUE = "wibawa_bench_api"
WRK = "/usr/bin/wrk"
#: A loan gets posts only with at least this much principal left, so 1,000-rupiah posts
#: never pay one off (then it would answer 409).
MIN_OUTSTANDING = 500_000
#: (run, what it is, the p99 target in ms or None).
RUNS = [
    ("read", "GET loans/{id}/", 30.0),
    ("post", "POST loans/{id}/repayments/", 60.0),
    ("list", "GET applications/", None),
    ("mix", "70% read, 20% list, 10% post", None),
]
TARGET_MIX_RPS = 500.0


def server_environment(args: argparse.Namespace, scratch: Path) -> dict[str, str]:
    """The production settings (config/settings.py), on the loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "benchmark-only-" + "x" * 50,
        "DATABASE_URL": args.database,
        "CELERY_BROKER_URL": args.redis,
        # Not the seeding's in-process tasks (this script's own environment): the
        # receipts wait in the queue, as they would for the workers.
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_QUEUE": QUEUE,
        "CACHE_URL": args.redis,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "SIMULATION_THROTTLE": "100000000/min",
        "LOGIN_THROTTLE": "100000000/min",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"),
        "REPORTS_ROOT": str(scratch / "reports"),
    }


def queue_length(url: str, queue: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).llen(queue))


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def start_server(args: argparse.Namespace, environment: dict[str, str], scratch: Path) -> subprocess.Popen[bytes]:
    (scratch / "metrics").mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{args.port}",
        f"--workers={args.workers}",
        f"--worker-class={'gthread' if args.threads > 1 else 'sync'}",
        f"--threads={args.threads}",
        "--log-level=warning",
        # As docker-compose.yml: the path without its query string, to a file here.
        f"--access-logfile={scratch / 'access.log'}",
        '--access-logformat=%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"',
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=environment)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/api/health/", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise SystemExit("gunicorn did not start (or the health check failed)")
        time.sleep(0.3)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()  # gunicorn finishes the requests in flight, then exits
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes ``pids`` have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone: its time is lost to the count
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_idle() -> tuple[int, int]:
    """The machine's idle and total CPU time so far, in ticks (Linux /proc/stat)."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return ticks[3] + ticks[4], sum(ticks[:8])  # idle + iowait; user to steal


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def database_backends() -> list[int]:
    """The PostgreSQL server processes serving the benchmark's database (on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def bank_token(port: int) -> str:
    username, password = BANK_LOGIN
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/token/",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own server, on the loopback
        return str(json.load(answer)["token"])


def wrk(args: argparse.Namespace, mode: str, seconds: int, token: str, loans: list[int], tag: str) -> dict[str, Any]:
    command = [
        WRK,
        "-t2",
        f"-c{args.clients}",
        f"-d{seconds}s",
        "--timeout=10s",
        "-s",
        str(ROOT / "benchmarks" / "api.lua"),
        f"http://127.0.0.1:{args.port}/",
        "--",
        mode,
        token,
        ",".join(map(str, loans)),
        args.paid_on,
        tag,
    ]
    servers = [*children_of(args.server_pid), *database_backends()]
    workers = set(children_of(args.server_pid))
    web_before = cpu_seconds(sorted(workers))
    database_before = cpu_seconds([pid for pid in servers if pid not in workers])
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    idle_before = machine_idle()
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    load = resource.getrusage(resource.RUSAGE_CHILDREN)
    idle = machine_idle()
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"wrk printed no result:\n{output}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result["tag"] = tag
    result["idle"] = (idle[0] - idle_before[0]) / max(idle[1] - idle_before[1], 1)
    result["cpu"] = {
        "web": cpu_seconds(sorted(workers)) - web_before,
        "database": cpu_seconds([pid for pid in servers if pid not in workers]) - database_before,
        "wrk": load.ru_utime + load.ru_stime - load_before.ru_utime - load_before.ru_stime,
    }
    return result


def open_loans() -> list[int]:
    """The bank's open loans with a stored schedule and principal left to repay."""
    from loans.models import Loan

    return list(
        Loan.objects.filter(
            bank__code=BANK,
            status__in=[Loan.Status.ACTIVE, Loan.Status.OVERDUE],
            schedule_status=Loan.ScheduleStatus.READY,
            outstanding_principal__gte=MIN_OUTSTANDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def ledger_faults() -> list[str]:
    """What does not add up: a booked repayment whose allocations differ from its amount,
    a loan whose outstanding principal or installments differ from the principal
    allocated, a bank whose counters differ from its allocations."""
    from django.db.models import F, Sum

    from banks.models import Bank
    from loans.models import Installment, Loan, Repayment, RepaymentAllocation

    live = RepaymentAllocation.objects.filter(undone_at=None)
    faults = []
    allocated = dict(live.values_list("repayment").annotate(total=Sum("amount")))
    for repayment_id, amount in Repayment.objects.filter(status=Repayment.Status.BOOKED).values_list("pk", "amount"):
        if allocated.get(repayment_id, 0) != amount:
            faults.append(f"repayment {repayment_id}: {amount} booked, {allocated.get(repayment_id, 0)} allocated")
    principal_back = dict(
        live.filter(component="principal").values_list("repayment__loan").annotate(total=Sum("amount"))
    )
    paid = dict(
        Installment.objects.filter(schedule_version=F("loan__schedule_version"))
        .values_list("loan")
        .annotate(total=Sum("principal_paid"))
    )
    for loan_id, principal, outstanding in Loan.objects.values_list("pk", "principal", "outstanding_principal"):
        repaid = principal_back.get(loan_id, 0)
        if outstanding != principal - repaid or paid.get(loan_id, 0) != repaid:
            faults.append(f"loan {loan_id}: outstanding {outstanding}, principal {principal}, repaid {repaid}")
    for bank in Bank.objects.all():
        by_component = dict(live.filter(repayment__bank=bank).values_list("component").annotate(total=Sum("amount")))
        if (bank.principal_repaid, bank.interest_collected) != (
            by_component.get("principal", 0),
            by_component.get("interest", 0),
        ):
            faults.append(f"bank {bank.code}: counters differ from its allocations")
    return faults


def booked_with(tag: str) -> int:
    from loans.models import Repayment

    return Repayment.objects.filter(idempotency_key__startswith=f"{tag}-").count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=24, help="Months of demo history (seed_demo --months).")
    parser.add_argument("--reuse", action="store_true", help="Keep the demo programme if the database has one.")
    parser.add_argument("--duration", type=int, default=10, help="Seconds each run is measured.")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of the same traffic before each run.")
    parser.add_argument("--clients", type=int, default=16, help="Connections open at once.")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn worker processes (docker-compose.yml's WEB_CONCURRENCY default).",
    )
    parser.add_argument("--threads", type=int, default=1, help="Threads a worker (above 1: gthread workers).")
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--only", choices=[run for run, _what, _target in RUNS], action="append")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench_api")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Broker and cache; emptied.")
    args = parser.parse_args()
    if not Path(WRK).is_file():
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    # Seeding runs its tasks (documents, schedules) in this process; the server has the broker.
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": args.database,
            "LOG_LEVEL": "WARNING",
            "CELERY_TASK_ALWAYS_EAGER": "1",
        }
    )
    demo_programme(database=args.database, months=args.months, reuse=args.reuse)
    from config.clock import business_today
    from loans.models import Loan, Repayment

    loans = open_loans()
    if not loans:
        raise SystemExit(f"the demo programme has no open {BANK} loan: seed it again")
    args.paid_on = business_today().isoformat()
    flush_redis(args.redis)
    scratch = Path(tempfile.mkdtemp(prefix="wibawa-bench-api-"))
    before = Repayment.objects.count()
    server = start_server(args, server_environment(args, scratch), scratch)
    args.server_pid = server.pid
    results = []
    try:
        token = bank_token(args.port)
        kind = f"{args.workers} gthread workers x {args.threads} threads" if args.threads > 1 else None
        print(
            f"demo programme: {Loan.objects.count():,} loans, {before:,} repayments; {len(loans)} open {BANK} loans "
            f"take the reads and posts\ngunicorn {kind or f'{args.workers} sync workers'}, production settings; "
            f"wrk {args.clients} connections, {args.duration} s a run after {args.warmup} s of warm-up\n",
            flush=True,
        )
        print(
            f"{'run':<6}{'requests':<32}{'p50':>9}{'p99':>9}{'max':>10}{'req/s':>8}"
            f"{'web cpu':>10}{'db cpu':>9}{'wrk cpu':>9}{'idle':>6}  answers"
        )
        stamp = time.strftime("%H%M%S")
        for run, what, _target in RUNS:
            if args.only and run not in args.only:
                continue
            if args.warmup:
                results.append(wrk(args, run, args.warmup, token, loans, f"warm-{stamp}-{run}"))
            result = wrk(args, run, args.duration, token, loans, f"bench-{stamp}-{run}")
            result.update(run=run, what=what)
            results.append(result)
            cpu, requests = result["cpu"], max(result["requests"], 1)
            print(
                f"{run:<6}{what:<32}{result['p50_us'] / 1000:>7.1f}ms{result['p99_us'] / 1000:>7.1f}ms"
                f"{result['max_us'] / 1000:>8.1f}ms{result['requests'] / result['seconds']:>8,.0f}"
                f"{cpu['web'] * 1000 / requests:>8.1f}ms{cpu['database'] * 1000 / requests:>7.1f}ms"
                f"{cpu['wrk'] * 1000 / requests:>7.1f}ms{result['idle']:>6.0%}  "
                + ", ".join(f"{n:,} x {status}" for status, n in sorted(result["statuses"].items())),
                flush=True,
            )
    finally:
        stop_server(server)
        receipts_queued = queue_length(args.redis, f"{QUEUE}.documents")
        flush_redis(args.redis)
    shutil.rmtree(scratch, ignore_errors=True)

    problems = []
    created = sum(result["statuses"].get("201", 0) for result in results)
    if receipts_queued < created:
        # Each booking queues its receipt for the workers; fewer messages means the web
        # made them itself (tasks run in-process), which is not what production does.
        problems.append(f"{created:,} repayments booked but {receipts_queued:,} receipts queued")
    for result in results:
        errors = {name: n for name, n in result["errors"].items() if n}
        wrong = {status: n for status, n in result["statuses"].items() if status not in ("200", "201")}
        if errors or wrong:
            problems.append(f"{result['tag']}: answers {wrong}, socket errors {errors}")
        booked, created = booked_with(result["tag"]), result["statuses"].get("201", 0)
        if not created <= booked <= result["posts_sent"]:
            problems.append(f"{result['tag']}: {result['posts_sent']} posts sent, {created} 201s, {booked} booked")
    posted = Repayment.objects.count() - before
    sent = sum(result["posts_sent"] for result in results)
    problems += ledger_faults()
    print(
        f"\nrepayments: {before:,} before, {before + posted:,} after: {posted:,} booked of {sent:,} posts sent "
        f"({sum(r['statuses'].get('201', 0) for r in results):,} answered 201, the rest in flight when wrk stopped)"
    )
    print(f"receipts queued for the workers: {receipts_queued:,}")
    print("ledger: " + ("every repayment, loan and bank adds up; no 5xx" if not problems else "; ".join(problems)))
    verdicts = []
    for result in results:
        target = next((target for run, _what, target in RUNS if run == result.get("run")), None)
        if target is not None:
            met = result["p99_us"] / 1000 < target
            verdicts.append(f"{result['run']} p99 under {target:.0f} ms: {'met' if met else 'NOT met'}")
        if result.get("run") == "mix":
            met = result["requests"] / result["seconds"] >= TARGET_MIX_RPS
            verdicts.append(f"mix at least {TARGET_MIX_RPS:.0f} requests/s: {'met' if met else 'NOT met'}")
    print("targets: " + "; ".join(verdicts))
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
