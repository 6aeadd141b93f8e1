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

`VideoIndex` matches in two stages, so that frames far from the strict PDQ threshold
still count when they line up in time, and an unrelated video with one look-alike frame
does not:

1. Candidates. Every good-quality frame of every banked print (all its variants: a
   reference print has 5 frames a second and centre crops, see `fingerprints`) is in
   one `PdqIndex`. The query's frames are looked up with chunk radius 0 (one of the 16
   chunks equal: finds every pair within 15 bits, about 90 % of those at 31, 64 % at
   40, a quarter at 56), and any pair within `VIDEO_SEED_THRESHOLD` (56) bits makes
   the reference a candidate; a copy has many frames, one found is enough. Radius 0
   looks up one bucket per chunk instead of radius 1's 17, which is what keeps a 60 s
   query against 7 million frame hashes near 0.1 s (radius 1: about 3 s).
2. Verification, per candidate. Each candidate pair votes for a time alignment
   `reference time = ratio x query time + offset` (ratio 0.80-1.25 by 0.01: speed
   changes; offset in 0.25 s bins), one vote per query frame. The best alignments are
   checked frame by frame: every query frame is compared with the reference's frames
   (any variant, any quality) within `VIDEO_WINDOW` (0.35 s; 0.55 of a 1 fps print's
   second) of its aligned time, and matches at `VIDEO_VERIFY_THRESHOLD` (64) bits,
   much looser than 31: PDQ of unrelated frames sits near 128 bits apart (the closest
   of 1,460 unrelated frames to 4,200 reference frames of the bench: 66), while a logo,
   a colour change or a frame 0.1 s off is often 30-60 away.

The best alignment gives:

- `query_match`: % of the query's seconds (good-quality frames, each weighted by the
  time until the next kept frame) matched along it;
- `reference_match`: % of the reference's good-quality seconds covered by them (the
  reference side counts seconds, not frames: a 1 fps query can only ever meet one
  frame in five of a 5 fps reference);
- `matched_seconds`: the smaller of the two matched durations.

`matched` needs `VIDEO_MIN_FRAMES` (3) query frames along the alignment (fewer only if
the query has fewer) and any of: `query_match >= 80` (vPDQ's usual rule: the query is
a copy, a cut or an excerpt of the reference), `reference_match >= 50` (most of the
reference appears in the query, e.g. the reference embedded in a longer video), or
`matched_seconds >= 10` (a 10 s excerpt of a long reference inside a longer unrelated
video, where both percentages are low). Figures in docs/benchmarks.md: no unrelated
clip of the bench even becomes a candidate; what is still missed is there too.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from partage.moderation.fingerprints import MIN_QUALITY, VideoPrint

PDQ_THRESHOLD = 31  # ThreatExchange's distance for a PDQ match (of 256 bits)
VIDEO_QUERY_PCT = 80.0
VIDEO_REFERENCE_PCT = 50.0
VIDEO_MIN_SECONDS = 10.0
VIDEO_SEED_THRESHOLD = 56  # distance of a frame that makes a reference a candidate
VIDEO_SEED_RADIUS = 0  # bits of a 16-bit chunk that may differ in that search (see below)
VIDEO_VERIFY_THRESHOLD = 64  # distance of a frame aligned in time with a candidate's
VIDEO_MIN_FRAMES = 3  # query frames that must match along the alignment
VIDEO_WINDOW = 0.35  # seconds either side of a predicted time (denser prints)
_RATIOS = np.round(np.arange(0.8, 1.2501, 0.01), 2)  # speed changes tried (reference/query)
_OFFSET_BIN = 0.25  # seconds: the resolution of the time offset vote
_HYPOTHESES = 4  # alignments verified per candidate reference

