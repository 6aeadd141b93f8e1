"""PDQ and vPDQ fingerprints of real media made by ffmpeg, and matching them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from partage.moderation.fingerprints import (
    VideoFrame,
    VideoPrint,
    default_ffmpeg,
    fingerprint,
    image_pdq,
    parse,
    reference_print,
    serialize,
    video_vpdq,
)
from partage.moderation.matching import (
    PdqIndex,
    VideoIndex,
    distances,
    pack,
    pdq_distance,
    pdq_match,
)


def ffmpeg(*args: str | Path) -> None:
    cmd = [default_ffmpeg(), "-y", "-hide_banner", "-loglevel", "error", "-nostdin"]
    subprocess.run([*cmd, *map(str, args)], check=True, timeout=60)


X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fingerprints")
    m = {
        "video": d / "video.mp4",  # 6 s of a moving test pattern with a moving box
        "copy": d / "copy.mp4",  # the same scaled to 320x180, brighter, at 150 kb/s
        "excerpt": d / "excerpt.mp4",  # seconds 1..5 of it
        "padded": d / "padded.mp4",  # it inside black borders (letterbox and pillarbox)
        "other": d / "other.mp4",  # 6 s of an unrelated scene (a fractal zoom)
        "still": d / "still.mp4",  # 4 s of one picture: a still scene
        "image": d / "image.png",  # a fractal, 640x360
        "image_copy": d / "image.jpg",  # JPEG at qscale 14 (about quality 30), half size
        "image_other": d / "image_other.png",
        "flat": d / "flat.png",
        "text": d / "notes.txt",
        "corrupt": d / "corrupt.mp4",
        "pan": d / "pan.mp4",  # 8 s: a slow pan and zoom over `image`, a box moving over it
        "pan_excerpt": d / "pan_excerpt.mp4",  # 4 s of it from 2.5 s: cut mid-second
        "pan_crop": d / "pan_crop.mp4",  # its centre 90 % (10 % cut off the sides)
    }
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=6"),
        *("-f", "lavfi", "-i", "color=c=red:s=80x80:r=25:d=6"),
        *("-filter_complex", "[0:v][1:v]overlay=x='mod(20*n,560)':y=100[v]", "-map", "[v]"),
        *X264,
        m["video"],
    )
    ffmpeg(
        "-i",
        m["video"],
        "-vf",
        "scale=320:180,eq=brightness=0.06",
        *X264,
        "-b:v",
        "150k",
        m["copy"],
    )
    ffmpeg("-ss", "1", "-i", m["video"], "-t", "4", *X264, m["excerpt"])
    ffmpeg(
        "-i", m["video"], "-vf", "pad=iw*1.3:ih*1.3:(ow-iw)/2:(oh-ih)/2:black", *X264, m["padded"]
    )
    ffmpeg(
        *("-f", "lavfi", "-i", "mandelbrot=s=320x180:rate=25:start_x=-0.74:start_y=0.1,hue=h=40"),
        *("-t", "6", *X264, m["other"]),
    )
    ffmpeg(
        *("-f", "lavfi", "-i", "mandelbrot=s=640x360:start_x=-0.7:start_y=0.3:start_scale=1.5"),
        *("-frames:v", "1", m["image"]),
    )
    # Lossless, so that every frame decodes to the same picture and the same hash.
    ffmpeg("-loop", "1", "-i", m["image"], "-t", "4", "-r", "25", *X264, "-qp", "0", m["still"])
    ffmpeg("-i", m["image"], "-vf", "scale=320:180", "-q:v", "14", m["image_copy"])
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360", "-frames:v", "1", m["image_other"])
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=64x64", "-frames:v", "1", m["flat"])
    ffmpeg(
        *("-loop", "1", "-framerate", "25", "-t", "8", "-i", m["image"]),
        *("-f", "lavfi", "-i", "color=c=red:s=120x120:r=25:d=8"),
        "-filter_complex",
        "[0:v]scale=960:540,zoompan=z='1+0.3*on/200':x='(iw-iw/zoom)*on/200'"
        ":y='(ih-ih/zoom)/2':d=1:s=640x360:fps=25[b];"
        "[b][1:v]overlay=x='mod(20+8*n,520)':y=120:shortest=1[v]",
        *("-map", "[v]", "-t", "8", *X264, m["pan"]),
    )
    ffmpeg("-ss", "2.5", "-i", m["pan"], "-t", "4", *X264, m["pan_excerpt"])
    ffmpeg("-i", m["pan"], "-vf", "crop=iw*0.9:ih*0.9", *X264, m["pan_crop"])
    m["text"].write_text("not a picture\n" * 100)
    m["corrupt"].write_bytes(m["video"].read_bytes()[:3000] + bytes(range(256)) * 40)
    return m


def test_image_pdq_survives_recompression_and_resize(media: dict[str, Path]) -> None:
    a, b = image_pdq(media["image"]), image_pdq(media["image_copy"])
    other = image_pdq(media["image_other"])
    assert a and b and other
    assert len(a.hash) == 64 and int(a.hash, 16) and 50 <= a.quality <= 100
    assert image_pdq(media["image"]) == a  # deterministic
    assert pdq_distance(a.hash, b.hash) <= 31 and pdq_match(a.hash, b.hash)
    assert not pdq_match(a.hash, other.hash), pdq_distance(a.hash, other.hash)


def test_bad_or_featureless_input_gives_nothing(media: dict[str, Path]) -> None:
    assert image_pdq(media["flat"]) is None  # quality below 50: the hash means nothing
    assert image_pdq(media["text"]) is None
    assert image_pdq(media["text"].with_name("missing.png")) is None
    assert video_vpdq(media["text"]) is None
    assert video_vpdq(media["image"]) is None  # a still image is not a video
    assert video_vpdq(media["corrupt"]) is None
    assert video_vpdq(media["video"], timeout=0.01) is None  # killed, not waited for
    for path, mime in [
        (media["text"], "image/png"),
        (media["text"], "video/mp4"),
        (media["corrupt"], "video/mp4"),
        (media["flat"], "image/png"),
        (media["video"], "application/pdf"),
        (media["image"], "text/plain"),
    ]:
        assert fingerprint(path, mime) == [], (path, mime)


def test_fingerprint_dispatches_on_mime(media: dict[str, Path]) -> None:
    [(kind, value)] = fingerprint(media["image"], "image/png")
    assert kind == "pdq" and value == image_pdq(media["image"]).hash  # type: ignore[union-attr]
    [(kind, value)] = fingerprint(media["video"], "video/mp4")
    assert kind == "vpdq" and parse(value) == video_vpdq(media["video"])


def test_video_print_one_frame_per_second_and_round_trip(media: dict[str, Path]) -> None:
    video = video_vpdq(media["video"])
    assert video is not None
    assert [round(f.timestamp) for f in video.frames] == [0, 1, 2, 3, 4, 5]
    assert [f.frame for f in video.frames] == [0, 25, 50, 75, 100, 125]
    assert all(f.quality >= 50 and len(f.hash) == 64 for f in video.frames)
    assert video.duration == 6.0
    text = serialize(video)
    assert len(text.splitlines()) == 6 and len(text) < 6 * 90
    assert parse(text) == video
    with pytest.raises(ValueError):
        parse("0,100,abc,0.0")


def test_still_scene_is_deduplicated_but_keeps_its_length(media: dict[str, Path]) -> None:
    video = video_vpdq(media["still"])
    assert video is not None
    # Four identical hashes: the first and the last are kept, so the duration survives.
    assert [f.timestamp for f in video.frames] == [0.0, 3.0]
    assert video.frames[0].hash == video.frames[1].hash
    assert video.duration == 4.0
    # The still is the same picture as the PNG: its frame hash is near the image's.
    image = image_pdq(media["image"])
    assert image and pdq_match(image.hash, video.frames[0].hash)


def test_video_index_matches_copies_and_not_unrelated(media: dict[str, Path]) -> None:
    prints = {k: video_vpdq(media[k]) for k in ("video", "copy", "excerpt", "padded", "other")}
    assert all(prints.values())
    index = VideoIndex()
    index.add("ref", prints["video"])  # type: ignore[arg-type]
    index.add("other", prints["other"])  # type: ignore[arg-type]
    [m] = index.search(prints["copy"])  # type: ignore[arg-type]
    assert m.entry_id == "ref" and m.matched
    assert m.query_match >= 80 and m.reference_match >= 80
    # Black borders are cropped away before hashing: the frames are those of the original.
    [m] = index.search(prints["padded"])  # type: ignore[arg-type]
    assert m.entry_id == "ref" and m.query_match == 100 and m.reference_match == 100
    assert [f.frame for f in prints["padded"].frames] == [0, 25, 50, 75, 100, 125]  # type: ignore[union-attr]
    [m] = index.search(prints["excerpt"])  # type: ignore[arg-type]
    assert m.entry_id == "ref" and m.query_match >= 80 and m.reference_match < 80
    # The unrelated clip finds itself only.
    assert [m.entry_id for m in index.search(prints["other"])] == ["other"]  # type: ignore[arg-type]
    solo = VideoIndex()
    solo.add("ref", prints["video"])  # type: ignore[arg-type]
    assert solo.search(prints["other"]) == []  # type: ignore[arg-type]


def _walk(rng: np.random.Generator, n: int, start: float = 0.0) -> list[VideoFrame]:
    """A plausible print: each second's hash 10-30 bits away from the previous one."""
    bits = rng.integers(0, 2, 256).astype(np.uint8)
    frames = []
    for i in range(n):
        frames.append(VideoFrame(np.packbits(bits).tobytes().hex(), 90, i * 25, start + i))
        bits[rng.choice(256, int(rng.integers(10, 30)), replace=False)] ^= 1
    return frames


