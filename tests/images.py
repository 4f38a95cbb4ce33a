"""Pictures for the app tests: real public-domain photos that ship with installed packages, plus
generated hostile files. Nothing here is from FER-2013."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from pillow_heif import register_heif_opener

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
register_heif_opener()  # so the tests can write HEIC as a phone does


def astronaut() -> Image.Image:
    import skimage.data
    return Image.fromarray(skimage.data.astronaut())


def crowd(rows: int = 5, columns: int = 6) -> Image.Image:
    """rows × columns copies of the astronaut's head: a picture with 30 faces."""
    head = astronaut().crop((150, 30, 300, 210)).resize((120, 144))
    canvas = Image.new("RGB", (columns * 120, rows * 144), "white")
    for row in range(rows):
        for column in range(columns):
            canvas.paste(head, (column * 120, row * 144))
    return canvas


def three_faces() -> Image.Image:
    """Three copies of the astronaut's head side by side."""
    head = astronaut().crop((140, 20, 320, 230))
    canvas = Image.new("RGB", (3 * head.width, head.height), "white")
    for index in range(3):
        canvas.paste(head, (index * head.width, 0))
    return canvas


def in_frame(picture: Image.Image, scale: float, centre=(0.5, 0.5), size=(640, 480),
             background: Image.Image | None = None) -> Image.Image:
    """`picture` resized by `scale` and pasted with its centre at `centre` (shares of the frame) into a
    webcam-sized frame, mid-grey or `background`."""
    frame = background.resize(size) if background is not None else Image.new("RGB", size, (128, 128, 128))
    resized = picture.convert("RGB").resize((round(picture.width * scale), round(picture.height * scale)),
                                            Image.Resampling.BILINEAR)
    frame.paste(resized, (round(centre[0] * size[0] - resized.width / 2),
                          round(centre[1] * size[1] - resized.height / 2)))
    return frame


def two_people_at_a_laptop(scale: float = 0.625) -> Image.Image:
    """examples/two_people.jpg in a 640×480 frame: at 0.625 YuNet's boxes are 110 and 54 px wide (one person
    leaning in), at 0.3125 56 and 27 px (the same two a few metres back)."""
    return in_frame(Image.open(EXAMPLES / "two_people.jpg"), scale)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be width×height: what a decompression bomb looks like to a decoder."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")



def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def hostile_files(tmp: Path) -> dict[str, Path]:
    """name → file, for every bad input the app must answer with a message."""
    face = astronaut()
    jpeg = encoded(face, "JPEG")
    files = {
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 3],
        "text.png": b"this is a text file, not a picture\n",
        "bomb.png": png_header_only(20000, 20000),
        "tiny.png": encoded(Image.new("RGB", (1, 1), "red"), "PNG"),
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp / name
        paths[name].write_bytes(content)
    return paths


def odd_but_valid_files(tmp: Path) -> dict[str, Path]:
    """name → file, for unusual pictures the app must handle (a face is in each but the blank one)."""
    face = astronaut()
    sixteen_bit = Image.fromarray((np.asarray(face.convert("L"), dtype=np.uint16) * 257))
    rotated = face.crop((0, 0, 512, 400)).rotate(90, expand=True)  # stored sideways; EXIF says turn it back
    exif = Image.Exif()
    exif[0x0112] = 6
    gif_frames = [face.convert("P"), Image.new("RGB", face.size, "black").convert("P")]
    files = {
        "sixteen_bit.png": encoded(sixteen_bit, "PNG"),
        "cmyk.jpg": encoded(face.convert("CMYK"), "JPEG"),
        "rgba.png": encoded(face.convert("RGBA"), "PNG"),
        "animated.gif": _gif(gif_frames),
        "exif_rotated.jpg": encoded(rotated, "JPEG", exif=exif.tobytes()),
        "no_face.png": encoded(Image.new("RGB", (320, 240), (90, 140, 200)), "PNG"),
        "crowd.jpg": encoded(crowd(), "JPEG"),
        "iphone.heic": encoded(face, "HEIF", quality=95),
        "iphone_sideways.heic": encoded(rotated, "HEIF", quality=95, exif=exif.tobytes()),
        "phone.avif": encoded(face, "AVIF", quality=90),
        "scan.tiff": encoded(face, "TIFF"),
        "photo.webp": encoded(face, "WEBP", quality=90),
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp / name
        paths[name].write_bytes(content)
    return paths


def _gif(frames) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()
