"""Human formatting, used only at the edges (messages, pages, CLI)."""

from __future__ import annotations


def size(n: int | None) -> str:
    if n is None:
        return "unlimited"
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"