def _retime(frames: list[VideoFrame], start: float) -> list[VideoFrame]:
    return [VideoFrame(f.hash, f.quality, f.frame, start + i) for i, f in enumerate(frames)]


def test_excerpt_of_reference_inside_a_longer_video_matches() -> None:
    rng = np.random.default_rng(5)
    ref = _walk(rng, 120)  # a 2-minute reference
    index = VideoIndex()
    index.add("ref", VideoPrint(tuple(ref)))
    for i in range(50):
        index.add(f"noise{i}", VideoPrint(tuple(_walk(rng, 60))))
    # 15 s of the reference between 60 s and 45 s of unrelated video.
    query = _walk(rng, 60) + _retime(ref[30:45], 60) + _retime(_walk(rng, 45), 75)
    [m] = index.search(VideoPrint(tuple(query)))
    assert m.entry_id == "ref" and m.matched
    assert m.query_match < 80 and m.reference_match < 50  # neither percentage alone decides
    assert m.matched_seconds == 15
    # 5 s of it is not enough: below the 10 s floor.
    short = _walk(rng, 60) + _retime(ref[30:35], 60)
    [m] = index.search(VideoPrint(tuple(short)), matched_only=False)
    assert not m.matched and m.matched_seconds == 5
    assert index.search(VideoPrint(tuple(short))) == []


