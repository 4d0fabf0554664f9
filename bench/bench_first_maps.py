"""First feature-map response after a server start, and a worker's memory after it
has served every widget (a measurement, not a test).

Starts gunicorn (1 worker, 4 threads, ``gunicorn.conf.py``, DEBUG off) on 127.0.0.1
with a throw-away SQLite database and var folder (so no feature map is cached), the
course loaded and the person detectors imported from ../shared/weights, twice:

1. ``PORTAL_WARM_CNN=false`` (before issue 22's warm-up): the first
   ``POST /api/v1/feature-maps/`` (sample ``cat``, EfficientNet-Lite0,
   ``features.3``) sent as soon as ``/healthz`` answers;
2. ``PORTAL_WARM_CNN=true`` (the default): the same first request as soon as the
   server answers (it waits for the warm-up thread, which is already loading), then,
   once ``/healthz`` says ``feature_map_cnn: warm``, the first request for another
   photo that is not cached either (``cyclists``).

Then the warm server serves every widget: Chromium (Playwright, the session of the
login form) opens every lesson page and waits until the network is idle, so every
widget makes its own API calls; then the API: a person detection, the feature maps
of every available model with Grad-CAM of a second class, the linked view, a drawn
digit, a training-curves run and a transfer-learning run with a prediction. Prints
the worker's RSS (VmRSS, its peak VmHWM, the anonymous and file-backed parts, and
PSS), and, for scale, the RSS of a bare ``python -c "import torch"``.

    .venv/bin/python bench/bench_first_maps.py [--torch] [--first-only]

``make run`` exports the lesson's CNN to ONNX (``manage.py export_onnx``) and
computes the architecture lessons' numbers once (``manage.py fill_catalogues``); so
does this script, unless ``--torch`` (everything in the worker, as before). The
worker's memory is read after the feature-map lesson alone and after every widget,
with whether torch's library is mapped in it. ``--first-only`` stops after the
first feature maps of each start (no widget tour).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
PYTHON = sys.executable
PORT = 8767
FIRST = {"sample": "cat", "model": "efficientnet-lite0", "layer": "features.3"}


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        f"{value}\r\n".encode()
        for key, value in fields.items()
    ]
    for key, (name, data) in files.items():
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; '
                f'filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def call(
    token: str,
    method: str,
    path: str,
    fields: dict[str, str] | None = None,
    files: dict[str, tuple[str, bytes]] | None = None,
) -> tuple[float, int, dict]:
    """(milliseconds, status, JSON) of one API call with the bench user's token."""
    headers = {"Authorization": f"Token {token}"}
    body = None
    if fields is not None or files:
        body, headers["Content-Type"] = multipart(fields or {}, files or {})
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    conn.close()
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    return elapsed, response.status, data


def health() -> dict | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
        conn.request("GET", "/healthz")
        return json.loads(conn.getresponse().read())
    except OSError:
        return None


