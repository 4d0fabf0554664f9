"""Server overhead of the detection API (a measurement, not a test).

Starts gunicorn (1 worker, 1 thread) on 127.0.0.1 with a throw-away SQLite DB and
media folder, imports the detectors from ../shared/weights, then for each detector
POSTs every sample photo to /api/v1/detections/ (token auth) and compares the
end-to-end latency with the bare ``detect()`` call measured in this process on the
same photos. Prints medians, the overhead ratio (API / bare) and the server
process's peak RSS (VmHWM).

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
    from demos.people.detectors import get_detector
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
    parser.add_argument("--detectors", default="opencv-hog,yolox-nano,fastestdet")
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
    manage(
        "shell",
        "-c",
        (
            "from accounts.services import create_user; "
            f"create_user(username='bench', password='{password}')"
        ),
    )
    token = manage("drf_create_token", "bench").split()[2]
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "portal.wsgi",
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
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request(
                    "GET", "/healthz"
                )
                break
            except OSError:
                time.sleep(0.2)
        print(f"{'detector':<14} {'API median':>11} {'bare median':>12} {'ratio':>6}")
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
        print(f"server peak RSS (VmHWM): {peak_rss_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