def test_pdq_index_is_exact_against_brute_force() -> None:
    rng = np.random.default_rng(11)
    bank = rng.integers(0, 1 << 62, size=(20_000, 4), dtype=np.uint64)
    index = PdqIndex()
    index.add_many(list(range(len(bank))), bank)
    index.build()
    queries = bank[rng.integers(0, len(bank), 60)].copy()
    for q in queries:  # move each query 0..40 bits away from its source
        bits = np.unpackbits(q.view(np.uint8))
        bits[rng.choice(256, int(rng.integers(0, 41)), replace=False)] ^= 1
        q[:] = np.packbits(bits).view(np.uint64)
    for threshold in (31, 40):
        qi, rows, dist = index.search_many(queries, threshold)
        got = sorted(zip(qi.tolist(), rows.tolist(), dist.tolist()))
        want = []
        for i, q in enumerate(queries):
            d = distances(np.broadcast_to(q, bank.shape), bank)
            want += [(i, int(r), int(d[r])) for r in np.nonzero(d <= threshold)[0]]
        assert got == sorted(want) and len(want) > 20
    # Hashes added after the build are found too (searched by brute force until rebuilt).
    late = queries[0].tobytes().hex()
    index.add("late", late)
    assert index.search(late)[0] == ("late", 0)
    assert pack([late]).tobytes().hex() == late


