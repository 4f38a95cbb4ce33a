"""Video files in and out with PyAV (FFmpeg's codecs ship in its wheel): frames sampled at a chosen
rate as upright RGB pictures, or one clear `VideoError`; and pictures encoded as H.264 MP4, which
every browser plays.

Sampling goes by each frame's timestamp, not its index, so variable-frame-rate phone clips are
sampled evenly in time. Phones store a portrait clip as landscape pixels plus a rotation in the
container (its display matrix); every frame is turned as that says, as players and browsers do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

MAX_DURATION_S = 120
MAX_BYTES = 50 * 1024 * 1024
MAX_FRAME_PIXELS = 3840 * 2160  # 4K
VIDEO_SUFFIXES = {".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v"}
PICTURE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe"}
DEFAULT_SAMPLE_FPS = 5.0
# FFmpeg gives the display matrix's rotation counter-clockwise, as PIL's turns go (checked against Chromium's player).
UPRIGHT_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
TURN_NAMES = {90: "a quarter turn anticlockwise", 180: "half a turn", 270: "a quarter turn clockwise"}


class VideoError(ValueError):
    """A video that cannot be used; the message is shown to the visitor as is."""


class Clip:
    """An opened, checked video file; iterate `sampled_frames` once, then `close` (or use `with`).
    `notes` collects what the visitor should know about a clip that was still usable."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise VideoError(f"No such file: {path.name}")
        size = path.stat().st_size
        if size == 0:
            raise VideoError(f"{path.name} is empty (0 bytes).")
        if size > MAX_BYTES:
            raise VideoError(f"{path.name} is {size / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB.")
        self.name, self.notes = path.name, []
        try:
            self.container = av.open(str(path))
        except av.FFmpegError:
            raise VideoError(f"{path.name} is not a video this app can read (MP4, WebM, MOV), "
                             "or it is damaged or truncated.") from None
        try:
            self.stream = self._checked_stream()
        except VideoError:
            self.container.close()
            raise

    def _checked_stream(self):
        if self.container.format.name in PICTURE_FORMATS:
            raise VideoError(f"{self.name} is a picture, not a video: use the Photo tab.")
        if not self.container.streams.video:
            raise VideoError(f"{self.name} has no video track (only sound?).")
        stream = self.container.streams.video[0]
        if stream.width * stream.height > MAX_FRAME_PIXELS:
            raise VideoError(f"{self.name} is {stream.width}×{stream.height} pixels; the limit is 4K (3840×2160).")
        if self.duration_s_of(stream) > MAX_DURATION_S:
            raise VideoError(f"{self.name} lasts {self.duration_s_of(stream):.0f} s; the limit is "
                             f"{MAX_DURATION_S // 60} minutes.")
        stream.thread_type = "AUTO"
        return stream

    def duration_s_of(self, stream) -> float:
        """From the container's or the stream's header; 0 when neither says."""
        if self.container.duration:
            return self.container.duration / av.time_base
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        return 0.0

    @property
    def duration_s(self) -> float:
        return self.duration_s_of(self.stream)

    def sampled_frames(self, fps: float = DEFAULT_SAMPLE_FPS) -> Iterator[tuple[float, Image.Image]]:
        """(seconds since the first frame, RGB picture), about `fps` per second of video."""
        step, start, next_sample_s, sampled, time_s = 1 / fps, None, 0.0, 0, 0.0
        try:
            for frame in self.container.decode(self.stream):
                if frame.time is None:
                    continue
                start = frame.time if start is None else start
                time_s = frame.time - start
                if time_s > MAX_DURATION_S:
                    raise VideoError(f"{self.name} lasts over {MAX_DURATION_S // 60} minutes; that is the limit.")
                if time_s + 1e-6 < next_sample_s:
                    continue
                while next_sample_s <= time_s + 1e-6:
                    next_sample_s += step
                sampled += 1
                yield time_s, self.upright(frame)
        except av.FFmpegError:
            if not sampled:
                raise VideoError(f"{self.name} is damaged or truncated: no frame could be decoded.") from None
            self.notes.append(f"{self.name} is damaged or truncated: analysed up to where it breaks off.")
        if not sampled:
            raise VideoError(f"{self.name} is damaged or truncated: no frame could be decoded." if self.duration_s
                             else f"{self.name} contains no video frames.")
        if time_s < self.duration_s - 1:
            self.notes.append(f"{self.name} ends at {time_s:.1f} s though its header says {self.duration_s:.1f} s "
                              "(truncated?): analysed what is there.")

    def upright(self, frame: av.VideoFrame) -> Image.Image:
        """The frame's picture as it is meant to be seen; the first turned one adds a note."""
        picture, angle = frame.to_image(), round(frame.rotation) % 360
        if angle not in UPRIGHT_TURNS:
            return picture
        note = (f"{self.name} is stored on its side (as phones store portrait clips): each frame was given "
                f"{TURN_NAMES[angle]} to stand upright, and boxes are in upright pixels.")
        if note not in self.notes:
            self.notes.append(note)
        return picture.transpose(UPRIGHT_TURNS[angle])

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> Clip:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Mp4Writer:
    """Pictures (all the size of the first) in, an H.264 MP4 out, moov atom first so browsers start
    playing before the end arrives. Use as a context manager; `add` one picture at a time."""

    def __init__(self, path: str | Path, fps: float):
        self.path, self.fps, self.stream = Path(path), fps, None
        self.container = av.open(str(path), "w", format="mp4", options={"movflags": "faststart"})

    def add(self, picture: Image.Image) -> None:
        if self.stream is None:
            self.stream = self.container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1000))
            self.stream.width, self.stream.height = picture.width // 2 * 2, picture.height // 2 * 2  # yuv420p
            self.stream.pix_fmt = "yuv420p"
            self.stream.options = {"preset": "veryfast", "crf": "26"}
        if picture.size != (self.stream.width, self.stream.height):
            picture = picture.crop((0, 0, self.stream.width, self.stream.height))
        self.container.mux(self.stream.encode(av.VideoFrame.from_image(picture)))

    def close(self) -> None:
        if self.stream is not None:
            self.container.mux(self.stream.encode())
        self.container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_mp4(path: str | Path, pictures: Iterable[Image.Image], fps: float) -> Path:
    with Mp4Writer(path, fps) as writer:
        for picture in pictures:
            writer.add(picture)
    return Path(path)
