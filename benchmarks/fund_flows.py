"""The fund flows (reports/selectors/fund.py) over a large portfolio on PostgreSQL: the
portfolio benchmarks/close.py writes (100,000 loans by default; repayment rows only for
its last ``--history-days`` days, so only months inside that history tie as a ledger
would: older periods miss the repayments the generator did not write).

    .venv/bin/python benchmarks/close.py --loans 100000 --runs 0 --database URL   # the portfolio
    .venv/bin/python benchmarks/fund_flows.py --database URL [--periods 2026-11 2026-12 2026]

Timed: ``fund_flows_by_bank`` (every bank; the same four queries as ``fund_flows``)
per period, best of ``--repeat`` runs in this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench_close")
    parser.add_argument("--periods", nargs="+", default=["2026-11", "2026-12", "2026-Q4", "2026"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": args.database,
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from loans.models import Loan, RepaymentAllocation
    from reports.periods import parse_period
    from reports.selectors.fund import flows_total, fund_flows_by_bank

    print(f"{Loan.objects.count():,} loans, {RepaymentAllocation.objects.count():,} allocations")
    for code in args.periods:
        period = parse_period(code)
        best = float("inf")
        for _run in range(args.repeat):
            started = time.perf_counter()
            by_bank = fund_flows_by_bank(period=period)
            best = min(best, time.perf_counter() - started)
        total = flows_total(by_bank.values(), start=period.start, end=period.end)
        print(
            f"{code:8} {best:.3f} s  opening {total.opening_outstanding:,} repaid {total.principal_repaid:,} "
            f"closing {total.closing_outstanding:,} ({'ties' if total.rolls_forward else 'outside the history'})"
        )


if __name__ == "__main__":
    main()
