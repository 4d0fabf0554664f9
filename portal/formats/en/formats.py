"""English dates: 2 Dec 2026, 08:51 (see portal/formats/__init__.py)."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