def worker_pid(master: int) -> int:
    for _ in range(100):
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text()
        except FileNotFoundError:
            children = ""
        if children.split():
            return int(children.split()[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def torch_loaded(pid: int) -> bool:
    """Whether the process has torch's library mapped (it imported torch)."""
    return "libtorch_cpu" in Path(f"/proc/{pid}/maps").read_text()


def memory_mb(pid: int) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _colon, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            values[key] = int(rest.split()[0]) / 1024
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            values["Pss"] = int(line.split()[1]) / 1024
    return values


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    if health() is not None:
        raise RuntimeError(f"something already answers on port {PORT}")
    launched = time.perf_counter()
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=REPO_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while health() is None:
        time.sleep(0.05)
    return server, launched


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    server.wait(timeout=60)


def wait_warm(timeout: float = 120) -> dict:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        body = health() or {}
        if body.get("feature_map_cnn", {}).get("state") in ("warm", "failed"):
            return body["feature_map_cnn"]
        time.sleep(0.2)
    return {}


def two_class_zip() -> bytes:
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
    return buffer.getvalue()


def poll(token: str, url_path: str, timeout: float = 300) -> dict:
    deadline = time.perf_counter() + timeout
    data: dict = {}
    while time.perf_counter() < deadline:
        _ms, _status, data = call(token, "GET", url_path)
        if data.get("state") in ("done", "failed"):
            return data
        time.sleep(1)
    return data


def feature_map_lesson(token: str) -> list[str]:
    """What the feature-map lesson asks for: every layer, two classes' Grad-CAM,
    the linked view of the stem and of the head."""
    notes = []
    fields = {"sample": "astronaut", "model": "efficientnet-lite0"}
    for layer in ("features.0", "features.8"):
        ms, status, body = call(
            token, "POST", "/api/v1/feature-maps/", fields | {"layer": layer}
        )
        notes.append(f"maps {layer} {status} {ms:.0f} ms")
    second = str(body["top5"][1]["index"])
    ms, status, _d = call(
        token,
        "POST",
        "/api/v1/feature-maps/",
        fields | {"layer": "features.8", "cam_class": second},
    )
    notes.append(f"Grad-CAM of class 2 {status} {ms:.0f} ms")
    for layer, point in (
        ("features.0", ("3", "50", "60")),
        ("features.8", ("9", "3", "3")),
    ):
        linked = fields | {"layer": layer, "maps": body.get("maps_id", "")}
        linked |= dict(zip(("channel", "y", "x"), point, strict=True))
        linked.pop("maps")
        ms, status, _d = call(token, "POST", "/api/v1/feature-maps/linked/", linked)
        notes.append(f"linked {layer} {status} {ms:.0f} ms")
    return notes


def serve_every_widget(token: str, username: str, password: str, pid: int) -> list[str]:
    """Every lesson page in a browser, then the API calls pages make on clicks.
    The first step after which the worker has torch mapped is marked, so a widget
    that brings torch back into web workers is named."""
    from playwright.sync_api import sync_playwright

    class Notes(list):
        marked = torch_loaded(pid)

        def append(self, text: str) -> None:
            if not self.marked and torch_loaded(pid):
                self.marked = True
                text += " [torch mapped from here]"
            super().append(text)

    notes = Notes()
    _ms, _s, lessons = call(token, "GET", "/api/v1/lessons/")
    rows = lessons if isinstance(lessons, list) else lessons.get("results", [])
    slugs = [row["slug"] for row in rows]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        page = browser.new_page()
        page.set_default_timeout(120_000)
        base = f"http://127.0.0.1:{PORT}"
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("form.form button[type=submit]")
        page.wait_for_url(f"{base}/")
        for slug in slugs:
            page.goto(f"{base}/lessons/{slug}/")
            page.wait_for_load_state("networkidle")
            if not notes.marked and torch_loaded(pid):
                notes.append(f"lesson page {slug}")
        browser.close()
    notes.append(f"{len(slugs)} lesson pages")

    samples = SHARED_DIR / "samples"
    photo = (samples / "people/cyclists.jpg").read_bytes()
    _ms, status, _d = call(
        token, "POST", "/api/v1/detections/", {}, {"image": ("c.jpg", photo)}
    )
    notes.append(f"detection {status}")
    _ms, _s, models = call(token, "GET", "/api/v1/cnn-models/")
    for row in models:
        if row["available"] and row["dataset"] != "digits":
            fields = {"sample": "cyclists", "model": row["key"]}
            fields["layer"] = row["layers"][-1]["name"]
            _ms, status, body = call(token, "POST", "/api/v1/feature-maps/", fields)
            notes.append(f"maps {row['key']} {status}")
            if body.get("top5") and body["top5"][1].get("index") is not None:
                fields["cam_class"] = str(body["top5"][1]["index"])
                _ms, status, _d = call(token, "POST", "/api/v1/feature-maps/", fields)
                notes.append(f"grad-cam {status}")
            if row["key"] == "efficientnet-lite0":
                linked = {"maps_id": body["maps_id"], "layer": "features.0"}
                linked |= {"channel": "3", "y": "40", "x": "50"}
                _ms, status, _d = call(
                    token, "POST", "/api/v1/feature-maps/linked/", linked
                )
                notes.append(f"linked {status}")
    from PIL import Image, ImageDraw

    drawing = Image.new("L", (140, 140), 0)
    ImageDraw.Draw(drawing).line([(70, 20), (70, 120)], fill=255, width=14)
    buffer = io.BytesIO()
    drawing.save(buffer, "PNG")
    _ms, status, _d = call(
        token,
        "POST",
        "/api/v1/digits/predict/",
        {},
        {"image": ("d.png", buffer.getvalue())},
    )
    notes.append(f"digit {status}")
    _ms, status, run = call(
        token, "POST", "/api/v1/training-runs/", {"subset": "100", "epochs": "5"}
    )
    if run.get("url"):
        done = poll(token, run["url"].split(str(PORT), 1)[-1])
        notes.append(f"training run {done.get('state')}")
    _ms, status, run = call(
        token,
        "POST",
        "/api/v1/transfer-runs/",
        {"epochs": "3"},
        {"dataset": ("cats-planes.zip", two_class_zip())},
    )
    if run.get("url"):
        path = run["url"].split(str(PORT), 1)[-1]
        done = poll(token, path)
        notes.append(f"transfer run {done.get('state')} acc {done.get('val_accuracy')}")
        cat = (samples / "nobody/chelsea.png").read_bytes()
        _ms, status, _d = call(
            token, "POST", f"{path}predict/", {}, {"image": ("cat.png", cat)}
        )
        notes.append(f"predict {status}")
    return notes


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "PORTAL_VAR_DIR": str(var),
        "PORTAL_DEBUG": "false",
        "PORTAL_UPLOAD_THROTTLE": "100000/min",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_CONTROL_SOCKET": "off",
    }

    def manage(*argv: str) -> str:
        return subprocess.run(
            [PYTHON, "manage.py", *argv],
            cwd=REPO_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    manage("migrate", "--noinput")
    manage("createcachetable")
    manage("load_lessons")
    manage("collectstatic", "--noinput")  # DEBUG off: pages need the manifest
    manage("models", "import", str(SHARED_DIR / "weights"))
    if "--torch" not in sys.argv:  # as make run does (make cnn): the lesson's CNN
        manage("export_onnx")  # on ONNX, the architecture numbers on disk
        manage("fill_catalogues")
    password = secrets.token_urlsafe(12)
    token = manage(
        "shell",
        "-c",
        (
            "from accounts.services import create_user; "
            "from knox.models import AuthToken; "
            f"user = create_user(username='bench', password='{password}'); "
            "print(AuthToken.objects.create(user)[1])"
        ),
    ).split()[-1]
    # Only the maps: the catalogues beside them (cache/catalogues/) are what
    # fill_catalogues prepared, as make run leaves them.
    cache = var / "cache" / "maps"
    try:
        for warm in ("false", "true"):
            shutil.rmtree(cache, ignore_errors=True)
            server, launched = start_server(env | {"PORTAL_WARM_CNN": warm})
            try:
                up = time.perf_counter() - launched
                ms, status, body = call(token, "POST", "/api/v1/feature-maps/", FIRST)
                since = time.perf_counter() - launched
                print(
                    f"PORTAL_WARM_CNN={warm}: /healthz answers {up:.1f} s after "
                    f"launch; first feature maps (HTTP {status}, top-1 "
                    f"{(body.get('top5') or [{}])[0].get('label')}) "
                    f"{ms / 1000:.2f} s, "
                    f"{since:.1f} s after launch"
                )
                if warm == "false" or "--first-only" in sys.argv:
                    continue
                state = wait_warm()
                ms, status, _body = call(
                    token,
                    "POST",
                    "/api/v1/feature-maps/",
                    FIRST | {"sample": "cyclists"},
                )
                print(
                    f"  warm-up thread: {state}; the first request after it (another "
                    f"uncached photo): HTTP {status} {ms / 1000:.2f} s"
                )
                pid = worker_pid(server.pid)
                before = memory_mb(pid), torch_loaded(pid)
                lesson_only = feature_map_lesson(token)
                lesson = memory_mb(pid), torch_loaded(pid)
                print("  feature-map lesson: " + "; ".join(lesson_only))
                # Training and transfer runs train in the runner, as make run has it.
                runner = subprocess.Popen(
                    [PYTHON, "manage.py", "run_training_worker"],
                    cwd=REPO_DIR,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    notes = serve_every_widget(token, "bench", password, pid)
                finally:
                    stop(runner)
                after = memory_mb(pid), torch_loaded(pid)
                print("  served: " + "; ".join(notes))
                for label, (values, has_torch) in (
                    ("warm, idle", before),
                    ("the feature-map lesson", lesson),
                    ("every widget", after),
                ):
                    print(
                        f"  worker after {label} (torch imported: {has_torch}): "
                        + ", ".join(f"{k} {v:.0f} MB" for k, v in values.items())
                    )
            finally:
                stop(server)
    finally:
        shutil.rmtree(var, ignore_errors=True)
    bare = subprocess.run(
        [
            PYTHON,
            "-c",
            "import torch, resource; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"for scale: python -c 'import torch' peaks at {bare.stdout.strip()} MB RSS")


if __name__ == "__main__":
    main()
