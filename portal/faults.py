"""Temporary server-side failures a student can only wait out: answered with 503.

A database that is locked or restarting (``django.db.OperationalError``) and a
full disk (``OSError`` with ``ENOSPC``/``EDQUOT``) are not mistakes in the request,
and the services already undo their partial work (files first, rows in one
transaction). Instead of a bare 500 the page (``portal.middleware``) and the API
(``portal.api.exception_handler``) both say "try again" with ``Retry-After``, and
the failure is logged with its traceback so the operator sees it.
"""

from __future__ import annotations

import errno

from django.db import OperationalError
from django.utils.translation import gettext as _

# Seconds a client should wait before retrying (sent as Retry-After).
RETRY_AFTER_SECONDS = 30
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def temporary_failure_message(exc: BaseException) -> str | None:
    """A sentence for the user if ``exc`` is a temporary failure, else ``None``."""
    if isinstance(exc, OperationalError):
        return _(
            "The database is busy or briefly unavailable, so nothing was saved. "
            "Please try again in a moment."
        )
    if is_disk_full(exc):
        return _(
            "The server has run out of storage space, so nothing was saved. "
            "Please try again later and tell your instructor."
        )
    return None
