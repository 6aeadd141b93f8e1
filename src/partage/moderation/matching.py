"""Matching PDQ and vPDQ fingerprints against a bank, in memory.

    pdq_distance(a_hex, b_hex) -> int            Hamming distance of two PDQ hashes
    pdq_match(a_hex, b_hex, threshold=31) -> bool
    PdqIndex: add(entry_id, hex); search(hex, threshold=31) -> [(entry_id, distance)]
    VideoIndex: add(entry_id, VideoPrint); search(VideoPrint) -> [VideoMatch]

`PdqIndex` is exact (it finds every hash within the threshold, not an approximation)
and fast at any bank size by multi-index hashing: the 256 bits are cut into 16 chunks of
16 bits, and two hashes at distance <= 31 agree to within 1 bit on at least one chunk
(pigeonhole: 16 chunks x 2 bits = 32 > 31). So for each chunk the query looks up the 17
buckets of values within 1 bit of its own (radius `threshold // 16` in general) in a
sorted per-chunk table, and only those candidates get their full distance computed
(numpy XOR + popcount over packed uint64). Hashes added after the tables were built
are searched by brute force until there are enough of them to rebuild.

`VideoIndex` puts every distinct frame hash of every reference video in one
`PdqIndex`, runs all the query's frames through it in one batch, and scores every
reference that shares at least one matching frame:

- `query_match`: % of the query's seconds (good-quality frames, each weighted by the
  time until the next kept frame) whose frame matches some frame of the reference;
- `reference_match`: the same, of the reference's seconds matched by some query frame;
- `matched_seconds`: the smaller of the two matched durations.

`matched` is true when any of these says the query holds the reference:
`query_match >= 80` (vPDQ's usual rule: the query is a copy, a cut or an excerpt of the
reference), `reference_match >= 50` (most of the reference appears in the query, e.g.
the reference embedded in a longer video), or `matched_seconds >= 10` (a 10 s excerpt
of a long reference inside a longer unrelated video, where both percentages are low).
On the generated set of `bench/fingerprints.py` (docs/benchmarks.md) no unrelated clip
comes near any of the three (0 false matches of 200), and re-encoded, scaled, padded
and brightened copies all match. What vPDQ itself cannot catch at these thresholds is
listed there too: crops into the picture, and copies whose sampled frames fall between
the reference's (excerpts cut mid-second, speed changes) when the picture moves fast.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from partage.moderation.fingerprints import MIN_QUALITY, SECONDS_PER_HASH, VideoPrint

PDQ_THRESHOLD = 31  # ThreatExchange's distance for a PDQ match (of 256 bits)
VIDEO_QUERY_PCT = 80.0
VIDEO_REFERENCE_PCT = 50.0
VIDEO_MIN_SECONDS = 10.0

_CHUNKS = 16  # 16-bit chunks of a 256-bit hash
_REBUILD_TAIL = 4096  # hashes searched by brute force before the tables are rebuilt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def pdq_distance(a_hex: str, b_hex: str) -> int:
    """Hamming distance between two PDQ hashes given as 64 hex digits."""
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def pdq_match(a_hex: str, b_hex: str, threshold: int = PDQ_THRESHOLD) -> bool:
    return pdq_distance(a_hex, b_hex) <= threshold


def pack(hexes: Iterable[str]) -> U64:
    """(n, 4) uint64 array of hashes from their hex form (raises ValueError if malformed)."""
    raw = b"".join(_hash_bytes(h) for h in hexes)
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4).copy()


def _hash_bytes(hexhash: str) -> bytes:
    raw = bytes.fromhex(hexhash)
    if len(raw) != 32:
        raise ValueError("a PDQ hash has 64 hex digits")
    return raw


def distances(a: U64, b: U64) -> I64:
    """Row-wise Hamming distances between two (n, 4) packed arrays."""
    return np.bitwise_count(a ^ b).sum(axis=1, dtype=np.int64)


def _flip_masks(radius: int) -> npt.NDArray[np.uint16]:
    masks = [0]
    for r in range(1, radius + 1):
        masks += [sum(1 << b for b in bits) for bits in combinations(range(16), r)]
    return np.array(masks, dtype=np.uint16)


class PdqIndex:
    """Exact Hamming search over many PDQ hashes (see the module doc)."""

    def __init__(self) -> None:
        self.ids: list[Hashable] = []
        self._parts: list[U64] = []  # added since the last build
        self._hashes: U64 = np.zeros((0, 4), dtype=np.uint64)  # built part, then the tail
        self._built = 0  # rows of `_hashes` covered by the chunk tables
        self._order: list[I64] = []  # per chunk: row numbers sorted by chunk value
        self._starts: list[I64] = []  # per chunk: bucket offsets into `_order`, 65537 long

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, entry_id: Hashable, hexhash: str) -> None:
        self.add_many([entry_id], pack([hexhash]))

    def add_many(self, entry_ids: list[Hashable], hashes: U64) -> None:
        """Add rows of a packed (n, 4) array, one id per row."""
        if len(entry_ids) != len(hashes):
            raise ValueError("one id per hash")
        self.ids.extend(entry_ids)
        self._parts.append(hashes)

    def search(self, hexhash: str, threshold: int = PDQ_THRESHOLD) -> list[tuple[Hashable, int]]:
        """Every entry within `threshold` bits, closest first, as (entry_id, distance)."""
        _, rows, dist = self.search_many(pack([hexhash]), threshold)
        order = np.argsort(dist, kind="stable")
        return [(self.ids[int(rows[i])], int(dist[i])) for i in order]

    def search_many(self, queries: U64, threshold: int = PDQ_THRESHOLD) -> tuple[I64, I64, I64]:
        """All (query row, index row, distance) triples within `threshold`, as three arrays."""
        self._consolidate()
        q_parts, r_parts = [], []
        if self._built:
            q, r = self._candidates(queries, threshold)
            q_parts.append(q)
            r_parts.append(r)
        tail = len(self._hashes) - self._built
        if tail:  # brute force over the rows the tables do not cover yet
            q = np.repeat(np.arange(len(queries), dtype=np.int64), tail)
            r = np.tile(np.arange(self._built, len(self._hashes), dtype=np.int64), len(queries))
            q_parts.append(q)
            r_parts.append(r)
        if not q_parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        q, r = np.concatenate(q_parts), np.concatenate(r_parts)
        dist = distances(queries[q], self._hashes[r])
        keep = dist <= threshold
        return q[keep], r[keep], dist[keep]

    def build(self) -> None:
        """(Re)build the chunk tables over every hash added so far."""
        self._concatenate()
        chunks = self._hashes.view(np.uint16)  # (n, 16): any fixed split of the bits works
        self._order, self._starts = [], []
        for c in range(_CHUNKS):
            order = np.argsort(chunks[:, c], kind="stable").astype(np.int64)
            values = chunks[order, c]
            self._order.append(order)
            self._starts.append(
                np.searchsorted(values, np.arange(65537), side="left").astype(np.int64)
            )
        self._built = len(self._hashes)

    def _concatenate(self) -> None:
        if self._parts:
            self._hashes = np.concatenate([self._hashes, *self._parts])
            self._parts = []

    def _consolidate(self) -> None:
        self._concatenate()
        if len(self._hashes) - self._built > max(_REBUILD_TAIL, self._built // 8):
            self.build()

    def _candidates(self, queries: U64, threshold: int) -> tuple[I64, I64]:
        """(query row, index row) pairs sharing a chunk within `threshold // 16` bits,
        deduplicated; a superset of the true matches."""
        masks = _flip_masks(threshold // _CHUNKS)
        chunks = queries.view(np.uint16)  # (m, 16)
        q_parts, r_parts = [], []
        for c in range(_CHUNKS):
            keys = (chunks[:, c][:, None] ^ masks[None, :]).astype(np.int64)  # (m, k)
            lo = self._starts[c][keys].ravel()
            hi = self._starts[c][keys + 1].ravel()
            counts = hi - lo
            total = int(counts.sum())
            if not total:
                continue
            # Ragged gather: the positions lo[i]..hi[i]-1 of every bucket, flattened.
            first = np.repeat(lo - np.cumsum(counts) + counts, counts)
            positions = first + np.arange(total, dtype=np.int64)
            q_parts.append(np.repeat(np.repeat(np.arange(len(queries)), len(masks)), counts))
            r_parts.append(self._order[c][positions])
        if not q_parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        q, r = np.concatenate(q_parts), np.concatenate(r_parts)
        pairs = np.unique(q * max(len(self._hashes), 1) + r)
        return pairs // max(len(self._hashes), 1), pairs % max(len(self._hashes), 1)


@dataclass(frozen=True, slots=True)
class VideoMatch:
    entry_id: Hashable
    query_match: float  # % of the query's seconds matched by the reference
    reference_match: float  # % of the reference's seconds matched by the query
    matched_seconds: float
    matched: bool


@dataclass(frozen=True, slots=True)
class _Frames:
    """The good-quality frames of a print: packed hashes and the seconds each covers."""

    hashes: U64
    spans: npt.NDArray[np.float64]

    @classmethod
    def of(cls, video: VideoPrint) -> _Frames:
        frames = video.frames
        ends = [f.timestamp for f in frames[1:]] + [video.duration]
        good = [i for i, f in enumerate(frames) if f.quality >= MIN_QUALITY]
        spans = np.array(
            [max(ends[i] - frames[i].timestamp, 0.0) or SECONDS_PER_HASH for i in good],
            dtype=np.float64,
        )
        return cls(pack(frames[i].hash for i in good), spans)


class VideoIndex:
    """A bank of vPDQ prints (see the module doc for the verdict)."""

    def __init__(self) -> None:
        self._frames = PdqIndex()  # ids: (video number, frame number within its print)
        self._entries: list[Hashable] = []
        self._spans: list[npt.NDArray[np.float64]] = []  # per video: seconds of each frame
        self._video_of: list[I64] = []  # per PdqIndex row: video number
        self._frame_of: list[I64] = []  # per PdqIndex row: frame number in its video
        self._rows: tuple[I64, I64] | None = None  # the two above, concatenated

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry_id: Hashable, video: VideoPrint) -> None:
        frames = _Frames.of(video)
        if not len(frames.spans):
            return  # nothing matchable: a still, flat or empty video
        number = len(self._entries)
        self._entries.append(entry_id)
        self._spans.append(frames.spans)
        n = len(frames.spans)
        self._frames.add_many([number] * n, frames.hashes)
        self._video_of.append(np.full(n, number, dtype=np.int64))
        self._frame_of.append(np.arange(n, dtype=np.int64))
        self._rows = None

    def build(self) -> None:
        """Build the frame tables now (else the first search does)."""
        self._frames.build()

    def search(
        self,
        query: VideoPrint,
        *,
        threshold: int = PDQ_THRESHOLD,
        query_pct: float = VIDEO_QUERY_PCT,
        reference_pct: float = VIDEO_REFERENCE_PCT,
        min_seconds: float = VIDEO_MIN_SECONDS,
        matched_only: bool = True,
    ) -> list[VideoMatch]:
        """References sharing frames with `query`, best first; only those whose verdict is
        `matched` unless `matched_only` is False."""
        frames = _Frames.of(query)
        if not len(frames.spans) or not len(self._entries):
            return []
        q_rows, rows, _ = self._frames.search_many(frames.hashes, threshold)
        if not len(rows):
            return []
        if self._rows is None:
            self._rows = (np.concatenate(self._video_of), np.concatenate(self._frame_of))
        video_of, frame_of = self._rows
        videos = video_of[rows]
        total_query = float(frames.spans.sum())
        results = []
        for video in np.unique(videos):
            hit = videos == video
            q_seconds = float(frames.spans[np.unique(q_rows[hit])].sum())
            spans = self._spans[int(video)]
            r_seconds = float(spans[np.unique(frame_of[rows[hit]])].sum())
            query_match = 100.0 * q_seconds / total_query
            reference_match = 100.0 * r_seconds / float(spans.sum())
            seconds = min(q_seconds, r_seconds)
            matched = (
                query_match >= query_pct
                or reference_match >= reference_pct
                or seconds >= min_seconds
            )
            if matched or not matched_only:
                results.append(
                    VideoMatch(
                        self._entries[int(video)],
                        round(query_match, 2),
                        round(reference_match, 2),
                        round(seconds, 2),
                        matched,
                    )
                )
        results.sort(key=lambda m: (not m.matched, -max(m.query_match, m.reference_match)))
        return results
