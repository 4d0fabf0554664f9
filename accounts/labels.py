"""Field names of django-axes' and django-rest-knox's tables, for the Korean admin.

Neither library ships a Korean catalog. Listing their msgids here (``gettext_noop``)
keeps them in ours through ``make messages``; Django's gettext then translates the
libraries' own ``verbose_name`` strings from our catalog.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

THIRD_PARTY_FIELD_NAMES = (
    gettext_noop("Access lock out"),
    gettext_noop("Attempt Time"),
    gettext_noop("Failed Logins"),
    gettext_noop("GET Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"),
    gettext_noop("Logout Time"),
    gettext_noop("POST Data"),
    gettext_noop("Path"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("User Agent"),
    gettext_noop("created"),
    gettext_noop("expiry"),
)
