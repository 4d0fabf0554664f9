"""Template tags for lessons: the progress box on the profile page."""

from __future__ import annotations

from typing import Any

from django import template

from demos.lessons.selectors import progress_summary

register = template.Library()


@register.inclusion_tag("demos/lessons/_progress.html")
def lesson_progress(user: Any) -> dict[str, Any]:
    """``total``, ``done``, ``percent``, the lessons done, the next one to read and
    the best quiz scores."""
    summary = progress_summary(user)
    return {
        "total": summary.total,
        "done": summary.done,
        "percent": summary.percent,
        "done_lessons": summary.done_lessons,
        "next_lesson": summary.next_lesson,
        "scored_lessons": summary.scored_lessons,
    }
