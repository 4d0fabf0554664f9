"""Production: secret key and hosts required from the environment, HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import SECRET_KEY, env_bool, env_int, env_list

DEBUG = False
if not SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("PORTAL_SECRET_KEY must be set (50+ random characters).")
ALLOWED_HOSTS = env_list("PORTAL_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("PORTAL_ALLOWED_HOSTS must list the served host names.")

SECURE_SSL_REDIRECT = env_bool("PORTAL_SECURE_SSL_REDIRECT", True)
# Load balancers probe /healthz over plain HTTP on the private side: no 301.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("PORTAL_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
# Password reset mails go out over SMTP (PORTAL_EMAIL_HOST etc., read in base.py);
# portal.checks warns (portal.W001) when no host is configured.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
