"""How far from the camera the in-browser mode finds faces: the share of the faces the server's YuNet finds in a
640×480 frame that the page's detectors find too, by face size, and the frame rate on the camera scenes of
issue 46 (two people at a laptop, and the same two a few metres back).

    python benchmarks/browser_reach.py [--dataset ../shared/fer2013] [--seconds 10]

Scenes: the example photos (one face each, centred at three places in the frame), two_people.jpg and three
astronaut heads (several faces), and FER-2013 validation faces pasted six at a time into a grey scene (when the
dataset is there), each scaled so that YuNet's box is about 160, 100, 55, 40 or 27 px wide. Only faces wholly
inside the frame count (a face the frame cuts is not a question of reach). The page runs its own code
(fer/app/web/finder.js, every view once, as a still camera picture gets after five frames) with BlazeFace short
range alone, as before issue 46, and with full range beside it. A page face counts as found when its centre
lies within half a face of YuNet's; a page face without a YuNet face counts as extra.
"""

import argparse
import base64
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.face_path.faces import detect_faces  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser import launch, start_browser_live  # noqa: E402
from tests.images import EXAMPLES, in_frame, three_faces, two_people_at_a_laptop  # noqa: E402

FRAME = (640, 480)
SIZES = (160, 100, 55, 40, 27)
PLACES = ((0.5, 0.5), (0.25, 0.3), (0.75, 0.7))
FER_PLACES = [(x, y) for y in (0.3, 0.7) for x in (0.2, 0.5, 0.8)]
PAGE_FACES = "([url, nearOnly]) => ferLive.view.facesIn(url, nearOnly).then((faces) => faces.map((face) => face.box))"


def widest_face(picture: Image.Image) -> tuple[int, int, int, int]:
    return max((face.box for face in detect_faces(picture)), key=lambda box: box[2])


def face_at(picture: Image.Image, size: int, place: tuple[float, float]) -> Image.Image:
    """The picture scaled so that its widest face is `size` px wide, that face's centre at `place`."""
    x, y, width, height = widest_face(picture)
    scale = size / width
    shift = ((picture.width / 2 - x - width / 2) * scale / FRAME[0],
             (picture.height / 2 - y - height / 2) * scale / FRAME[1])
    return in_frame(picture, scale, (place[0] + shift[0], place[1] + shift[1]))


def example_scenes() -> list[Image.Image]:
    """Each example photo's face at every size and place, and the several-face pictures' widest at every size."""
    portraits = [Image.open(EXAMPLES / name) for name in ("grace_hopper.jpg", "astronaut.jpg")]
    groups = [Image.open(EXAMPLES / "two_people.jpg"), three_faces()]
    return ([face_at(picture, size, place) for picture in portraits for size in SIZES for place in PLACES]
            + [face_at(picture, size, (0.5, 0.5)) for picture in groups for size in SIZES])


def fer_scenes(dataset: str) -> list[Image.Image]:
    """Six FER-2013 validation faces at a time in a grey scene, their 48-px squares 1.1 × each size (YuNet's box
    is about 0.9 of FER-2013's square)."""
    if not Path(dataset).exists():
        return []
    from fer.training.dataset import load_fer
    faces = load_fer(dataset).splits["validation"].images.numpy()[:6 * len(SIZES)]
    scenes = []
    for index, size in enumerate(SIZES):
        frame = Image.new("RGB", (640, 480), (128, 128, 128))
        for place, face in zip(FER_PLACES, faces[6 * index:6 * index + 6]):
            frame = in_frame(Image.fromarray(face), 1.1 * size / 48, place, background=frame)
        scenes.append(frame)
    return scenes


def data_url(picture: Image.Image) -> str:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def nearest_size(width: float) -> int:
    return min(SIZES, key=lambda size: abs(np.log(width / size)))


def matched(yunet_box, page_boxes) -> bool:
    x, y, width, height = yunet_box
    return any(np.hypot(px + pw / 2 - x - width / 2, py + ph / 2 - y - height / 2) < max(width, height) / 2
               for px, py, pw, ph in page_boxes)


