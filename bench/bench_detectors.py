"""Person detector speed on the shared sample photos (a measurement, not a test).

For each detector available here — ``opencv-hog``, ``yolox-nano``, ``fastestdet`` and
torchvision detectors with *randomly initialised* weights made locally (their speed
does not depend on the weights; their boxes are meaningless) — prints the model load
time and the median latency per photo over ``shared/samples/{people,nobody}``.

    .venv/bin/python bench/bench_detectors.py [--repeats 3] [--threads 1] [--heavy]
        [--weights-dir ../shared/weights] [--samples-dir ../shared/samples]

Model load is timed separately (first call excluded from the medians). Uses the
pure modules only: no Django, no database.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

import numpy as np  # noqa: E402

from demos.common.imaging import ImageLimits, decode_image  # noqa: E402
from demos.ml.detection.boxes import PersonDetector  # noqa: E402
from demos.ml.detection.decoders import (  # noqa: E402
    OnnxFastestDetDetector,
    OnnxPicoDetDetector,
    OnnxYoloxDetector,
)
from demos.ml.detection.fusion import FusedPersonDetector  # noqa: E402
from demos.ml.detection.hog import HogPersonDetector  # noqa: E402
from demos.ml.detection.torch_detector import TorchvisionPersonDetector  # noqa: E402

SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
LIMITS = ImageLimits(15 * 1024 * 1024, 40_000_000, 10_000, 16)
FLOOR = 0.05
LIGHT_TORCHVISION = (
    "ssdlite320_mobilenet_v3_large",
    "fasterrcnn_mobilenet_v3_large_fpn",
)
HEAVY_TORCHVISION = ("fasterrcnn_resnet50_fpn_v2",)


def load_photos(samples_dir: Path) -> dict[str, np.ndarray]:
    paths = sorted((samples_dir / "people").iterdir()) + sorted(
        (samples_dir / "nobody").iterdir()
    )
    return {p.name: decode_image(p.read_bytes(), LIMITS).rgb for p in paths}


def make_random_torchvision_file(name: str, folder: Path) -> Path:
    """Save a randomly initialised COCO-shaped detector's state dict (.pth)."""
    import torch
    import torchvision.models.detection as detection

    torch.manual_seed(0)
    model = getattr(detection, name)(
        weights=None, weights_backbone=None, num_classes=91
    )
    path = folder / f"{name}_random.pth"
    torch.save(model.state_dict(), path)
    return path


def torchvision_loader(
    name: str, path: Path, threads: int
) -> Callable[[], PersonDetector]:
    def load() -> PersonDetector:
        # The same steps as models_store.loading for a torchvision spec.
        import torch
        import torchvision.models.detection as detection

        torch.set_num_threads(threads)
        model = getattr(detection, name)(
            weights=None, weights_backbone=None, num_classes=91
        )
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return TorchvisionPersonDetector(model.eval(), f"{name} (random)")

    return load


def bench(
    load: Callable[[], PersonDetector], photos: dict[str, np.ndarray], repeats: int
) -> tuple[float, list[float], int]:
    start = time.perf_counter()
    detector = load()
    load_ms = (time.perf_counter() - start) * 1000
    detector.detect(next(iter(photos.values())), FLOOR)  # warm-up: lazy allocations
    per_photo: list[float] = []
    boxes = 0
    for rgb in photos.values():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            found = detector.detect(rgb, FLOOR)
            times.append((time.perf_counter() - start) * 1000)
        per_photo.append(statistics.median(times))
        boxes += len(found)
    return load_ms, per_photo, boxes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--heavy", action="store_true", help="add Faster R-CNN R50")
    parser.add_argument("--weights-dir", type=Path, default=SHARED_DIR / "weights")
    parser.add_argument("--samples-dir", type=Path, default=SHARED_DIR / "samples")
    parser.add_argument("--detectors", default="", help="Comma-separated keys.")
    args = parser.parse_args()

    import cv2
    import onnxruntime
    import torch

    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    photos = load_photos(args.samples_dir)
    sizes = [rgb.shape[0] * rgb.shape[1] / 1e6 for rgb in photos.values()]
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; python {platform.python_version()}, "
        f"onnxruntime {onnxruntime.__version__}, torch {torch.__version__}, "
        f"opencv {cv2.__version__}; threads={args.threads}"
    )
    print(
        f"{len(photos)} photos, {min(sizes):.2f}-{max(sizes):.2f} Mpx "
        f"(median {statistics.median(sizes):.2f}); median of {args.repeats} runs each"
    )

    weights = args.weights_dir
    loaders: dict[str, Callable[[], PersonDetector]] = {
        "opencv-hog": HogPersonDetector,
        "yolox-nano": lambda: OnnxYoloxDetector(
            weights / "yolox-nano" / "yolox_nano.onnx", threads=args.threads
        ),
        "fastestdet": lambda: OnnxFastestDetDetector(
            weights / "fastestdet" / "FastestDet.onnx", threads=args.threads
        ),
    }
    picodet = weights / "picodet-s" / "picodet_s_416_coco.onnx"

    def fused() -> PersonDetector:
        parts = [
            OnnxYoloxDetector(weights / "yolox-nano" / "yolox_nano.onnx"),
            OnnxPicoDetDetector(picodet, threads=args.threads),
        ]
        return FusedPersonDetector(parts, "yolox-picodet-wbf")

    def counter() -> PersonDetector:
        from demos.ml.detection.counting import TiledPersonDetector
        from demos.ml.detection.resize import picodet_session

        session = picodet_session(picodet, 640, args.threads)
        whole = OnnxPicoDetDetector(key="picodet", input_size=640, session=session)
        return TiledPersonDetector(whole, "picodet-s-counter", input_size=640)

    loaders["yolox-picodet-wbf"] = fused
    loaders["picodet-s-counter"] = counter
    made = Path(tempfile.mkdtemp(prefix="bench-weights-"))
    names = LIGHT_TORCHVISION + (HEAVY_TORCHVISION if args.heavy else ())
    wanted = [k for k in args.detectors.split(",") if k]
    if wanted:
        loaders = {k: v for k, v in loaders.items() if k in wanted}
        names = ()
    for name in names:
        path = make_random_torchvision_file(name, made)
        loaders[f"{name} (random weights)"] = torchvision_loader(
            name, path, args.threads
        )

    print(
        f"\n| detector | load (ms) | median / photo (ms) | p90 (ms) | boxes ≥ {FLOOR} |"
    )
    print("|---|---:|---:|---:|---:|")
    for key, load in loaders.items():
        load_ms, per_photo, boxes = bench(load, photos, args.repeats)
        p90 = float(np.percentile(per_photo, 90))
        print(
            f"| {key} | {load_ms:.0f} | {statistics.median(per_photo):.1f} "
            f"| {p90:.1f} | {boxes} |",
            flush=True,
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (all detectors loaded): {peak_mb:.0f} MB")
    for file in made.iterdir():
        file.unlink()
    made.rmdir()


if __name__ == "__main__":
    main()
