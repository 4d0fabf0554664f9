"""Error bases shared by pure modules and Django code; imports nothing.

Pure modules (``demos/common/imaging.py``, ``models_store/download.py``, ...) subclass
these, so they stay free of Django while views and the API map every subclass the
same way: ``BadInput`` → a form error / HTTP 400, ``ServiceUnavailable`` → a
message / HTTP 503.
"""

from __future__ import annotations

import sys


class BadInput(ValueError):
    """The request's data cannot be used; the message tells the user why (→ 400)."""


class ServiceUnavailable(RuntimeError):
    """A needed resource (a model file, the database) is not ready (→ 503)."""


class TryLater(RuntimeError):
    """This client must wait: too many requests or one still running (→ 429).

    ``retry_after`` is the number of seconds to wait (sent as ``Retry-After``).
    """

    def __init__(self, message: str, *, retry_after: int = 30) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def gettext_noop(message: str) -> str:
    """Mark a msgid for ``makemessages`` without importing Django (returns it as is)."""
    return message


class TranslatedBadInput(BadInput):
    """``BadInput`` with an English msgid and %-format parameters.

    ``str()`` translates the msgid with Django's ``gettext`` when Django is loaded
    in this process (the web layer: the request's language) and formats the
    English text otherwise, so pure modules can raise it without importing Django.
    """

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template % params if params else template)

    def __str__(self) -> str:
        translation = sys.modules.get("django.utils.translation")
        template = self.template
        if translation is not None:
            try:
                template = translation.gettext(self.template)
            except Exception:  # settings not configured: keep the English text
                template = self.template
        return template % self.params if self.params else template
