"""Template tags for lessons: the progress box on the profile page."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("demos/lessons/_progress.html")
def lesson_progress(user) -> dict:
    from demos.models import Lesson, LessonProgress

    total = Lesson.objects.count()
    done = (
        LessonProgress.objects.filter(user=user).count() if user.is_authenticated else 0
    )
    return {
        "total": total,
        "done": done,
        "percent": int(100 * done / total) if total else 0,
    }
