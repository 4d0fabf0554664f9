"""The default settings (``manage.py``, ``make run``, ``make dev``): SQLite under var/,
console e-mail, a fixed dev-only key.

DEBUG is off unless ``PORTAL_DEBUG=1``: ``make run`` serves a class the way it will
be used (styled 404/500 pages, never Django's technical pages with the URL list),
and ``make dev`` turns DEBUG on for the runserver loop.
"""

from .base import *  # noqa: F403
from .base import VAR_DIR, env_bool, env_str

DEBUG = env_bool("PORTAL_DEBUG", False)
SECRET_KEY = env_str(
    "PORTAL_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production"
)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# SQLite needs its folder to exist before the first connection.
VAR_DIR.mkdir(parents=True, exist_ok=True)
