"""The portal project package.

``celery_app`` is Celery's usual ``from .celery import app as celery_app``, made lazy:
pure modules import ``portal.lib.errors``, and loading Celery here would pull
Django into every one of them (Celery's Django fix-up imports it). Tasks bind to
the app by importing ``portal.celery`` themselves, and ``celery -A portal`` finds
it there.
"""

from __future__ import annotations

from typing import Any

__all__ = ["celery_app"]


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from portal.celery import app

        return app
    raise AttributeError(f"module 'portal' has no attribute {name!r}")
