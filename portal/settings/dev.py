"""Local development: DEBUG, SQLite under var/, console e-mail, a fixed dev-only key."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env_bool, env_str

DEBUG = env_bool("PORTAL_DEBUG", True)
SECRET_KEY = env_str(
    "PORTAL_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production"
)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# SQLite needs its folder to exist before the first connection.
VAR_DIR.mkdir(parents=True, exist_ok=True)
