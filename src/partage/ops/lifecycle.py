"""Web worker processes die with the `partage serve` process that started them.

granian spawns its workers (multiprocessing, "spawn") from the main thread of
`partage serve`, which lives as long as the process: a parent-death signal set
in the worker therefore fires exactly when that process dies, `kill -9`
included. Without it an orphaned worker keeps the port and answers beside the
restarted server (seen for 10 minutes). Elsewhere than Linux a thread watches
for the parent to change instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
WATCH_INTERVAL = 1.0


def die_with_parent() -> None:
    """Make this process end when the process that spawned it ends (no-op when it was
    not started by multiprocessing, e.g. granian run by hand with one process)."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch, args=(parent.pid,), daemon=True).start()
    if os.getppid() != parent.pid:  # it died before the signal was armed
        os._exit(1)


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_INTERVAL)
    os._exit(1)
