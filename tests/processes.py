"""Running the project in a child process, as an operator would start it: a fresh Python
with the environment the test chooses (the test run's own variables left out as asked)."""

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(
    arguments: list[str], *, unset: Iterable[str] = (), env: Mapping[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """``python *arguments`` in the project folder with this process's environment, less
    the variables named in ``unset``, plus ``env``; its output captured as text."""
    left_out = set(unset)
    environment = {key: value for key, value in os.environ.items() if key not in left_out}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
