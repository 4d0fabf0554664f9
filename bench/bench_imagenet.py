"""EfficientNet-Lite0 and transfer learning: forward pass, memory, a real run.

Prints, on one inference thread: model build time, median forward pass of one
224x224 photo with torch and with ONNX Runtime (the same weights exported once),
the resident memory (RSS) of this process after loading the model, and one
transfer-learning run on the two-class ZIP the tests build from the shared samples
(people crops vs photos and regions without people, validation photos held out).

    .venv/bin/python bench/bench_imagenet.py [--repeats 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_ms(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    before = rss_mb()
    import torch

    torch.set_num_threads(args.threads)
    from PIL import Image

    from demos.ml import imagenet, transfer
    from models_store.sessions import build_onnx_session
    from tests.demos.ml.zips import SAMPLES_DIR, people_vs_nobody_zip

    after_import = rss_mb()
    start = time.perf_counter()
    model = imagenet.build_model()
    build_ms = (time.perf_counter() - start) * 1000
    tensor = imagenet.preprocess(Image.open(SAMPLES_DIR / "nobody/chelsea.png"))
    with torch.inference_mode():
        torch_ms = median_ms(lambda: model(tensor), args.repeats)
    loaded = rss_mb()
    cam_ms = median_ms(lambda: imagenet.grad_cam(model, tensor, 285), args.repeats)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lite0.onnx"
        torch.onnx.export(model, tensor, str(path), input_names=["input"], dynamo=False)
        session = build_onnx_session(path, args.threads)
        feed = {"input": tensor.numpy()}
        onnx_ms = median_ms(lambda: session.run(None, feed), args.repeats)

    print(f"python + torch imported: RSS {after_import:.0f} MB (start {before:.0f} MB)")
    print(f"EfficientNet-Lite0 build (verify SHA-256, load): {build_ms:.0f} ms")
    print(f"RSS after loading and running the model: {loaded:.0f} MB")
    print(f"forward pass, torch, {args.threads} thread(s): {torch_ms:.1f} ms (median)")
    print(f"forward pass, ONNX Runtime, {args.threads} thread(s): {onnx_ms:.1f} ms")
    print(f"Grad-CAM (features + head with autograd): {cam_ms:.1f} ms")

    folder_data = transfer.read_image_folder_zip(io.BytesIO(people_vs_nobody_zip()))
    start = time.perf_counter()
    result = transfer.train(folder_data, transfer.TransferSettings(epochs=10))
    seconds = time.perf_counter() - start
    print(
        f"transfer run (EfficientNet-Lite0, head only, 10 epochs, "
        f"{len(folder_data.train)} train / {len(folder_data.val)} val images): "
        f"{seconds:.1f} s, val accuracy {result.val_accuracy:.3f}, "
        f"first epoch {result.epochs[0].seconds:.1f} s, RSS {rss_mb():.0f} MB"
    )
    print("notes' recipe:", transfer.notes_recipe_fraction())


if __name__ == "__main__":
    main()
