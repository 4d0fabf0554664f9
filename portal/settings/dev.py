"""The default settings (``manage.py``, ``make run``, ``make dev``): SQLite under var/,
console e-mail under DEBUG (none printed otherwise), a fixed dev-only key.

DEBUG is off unless ``PORTAL_DEBUG=1``: ``make run`` serves a class the way it will
be used (styled 404/500 pages, never Django's technical pages with the URL list),
and ``make dev`` turns DEBUG on for the runserver loop.
"""

from .base import *  # noqa: F403
from .base import PORTAL_EMAIL_HOST, VAR_DIR, env_bool, env_str

DEBUG = env_bool("PORTAL_DEBUG", False)
SECRET_KEY = env_str(
    "PORTAL_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production"
)
# A mail server when one is named; else make dev prints mail to the console and
# make run only logs that none was sent: a reset link in a class server's log would
# work for whoever reads it.
if PORTAL_EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "portal.lib.mail.UnsentMailBackend"

# SQLite needs its folder to exist before the first connection.
VAR_DIR.mkdir(parents=True, exist_ok=True)
