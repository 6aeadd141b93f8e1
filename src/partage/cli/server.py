"""`partage serve` and `partage migrate`."""

from __future__ import annotations

import http.client
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from partage.cli.common import DataDir, checked_settings, load_settings

console = Console()

READY_POLL = 0.05  # seconds between two looks at the port while the web worker starts


def _local_address(host: str) -> str:
    """Where this machine reaches a server listening on `host` (any address: loopback)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 (compared with, not bound to)
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def answers(host: str, port: int) -> bool:
    """The web worker answers /healthz (a bound port alone is not enough: granian binds
    it in this process long before its worker has imported the app)."""
    conn = http.client.HTTPConnection(_local_address(host), port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def spawn_without_main() -> None:
    """Spawned processes re-import the main module (`partage.cli.main`: typer, rich,
    httpx, every command), a third of a web worker's imports, for nothing: granian's
    worker entry point lives in granian. Without a module name or a file to import
    from, multiprocessing leaves the child's `__main__` empty."""
    main = sys.modules["__main__"]
    main.__spec__ = None
    if hasattr(main, "__file__"):
        del main.__file__


def when_ready(host: str, port: int, then: Callable[[], None]) -> threading.Thread:
    """Call `then` once the server answers, from a thread (granian.serve() blocks the main
    thread until the end)."""

    def wait() -> None:
        while not answers(host, port):
            time.sleep(READY_POLL)
        then()

    thread = threading.Thread(target=wait, name="ready", daemon=True)
    thread.start()
    return thread


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        workers: Annotated[int, typer.Option(help="Web worker processes.")] = 1,
        data_dir: DataDir = None,
    ) -> None:
        """Start the service: migrations, first admin account, jobs and the web server."""
        from granian import Granian
        from granian.constants import Interfaces

        from partage.accounts.service import bootstrap_admin
        from partage.cli.common import open_context
        from partage.ops import logs

        settings = load_settings(data_dir)
        logs.configure(settings)
        ctx = open_context(data_dir)
        with ctx.db.session() as s:
            created = bootstrap_admin(s, ctx.settings)
        if created:
            # plain print: never wrapped, so the password can be copied whole
            print(f"Admin account created: {created[0]}  password: {created[1]}", flush=True)
            print("(shown once: keep it somewhere safe)", flush=True)
        ctx.close()

        from partage import jobs

        # Workers must not be forked from a process whose job threads may hold
        # SQLite's global mutex at that instant (seen: a worker hung forever on
        # its first query). Spawned workers start clean.
        multiprocessing.set_start_method("spawn", force=True)
        spawn_without_main()
        running: list[jobs.Jobs] = []

        def ready() -> None:
            console.print(f"partage listening on http://{host}:{port}/", highlight=False)
            # The embedded job consumer starts once the web worker answers: its imports
            # and the periodic jobs it runs at once would slow the worker's start.
            if ctx.settings.queue_url:
                console.print("jobs: on the Redis queue; run `partage worker` to process them")
            else:
                running.append(jobs.start_consumer())

        when_ready(host, port, ready)
        try:
            Granian(
                "partage.app:asgi",
                factory=True,
                address=host,
                port=port,
                interface=Interfaces.ASGI,
                workers=workers,
                log_access=False,
                log_dictconfig=logs.granian_dictconfig(settings),
            ).serve()
        finally:
            for consumer in running:
                consumer.stop()

    @app.command()
    def worker(
        threads: Annotated[
            int | None, typer.Option(help="Jobs run at once (default PARTAGE_JOB_THREADS).")
        ] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Process background jobs (media, clean-ups) from the queue until stopped.

        With PARTAGE_QUEUE_URL=redis://… run it on any number of machines that share
        the database and storage; with the embedded queue it shares the data dir's."""
        from partage.cli.common import open_context
        from partage.ops import logs

        logs.configure(load_settings(data_dir))
        open_context(data_dir).close()  # settings checked, migrations applied

        from partage import jobs

        console.print(f"partage worker: consuming from {jobs.huey.__class__.__name__}")
        jobs.run_worker(threads)

    @app.command()
    def migrate(data_dir: DataDir = None) -> None:
        """Apply database migrations and exit."""
        from partage.migrate import upgrade

        settings = checked_settings(data_dir)
        upgrade(settings.db_url)
        console.print("Database is up to date.")
