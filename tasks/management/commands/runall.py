"""``python manage.py runall [addrport]``: what ``make run`` serves: the development web
server, a Celery worker and Celery beat, each a process of its own, on the configured
broker (Redis when CELERY_BROKER_URL is set, else the embedded broker in
EMBEDDED_BROKER_DIR, see config/settings.py). Their output is shown line by line,
each line marked with the process it came from. Ctrl-C (or SIGTERM) stops all three:
the worker finishes the task it is on (a document it leaves is the next worker's), and
whatever is still running after STOP_SECONDS is killed. When one of them stops by
itself the others are stopped too. No process outlives this one: each child is asked
to die with it (Linux's parent-death signal) even when this one is killed outright."""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

#: Seconds the three have to stop after Ctrl-C before they are killed.
STOP_SECONDS = 30.0
#: Seconds the worker and beat wait for the web server to say it serves, at most.
WEB_WAIT = 30.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before it runs: SIGTERM when the parent dies (Linux; elsewhere the
    children are stopped by the parent's own handlers only)."""
    os.setsid()  # a group of its own: the terminal's Ctrl-C reaches the parent only
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def commands(addrport: str, *, reload: bool = True) -> dict[str, list[str]]:
    """The three command lines, by name."""
    python = sys.executable
    # Beside the embedded broker's folders (var/celery/), whichever broker is used.
    schedule = Path(settings.EMBEDDED_BROKER_DIR) / "beat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    worker = [python, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2"]
    if settings.EMBEDDED_BROKER:
        # Worker-to-worker chatter would be files nobody reads.
        worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    web = [python, "manage.py", "runserver", addrport]
    if not reload:
        web.append("--noreload")
    return {
        "web": web,
        "worker": worker,
        "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", f"--schedule={schedule}"],
    }


class _Relay:
    """One child's output, shown line by line with the child's name in front."""

    def __init__(self, name: str, out: Any) -> None:
        self.name, self.out, self.partial = name, out, b""

    def feed(self, chunk: bytes) -> None:
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        for line in lines:
            self.out.write(f"[{self.name:<6}] {line.decode(errors='replace')}")
        self.out.flush()

    def close(self) -> None:
        if self.partial:
            self.feed(b"\n")


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat together; Ctrl-C stops all three."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="The web server's address:port.")
        parser.add_argument("--noreload", action="store_true", help="Do not restart the web server on code changes.")

    def handle(self, *args: Any, addrport: str, noreload: bool, **options: Any) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("CELERY_TASK_ALWAYS_EAGER is set: unset it, the worker would get no tasks.")
        self._say_where()
        stopping: list[int] = []
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        children: dict[str, subprocess.Popen[bytes]] = {}
        outputs = selectors.DefaultSelector()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}

        def start(name: str, command: list[str]) -> None:
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # this process runs no thread that a fork could break
            )
            children[name] = child
            outputs.register(cast(IO[bytes], child.stdout), selectors.EVENT_READ, _Relay(name, self.stdout))

        to_start = commands(addrport, reload=not noreload)
        # The web first, the worker and beat once it serves: on a busy machine the page
        # is up seconds sooner, and nothing is asked of the worker before it.
        start("web", to_start.pop("web"))
        web_started, web_serves = time.monotonic(), False
        try:
            while not stopping:
                for key, _events in outputs.select(timeout=0.5):
                    relay: _Relay = key.data
                    chunk = os.read(cast(IO[bytes], key.fileobj).fileno(), 65536)
                    if not chunk:
                        outputs.unregister(key.fileobj)
                        relay.close()
                        continue
                    relay.feed(chunk)
                    web_serves = web_serves or (relay.name == "web" and b"Starting development server" in chunk)
                if to_start and (web_serves or time.monotonic() - web_started > WEB_WAIT):
                    for name, command in to_start.items():
                        start(name, command)
                    to_start = {}
                ended = [name for name, child in children.items() if child.poll() is not None]
                if ended:
                    self.stderr.write(f"{', '.join(ended)} stopped by itself: stopping the others.")
                    break
        finally:
            self._stop_all(children)
            for key in list(outputs.get_map().values()):  # what they said while stopping
                while chunk := os.read(cast(IO[bytes], key.fileobj).fileno(), 65536):
                    key.data.feed(chunk)
                key.data.close()
            outputs.close()
        failed = {name: child.returncode for name, child in children.items() if child.returncode not in (0, -2, -15)}
        if failed and not stopping:
            raise CommandError(f"stopped: {failed}")

    def _stop_all(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        """SIGTERM to each (the worker's warm shutdown; the web server's whole group, its
        autoreloader's child with it), then SIGKILL to each group after STOP_SECONDS."""
        for name, child in children.items():
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    if name == "worker":
                        child.send_signal(signal.SIGTERM)  # its pool's processes are its to stop
                    else:
                        os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
        for child in children.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)  # anything left in its group
            child.wait()
        self.stdout.write("Stopped the web server, the worker and beat.")

    def _say_where(self) -> None:
        if settings.EMBEDDED_BROKER:
            broker = f"the embedded broker (kombu's filesystem transport) in {settings.EMBEDDED_BROKER_DIR}/"
        else:
            broker = settings.CELERY_BROKER_URL.split("@")[-1]
        self.stdout.write(
            f"  Celery worker and beat: on {broker}\n"
            f"    documents and reports are made by the worker; files in {settings.REPORTS_ROOT}/\n"
            "  Ctrl-C stops the web server, the worker and beat.\n"
        )
