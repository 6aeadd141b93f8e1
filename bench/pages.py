"""Page benchmark: server time of "My files" (`GET /files`) on a folder of 1,000 files,
on the embedded SQLite database, through a real `partage serve`.

    .venv/bin/python bench/pages.py [--files 1000] [--runs 200] [--target-ms 100]

The files are written straight into the server's database and store (the same helper
the tests use), in one folder of one user. Each request is timed from the client on
127.0.0.1 (an upper bound of the server time: loopback adds well under a millisecond),
with the user's API token (pages accept it like a session). Cases: the first page in
name order (the default), the last page, newest first, largest first, and a search.
Prints median and p95 per case against the target; exit status 0 when every p95 meets it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import make_account  # noqa: E402
from tests.files.conftest import Maker  # noqa: E402
from tests.serverproc import Server  # noqa: E402


def timed(client: httpx.Client, url: str, runs: int) -> list[float]:
    for _ in range(5):  # warm-up: caches, first compile of the template
        client.get(url).raise_for_status()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--target-ms", type=float, default=100.0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="partage-bench-pages-") as tmp:
        srv = Server(Path(tmp) / "data").start()
        try:
            acc = make_account(srv)
            folder = acc.client.post("/api/v1/folders", json={"name": "big"}).json()["id"]
            maker = Maker(srv)
            t0 = time.perf_counter()
            for i in range(args.files):
                maker.file(acc, f"file {i}\n".encode() * (1 + i % 50), name=f"file-{i:05}.txt",
                           folder_id=folder)  # fmt: skip
            maker.close()
            print(f"{args.files} files made in {time.perf_counter() - t0:.1f} s")
            last = -(-args.files // 100)
            cases = {
                "first page, by name": f"/files?folder={folder}",
                "last page, by name": f"/files?folder={folder}&page={last}",
                "newest first": f"/files?folder={folder}&order=-created",
                "largest first": f"/files?folder={folder}&order=-size",
                "search 'file-009'": f"/files?folder={folder}&q=file-009",
            }
            ok = True
            print(f"\n{'case':<24} {'median ms':>10} {'p95 ms':>8} {'target':>14}")
            for label, url in cases.items():
                ms = sorted(timed(acc.client, url, args.runs))
                p95 = ms[int(len(ms) * 0.95) - 1]
                med = statistics.median(ms)
                hit = p95 <= args.target_ms
                ok &= hit
                verdict = f"{'PASS' if hit else 'MISS'} {p95 / args.target_ms:.2f}x"
                print(f"{label:<24} {med:>10.1f} {p95:>8.1f} {verdict:>14}")
            acc.client.close()
        finally:
            srv.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
