"""The portal's one date format per language (``FORMAT_MODULE_PATH``).

Every page and the admin show a moment the same way: the full date and a 24-hour
time, e.g. "2026년 12월 2일 08:51" / "2 Dec 2026, 08:51". Templates use
``|date:"DATETIME_FORMAT"`` (or ``DATE_FORMAT`` for a day alone).
"""