def test_reference_print_is_dense_with_crop_variants(media: dict[str, Path]) -> None:
    ref = reference_print(media["pan"])
    assert ref is not None
    main = ref.main
    # Five frames a second of the picture itself, frame numbers of the original...
    assert [round(f.timestamp, 1) for f in main[:6]] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert [f.frame for f in main[:6]] == [0, 5, 10, 15, 20, 25]
    assert len(main) == 40 and ref.interval == 0.2 and ref.duration == 8.0
    # ...whose whole seconds are vPDQ's own frames, bit for bit.
    assert [f.hash for f in main[::5]] == [f.hash for f in video_vpdq(media["pan"]).frames]  # type: ignore[union-attr]
    # Then the centre 90 % and 80 % once a second.
    for name in ("c90", "c80"):
        frames = [f for f in ref.frames if f.variant == name]
        assert [f.timestamp for f in frames] == [float(t) for t in range(8)], name
        assert [f.frame for f in frames] == [25 * t for t in range(8)]
        assert pdq_distance(frames[1].hash, main[5].hash) > 31  # a different picture
    text = serialize(ref)
    assert parse(text) == ref
    lines = text.splitlines()
    assert len(lines) == 56 and lines[0].count(",") == 3 and lines[-1].endswith(",c80")
    # The vPDQ form without variants still reads, as frames of the picture itself.
    old = parse("\n".join(lines[:40]))
    assert old.main == main and old.frames == main
    for bad in (f"0,100,{main[0].hash},0.0,c 9", f"0,100,{main[0].hash},0.0,c90,x"):
        with pytest.raises(ValueError):
            parse(bad)


def test_cropped_copy_and_mid_second_excerpt_match_a_reference_print(
    media: dict[str, Path],
) -> None:
    index = VideoIndex()
    index.add("pan", reference_print(media["pan"]))  # type: ignore[arg-type]
    index.add("other", reference_print(media["other"]))  # type: ignore[arg-type]
    crop, excerpt = video_vpdq(media["pan_crop"]), video_vpdq(media["pan_excerpt"])
    assert crop and excerpt
    [m] = index.search(crop)
    assert m.entry_id == "pan" and m.matched and m.query_match == 100
    [m] = index.search(excerpt)
    assert m.entry_id == "pan" and m.matched and m.query_match == 100
    assert m.reference_match == 50 and m.matched_seconds == 4
    # Unrelated videos match nothing, and no reference matches the other.
    for name in ("video", "copy", "padded"):
        assert index.search(video_vpdq(media[name])) == [], name  # type: ignore[arg-type]
    [m] = index.search(video_vpdq(media["other"]))  # type: ignore[arg-type]
    assert m.entry_id == "other"
    # The crop variants are what finds the cropped copy: not the picture's own frames.
    plain = VideoIndex()
    plain.add("pan", video_vpdq(media["pan"]))  # type: ignore[arg-type]
    assert plain.search(crop) == []


def test_copy_played_faster_matches_a_dense_print() -> None:
    """A copy at 1.1x speed: its second n shows the reference's 1.1 n, between two
    one-a-second frames; each 0.2 s frame of the reference is within reach."""
    rng = np.random.default_rng(7)
    ref = _walk(rng, 300)  # 60 s at 5 frames a second, 10-30 bits between neighbours
    ref = [VideoFrame(f.hash, f.quality, i * 5, i / 5) for i, f in enumerate(ref)]
    index = VideoIndex()
    index.add("ref", VideoPrint(tuple(ref)))
    for i in range(20):
        index.add(f"noise{i}", VideoPrint(tuple(_walk(rng, 60))))
    fast = [ref[round(5 * 1.1 * t)] for t in range(40)]  # 40 s showing 44 s of it
    query = VideoPrint(tuple(_retime(fast, 0)))
    [m] = index.search(query)
    assert m.entry_id == "ref" and m.matched and m.query_match == 100
    assert m.matched_seconds == 40 and 70 <= m.reference_match <= 75  # 44 of 60 s
    # Every frame of the query elsewhere in time: nothing lines up, nothing matches.
    shuffled = [fast[i] for i in rng.permutation(len(fast))]
    assert index.search(VideoPrint(tuple(_retime(shuffled, 0)))) == []
