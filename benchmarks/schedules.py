"""Schedule engine throughput: N loans of 36 months at 3% (default N = 100,000).

Times, in one run:
  1. the vectorised path (loans.schedule_batch.build_schedules): every row of every
     schedule (principal, interest, installment, balance, due date) for all N loans;
  2. the per-loan exact path (loans.schedule.build_schedule), over all N loans;
  3. a plain loop over numpy-financial's pmt/ipmt/ppmt per loan (what a typical app
     writes), timed on a sample and extrapolated.
Prints loans per second for each and the ratios.

    .venv/bin/python benchmarks/schedules.py [--loans 100000] [--method flat] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import numpy_financial as npf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loans.schedule import METHODS, LoanTerms, build_schedule
from loans.schedule_batch import build_schedules

TENOR = 36
RATE_UNITS = 30_000  # 3% a year


def portfolio(size: int, seed: int = 2026) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    principals = generator.integers(1_000_000, 50_000_001, size).astype(np.int64)
    disbursed = np.datetime64("2026-01-01") + generator.integers(0, 365, size)
    return principals, disbursed.astype("datetime64[D]")


def time_vectorised(principals: np.ndarray, disbursed: np.ndarray, method: str, repeat: int) -> tuple[float, float]:
    """(first run, best of the following runs) in seconds."""
    timings = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        batch = build_schedules(principals, RATE_UNITS, TENOR, disbursed, method=method)
        timings.append(time.perf_counter() - started)
        if batch.refused.any() or int(batch.principal.sum()) != int(principals.sum()):
            raise SystemExit("the vectorised path refused loans or lost principal")
    return timings[0], min(timings[1:])


def time_per_loan(principals: np.ndarray, disbursed: np.ndarray, method: str) -> float:
    base = date(1970, 1, 1)
    terms = [
        (int(principal), base + timedelta(days=int(day)))
        for principal, day in zip(principals, disbursed.astype(np.int64), strict=True)
    ]
    started = time.perf_counter()
    for principal, disbursement_date in terms:
        build_schedule(
            LoanTerms(
                principal=principal,
                annual_rate="3",
                tenor_months=TENOR,
                disbursement_date=disbursement_date,
                method=method,  # type: ignore[arg-type]
            )
        )
    return time.perf_counter() - started


def time_numpy_financial_loop(principals: np.ndarray, sample: int) -> float:
    """Seconds per loan for the typical float loop: pmt, then ipmt/ppmt per period."""
    rate = 0.03 / 12
    started = time.perf_counter()
    for principal in principals[:sample].tolist():
        payment = npf.pmt(rate, TENOR, -principal)
        balance = float(principal)
        for period in range(1, TENOR + 1):
            interest = float(npf.ipmt(rate, period, TENOR, -principal))
            principal_part = float(npf.ppmt(rate, period, TENOR, -principal))
            balance -= principal_part
            _ = (round(payment, 2), round(interest, 2), round(balance, 2))
    return (time.perf_counter() - started) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--method", choices=[*METHODS, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=5, help="vectorised runs after the first")
    parser.add_argument("--npf-sample", type=int, default=200, help="loans timed for the numpy-financial loop")
    arguments = parser.parse_args()

    principals, disbursed = portfolio(arguments.loans)
    print(f"{arguments.loans:,} loans of {TENOR} months at 3%, {arguments.loans * TENOR:,} installments")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores")
    npf_seconds_per_loan = time_numpy_financial_loop(principals, arguments.npf_sample)
    npf_rate = 1 / npf_seconds_per_loan
    methods = METHODS if arguments.method == "all" else (arguments.method,)
    for method in methods:
        first, best = time_vectorised(principals, disbursed, method, arguments.repeat)
        per_loan = time_per_loan(principals, disbursed, method)
        vector_rate = arguments.loans / best
        loop_rate = arguments.loans / per_loan
        print(f"\n[{method}]")
        print(
            f"  vectorised      {best:8.3f} s best of {arguments.repeat} ({first:.3f} s first run)"
            f"  {vector_rate:12,.0f} loans/s"
        )
        print(f"  per-loan exact  {per_loan:8.3f} s                          {loop_rate:12,.0f} loans/s")
        print(
            f"  numpy-financial {npf_seconds_per_loan * arguments.loans:8.3f} s (extrapolated from "
            f"{arguments.npf_sample})   {npf_rate:12,.0f} loans/s"
        )
        print(
            f"  ratios: vectorised / per-loan = {vector_rate / loop_rate:,.0f}x, "
            f"per-loan / numpy-financial loop = {loop_rate / npf_rate:,.0f}x, "
            f"vectorised / numpy-financial loop = {vector_rate / npf_rate:,.0f}x"
        )


if __name__ == "__main__":
    main()
