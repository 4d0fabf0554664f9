"""Which widget imports what on its request path, and what it costs in memory (a
measurement, not a test).

One process, Django's test client, a throw-away test database, the repository's
model store: the URLconf is imported, then every widget's API endpoint is called
in turn the way its script calls it (the table below, from
``tests/demos/widgets/test_registry.py`` plus the feature-map, linked-view, digit
and transfer-run calls), and after each call the script prints the status, the
time (slowed by the profiler), the process's RSS, which heavy libraries are now
imported (torch, torchvision, matplotlib, onnxruntime, sklearn, scipy) and whose
code the request ran (a profile hook sees every Python call into torch,
torchvision, sklearn or matplotlib, so a widget that uses torch is named even
after an earlier one imported it). The first call that imports
a library is the one that pays for it, so the order matters: cheap widgets first,
then the feature-map lesson, then the digits CNN's widgets and the LSTM (numpy
since issue 22), then the runs (which train in the runner process in production,
inline here: their lines count training too) and a prediction with the transfer
run just trained (on its ONNX export).

    PORTAL_CNN_ONNX=true .venv/bin/python bench/widget_inventory.py [--fill]

``--fill`` first runs what ``make run`` prepares (``export_onnx``,
``fill_catalogues``) in separate processes; without it the catalogues are computed
by the first request (with torch), as on a server nobody prepared.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
HEAVY = ("torch", "torchvision", "matplotlib", "onnxruntime", "sklearn", "scipy")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def drawn_seven() -> io.BytesIO:
    import cv2
    import numpy as np
    from PIL import Image

    pad = np.full((200, 200), 255, dtype=np.uint8)
    cv2.line(pad, (40, 40), (160, 40), 0, 18)
    cv2.line(pad, (160, 40), (80, 170), 0, 18)
    handle = io.BytesIO()
    Image.fromarray(pad).save(handle, format="PNG")
    handle.seek(0)
    handle.name = "seven.png"
    return handle


def two_class_zip() -> io.BytesIO:
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, name in (("cat", "chelsea.png"), ("plane", "plane.jpg")):
            image = Image.open(SHARED_DIR / "samples/nobody" / name).convert("RGB")
            width, height = image.size
            for i in range(8):
                crop = image.crop((i * width // 40, 0, width - i * width // 40, height))
                jpeg = io.BytesIO()
                crop.resize((128, 128)).save(jpeg, "JPEG")
                archive.writestr(f"{label}/{i}.jpg", jpeg.getvalue())
    buffer.seek(0)
    buffer.name = "cats-planes.zip"
    return buffer


def cat_photo() -> io.BytesIO:
    handle = io.BytesIO((SHARED_DIR / "samples/nobody/chelsea.png").read_bytes())
    handle.name = "chelsea.png"
    return handle


def calls() -> list[tuple[str, str, Any, object]]:
    """(widget, method, path, data) in the order they are measured; a callable
    path is made from the previous call's JSON."""
    maps = {"model": "efficientnet-lite0", "sample": "chelsea"}
    return [
        (
            "kernel_playground",
            "post",
            "/api/v1/playgrounds/kernel/",
            {"sample": "cat", "preset": "sobel-x"},
        ),
        ("kernel_playground", "get", "/api/v1/playgrounds/conv-steps/", {}),
        ("output_size", "get", "/api/v1/playgrounds/output-size/", {"n": 7, "k": 3}),
        ("pooling", "get", "/api/v1/playgrounds/pooling/", {}),
        ("iou_nms", "get", "/api/v1/playgrounds/nms/", {}),
        ("vision_tasks", "get", "/api/v1/playgrounds/vision-tasks/", {}),
        ("session_inspector", "get", "/api/v1/session/", {}),
        ("lstm_gates", "get", "/api/v1/cnn/lstm-gates/", {}),  # numpy, no torch
        ("augmentation", "get", "/api/v1/augmentations/samples/", {}),
        ("augmentation", "get", "/api/v1/augmentations/plan/", {"seed": 1, "count": 4}),
        ("augmentation", "get", "/api/v1/augmentations/", {"seed": "1", "count": "4"}),
        ("feature_maps", "get", "/api/v1/cnn-models/", {}),
        (
            "feature_maps",
            "post",
            "/api/v1/feature-maps/",
            {**maps, "layer": "features.3"},
        ),
        (
            "feature_maps",
            "post",
            "/api/v1/feature-maps/",
            {**maps, "layer": "features.8", "cam_class": 281},
        ),
        (
            "feature_maps",
            "post",
            "/api/v1/feature-maps/linked/",
            {**maps, "layer": "features.0", "channel": 3, "y": 10, "x": 10},
        ),
        (
            "feature_maps",
            "post",
            "/api/v1/feature-maps/",
            {"model": "yolox-nano", "sample": "cyclists", "layer": "dark3"},
        ),
        ("transfer_learning", "get", "/api/v1/transfer-learning/", {}),
        ("architectures", "get", "/api/v1/architectures/comparison/", {}),
        ("architectures", "get", "/api/v1/architectures/", {}),
        (
            "feature_maps",
            "post",
            "/api/v1/feature-maps/",
            {"sample": "astronaut", "model": "digits-cnn", "layer": "conv1"},
        ),
        ("draw_digit", "post", "/api/v1/digits/predict/", {"image": drawn_seven}),
        ("activations", "get", "/api/v1/cnn/activations/", {"channel": 1}),
        ("autoencoder_tsne", "get", "/api/v1/cnn/autoencoder/", {}),
        (
            "training_curves (trains)",
            "post",
            "/api/v1/training-runs/",
            {"subset": 20, "epochs": 1},
        ),
        (
            "transfer_runs (trains)",
            "post",
            "/api/v1/transfer-runs/",
            {"epochs": "1", "dataset": two_class_zip},
        ),
        # The run just trained (inline), on its ONNX export: "runs code of" says
        # whether a prediction touches torch.
        (
            "transfer_runs",
            "post",
            lambda previous: urlsplit(previous["url"]).path + "predict/",
            {"image": cat_photo},
        ),
    ]


