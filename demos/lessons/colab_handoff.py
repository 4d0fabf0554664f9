"""The exercise's hand-off to Colab: the same loop on a real detector's output, in
the two conventions students meet (pure: never Django).

- YOLOv5 via ``torch.hub``: ``results.xyxy[0]`` is a tensor with one row per box,
  columns ``x1, y1, x2, y2, conf, cls``; ``cls`` is COCO-80, where person is 0.
- torchvision's detectors (Faster R-CNN): one dict per image with ``boxes``
  (``x1, y1, x2, y2``), ``labels`` and ``scores``; the labels are COCO's 91-id
  table, where 0 is the background and person is 1.

Each block is ``SETUP`` (load the model, detect; needs Colab) followed by ``LOOP``
(the exercise's loop, written for that output); the page shows them as one block
and the tests compile both and run each ``LOOP`` on a fake output.
"""

from __future__ import annotations

from dataclasses import dataclass

YOLO_SETUP = """\
import numpy as np
import torch
from PIL import Image

model = torch.hub.load("ultralytics/yolov5", "yolov5s")  # downloads once
photo = Image.open("photo.jpg").convert("RGB")  # upload your photo first
img = np.array(photo)  # (height, width, 3)
results = model(photo)
"""

YOLO_LOOP = """\
PERSON = 0  # YOLOv5 numbers COCO-80: class 0 is person
threshold = 0.5
height, width = img.shape[:2]
people = []
# results.xyxy[0]: one row per box, columns x1, y1, x2, y2, conf, cls
for x1, y1, x2, y2, score, label in results.xyxy[0].tolist():
    if int(label) != PERSON or score < threshold:
        continue
    x1, x2 = (min(max(round(v), 0), width) for v in (x1, x2))
    y1, y2 = (min(max(round(v), 0), height) for v in (y1, y2))
    people.append((x1, y1, x2, y2, score))

people.sort()  # left to right
for number, (x1, y1, x2, y2, score) in enumerate(people, start=1):
    crop = img[y1:y2, x1:x2]  # rows (y) first, then columns (x)
    Image.fromarray(crop).save(f"person_{number}.jpg")
    print(f"person {number}: ({x1}, {y1}, {x2}, {y2}) score {score:.2f}", crop.shape)
"""

TORCHVISION_SETUP = """\
import numpy as np
import torch
from PIL import Image
from torchvision.models.detection import (
    FasterRCNN_ResNet50_FPN_V2_Weights,
    fasterrcnn_resnet50_fpn_v2,
)
from torchvision.transforms.functional import to_tensor

weights = FasterRCNN_ResNet50_FPN_V2_Weights.DEFAULT
model = fasterrcnn_resnet50_fpn_v2(weights=weights).eval()
photo = Image.open("photo.jpg").convert("RGB")  # upload your photo first
img = np.array(photo)  # (height, width, 3)
with torch.no_grad():
    output = model([to_tensor(photo)])[0]  # one dict per image
"""

TORCHVISION_LOOP = """\
PERSON = 1  # torchvision's COCO ids: 0 is the background, 1 is person
threshold = 0.5
height, width = img.shape[:2]
people = []
# output: "boxes" (x1, y1, x2, y2), "labels" and "scores", one entry per box
for box, label, score in zip(
    output["boxes"].tolist(), output["labels"].tolist(), output["scores"].tolist()
):
    if label != PERSON or score < threshold:
        continue
    x1, y1, x2, y2 = box
    x1, x2 = (min(max(round(v), 0), width) for v in (x1, x2))
    y1, y2 = (min(max(round(v), 0), height) for v in (y1, y2))
    people.append((x1, y1, x2, y2, score))

people.sort()  # left to right
for number, (x1, y1, x2, y2, score) in enumerate(people, start=1):
    crop = img[y1:y2, x1:x2]  # rows (y) first, then columns (x)
    Image.fromarray(crop).save(f"person_{number}.jpg")
    print(f"person {number}: ({x1}, {y1}, {x2}, {y2}) score {score:.2f}", crop.shape)
"""


@dataclass(frozen=True)
class Handoff:
    key: str
    setup: str
    loop: str

    @property
    def code(self) -> str:
        return f"{self.setup}\n{self.loop}"


HANDOFFS = (
    Handoff("yolov5", YOLO_SETUP, YOLO_LOOP),
    Handoff("torchvision", TORCHVISION_SETUP, TORCHVISION_LOOP),
)
