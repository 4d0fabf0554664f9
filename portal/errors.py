"""Error bases shared by pure modules and Django code; imports nothing.

Pure modules (``demos/common/imaging.py``, ``models_store/download.py``, ...) subclass
these, so they stay free of Django while views and the API map every subclass the
same way: ``BadInput`` → a form error / HTTP 400, ``ServiceUnavailable`` → a
message / HTTP 503.
"""

from __future__ import annotations


class BadInput(ValueError):
    """The request's data cannot be used; the message tells the user why (→ 400)."""


class ServiceUnavailable(RuntimeError):
    """A needed resource (a model file, the database) is not ready (→ 503)."""
