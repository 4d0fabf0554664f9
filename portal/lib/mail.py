"""The e-mail backend of ``make run`` when no mail server is configured.

Django's console backend prints every mail, password-reset links included, to the
server's log: anyone who reads the log (or the terminal a class server runs in) can
reset any password. This backend logs that a mail was *not* sent, to how many
recipients, and never its body. ``make dev`` (DEBUG) keeps the console backend.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class UnsentMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logger.warning(
                "Mail %r to %d recipient(s) not sent: no mail server is configured "
                "(set PORTAL_EMAIL_HOST).",
                message.subject,
                len(message.recipients()),
            )
        return 0
