"""The "how it works" panel: a few real lines of code per detector family.

Pure module, never ``django``: plain strings (the fusion panel is the source of
``fusion.fuse_person_boxes`` itself), looked up by ONNX decoder or family.
"""

from __future__ import annotations

import inspect

from demos.ml.detection.fusion import fuse_person_boxes

# The few real lines shown in the "how it works" panel, per detector family (ONNX
# detectors by decoder; "onnx" is YOLOX). The fusion panel is fusion.py's own code.
HOW_IT_WORKS: dict[str, str] = {
    "opencv": """\
import cv2

hog = cv2.HOGDescriptor()  # 64x128 window, 9-bin gradient histograms
hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
# slide the window over an image pyramid; each hit has an SVM margin
rects, margins = hog.detectMultiScale(
    image, hitThreshold=-0.68, winStride=(8, 8), scale=1.05, groupThreshold=0
)
scores = 1 / (1 + np.exp(-3 * (margins - 0.3)))  # margin -> 0..1
keep = nms(rects, scores, iou=0.3)  # drop overlapping windows
""",
    "onnx": """\
import onnxruntime as ort

session = ort.InferenceSession("yolox_nano.onnx")
r = min(416 / h, 416 / w)  # letterbox: fit, paste top-left on grey
canvas = np.full((416, 416, 3), 114, np.uint8)
canvas[: int(h * r), : int(w * r)] = cv2.resize(image, (int(w * r), int(h * r)))
x = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)  # BGR, NCHW
(out,) = session.run(None, {"images": x})  # (1, 3549, 85): 52^2 + 26^2 + 13^2 cells
centres = (out[0, :, :2] + grid) * stride  # stride 8, 16 or 32 per cell
sizes = np.exp(out[0, :, 2:4]) * stride
scores = out[0, :, 4] * out[0, :, 5]  # objectness x P(person)
keep = nms(boxes / r, scores, iou=0.45)  # back to original pixels
""",
    "torchvision": """\
import torch
from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2

model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None)
model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
model.eval()
x = torch.from_numpy(image).permute(2, 0, 1).float() / 255  # (3, H, W) in 0..1
with torch.inference_mode():
    (out,) = model([x])  # resizes, normalises and runs NMS inside
people = out["labels"] == 1  # COCO label 1 = person
boxes, scores = out["boxes"][people], out["scores"][people]
""",
}
HOW_IT_WORKS["picodet"] = """\
import onnxruntime as ort

session = ort.InferenceSession("picodet_s_416_coco.onnx")
x = cv2.resize(image, (416, 416)).astype(np.float32)  # RGB, stretched
x = (x - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]  # ImageNet mean/std
outputs = session.run(None, {"image": x.transpose(2, 0, 1)[None]})
for stride, cls, dist in zip((8, 16, 32, 64), outputs[:4], outputs[4:]):
    # cls: (1, cells, 80) P(class); dist: (1, cells, 4 sides x 8 bins)
    p = softmax(dist.reshape(-1, 4, 8), axis=-1)  # where is each side?
    left, top, right, bottom = (p * np.arange(8)).sum(-1).T * stride
    boxes = [cx - left, cy - top, cx + right, cy + bottom]  # cx = (col + .5) * stride
    scores = cls[0, :, 0]  # COCO class 0 = person
keep = nms(boxes * (w / 416, h / 416), scores, iou=0.45)
"""
HOW_IT_WORKS["fusion"] = inspect.getsource(fuse_person_boxes)


def how_it_works(family: str, decoder: str | None = None) -> str:
    """The panel's code for a detector: by ONNX decoder if there is one, else family."""
    return HOW_IT_WORKS.get(decoder or "", "") or HOW_IT_WORKS.get(family, "")
