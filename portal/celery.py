"""The Celery app of the portal: ``celery -A portal worker -Q cpu`` (or ``-Q gpu``).

Configuration comes from Django settings under the ``CELERY_`` prefix
(``portal/settings/base.py``, block "Celery"): Redis when ``REDIS_URL`` is set, else
in-process eager execution. Tasks live in ``demos/tasks.py``.
"""

from __future__ import annotations

import os

from celery import Celery

# A worker started without DJANGO_SETTINGS_MODULE gets the same default as manage.py.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
