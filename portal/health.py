"""GET /healthz: database, media storage, free disk and each detector's state.

Load balancers only need the status code (200 healthy, 503 not); people read the
body. Detector files missing is not unhealthy: the portal falls back to HOG. Free
disk space below ``HEALTHZ_MIN_FREE_BYTES`` is "degraded" (503): uploads would
soon fail with "out of storage space". Exempt from the HTTPS redirect in prod.
``default_detector`` says whether this process has loaded its default detector yet.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any driver error means "not healthy"
        logger.warning("healthz: database check failed: %s", exc)
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}


def check_media() -> dict:
    from demos.common import media

    if media.local_root() is None:
        # A bucket (PORTAL_STORAGE=s3): listing proves endpoint, bucket and keys.
        try:
            media.media_storage().listdir("runs")
            return {"ok": True}
        except Exception as exc:  # any client error means "not healthy"
            logger.warning("healthz: media check failed: %s", exc)
            return {"ok": False, "error": type(exc).__name__}
    root = Path(settings.MEDIA_ROOT)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".healthz-"):
            pass
        return {"ok": True}
    except OSError as exc:
        logger.warning("healthz: media check failed: %s", exc)
        return {"ok": False, "error": exc.strerror or type(exc).__name__}


def check_warm_detector() -> dict:
    from demos.ml.detection.warmup import warmth

    return warmth()


def check_warm_cnn() -> dict:
    from demos.ml.cnn_warmup import warmth

    return warmth()


def check_disk() -> dict:
    from demos.common import media

    root = media.local_root() or Path(settings.VAR_DIR)
    try:
        free = shutil.disk_usage(root).free
    except OSError as exc:
        return {"ok": False, "error": exc.strerror or type(exc).__name__}
    minimum = settings.HEALTHZ_MIN_FREE_BYTES
    return {
        "ok": free >= minimum,
        "free_mb": free // 2**20,
        "minimum_mb": minimum // 2**20,
    }


def check_detectors() -> list[dict]:
    from demos.ml.detection.detectors import detector_choices

    return [
        {"key": s.spec.key, "state": s.state, "reason": s.reason}
        for s in detector_choices()
    ]


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = check_database()
    media = check_media()
    disk = check_disk()
    healthy = database["ok"] and media["ok"]
    status = "ok" if healthy else "unavailable"
    if healthy and not disk["ok"]:
        status = "degraded"
    body = {
        "status": status,
        "database": database,
        "media": media,
        "disk": disk,
        "detectors": check_detectors(),
        # Whether this process has loaded the default detector yet (gunicorn warms it
        # in the background at start; "cold" elsewhere until the first detection).
        "default_detector": check_warm_detector(),
        # The same for the feature-map lesson's ImageNet CNN.
        "feature_map_cnn": check_warm_cnn(),
    }
    return JsonResponse(body, status=200 if status == "ok" else 503)
