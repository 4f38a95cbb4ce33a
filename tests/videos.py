"""Clips for the video tests and benchmarks, made with PyAV from the example photos: faces sliding
across a plain background, plus bad files of every kind the app must answer with a message."""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from fer.video.clip import write_mp4
from tests.images import EXAMPLES

BACKGROUND = (70, 70, 80)


def head(name: str, height: int) -> Image.Image:
    """The example portrait `name`, scaled to `height` pixels."""
    portrait = Image.open(EXAMPLES / f"{name}.jpg").convert("RGB")
    return portrait.resize((round(portrait.width * height / portrait.height), height))


def sliding_faces(paths: list[tuple[str, tuple[int, int], tuple[int, int]]], size=(640, 480), seconds: float = 2,
                  fps: float = 10, height: int = 200) -> list[Image.Image]:
    """Frames in which each (portrait, start xy, end xy) moves in a straight line over the clip."""
    heads = [(head(name, height), start, end) for name, start, end in paths]
    frames = []
    count = max(1, round(seconds * fps))
    for index in range(count):
        progress = index / max(1, count - 1)
        frame = Image.new("RGB", size, BACKGROUND)
        for picture, (x0, y0), (x1, y1) in heads:
            frame.paste(picture, (round(x0 + (x1 - x0) * progress), round(y0 + (y1 - y0) * progress)))
        frames.append(frame)
    return frames


def one_face_clip(path: Path, seconds: float = 1, fps: float = 10, size=(320, 240)) -> Path:
    """Grace Hopper drifting right across a small frame."""
    return write_mp4(path, sliding_faces([("grace_hopper", (40, 20), (120, 30))], size, seconds, fps, 180), fps)


def selfie_frames(seconds: float = 1, fps: float = 10) -> list[Image.Image]:
    """A portrait (240×320) frame, as a phone held upright films: Grace Hopper at the top drifting
    right, the astronaut below her drifting left, so a picture turned the wrong way shows."""
    return sliding_faces([("grace_hopper", (10, 5), (50, 10)), ("astronaut", (60, 170), (20, 165))],
                         (240, 320), seconds, fps, height=130)


def stored_on_its_side(path: Path, upright: list[Image.Image], angle: int, fps: float = 10) -> Path:
    """An MP4 as a phone writes one: the pixels turned `angle`° clockwise, and a display matrix saying to
    turn them back `angle`° anticlockwise (FFmpeg's and PyAV's convention), which players obey."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stored = [picture.rotate(-angle, expand=True) for picture in upright]
        stream.width, stream.height, stream.pix_fmt = *stored[0].size, "yuv420p"
        stream.set_display_rotation(angle)
        for picture in stored:
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    return path


def face_arrives_late_clip(path: Path, fps: float = 10) -> Path:
    """2 s: an empty room for the first second, then Grace Hopper steps in."""
    frames = sliding_faces([("grace_hopper", (40, 20), (80, 25))], (320, 240), seconds=1, fps=fps, height=180)
    return write_mp4(path, [Image.new("RGB", (320, 240), BACKGROUND)] * round(fps) + frames, fps)


def crossing_faces_frames(seconds: float = 2, fps: float = 10) -> list[Image.Image]:
    """Two portraits passing each other in opposite directions on a 480×360 frame, Grace Hopper's
    face (y ≈ 65–120) just above the astronaut's (y ≈ 150–180): their boxes cross midway."""
    return sliding_faces([("grace_hopper", (0, 10), (330, 10)), ("astronaut", (330, 130), (0, 130))],
                         (480, 360), seconds, fps, height=150)


def variable_frame_rate_clip(path: Path) -> Path:
    """2 s of one face whose frames come 1/60 s to 1/8 s apart, as phone clips' do."""
    frames = sliding_faces([("grace_hopper", (40, 20), (120, 30))], (320, 240), seconds=2, fps=30, height=180)
    gaps_ms = np.random.default_rng(0).choice([17, 33, 50, 125], len(frames))
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for frame, gap in zip(frames, gaps_ms):
            video_frame = av.VideoFrame.from_image(frame)
            video_frame.pts, video_frame.time_base = pts, Fraction(1, 1000)
            container.mux(stream.encode(video_frame))
            pts += int(gap)
        container.mux(stream.encode())
    return path


def audio_only_file(path: Path) -> Path:
    """An M4A: one second of silence in AAC, no picture."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for index in range(16):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def zero_frame_file(path: Path) -> Path:
    """An AVI with a video track and no frame in it."""
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return path


HOSTILE_VIDEO_MESSAGES = {"empty.mp4": "empty", "text.mp4": "not a video", "truncated.mp4": "truncated",
                          "sound.m4a": "no video track", "sound_only.mp4": "no video track",
                          "zero_frames.avi": "no video frames", "photo.mp4": "Photo tab"}


def hostile_videos(tmp: Path) -> dict[str, Path]:
    """name → file, for every bad video the app must answer with a message (part of HOSTILE_VIDEO_MESSAGES)."""
    whole = one_face_clip(tmp / "whole.mp4").read_bytes()
    files = {"empty.mp4": b"", "text.mp4": b"this is a text file, not a video\n",
             "truncated.mp4": whole[: len(whole) // 10]}
    paths = {name: tmp / name for name in files}
    for name, content in files.items():
        paths[name].write_bytes(content)
    paths["sound.m4a"] = audio_only_file(tmp / "sound.m4a")
    paths["sound_only.mp4"] = audio_only_file(tmp / "sound_only.mp4")  # a voice memo renamed, a broken export
    paths["zero_frames.avi"] = zero_frame_file(tmp / "zero_frames.avi")
    paths["photo.mp4"] = tmp / "photo.mp4"
    paths["photo.mp4"].write_bytes((EXAMPLES / "astronaut.jpg").read_bytes())
    return paths


def pan_and_zoom(canvas: Image.Image, path: Path, seconds: float = 10, fps: float = 25, size=(640, 480)) -> Path:
    """A `size` clip of a camera slowly zooming in (to 1.25×) and panning across `canvas`."""
    frames = round(seconds * fps)

    def frame(index: int) -> Image.Image:
        progress = index / max(1, frames - 1)
        width = canvas.width / (1 + 0.25 * progress)
        height = width * size[1] / size[0]
        left = (canvas.width - width) * progress
        top = (canvas.height - height) / 2
        return canvas.resize(size, Image.Resampling.BILINEAR, box=(left, top, left + width, top + height))

    return write_mp4(path, (frame(index) for index in range(frames)), fps)


def stage(names: list[str], height: int = 600) -> Image.Image:
    """The example portraits side by side on a 4:3 backdrop."""
    heads = [head(name, height) for name in names]
    width = max(sum(picture.width for picture in heads), round(height * 4 / 3))
    canvas = Image.new("RGB", (width, round(width * 3 / 4)), BACKGROUND)
    left, top = (width - sum(picture.width for picture in heads)) // 2, (canvas.height - height) // 2
    for picture in heads:
        canvas.paste(picture, (left, top))
        left += picture.width
    return canvas


def tiny_clip(path: Path, format: str, codec: str, frames: int = 10, fps: int = 10, size=(64, 48)) -> Path:
    """A small clip in another container and codec (WebM/VP9 as browsers record, MOV as phones)."""
    with av.open(str(path), "w", format=format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for index in range(frames):
            picture = Image.new("RGB", size, (index * 20, 90, 90))
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    return path
