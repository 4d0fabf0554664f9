"""The exercise's code read with ``ast`` (never run): the lesson's own function is
clean, and each of the four loop bugs and four indexing bugs, put into it the way
a student writes it, is named. The function is read from the lesson itself, in
its English and its Korean version (comments differ)."""

from __future__ import annotations

import re

import pytest

from demos.lessons.code_checks import MAX_CODE, check_code
from tests.conftest import REPO_DIR

CONTENT = REPO_DIR / "demos" / "lessons" / "content"


def lesson_function(lang: str) -> str:
    text = (CONTENT / f"10-object-detection.{lang}.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    return next(block for block in blocks if "def people_one_by_one" in block)


PRINT = '        print(\n            f"person {number}: score {score:.2f}, box {(x1, y1, x2, y2)}, crop {crop.shape}"\n        )\n'  # noqa: E501
BUGS = {
    "loop-index-zero": [("np.clip(box, 0,", "np.clip(boxes[0], 0,")],
    "loop-return": [
        (
            "        crops.append(crop)\n",
            "        crops.append(crop)\n        return crops\n",
        )
    ],  # noqa: E501
    "loop-print-after": [
        (PRINT, ""),
        (
            "    return crops\n",
            '    print(f"person {number}: crop {crop.shape}")\n    return crops\n',
        ),  # noqa: E501
    ],
    "loop-same-filename": [
        (
            "        crops.append(crop)\n",
            '        crops.append(crop)\n        cv2.imwrite("person.jpg", crop)\n',
        ),  # noqa: E501
    ],
    "xy-order": [("img[y1:y2, x1:x2]", "img[x1:x2, y1:y2]")],
    "int-casts": [("int(v) for v in np.rint(", "v for v in (")],
    "clipping": [
        ("np.rint(np.clip(box, 0, [width, height, width, height]))", "np.rint(box)")
    ],  # noqa: E501
    # The lesson skips what is below the threshold: skipping "<=" keeps only ">".
    "threshold-strict": [("score < threshold", "score <= threshold")],
}


def with_bug(source: str, bug: str) -> str:
    for old, new in BUGS[bug]:
        assert old in source, (bug, old)
        source = source.replace(old, new, 1)
    return source


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lessons_function_is_clean(lang: str) -> None:
    report = check_code(lesson_function(lang))
    assert report.parsed and report.problems == []


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("bug", list(BUGS))
def test_each_bug_put_into_the_lessons_function_is_named(bug: str, lang: str) -> None:
    report = check_code(with_bug(lesson_function(lang), bug))
    assert report.parsed
    assert report.problems == [bug], report.problems
    assert report.line[bug] > 1


def test_a_distinct_file_name_per_person_is_fine() -> None:
    source = with_bug(lesson_function("en"), "loop-same-filename").replace(
        '"person.jpg"', 'f"person_{number}.jpg"'
    )
    assert check_code(source).problems == []


def test_the_notes_students_loop_is_diagnosed() -> None:
    # "한 명은 되지만 여러 명을 출력하지 못했다": the first box, then return.
    source = (
        "def show_people(img, boxes):\n"
        "    for box in boxes:\n"
        "        x1, y1, x2, y2 = [int(v) for v in boxes[0]]\n"
        "        crop = img[y1:y2, max(x1, 0):x2]\n"
        "        return crop\n"
    )
    assert check_code(source).problems == ["loop-index-zero", "loop-return"]


@pytest.mark.parametrize(
    "source", ["def f(:\n", "x" * (MAX_CODE + 1), "(" * 500 + ")" * 500]
)
def test_code_that_does_not_parse_is_reported_not_raised(source: str) -> None:
    assert check_code(source).parsed is False
