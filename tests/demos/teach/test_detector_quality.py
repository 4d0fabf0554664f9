"""How good the person detectors are on the class's own corrected photos: the class
page's table, ``GET /api/v1/classes/<id>/detector-quality/`` and who may read them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from demos.models import DemoRun
from demos.people.selectors import truth_agreement, with_detections
from demos.teach.detector_quality import detector_quality
from tests.factories import make_demo_run, make_detection, make_student_in, make_user

pytestmark = pytest.mark.django_db

HOG = "opencv-hog"
COUNTER = "picodet-s-counter"


def corrected_run(owner, detector: str, truth: list, boxes: list, **fields) -> DemoRun:
    """A run the student corrected; ``boxes`` are (box, score, is_unsure)."""
    run = make_demo_run(owner=owner, detector=detector, truth_boxes=truth, **fields)
    for box, score, unsure in boxes:
        make_detection(run=run, box=box, score=score, is_unsure=unsure)
    return run


def number_cells(row: str) -> list[str]:
    """The texts of a table row's number cells, in order."""
    return [cell.split("<")[0] for cell in row.split('<td class="num">')[1:]]


@pytest.fixture
def photos(cohort) -> None:
    """Two students' corrected photos for two detectors, plus runs that must not
    count: one not corrected, one of a student of no class.

    HOG: 3 found, 3 marked, 2 matched (IoU 1 and 100/120), count errors 1 and 1.
    Counter: 3 found, 4 marked, 3 matched (IoU 1), count errors 0 and 1, the
    range held the marked count on one photo of two.
    """
    minji = make_student_in(cohort, username="minji")
    jisoo = make_student_in(cohort, username="jisoo")
    two = [[0, 0, 10, 10], [20, 0, 30, 10]]
    corrected_run(
        minji,
        HOG,
        two,
        [
            ([0, 0, 10, 10], 0.9, False),
            ([20, 0, 30, 12], 0.8, False),
            ([50, 50, 60, 60], 0.7, False),  # not a person
            ([70, 70, 80, 80], 0.3, False),  # below the run's 0.5: not shown
        ],
    )
    corrected_run(jisoo, HOG, [[0, 0, 10, 10]], [([100, 100, 110, 110], 0.2, False)])
    corrected_run(
        jisoo,
        COUNTER,
        two,
        [([0, 0, 10, 10], 0.9, False), ([20, 0, 30, 10], 0.45, True)],
        score_threshold=0.4,
        count_low=1,
        count_high=2,
    )
    corrected_run(
        minji,
        COUNTER,
        two,
        [([0, 0, 10, 10], 0.9, False)],
        score_threshold=0.4,
        count_low=1,
        count_high=1,
    )
    make_detection(run=make_demo_run(owner=minji), box=[0, 0, 5, 5])  # no truth
    corrected_run(make_user(username="stranger"), HOG, two, [])


def test_the_class_page_shows_each_detector_on_the_corrected_photos(
    teacher_client, cohort, photos
) -> None:
    response = teacher_client.get(f"/teach/classes/{cohort.public_id}/")
    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index('data-testid="detector-quality"') :]
    table = table[: table.index("</table>")]
    hog = table[table.index(f'data-detector="{HOG}"') :].split("</tr>")[0]
    counter = table[table.index(f'data-detector="{COUNTER}"') :].split("</tr>")[0]
    assert "OpenCV HOG people detector" in hog
    # photos, precision, recall, mean IoU, mean count error, range held
    assert number_cells(hog) == ["2", "0.67", "0.67", "0.92", "1.00", "—"]
    assert number_cells(counter) == ["2", "1.00", "0.75", "1.00", "0.50", "1 / 2"]
    assert table.index(HOG) < table.index(COUNTER)
    assert "stranger" not in table


def test_the_class_page_shows_the_table_in_korean(
    teacher_client, cohort, photos
) -> None:
    teacher_client.cookies["django_language"] = "ko"
    page = teacher_client.get(f"/teach/classes/{cohort.public_id}/").content.decode()
    for text in ("우리 사진으로 본 사람 검출 데모", "고친 사진", "정밀도", "재현율"):
        assert text in page
    assert "평균 IoU" in page


def test_the_class_page_says_when_nobody_corrected_a_photo(
    teacher_client, cohort, students
) -> None:
    make_demo_run(owner=students[0])  # a run, not corrected
    response = teacher_client.get(f"/teach/classes/{cohort.public_id}/")
    assert "No student has corrected a person-demo photo yet." in (
        response.content.decode()
    )


def test_the_api_gives_the_same_figures(instructor, cohort, photos) -> None:
    client = APIClient()
    client.force_login(instructor)
    response = client.get(f"/api/v1/classes/{cohort.public_id}/detector-quality/")
    assert response.status_code == 200
    hog, counter = response.json()
    assert hog["detector"] == HOG and hog["photos"] == 2
    assert hog["precision"] == pytest.approx(2 / 3)
    assert hog["recall"] == pytest.approx(2 / 3)
    assert hog["mean_iou"] == pytest.approx((1 + 100 / 120) / 2)
    assert hog["mean_count_error"] == 1.0
    assert (hog["photos_with_range"], hog["range_hit_rate"]) == (0, None)
    assert counter["name"].startswith("PicoDet-S 640 person counter")
    assert (counter["precision"], counter["recall"]) == (1.0, 0.75)
    assert (counter["mean_iou"], counter["mean_count_error"]) == (1.0, 0.5)
    assert (counter["photos_with_range"], counter["range_hit_rate"]) == (2, 0.5)


def test_one_corrected_photo_gives_its_result_page_figures(cohort) -> None:
    student = make_student_in(cohort, username="minji")
    run = corrected_run(
        student,
        HOG,
        [[0, 0, 10, 10], [40, 40, 60, 60]],
        [([0, 0, 10, 11], 0.9, False), ([80, 80, 90, 90], 0.6, False)],
    )
    (row,) = detector_quality(cohort)
    single = truth_agreement(with_detections(DemoRun.objects.filter(pk=run.pk))[0])
    assert (row.precision, row.recall, row.mean_iou) == (
        single.precision,
        single.recall,
        single.mean_iou,
    )


def test_the_figures_take_two_queries_however_many_photos(
    cohort, photos, django_assert_max_num_queries
) -> None:
    student = make_student_in(cohort, username="hyun")
    for _ in range(10):
        corrected_run(student, HOG, [[0, 0, 10, 10]], [([0, 0, 10, 10], 0.9, False)])
    with django_assert_max_num_queries(2):
        rows = detector_quality(cohort)
    assert [row.photos for row in rows] == [12, 2]


def test_students_get_403(api, logged_in_client, cohort) -> None:
    url = f"/api/v1/classes/{cohort.public_id}/detector-quality/"
    assert api.get(url).status_code == 403
    assert logged_in_client.get(f"/teach/classes/{cohort.public_id}/").status_code == (
        403
    )


def test_another_instructor_gets_403(cohort, photos) -> None:
    other = APIClient()
    other.force_login(make_user(username="t2", is_staff=True))
    url = f"/api/v1/classes/{cohort.public_id}/detector-quality/"
    assert other.get(url).status_code == 403


def test_the_schema_documents_the_endpoint(client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert "/api/v1/classes/{public_id}/detector-quality/" in paths
