"""ImageFolder ZIPs built from the shared sample photos, for the transfer tests.

``people_vs_nobody_zip``: class ``people`` = the annotated person boxes cut out of
the real people photos; class ``nobody`` = the photos without people and crops of
the people photos that touch no person box. Validation photos are held out whole
(``train/`` and ``val/`` folders): no crop of a validation photo is trained on.
The composites are left out (they repeat other photos' people).
"""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from pathlib import Path

from PIL import Image

from demos.ml.image_folder import augment_image

# As tests/conftest.py finds them (without importing it: scripts use this module too).
_REPO = Path(__file__).resolve().parents[3]
SAMPLES_DIR = (
    Path(os.environ.get("PORTAL_SHARED_DIR", _REPO.parent / "shared")) / "samples"
)

VAL_PHOTOS = {
    "people/apollo11_crew.jpg",
    "people/cyclists.jpg",
    "nobody/coffee.png",
    "nobody/rocket.jpg",
}


def _background_crops(
    image: Image.Image, boxes: list[list[int]], rng: random.Random, count: int
) -> list[Image.Image]:
    width, height = image.size
    crops: list[Image.Image] = [] if boxes else [image]
    for _ in range(400):
        if len(crops) >= count:
            break
        w, h = (
            rng.randint(width // 4, width // 2),
            rng.randint(height // 4, height // 2),
        )
        left, top = rng.randint(0, width - w), rng.randint(0, height - h)
        if any(
            left < b[2] and b[0] < left + w and top < b[3] and b[1] < top + h
            for b in boxes
        ):
            continue
        crops.append(image.crop((left, top, left + w, top + h)))
    return crops


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def people_vs_nobody_zip(views: int = 4, seed: int = 0) -> bytes:
    """``views`` augmented copies of each training person crop, one of each
    background crop: about as many ``people`` as ``nobody`` training images."""
    rng = random.Random(seed)
    annotations = json.loads((SAMPLES_DIR / "annotations.json").read_text())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, facts in sorted(annotations.items()):
            if "composite" in name:
                continue
            image = Image.open(SAMPLES_DIR / name).convert("RGB")
            split = "val" if name in VAL_PHOTOS else "train"
            stem = name.split("/")[1].rsplit(".", 1)[0]
            groups = {
                "people": [image.crop(tuple(box)) for box in facts["boxes"]],
                "nobody": _background_crops(image, facts["boxes"], rng, 4),
            }
            for label, crops in groups.items():
                for i, crop in enumerate(crops):
                    crop.thumbnail((256, 256))
                    copies = views if split == "train" and label == "people" else 1
                    for v in range(copies):
                        picture = augment_image(crop, rng) if v else crop
                        archive.writestr(
                            f"dataset/{split}/{label}/{stem}-{i}-{v}.jpg", jpeg(picture)
                        )
    return buffer.getvalue()
