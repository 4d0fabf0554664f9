"""One image at a time per student on every image path (issue 21, finding 8).

Only the person demo held the per-student lock; one student sending photos to the
widget endpoints in parallel pushed classmates' p90 to 4 s. Now a student whose
previous image is still being processed gets 429 on every path, and a classmate is
not affected.
"""

from __future__ import annotations

import pytest
from django.test import Client

from demos.common.limits import upload_slot
from tests.demos.common.test_broken_exif import PATHS, _post, jpeg_with_exif

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("path", "fields", "field", "login"), PATHS)
def test_every_image_path_waits_for_the_students_previous_image(
    path: str, fields: dict, field: str, login: bool, user, other_user
) -> None:
    data = jpeg_with_exif(1, broken=False, size=(320, 240))
    student, classmate = Client(), Client()
    student.force_login(user)
    classmate.force_login(other_user)
    with upload_slot(user):  # the student's previous image, still running
        busy = _post(student, path, fields, field, data)
        other = _post(classmate, path, fields, field, data)
    assert busy.status_code == 429, busy.content[:200]
    assert other.status_code in (200, 201, 302), other.content[:200]
    again = _post(student, path, fields, field, data)
    assert again.status_code in (200, 201, 302)
