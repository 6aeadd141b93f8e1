"""A function called every few seconds from a thread of its own while a block runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("partage.media")


@contextmanager
def every(seconds: float, fn: Callable[[], None], *, name: str, failed: str) -> Iterator[None]:
    """Call `fn` every `seconds` until the block ends; an exception is logged as `failed`
    and the next round tries again."""
    done = threading.Event()

    def run() -> None:
        while not done.wait(seconds):
            try:
                fn()
            except Exception:
                log.warning(failed, exc_info=True)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