def main() -> None:
    sys.path.insert(0, str(REPO_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    # Nothing cached from an earlier run: every call computes what it shows.
    scratch = Path(tempfile.mkdtemp(prefix="widget-inventory-"))
    os.environ["PORTAL_FEATURE_MAP_CACHE_DIR"] = str(scratch)
    if "--fill" in sys.argv:  # what make run prepares, in its own process
        for command in ("export_onnx", "fill_catalogues"):
            subprocess.run(
                [sys.executable, "manage.py", command],
                cwd=REPO_DIR,
                check=True,
                capture_output=True,
            )
    started = time.perf_counter()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, keepdb=False)
    from django.core.cache import cache
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (every view module, like gunicorn's master)
    print(
        f"Django + URLconf: {time.perf_counter() - started:.1f} s, "
        f"RSS {rss_mb():.0f} MB, imported: "
        f"{', '.join(m for m in HEAVY if m in sys.modules) or 'none'}"
    )
    user = get_user_model().objects.create_user("inventory", password="pw-inventory-1")
    client = Client()
    client.force_login(user)
    seen: set[str] = {m for m in HEAVY if m in sys.modules}
    previous: Any = None
    print(
        f"{'widget':26} {'call':48} {'status':>6} {'ms':>7} {'RSS MB':>7}  "
        f"{'newly imported':22} runs code of"
    )
    for widget, method, path, data in calls():
        cache.clear()  # throttles
        payload = {k: (v() if callable(v) else v) for k, v in dict(data).items()}  # type: ignore[call-overload]
        used: set[str] = set()

        def watch(frame, event, _arg, used=used) -> None:  # type: ignore[no-untyped-def]
            if event == "call":
                name = frame.f_code.co_filename
                for lib in ("torch", "torchvision", "sklearn", "matplotlib"):
                    if f"site-packages/{lib}/" in name:
                        used.add(lib)

        t0 = time.perf_counter()
        sys.setprofile(watch)
        threading.setprofile(watch)
        try:
            if callable(path):
                path = path(previous)
            response = getattr(client, method)(path, payload)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        ms = (time.perf_counter() - t0) * 1000
        now = {m for m in HEAVY if m in sys.modules}
        new = ", ".join(sorted(now - seen)) or "-"
        seen = now
        previous = (
            response.json() if "json" in response.get("Content-Type", "") else None
        )
        label = f"{method.upper()} {path}"
        runs = ", ".join(sorted(used)) or "-"
        print(
            f"{widget:26} {label:48} {response.status_code:>6} {ms:>7.0f} "
            f"{rss_mb():>7.0f}  {new:22} {runs}"
        )
    connection.creation.destroy_test_db(":memory:", verbosity=0)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
