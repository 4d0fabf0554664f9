"""What a stored run gives back, derived from its photo when asked for: each
person's crop, the annotated JPEG and the crops ZIP (streamed); and the crops of a
photo detected outside the database, written to a folder (``manage.py detect_people``).

A run never changes, so these are never stored: they are cut and drawn from the
stored photo (``runs/<owner id>/<public id>/image.jpg``), of which the last few are
kept decoded per process (a result page asks for every crop at once). The views
that serve them (``demos/people/files.py``) check ownership first.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demos.common import media
from demos.common.imaging import (
    DecodedImage,
    crop_box,
    decode_image,
    draw_boxes,
    encode_jpeg,
)
from demos.common.limits import image_limits
from demos.ml.detection.boxes import PersonBox
from demos.models import DemoRun, Detection
from demos.people.selectors import persons_above, run_file

CROP_QUALITY = 95


@dataclass
class PhotoPeople:
    """People found in one photo, outside the database (the CLI's result)."""

    image: DecodedImage
    detector_key: str
    score_threshold: float
    persons: list[PersonBox]
    elapsed_ms: float


def annotate(
    image_rgb: np.ndarray, detections: Iterable[Detection | PersonBox]
) -> bytes:
    """JPEG of the photo with the boxes outlined, labelled "1: 0.87", "4: 0.64", ...

    A stored detection is labelled and coloured by its rank (the number the page
    shows) and dashed when unsure; plain boxes are numbered in order.
    """
    shown = list(detections)
    boxes = [(d.x1, d.y1, d.x2, d.y2) for d in shown]
    numbers = [getattr(d, "rank", index) for index, d in enumerate(shown, start=1)]
    labels = [f"{n}: {d.score:.2f}" for n, d in zip(numbers, shown, strict=True)]
    dashed = [bool(getattr(d, "is_unsure", False)) for d in shown]
    colours = [n - 1 for n in numbers]
    return encode_jpeg(draw_boxes(image_rgb, boxes, labels, dashed, colours))


# The last few stored photos, decoded: a result page asks for every crop at once.
_PHOTO_CACHE_SIZE = 4
_photos: OrderedDict[str, np.ndarray] = OrderedDict()
_photos_lock = threading.Lock()


def stored_photo(run: DemoRun) -> np.ndarray:
    """The run's stored photo as a read-only RGB array, decoded once per process.

    A run's photo never changes, so a few recent ones are kept decoded (the crop
    gallery asks for a dozen crops of the same photo in a burst). Raises
    ``OSError`` when the file is gone.
    """
    name = run_file(run, run.image_path)
    with _photos_lock:
        if name in _photos:
            _photos.move_to_end(name)
            return _photos[name]
    rgb = decode_image(media.read_bytes(name), image_limits()).rgb
    rgb.setflags(write=False)
    with _photos_lock:
        _photos[name] = rgb
        while len(_photos) > _PHOTO_CACHE_SIZE:
            _photos.popitem(last=False)
    return rgb


def forget_stored_photo(run: DemoRun) -> None:
    with _photos_lock:
        _photos.pop(run_file(run, run.image_path), None)


def crop_jpeg(run: DemoRun, detection: Detection) -> bytes:
    """One person's crop, cut from the stored photo: exactly the box's pixels."""
    return encode_jpeg(crop_box(stored_photo(run), detection.box), CROP_QUALITY)


def render_annotated(run: DemoRun, threshold: float) -> bytes:
    """The annotated JPEG at ``threshold``, drawn now from the stored photo."""
    return annotate(stored_photo(run), persons_above(run, threshold))


class _ZipChunks:
    """A write-only file for ``zipfile``: collects bytes until they are taken.

    It has no ``seek``/``tell``, so ``zipfile`` writes each member's sizes after
    its data (a data descriptor) and never goes back: the archive can be sent
    while it is being written.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        chunk, self._parts = b"".join(self._parts), []
        return chunk


def crops_zip_chunks(run: DemoRun, threshold: float | None = None) -> Iterator[bytes]:
    """The crops ZIP as a stream of chunks, one per crop, then the manifests.

    The stored photo is decoded before the first chunk (a missing photo raises
    ``OSError`` here, not halfway through a response); each crop is cut from it.
    """
    limit = run.score_threshold if threshold is None else threshold
    photo = stored_photo(run)
    return _zip_chunks(run, photo, persons_above(run, limit), limit)


def build_crops_zip(run: DemoRun, threshold: float | None = None) -> bytes:
    """ZIP of the crops shown at ``threshold`` plus manifest.json and manifest.csv.

    Crops keep the number the page shows, whatever the threshold (``person_01.jpg``
    is the leftmost stored box; the ZIP at a high threshold may skip numbers); the
    manifests list index, box ``[x1, y1, x2, y2]`` in original pixels, score
    and file name.
    """
    return b"".join(crops_zip_chunks(run, threshold))


def _zip_chunks(
    run: DemoRun, photo: np.ndarray, persons: list[Detection], limit: float
) -> Iterator[bytes]:
    rows = []
    sink = _ZipChunks()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        for detection in persons:
            name = detection.crop_name
            crop = encode_jpeg(crop_box(photo, detection.box), CROP_QUALITY)
            archive.writestr(name, crop)
            yield sink.take()
            rows.append(
                {
                    "index": detection.rank,
                    "box": detection.box,
                    "score": detection.score,
                    "file": name,
                }
            )
        manifest = {
            "run": str(run.public_id),
            "detector": run.detector,
            "score_threshold": limit,
            "image": {"width": run.image_width, "height": run.image_height},
            "count": len(rows),
            "persons": rows,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["index", "x1", "y1", "x2", "y2", "score", "file"])
        for row in rows:
            writer.writerow([row["index"], *row["box"], row["score"], row["file"]])
        archive.writestr("manifest.csv", text.getvalue())
    yield sink.take()  # the central directory, written when the archive closes


def write_crops(result: PhotoPeople, out_dir: Path) -> list[Path]:
    """Write ``person_01.jpg``, ... (left to right) into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, box in enumerate(result.persons, start=1):
        path = out_dir / f"person_{index:02d}.jpg"
        crop = crop_box(result.image.rgb, (box.x1, box.y1, box.x2, box.y2))
        path.write_bytes(encode_jpeg(crop, CROP_QUALITY))
        paths.append(path)
    return paths
