"""System checks of the portal's own settings (``manage.py check``).

``portal.W001``: outside DEBUG the SMTP backend is configured but no
``PORTAL_EMAIL_HOST`` is set, so password-reset mails would silently go nowhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@register()
def check_email_configured(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.DEBUG or settings.EMAIL_BACKEND != SMTP_BACKEND:
        return []
    if settings.PORTAL_EMAIL_HOST:
        return []
    return [
        Warning(
            "No e-mail server is configured: password-reset mails cannot be sent.",
            hint="Set PORTAL_EMAIL_HOST (and PORTAL_EMAIL_USER, PORTAL_EMAIL_PASSWORD, "
            "PORTAL_EMAIL_FROM); see .env.example.",
            id="portal.W001",
        )
    ]
