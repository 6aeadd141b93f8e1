"""The generated test set of bench/fingerprints.py: clips, stills and their transforms.

Real photographs are scikit-image's bundled sample images (in the wheel, no download;
scikit-image is a dev dependency). The photos are split in two disjoint sets, one for
the references and one for the unrelated media, so that an "unrelated" clip never shows
the same scene as a reference. Each clip is a slow pan and zoom (Ken Burns) over a
random crop of a photo, or a synthetic ffmpeg scene (mandelbrot at different places,
life and cellauto with different seeds and rules, gradients, testsrc2 for references
only), with a moving box and a moving word drawn on top, so that two clips of one
source still differ. A scene can be rendered again at 1280x720 (`render(..., k=HD)`):
the same description, every position and size doubled, so the same content in HD.
"""

from __future__ import annotations

import random
import shutil
import string
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import skimage
from PIL import Image

PHOTOS_DIR = Path(skimage.__file__).parent / "data"
# motorcycle_right is left out: it is the other half of a stereo pair with _left.
REFERENCE_PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "brick", "camera", "moon"]
REFERENCE_PHOTOS += ["hubble_deep_field"]
UNRELATED_PHOTOS = ["coins", "grass", "gravel", "ihc", "motorcycle_left", "retina", "page"]
UNRELATED_PHOTOS += ["text", "cell", "clock_motion", "color", "logo"]
W, H, FPS = 640, 360, 25
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

VIDEO_TRANSFORMS = [
    "reencode_200k",
    "scale_360p",
    "crop_10pct",
    "pad",
    "brightness_contrast",
    "logo",
    "speed_1.1",
    "excerpt",
    "inside_longer",
]
IMAGE_TRANSFORMS = ["jpeg_q30", "resize_50pct", "jpeg_q30_resize"]


def photo(name: str) -> Path:
    for ext in ("png", "jpg"):
        p = PHOTOS_DIR / f"{name}.{ext}"
        if p.exists():
            return p
    raise FileNotFoundError(name)


@dataclass(frozen=True)
class Scene:
    """A clip's description, renderable at 640x360 or, the same content in HD, at 1280x720:
    `build(k)` gives the ffmpeg input arguments and the filters (from [0:v] to [v]) at `k`
    times the size, from parameters drawn once."""

    name: str
    build: Callable[[int], tuple[list[str], str]]

    @property
    def inputs(self) -> list[str]:
        return self.build(1)[0]

    @property
    def filters(self) -> str:
        return self.build(1)[1]


HD = 2  # the HD render of a reference: 1280x720, twice the size of the test set's clips


def _overlay(rng: random.Random, base: str) -> Callable[[int], str]:
    """Filters from the [base] pad to [v] at `k` times the size: a moving box and a moving
    word on top, so that two clips of one source still differ."""
    color = rng.randrange(1 << 24)
    bx, by = rng.randrange(W // 2), rng.randrange(H // 2)
    dx, dy = rng.choice([-1, 1]) * rng.randrange(2, 8), rng.choice([-1, 1]) * rng.randrange(1, 5)
    size = rng.randrange(40, 120)
    text = None
    if FONT.exists():
        word = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randrange(4, 9)))
        font_size, font_color = rng.randrange(30, 60), rng.randrange(1 << 24)
        speed, ty = rng.randrange(40, 150), rng.randrange(40, H - 80)
        text = (word, font_size, font_color, speed, ty)

    def at(k: int) -> str:
        w, h = W * k, H * k
        graph = (
            f"color=c=0x{color:06x}:s={size * k}x{size * k}:r={FPS}[box];"
            f"[{base}][box]overlay=x='mod({bx * k}+({dx * k})*n+{w},{w})'"
            f":y='mod({by * k}+({dy * k})*n+{h},{h})':shortest=1"
        )
        if text:
            word, font_size, font_color, speed, ty = text
            graph += (
                f",drawtext=fontfile={FONT}:text={word}:fontsize={font_size * k}"
                f":fontcolor=0x{font_color:06x}"
                f":x='mod({40 * k}+{speed * k}*t,{w})':y={ty * k}"
            )
        return graph + ",format=yuv420p[v]"

    return at


