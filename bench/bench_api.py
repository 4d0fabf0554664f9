"""Server overhead of the detection API (a measurement, not a test).

Starts gunicorn (1 worker, 1 thread) on 127.0.0.1 with a throw-away SQLite DB and
media folder, imports the detectors from ../shared/weights, then for each detector
POSTs every sample photo to /api/v1/detections/ (token auth) and compares the
end-to-end latency with the bare ``detect()`` call measured in this process on the
same photos. Prints medians, the overhead ratio (API / bare), where the API's time
goes (each stage of ``create_demo_run`` timed in this process on the same photos; the
rest is HTTP, multipart parsing, auth and the JSON), the first detection after the
server starts (the default detector warms in the background, ``/healthz`` says when)
and the server process's peak RSS (VmHWM).

    .venv/bin/python bench/bench_api.py [--repeats 3] [--detectors yolox-nano,...]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
PYTHON = sys.executable
PORT = 8765


def multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
        f'filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_photo(token: str, detector: str, path: Path) -> tuple[float, dict]:
    body, content_type = multipart({"detector": detector}, path.name, path.read_bytes())
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    start = time.perf_counter()
    conn.request(
        "POST",
        "/api/v1/detections/",
        body=body,
        headers={"Content-Type": content_type, "Authorization": f"Token {token}"},
    )
    response = conn.getresponse()
    payload = json.loads(response.read())
    elapsed = (time.perf_counter() - start) * 1000
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"{path.name}: HTTP {response.status} {payload}")
    return elapsed, payload


def bare_medians(detector_key: str, photos: list[Path], repeats: int) -> list[float]:
    """Median bare detect() time per photo, through the same per-process loader."""
    import django

    django.setup()
    from demos.common.imaging import decode_image
    from demos.ml.detection.detectors import get_detector
    from demos.people.services import image_limits

    detector = get_detector(detector_key)
    out = []
    for path in photos:
        rgb = decode_image(path.read_bytes(), image_limits()).rgb
        detector.detect(rgb, 0.05)  # warm-up
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            detector.detect(rgb, 0.05)
            runs.append((time.perf_counter() - start) * 1000)
        out.append(statistics.median(runs))
    return out


STAGES = ("decode", "detect", "photo JPEG", "thumbnail", "write+rows", "payload")


def stage_medians(detector_key: str, photos: list[Path], repeats: int) -> dict:
    """Median ms per stage of an upload, run in this process like the server does."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework.test import APIRequestFactory

    from demos.common.imaging import decode_image, encode_jpeg, make_thumbnail
    from demos.people import services
    from demos.people.payloads import run_payload
    from demos.people.services import image_limits

    owner = get_user_model().objects.get(username="bench")
    request = APIRequestFactory().get("/", HTTP_HOST="127.0.0.1")
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for path in photos:
        data = path.read_bytes()
        samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for _ in range(repeats):
            t0 = time.perf_counter()
            image = decode_image(data, image_limits())
            t1 = time.perf_counter()
            boxes, ms = services.detect_persons(image=image, detector_key=detector_key)
            t2 = time.perf_counter()
            encode_jpeg(image.rgb, quality=services.PHOTO_QUALITY)
            t3 = time.perf_counter()
            encode_jpeg(make_thumbnail(image.rgb, services.THUMBNAIL_SIDE), quality=85)
            t4 = time.perf_counter()
            with transaction.atomic():  # encodes both files again, writes them + rows
                run = services._store_run(
                    owner=owner,
                    image=image,
                    original_name=path.name,
                    detector_key=detector_key,
                    score_threshold=0.5,
                    boxes=boxes,
                    elapsed_ms=ms,
                )
            t5 = time.perf_counter()
            run_payload(request, run)
            t6 = time.perf_counter()
            laps = [t1 - t0, t2 - t1, t3 - t2, t4 - t3, (t5 - t4) - (t4 - t2), t6 - t5]
            for stage, seconds in zip(STAGES, laps, strict=True):
                samples[stage].append(seconds * 1000)
            services.delete_demo_run(run=run)
        for stage in STAGES:
            per_stage[stage].append(statistics.median(samples[stage]))
    return {stage: statistics.median(values) for stage, values in per_stage.items()}


def peak_rss_mb(pid: int) -> float:
    total = 0.0
    for proc in [pid, *child_pids(pid)]:
        try:
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]) / 1024)
        except FileNotFoundError:
            continue
    return total


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--detectors", default="opencv-hog,yolox-nano,fastestdet,yolox-picodet-wbf"
    )
    args = parser.parse_args()
    photos = sorted((SHARED_DIR / "samples/people").iterdir()) + sorted(
        (SHARED_DIR / "samples/nobody").iterdir()
    )
    var = Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "PORTAL_VAR_DIR": str(var),
        "PORTAL_DEBUG": "false",
        "PORTAL_TORCH_THREADS": "1",
        "PORTAL_UPLOAD_THROTTLE": "100000/min",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
    }
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "PORTAL_VAR_DIR")})
    sys.path.insert(0, str(REPO_DIR))

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
    manage("models", "import", str(SHARED_DIR / "weights"))
    password = secrets.token_urlsafe(12)
    # A knox token (hashed in the database; the key is printed once).
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
    try:
        started = time.perf_counter()
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
                conn.request("GET", "/healthz")
                health = json.loads(conn.getresponse().read())
                break
            except OSError:
                time.sleep(0.1)
        up = time.perf_counter() - started
        # The first student: right after the server answers, default detector.
        first_ms, first = post_photo(token, "", photos[0])
        print(
            f"server answering after {up:.1f} s; first detection "
            f"({first['detector']}) {first_ms:.0f} ms; /healthz default_detector "
            f"then: {health.get('default_detector')}"
        )
        print(f"{'detector':<14} {'API median':>11} {'bare median':>12} {'ratio':>6}")
        breakdowns = {}
        for key in args.detectors.split(","):
            post_photo(token, key, photos[0])  # loads the model in the server
            api = []
            for path in photos:
                api.append(
                    statistics.median(
                        post_photo(token, key, path)[0] for _ in range(args.repeats)
                    )
                )
            bare = bare_medians(key, photos, args.repeats)
            ratios = [a / b for a, b in zip(api, bare, strict=True)]
            api_ms, bare_ms = statistics.median(api), statistics.median(bare)
            ratio = statistics.median(ratios)
            print(f"{key:<14} {api_ms:>9.1f}ms {bare_ms:>10.1f}ms {ratio:>6.2f}")
            breakdowns[key] = (api_ms, stage_medians(key, photos, args.repeats))
        print(
            "\nwhere the time goes (median ms per photo, stages timed one after the "
            "other in this process; the server encodes the photo JPEG and thumbnail "
            "beside detect):"
        )
        print(
            f"{'detector':<14} " + " ".join(f"{s:>10}" for s in STAGES) + "  HTTP+rest"
        )
        for key, (api_ms, stages) in breakdowns.items():
            rest = api_ms - sum(stages.values())
            cells = " ".join(f"{stages[s]:>10.1f}" for s in STAGES)
            print(f"{key:<14} {cells}  {rest:>9.1f}")
        print(f"server peak RSS (VmHWM): {peak_rss_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