_CHUNKS = 16  # 16-bit chunks of a 256-bit hash
_REBUILD_TAIL = 4096  # hashes searched by brute force before the tables are rebuilt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


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

    def search_many(
        self, queries: U64, threshold: int = PDQ_THRESHOLD, radius: int | None = None
    ) -> tuple[I64, I64, I64]:
        """All (query row, index row, distance) triples within `threshold`, as three arrays.
        `radius`: bits of a chunk that may differ, `threshold // 16` by default (exact);
        a smaller one finds every hash within `16 * radius + 15` bits but only some of
        those farther (most at 40-60 bits), for a fraction of the cost."""
        self._consolidate()
        q_parts, r_parts = [], []
        if self._built:
            q, r = self._candidates(queries, threshold // _CHUNKS if radius is None else radius)
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

    def _candidates(self, queries: U64, radius: int) -> tuple[I64, I64]:
        """(query row, index row) pairs sharing a chunk within `radius` bits,
        deduplicated; a superset of the matches within `16 * radius + 15` bits."""
        masks = _flip_masks(radius)
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
class _Query:
    """The good-quality frames of a query print: hashes, times and the seconds each covers."""

    hashes: U64
    times: F64
    spans: F64

    @classmethod
    def of(cls, video: VideoPrint) -> _Query:
        frames = video.main  # a query's crop variants, if any, are not matched
        good = [i for i, f in enumerate(frames) if f.quality >= MIN_QUALITY]
        return cls(
            pack(frames[i].hash for i in good),
            np.array([frames[i].timestamp for i in good], dtype=np.float64),
            _spans(video)[good],
        )


def _spans(video: VideoPrint) -> F64:
    """The seconds each frame of the picture itself (`video.main`) stands for."""
    frames = video.main
    ends = [f.timestamp for f in frames[1:]] + [video.duration]
    pairs = zip(frames, ends, strict=True)
    spans = [max(end - f.timestamp, 0.0) or video.interval for f, end in pairs]
    return np.array(spans, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Reference:
    """A banked print: its frames of every variant, in time order."""

    hashes: U64
    times: F64
    seconds: float  # of good-quality frames: what a query can match
    end: float  # the video's duration
    window: float  # seconds either side of a predicted time where its frames are compared


class VideoIndex:
    """A bank of vPDQ prints (see the module doc for the verdict)."""

    def __init__(self) -> None:
        self._frames = PdqIndex()  # ids: video number
        self._entries: list[Hashable] = []
        self._refs: list[_Reference] = []
        self._frame_of: list[I64] = []  # per PdqIndex row: frame number in its video
        self._rows: tuple[I64, I64] | None = None  # video and frame of every row

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry_id: Hashable, video: VideoPrint) -> None:
        good = np.array([f.quality >= MIN_QUALITY for f in video.frames], dtype=bool)
        main_good = np.array([f.quality >= MIN_QUALITY for f in video.main], dtype=bool)
        if not good.any():
            return  # nothing matchable: a still, flat or empty video
        self.add_packed(
            entry_id,
            pack(f.hash for f in video.frames),
            np.array([f.timestamp for f in video.frames], dtype=np.float64),
            float(_spans(video)[main_good].sum()),
            video.interval,
            good,
        )

    def add_packed(
        self,
        entry_id: Hashable,
        hashes: U64,
        times: F64,
        seconds: float,
        interval: float,
        good: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """`add` for frames already packed: the frame hashes of every variant, their
        times, the seconds of the video its good frames stand for, its sampling interval,
        and which frames are good (quality >= 50; default all). Only good frames make a
        reference a candidate; once aligned, a query frame is compared with all."""
        order = np.argsort(times, kind="stable")
        # A 1 fps print (vPDQ's own) is compared over a whole second either side of a
        # predicted time, a denser reference print over less than its interval.
        window = max(VIDEO_WINDOW, 0.55 * interval)
        end = float(times.max()) + interval
        ref = _Reference(hashes[order], times[order], seconds, end, window)
        number = len(self._entries)
        self._entries.append(entry_id)
        self._refs.append(ref)
        keep = np.ones(len(order), dtype=bool) if good is None else good[order]
        self._frames.add_many([number] * int(keep.sum()), ref.hashes[keep])
        self._frame_of.append(np.flatnonzero(keep).astype(np.int64))
        self._rows = None

    def build(self) -> None:
        """Build the frame tables now (else the first search does)."""
        self._frames.build()
        self._row_table()

    def _row_table(self) -> tuple[I64, I64]:
        if self._rows is None:
            ids = np.array(self._frames.ids, dtype=np.int64)
            frames = np.concatenate(self._frame_of) if self._frame_of else ids
            self._rows = (ids, frames)
        return self._rows

    def search(
        self,
        query: VideoPrint,
        *,
        threshold: int = VIDEO_SEED_THRESHOLD,
        verify_threshold: int = VIDEO_VERIFY_THRESHOLD,
        query_pct: float = VIDEO_QUERY_PCT,
        reference_pct: float = VIDEO_REFERENCE_PCT,
        min_seconds: float = VIDEO_MIN_SECONDS,
        matched_only: bool = True,
    ) -> list[VideoMatch]:
        """References sharing frames with `query`, best first; only those whose verdict is
        `matched` unless `matched_only` is False. `threshold`: the distance of the frame
        that makes a reference a candidate; `verify_threshold`: of the frames aligned
        with it in time."""
        q = _Query.of(query)
        if not len(q.spans) or not len(self._entries):
            return []
        q_rows, rows, _ = self._frames.search_many(q.hashes, threshold, radius=VIDEO_SEED_RADIUS)
        if not len(rows):
            return []
        video_of, frame_of = self._row_table()
        videos = video_of[rows]
        total_query = float(q.spans.sum())
        results = []
        for video in np.unique(videos):
            hit = videos == video
            ref = self._refs[int(video)]
            q_seconds, r_seconds, count = _best_alignment(
                q, ref, q_rows[hit], frame_of[rows[hit]], verify_threshold
            )
            query_match = 100.0 * q_seconds / total_query
            reference_match = 100.0 * r_seconds / ref.seconds if ref.seconds else 0.0
            seconds = min(q_seconds, r_seconds)
            matched = count >= min(VIDEO_MIN_FRAMES, len(q.spans)) and (
                query_match >= query_pct
                or reference_match >= reference_pct
                or seconds >= min_seconds
            )
            if matched or not matched_only:
                results.append(
                    VideoMatch(
                        self._entries[int(video)],
                        round(query_match, 2),
                        round(min(reference_match, 100.0), 2),
                        round(seconds, 2),
                        matched,
                    )
                )
        results.sort(key=lambda m: (not m.matched, -max(m.query_match, m.reference_match)))
        return results


def _best_alignment(
    q: _Query, ref: _Reference, q_hit: I64, r_hit: I64, verify_threshold: int
) -> tuple[float, float, int]:
    """(query seconds, reference seconds, query frames) matched along the best
    time alignment `reference time = ratio x query time + offset` that the candidate
    frame pairs (`q_hit`, `r_hit`) vote for. Every query frame is compared with the
    reference's frames near its aligned time, at the looser `verify_threshold`."""
    # Hough vote: each pair votes for an offset under every ratio; one vote per query
    # frame and alignment.
    offsets = ref.times[r_hit][:, None] - _RATIOS[None, :] * q.times[q_hit][:, None]
    bins = np.round(offsets / _OFFSET_BIN).astype(np.int64) + (1 << 20)
    keys = np.arange(len(_RATIOS), dtype=np.int64)[None, :] * (1 << 21) + bins
    n = len(q.times)
    votes = np.unique(keys.ravel() * n + np.repeat(q_hit, len(_RATIOS)))
    keys_found, counts = np.unique(votes // n, return_counts=True)
    ratio_of = keys_found >> 21
    # Most votes first; on a tie the ratio nearest 1 (no speed change).
    order = np.lexsort((np.abs(_RATIOS[ratio_of] - 1.0), -counts))[:_HYPOTHESES]
    best = (0.0, 0.0, 0)
    for k in order:
        ratio = float(_RATIOS[ratio_of[k]])
        offset = float(((keys_found[k] & ((1 << 21) - 1)) - (1 << 20)) * _OFFSET_BIN)
        found = _verify(q, ref, ratio, offset, verify_threshold)
        if found[0] > best[0]:
            best = found
    return best


def _verify(
    q: _Query, ref: _Reference, ratio: float, offset: float, verify_threshold: int
) -> tuple[float, float, int]:
    predicted = ratio * q.times + offset
    lo = np.searchsorted(ref.times, predicted - ref.window, side="left")
    hi = np.searchsorted(ref.times, predicted + ref.window, side="right")
    counts = hi - lo
    total = int(counts.sum())
    if not total:
        return 0.0, 0.0, 0
    first = np.repeat(lo - np.cumsum(counts) + counts, counts)
    positions = first + np.arange(total, dtype=np.int64)
    rows = np.repeat(np.arange(len(q.times)), counts)
    nearest = np.full(len(q.times), 256, dtype=np.int64)
    np.minimum.at(nearest, rows, distances(q.hashes[rows], ref.hashes[positions]))
    matched = nearest <= verify_threshold
    q_seconds = float(q.spans[matched].sum())
    # The reference's seconds covered by the matched query frames (their union).
    starts = np.clip(predicted[matched], 0.0, ref.end)
    ends = np.clip(predicted[matched] + ratio * q.spans[matched], 0.0, ref.end)
    reach = np.maximum.accumulate(np.concatenate([[0.0], ends]))[:-1]
    r_seconds = float(np.maximum(ends - np.maximum(starts, reach), 0.0).sum())
    return q_seconds, r_seconds, int(matched.sum())
