"""The detector's output *before* the portal's clean-up, for the "people one by one"
exercise: float boxes of every COCO class, scores below the threshold, boxes partly
outside the photo and duplicates, so that every classic loop and indexing bug can
happen on the student's own run (pure: never Django).

The portal does not keep the detector's raw output: a run stores only its person
boxes (integers, clipped, NMS-ed, kept down to the floor score). ``raw_detections``
therefore *derives* raw-like output from those stored boxes, deterministically
(seeded by the run's id, so a reload gives the same data), by documented
perturbations that the lesson's clean-up undoes exactly:

1. every stored person becomes a float box: each side moves by less than half a
   pixel (``round`` gives the stored box back), and a side on the photo's edge is
   pushed 1–9 px past it (``clip`` gives the edge back);
2. for every person at or above the threshold, one duplicate a few pixels off,
   scored below the threshold (what NMS would remove; here the score filter does);
3. one low-scoring "person" partly outside the photo (dropped by the score filter);
4. two confident objects of other classes (a handbag and a chair, COCO-80 ids 26
   and 56), dropped only by the label filter;
5. everything in descending score order, as detectors give it (not left to right).

So ``expected_people`` — keep ``label == "person"`` and ``score >= threshold``, clip
to the photo, round, sort left to right — is exactly the demo's people.
Coordinates: ``(x1, y1, x2, y2)`` in pixels of the upright photo, x right, y down.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# COCO-80 as YOLO models number it: person is 0 (torchvision's 91-id table has 1).
COCO80 = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck",
    "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup",
    "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip
PERSON = COCO80.index("person")
HANDBAG = COCO80.index("handbag")
CHAIR = COCO80.index("chair")
MAX_JITTER = 0.45  # px: less than half a pixel, so round() undoes it

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class StoredPerson:
    """One stored detection: integer box inside the photo, score in [0, 1]."""

    box: Box
    score: float


@dataclass(frozen=True)
class RawDetection:
    box: tuple[float, float, float, float]
    label_id: int
    score: float

    @property
    def label(self) -> str:
        return COCO80[self.label_id]

    def as_dict(self) -> dict[str, object]:
        return {
            "box": [round(v, 2) for v in self.box],
            "label": self.label,
            "label_id": self.label_id,
            "score": round(self.score, 4),
        }


def _clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _float_box(
    box: Box, width: int, height: int, rng: random.Random
) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    sides = []
    for value, low_edge, high_edge in (
        (x1, x1 <= 0, False),
        (y1, y1 <= 0, False),
        (x2, False, x2 >= width),
        (y2, False, y2 >= height),
    ):
        if low_edge:
            sides.append(-rng.uniform(1, 9))
        elif high_edge:
            sides.append(value + rng.uniform(1, 9))
        else:
            # Two decimals (how the endpoint prints it) must still round back.
            sides.append(round(value + rng.uniform(-MAX_JITTER, MAX_JITTER), 2))
    return (sides[0], sides[1], sides[2], sides[3])


def raw_detections(
    people: list[StoredPerson],
    *,
    width: int,
    height: int,
    threshold: float,
    seed: str,
) -> list[RawDetection]:
    """Raw-like detections derived from a run's stored ``people`` (see the module
    docstring for the perturbations), highest score first."""
    rng = random.Random(seed)
    found: list[RawDetection] = []
    for person in people:
        found.append(
            RawDetection(
                _float_box(person.box, width, height, rng), PERSON, person.score
            )
        )
        if person.score >= threshold:
            x1, y1, x2, y2 = person.box
            dx, dy = rng.uniform(2, 6), rng.uniform(2, 6)
            found.append(
                RawDetection(
                    (x1 + dx, y1 + dy, x2 + dx, y2 - dy),
                    PERSON,
                    _clamp01(threshold - rng.uniform(0.05, 0.2)),
                )
            )
    # A faint "person" hanging off the right edge.
    w, h = max(width // 6, 4), max(height // 4, 4)
    found.append(
        RawDetection(
            (
                width - w / 2 + 0.3,
                height / 3 + 0.7,
                width + w / 2 + 0.3,
                height / 3 + h,
            ),
            PERSON,
            _clamp01(threshold / 3),
        )
    )
    # Confident objects that are not people: only the label filter drops them.
    anchor = max(people, key=lambda p: p.score).box if people else (0, 0, width, height)
    ax1, ay1, ax2, ay2 = anchor
    bag_w, bag_h = max((ax2 - ax1) / 3, 2.0), max((ay2 - ay1) / 5, 2.0)
    found.append(
        RawDetection(
            (
                ax1 + 0.4,
                (ay1 + ay2) / 2 + 0.6,
                ax1 + bag_w + 0.4,
                (ay1 + ay2) / 2 + bag_h,
            ),
            HANDBAG,
            0.81,
        )
    )
    found.append(
        RawDetection(
            (
                width * 0.05 + 0.25,
                height * 0.6 + 0.5,
                width * 0.3,
                height * 0.95 + 0.25,
            ),
            CHAIR,
            0.77,
        )
    )
    return sorted(found, key=lambda d: (-d.score, d.box))


def expected_people(
    raw: list[RawDetection], *, width: int, height: int, threshold: float
) -> list[Box]:
    """The lesson's clean-up of ``raw``: people at or above ``threshold``, clipped to
    the photo, rounded to whole pixels, left to right (then top to bottom)."""
    boxes = []
    for d in raw:
        if d.label_id != PERSON or d.score < threshold:
            continue
        x1, y1, x2, y2 = (round(v, 2) for v in d.box)
        x1, x2 = (round(min(max(v, 0), width)) for v in (x1, x2))
        y1, y2 = (round(min(max(v, 0), height)) for v in (y1, y2))
        boxes.append((x1, y1, x2, y2))
    return sorted(boxes)