def photo_scene(name: str, path: Path, seconds: float, rng: random.Random) -> Scene:
    with Image.open(path) as im:
        iw, ih = im.size
    cw = rng.randrange(int(iw * 0.5), iw + 1) & ~1
    ch = min(ih, int(cw * H / W)) & ~1
    cx, cy = rng.randrange(iw - cw + 1), rng.randrange(ih - ch + 1)
    frames = int(seconds * FPS)
    z0, z1 = rng.uniform(1.0, 1.15), rng.uniform(1.2, 1.6)
    if rng.random() < 0.5:
        z0, z1 = z1, z0
    fx, fy = rng.random(), rng.random()
    tx, ty = rng.random(), rng.random()
    zoom = f"{z0}+({z1}-{z0})*on/{frames}"
    pan_x = f"(iw-iw/zoom)*({fx}+({tx}-{fx})*on/{frames})"
    pan_y = f"(ih-ih/zoom)*({fy}+({ty}-{fy})*on/{frames})"
    overlay = _overlay(rng, "base")
    inputs = ["-loop", "1", "-framerate", str(FPS), "-t", str(seconds), "-i", str(path)]

    def build(k: int) -> tuple[list[str], str]:
        # The same crop of the photo, prescaled and zoomed into at k times the size.
        filters = (
            f"[0:v]format=rgb24,crop={cw}:{ch}:{cx}:{cy},scale={800 * k}:{450 * k},setsar=1,"
            f"zoompan=z='{zoom}':x='{pan_x}':y='{pan_y}':d=1:s={W * k}x{H * k}:fps={FPS}[base];"
            + overlay(k)
        )
        return inputs, filters

    return Scene(name, build)


def synthetic_scene(name: str, seconds: float, rng: random.Random, *, allow_testsrc: bool) -> Scene:
    kinds = ["mandelbrot", "life", "cellauto", "gradients", "gradients_noise"]
    kinds += ["testsrc2"] if allow_testsrc else []
    kind = rng.choice(kinds)
    seed = rng.randrange(1 << 31)
    # Each source is drawn at a fixed size (the cellular automata's grids, the gradients'
    # points and testsrc2's timecode and checkerboard depend on it) and scaled to k times
    # the clip's size, except mandelbrot, whose view is the same at any size: it is drawn
    # at k times the size, with the detail of a real HD render.
    source: Callable[[int], str]
    if kind == "mandelbrot":
        view = (
            f":start_x={rng.uniform(-1.5, 0.3)}:start_y={rng.uniform(-0.8, 0.8)}"
            f":start_scale={rng.uniform(0.5, 3)}:end_scale={rng.uniform(0.01, 0.3)}"
        )

        def source(k: int) -> str:
            return (
                f"mandelbrot=s={W * k // 2}x{H * k // 2}:rate={FPS}{view}"
                f":outer=normalized_iteration_count,scale={W * k}:{H * k}"
            )

    elif kind == "life":
        grid = (
            f"life=s={W // 4}x{H // 4}:rate={FPS}:seed={seed}:ratio={rng.uniform(0.1, 0.5)}"
            f":mold=10:life_color=0x{rng.randrange(1 << 24):06x}"
            f":death_color=0x{rng.randrange(1 << 24):06x}"
        )

        def source(k: int) -> str:
            return f"{grid},scale={W * k}:{H * k}:flags=neighbor"

    elif kind == "cellauto":
        grid = (
            f"cellauto=s={W // 2}x{H // 2}:rate={FPS}:seed={seed}"
            f":rule={rng.choice([18, 30, 45, 73, 90, 105, 110, 150])}"
            f":random_fill_ratio={rng.uniform(0.2, 0.8)}"
        )

        def source(k: int) -> str:
            return f"{grid},scale={W * k}:{H * k}:flags=neighbor"

    elif kind.startswith("gradients"):
        grid = (
            f"gradients=s={W // 4}x{H // 4}:rate={FPS}:seed={seed}:n={rng.randrange(3, 8)}"
            f":speed={rng.uniform(0.005, 0.05)}"
            f":type={rng.choice(['linear', 'radial', 'circular'])}"
        )
        noise = f",noise=alls={rng.randrange(5, 20)}:allf=t" if kind == "gradients_noise" else ""

        def source(k: int) -> str:
            return f"{grid},scale={W * k}:{H * k}{noise}"

    else:
        hue = rng.randrange(360)

        def source(k: int) -> str:
            upscale = f",scale={W * k}:{H * k}" if k > 1 else ""
            return f"testsrc2=s={W}x{H}:rate={FPS},hue=h={hue}{upscale}"

    overlay = _overlay(rng, "base")

    def build(k: int) -> tuple[list[str], str]:
        inputs = ["-f", "lavfi", "-t", str(seconds), "-i", source(k)]
        return inputs, "[0:v]format=yuv420p[base];" + overlay(k)

    return Scene(f"{name}-{kind}", build)


def ffmpeg(*args: str) -> None:
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args]
    subprocess.run(cmd, check=True, timeout=600)


X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an"]