def inside_the_frame(box) -> bool:
    x, y, width, height = box
    return x > 1 and y > 1 and x + width < FRAME[0] - 1 and y + height < FRAME[1] - 1


def reach(page, scenes: list[Image.Image]) -> dict:
    """Per size: YuNet's faces, and how many of them the page finds with short range alone and with both
    detectors; and the page's extra faces with each."""
    counts = {size: np.zeros(3, int) for size in SIZES}
    extra = np.zeros(2, int)
    for scene in scenes:
        yunet = [face.box for face in detect_faces(scene)]
        url = data_url(scene)
        found = [page.evaluate(PAGE_FACES, [url, near_only]) for near_only in (True, False)]
        for box in filter(inside_the_frame, yunet):
            counts[nearest_size(box[2])] += [1, matched(box, found[0]), matched(box, found[1])]
        extra += [sum(not matched(box, yunet) for box in boxes) for boxes in found]
    return {"counts": counts, "extra": extra}


def camera_scene(driver, server, scene: Image.Image, seconds: float, scratch: Path) -> tuple[int, float]:
    """The most faces the page shows over `seconds` with `scene` as its camera, and its frames/s."""
    scene.save(path := scratch / f"scene-{time.monotonic_ns()}.png")
    browser = launch(driver, camera_picture=path)
    try:
        page = start_browser_live(browser, server.url, frames=10)
        started, frames, most = time.monotonic(), page.evaluate("ferLive.stats.framesDrawn"), 0
        while time.monotonic() - started < seconds:
            most = max(most, page.evaluate("ferLive.stats.lastFaces.length"))
            time.sleep(0.1)
        return most, (page.evaluate("ferLive.stats.framesDrawn") - frames) / (time.monotonic() - started)
    finally:
        browser.close()


def print_reach(title: str, result: dict) -> None:
    print(f"{title}: face size | YuNet's faces | found by short range alone | found with full range beside it")
    for size, (total, near, both) in result["counts"].items():
        print(f"{size:>6} px | {total:>13} | {near:>4} ({near / max(total, 1):>6.1%})"
              f"              | {both:>4} ({both / max(total, 1):>6.1%})")
    near_extra, both_extra = result["extra"]
    print(f"faces without a YuNet face: {near_extra} with short range alone, {both_extra} with full range beside it")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared" / "fer2013"))
    parser.add_argument("--seconds", type=float, default=10, help="per camera scene")
    args = parser.parse_args()
    scene_sets = {"photos": example_scenes(), "FER-2013 faces": fer_scenes(args.dataset)}
    scratch = Path(tempfile.mkdtemp(prefix="fer-reach-"))
    with running_app() as server, sync_playwright() as driver:
        browser = launch(driver, camera_picture=EXAMPLES / "grace_hopper.jpg")
        page = start_browser_live(browser, server.url)
        page.evaluate("ferLive.view.pause()")
        results = {name: reach(page, scenes) for name, scenes in scene_sets.items() if scenes}
        browser.close()
        cameras = {name: camera_scene(driver, server, two_people_at_a_laptop(scale), args.seconds, scratch)
                   for name, scale in (("two people at a laptop (110, 54 px)", 0.625),
                                       ("the same, a few metres back (56, 27 px)", 0.3125))}
    print("640x480 frames; a face counts by the size of YuNet's box")
    for name, result in results.items():
        print_reach(f"{name} ({len(scene_sets[name])} scenes)", result)
    for name, (faces, rate) in cameras.items():
        print(f"camera: {name}: {faces} faces shown, {rate:.1f} frames/s")
    from_40 = [results["photos"]["counts"][size] for size in SIZES if size >= 40]
    share = sum(both for _, _, both in from_40) / sum(total for total, _, _ in from_40)
    targets = {f"≥ 95 % of YuNet's faces from 40 px up in the photos ({share:.1%})": share >= 0.95,
               "both camera scenes show two faces": all(faces == 2 for faces, _ in cameras.values())}
    for target, met in targets.items():
        print(f"{'met' if met else 'MISSED'}: {target}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
