"""Run one ffmpeg command: low CPU priority, progress, a time limit, cancellation.

Every ffmpeg invocation in partage goes through `run_ffmpeg`, so all of them
share the same rules:

- the child runs at `nice` 10, so encodes yield to the web processes, and is
  killed by the kernel if the process that started it dies;
- `-progress pipe:1` lines are parsed into a percentage of `duration`;
- `should_stop()` is polled about once a second and `deadline` (a
  `time.monotonic()` value) is enforced: either kills ffmpeg and raises
  `Cancelled` or `TimedOut`;
- a failure raises `EncodeError` with the end of ffmpeg's log, and
  `bad_input=True` when the log says the input itself is broken, which is
  what decides that a job is not worth retrying.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

from typing_extensions import Unpack

NICENESS = 10
_STDERR_TAIL = 15
_POLL_SECONDS = 1.0

Progress = Callable[[float], None]
ShouldStop = Callable[[], bool]

# What ffmpeg prints when the input is at fault rather than the machine.
_BAD_INPUT = re.compile(
    r"Invalid data found when processing input|moov atom not found|"
    r"could not find codec parameters|Error while decoding stream|"
    r"Invalid NAL unit|no frame!|Truncating packet|corrupt (?:decoded )?frame|"
    r"Output file #?\d* does not contain any stream|does not contain any stream|"
    r"Invalid argument.*Error opening input|Error opening input|"
    r"Stream map '.*' matches no streams|Unsupported codec|Decoder .* not found|"
    r"Invalid UTF-8 in decoded subtitles text|Invalid data|EBML header parsing failed",
    re.IGNORECASE,
)


class EncodeError(Exception):
    """ffmpeg failed; `message` says why, with the end of ffmpeg's log."""

    def __init__(self, message: str, *, bad_input: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.bad_input = bad_input


class Cancelled(EncodeError):
    """`should_stop()` asked for the run to end; ffmpeg was killed."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class TimedOut(EncodeError):
    """The run passed its deadline; ffmpeg was killed."""


_PR_SET_PDEATHSIG = 1


def _in_child() -> None:  # pragma: no cover - runs in the child, between fork and exec
    os.nice(NICENESS)
    # Die with the worker: a worker killed mid-job must not leave an ffmpeg writing
    # into a directory the job's next attempt will use.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_libc = _load_libc() if sys.platform.startswith("linux") else None


class Hooks(TypedDict, total=False):
    """How a caller follows and controls any step that runs ffmpeg; every such step
    takes these as keyword arguments and hands them on to `run_ffmpeg`."""

    progress: Progress | None
    should_stop: ShouldStop | None
    deadline: float | None
    tick: Callable[[], None] | None


def without_progress(hooks: Hooks) -> Hooks:
    """For a run whose `-progress` means nothing (one frame, a stream copy of text)."""
    quiet = hooks.copy()
    quiet.pop("progress", None)
    return quiet


def ffmpeg_command(ffmpeg: str, *, progress: bool = False) -> list[str]:
    """The start of every ffmpeg command: quiet, non-interactive, overwriting; with
    `-progress pipe:1` when the caller follows progress through `run_ffmpeg`."""
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats"]
    return [*cmd, "-progress", "pipe:1"] if progress else cmd


def run_ffmpeg(
    cmd: Sequence[str | Path],
    *,
    what: str = "ffmpeg",
    duration: float | None = None,
    **hooks: Unpack[Hooks],
) -> None:
    """Run `cmd` (whose argv[0] is the ffmpeg binary) to completion.

    `progress(pct)` gets increasing percentages (0–99.9 while running) when
    `duration` is known and the command has `-progress pipe:1`. `tick()` is
    called about once a second whatever ffmpeg prints: the caller's heartbeat.
    """
    progress = hooks.get("progress")
    should_stop = hooks.get("should_stop")
    deadline = hooks.get("deadline")
    tick = hooks.get("tick")
    argv = [str(c) for c in cmd]
    duration_us = int((duration or 0) * 1_000_000)
    last = -1.0

    def report(pct: float) -> None:
        nonlocal last
        pct = max(0.0, min(99.9, pct))
        if progress is not None and pct > last:
            last = pct
            progress(pct)

    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                preexec_fn=_in_child,
            )
        except OSError as e:
            raise EncodeError(f"cannot run ffmpeg: {e}") from e
        assert proc.stdout is not None
        stopped: EncodeError | None = None
        buffer = b""
        with proc, selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            next_poll = 0.0
            while True:
                now = time.monotonic()
                if now >= next_poll:
                    next_poll = now + _POLL_SECONDS
                    if tick is not None:
                        tick()
                    if deadline is not None and now > deadline:
                        stopped = TimedOut(f"{what} took longer than its time limit")
                    elif should_stop is not None and should_stop():
                        stopped = Cancelled(f"{what} was cancelled")
                    if stopped is not None:
                        _kill(proc)
                        break
                if not sel.select(timeout=_POLL_SECONDS):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    key, _, value = line.strip().partition(b"=")
                    if key == b"out_time_us" and duration_us > 0:
                        try:
                            report(int(value) / duration_us * 100)
                        except ValueError:
                            pass
            proc.wait()
        if stopped is not None:
            raise stopped
        code = proc.returncode
        err.seek(0)
        log = err.read().decode("utf-8", "replace")
    if code != 0:
        tail = "\n".join(log.strip().splitlines()[-_STDERR_TAIL:]) or "(no output)"
        raise EncodeError(
            f"{what}: ffmpeg exited with status {code}:\n{tail}",
            bad_input=bool(_BAD_INPUT.search(log)),
        )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
