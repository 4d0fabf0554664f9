"""Korean dates: 2026년 12월 2일 08:51 (see portal/formats/__init__.py)."""

DATE_FORMAT = "Y년 n월 j일"
DATETIME_FORMAT = "Y년 n월 j일 H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y년 n월 j일 H:i"
