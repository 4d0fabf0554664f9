"""Temporary server-side failures a student can only wait out: answered with 503.

A database that is locked or restarting (``django.db.OperationalError``) and a
full disk (``OSError`` with ``ENOSPC``/``EDQUOT``) are not mistakes in the request,
and the services already undo their partial work (files first, rows in one
transaction). Instead of a bare 500 the page (``portal.middleware``) and the API
(``portal.lib.api.exception_handler``) both say "try again" with ``Retry-After``, and
the failure is logged with its traceback so the operator sees it. A media
folder that cannot be written (read-only mount, wrong owner) is answered the
same way: nothing was saved and the student can only wait for the operator.

Configuration errors are *not* temporary: SQLite reports a missing table or
column (``migrate`` not run) as an ``OperationalError`` too (PostgreSQL as a
``ProgrammingError``), and waiting never
fixes it, so ``temporary_failure_message`` returns ``None`` for those and they
reach Django's 500 page and error log like any other bug.
"""

from __future__ import annotations

import errno
import re

from django.db import OperationalError, ProgrammingError
from django.utils.translation import gettext as _

# Seconds a client should wait before retrying (sent as Retry-After).
RETRY_AFTER_SECONDS = 30
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
# SQLite's and PostgreSQL's words for a schema that does not match the code.
_SCHEMA_MISMATCH = re.compile(
    r"no such (table|column)|has no column named|"
    r"(relation|column) \S+ does not exist",
    re.IGNORECASE,
)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def is_not_writable(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _NOT_WRITABLE


def is_configuration_error(exc: BaseException) -> bool:
    """A missing table or column: ``migrate`` was not run (a 500, not "try again").

    SQLite raises ``OperationalError`` for it, PostgreSQL ``ProgrammingError``.
    """
    database_error = isinstance(exc, OperationalError | ProgrammingError)
    return database_error and bool(_SCHEMA_MISMATCH.search(str(exc)))


def configuration_error_message() -> str:
    return _(
        "The server is not set up completely, so this cannot work yet. "
        "Please tell your instructor; trying again will not help."
    )


def temporary_failure_message(exc: BaseException) -> str | None:
    """A sentence for the user if ``exc`` is a temporary failure, else ``None``."""
    if is_configuration_error(exc):
        return None
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
    if is_not_writable(exc):
        return _(
            "The server cannot store files right now, so nothing was saved. "
            "Please try again later and tell your instructor."
        )
    return None