def render(scene: Scene, seconds: float, out: Path, k: int = 1) -> Path:
    """The scene at `k` times the size (HD: 1280x720), as `out`."""
    if not out.exists():
        tmp = out.with_suffix(".tmp.mp4")
        inputs, filters = scene.build(k)
        ffmpeg(
            *inputs,
            *("-filter_complex", filters, "-map", "[v]", "-t", str(seconds)),
            *("-r", str(FPS), *X264, "-preset", "ultrafast", "-crf", "18", str(tmp)),
        )
        tmp.rename(out)
    return out


def transform_video(kind: str, ref: Path, fillers: tuple[Path, Path], out: Path) -> Path:
    """`ref` transformed by `kind` (one of VIDEO_TRANSFORMS); `fillers`: unrelated clips
    for `inside_longer`."""
    if out.exists():
        return out
    tmp = out.with_suffix(".tmp.mp4")
    vf = {
        "scale_360p": "scale=-2:360",
        "crop_10pct": "crop=iw*0.9:ih*0.9",
        "pad": "pad=iw*1.25:ih*1.25:(ow-iw)/2:(oh-ih)/2:black",
        "brightness_contrast": "eq=brightness=0.08:contrast=1.25",
        "speed_1.1": "setpts=PTS/1.1",
    }
    if kind == "reencode_200k":
        ffmpeg("-i", str(ref), *X264, "-b:v", "200k", str(tmp))
    elif kind in vf:
        ffmpeg("-i", str(ref), "-vf", vf[kind], "-r", str(FPS), *X264, "-crf", "26", str(tmp))
    elif kind == "logo":
        ffmpeg(
            *("-i", str(ref), "-i", str(photo("logo"))),
            "-filter_complex",
            "[1:v]scale=iw*0.2:-2,format=rgba,colorchannelmixer=aa=0.85[l];"  # ~13 % of the width
            "[0:v][l]overlay=W-w-16:16[v]",
            *("-map", "[v]", *X264, "-crf", "26", str(tmp)),
        )
    elif kind == "excerpt":
        # Cut between two sampled seconds, as a real excerpt would be.
        ffmpeg("-ss", "3.5", "-i", str(ref), "-t", "8", *X264, "-crf", "26", str(tmp))
    elif kind == "inside_longer":
        # 8 s of another video, 10 s of the reference (cut between two sampled
        # seconds), 8 s of a third.
        ffmpeg(
            *("-t", "10", "-i", str(fillers[0]), "-ss", "1.5", "-t", "10", "-i", str(ref)),
            *("-t", "10", "-i", str(fillers[1])),
            "-filter_complex",
            f"[0:v]setpts=PTS-STARTPTS,scale={W}:{H}[a];"
            f"[1:v]setpts=PTS-STARTPTS,scale={W}:{H}[b];"
            f"[2:v]setpts=PTS-STARTPTS,scale={W}:{H}[c];"
            "[a][b][c]concat=n=3:v=1[v]",
            *("-map", "[v]", "-r", str(FPS), *X264, "-crf", "24", str(tmp)),
        )
    else:
        raise ValueError(kind)
    tmp.rename(out)
    return out


def still(path: Path, out: Path, rng: random.Random) -> Path:
    """A random crop of a photo, at a random size, as PNG."""
    if not out.exists():
        with Image.open(path) as im:
            im = im.convert("RGB")
            iw, ih = im.size
            cw, ch = rng.randrange(iw // 2, iw + 1), rng.randrange(ih // 2, ih + 1)
            x, y = rng.randrange(iw - cw + 1), rng.randrange(ih - ch + 1)
            side = rng.randrange(300, 900)
            crop = im.crop((x, y, x + cw, y + ch))
            crop.resize((side, max(1, side * ch // cw))).save(out)
    return out


def synthetic_still(clip: Path, out: Path, at: float) -> Path:
    if not out.exists():
        ffmpeg("-ss", f"{at:.2f}", "-i", str(clip), "-frames:v", "1", str(out))
    return out


def transform_image(kind: str, src: Path, out: Path) -> Path:
    if not out.exists():
        with Image.open(src) as im:
            im = im.convert("RGB")
            if "resize" in kind:
                im = im.resize((max(1, im.width // 2), max(1, im.height // 2)))
            if "jpeg" in kind:
                im.save(out, "JPEG", quality=30)
            else:
                im.save(out, "PNG")
    return out


def have_tools() -> str | None:
    """Why the bench cannot run here, or None."""
    if not shutil.which("ffmpeg"):
        return "ffmpeg is not on PATH"
    if not PHOTOS_DIR.is_dir():
        return "scikit-image's sample images are missing (uv sync --group dev)"
    return None
